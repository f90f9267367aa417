#include "applier/applier.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

#include "applier/copier.h"
#include "core/clock.h"
#include "core/parallel.h"

namespace crossdock::applier {

namespace {


state::Artifact ArtifactOf(const planner::Change& c) {
  state::Artifact a;
  a.rule = c.rule;
  a.source_endpoint = c.source_endpoint;
  a.source_repository = c.source_repository;
  a.source_digest = c.source_digest;
  a.destination_endpoint = c.destination_endpoint;
  a.destination_repository = c.destination_repository;
  a.tag = c.tag;
  a.destination_digest = c.source_digest;
  a.replicated_at = core::NowRfc3339();
  return a;
}

}  // namespace

std::string FormatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  if (ms >= 3600000) {
    out += std::to_string(ms / 3600000) + "h";
    ms %= 3600000;
  }
  if (ms >= 60000) {
    out += std::to_string(ms / 60000) + "m";
    ms %= 60000;
  }
  if (ms > 0 || out.empty()) {
    std::string frac = ms % 1000 ? std::to_string(1000 + ms % 1000).substr(1) : "";
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += std::to_string(ms / 1000) + (frac.empty() ? "" : "." + frac) + "s";
  }
  return out;
}

namespace {

// Sleeps for D, or until *CANCEL becomes true or DEADLINE passes.
void SleepUnlessStopped(std::chrono::milliseconds d, const std::atomic<bool>* cancel,
                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  auto wake = std::chrono::steady_clock::now() + d;
  if (deadline) wake = std::min(wake, *deadline);
  while (std::chrono::steady_clock::now() < wake && !(cancel && cancel->load())) {
    std::this_thread::sleep_until(
        std::min(wake, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
  }
}

// A copy stopped while it waited to try again after ATTEMPT failed with FAILURE:
// Cancelled "stopped: …", as a copy stopped in flight (Copier::CheckAbandoned).
core::Status StoppedAfter(int attempt, const core::Status& failure) {
  return core::Status::Cancelled("stopped: the copy was abandoned after attempt " +
                                 std::to_string(attempt) + " had failed: " + failure.message());
}

// The deletes of one destination repository, executed together because a registry
// that deletes by digest removes every tag sharing it.
struct DeleteGroup {
  std::string endpoint, repository;
  std::vector<const planner::Change*> changes;
};

}  // namespace

StateRecorder::StateRecorder(state::State* state,
                             std::function<core::Status(state::State*)> persist,
                             std::chrono::milliseconds min_interval)
    : state_(state), persist_(std::move(persist)), min_interval_(min_interval) {
  writer_ = std::thread([this] { WriterLoop(); });
}

StateRecorder::~StateRecorder() {
  (void)Flush();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void StateRecorder::WriteLocked(std::unique_lock<std::mutex>& lk) {
  writing_ = true;
  while (dirty_) {
    dirty_ = false;
    state::State snapshot = *state_;
    lk.unlock();
    core::Status st = persist_(&snapshot);
    lk.lock();
    if (st.ok()) {
      state_->serial = snapshot.serial;
    } else if (first_error_.ok()) {
      first_error_ = st;
    }
  }
  writing_ = false;
  cv_.notify_all();
}

void StateRecorder::WriterLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    cv_.wait(lk, [&] { return stop_ || (dirty_ && !writing_); });
    if (stop_) break;
    WriteLocked(lk);
    // Changes recorded from now on wait for the next write, at most MIN_INTERVAL away.
    cv_.wait_for(lk, min_interval_, [&] { return stop_; });
  }
}

core::Status StateRecorder::Record(const std::function<void(state::State&)>& mutate) {
  std::lock_guard<std::mutex> lk(mu_);
  mutate(*state_);
  dirty_ = true;
  cv_.notify_all();
  return first_error_;
}

core::Status StateRecorder::Flush() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return !writing_; });
  WriteLocked(lk);
  return first_error_;
}

core::Status StateRecorder::first_error() const {
  std::lock_guard<std::mutex> lk(mu_);
  return first_error_;
}

ApplyReport Apply(const planner::Plan& plan,
                  const std::map<std::string, providers::Registry*>& registries,
                  StateRecorder* recorder, const ApplyOptions& options) {
  ApplyReport report;
  Progress local;
  Progress* progress = options.progress ? options.progress : &local;
  std::mutex mu;  // guards report and on_change_done

  std::vector<const planner::Change*> copies;
  std::vector<const planner::Change*> written;  // manifests crossdock writes itself
  std::map<std::pair<std::string, std::string>, DeleteGroup> deletes;
  for (const auto& c : plan.changes) {
    if (!c.manifest_bytes.empty() &&
        (c.action == planner::Action::kCreate || c.action == planner::Action::kUpdate)) {
      written.push_back(&c);
    } else if (c.action == planner::Action::kCreate || c.action == planner::Action::kUpdate ||
               c.action == planner::Action::kAdopt) {
      copies.push_back(&c);
    } else if (c.action == planner::Action::kDelete) {
      auto& g = deletes[{c.destination_endpoint, c.destination_repository}];
      g.endpoint = c.destination_endpoint;
      g.repository = c.destination_repository;
      g.changes.push_back(&c);
    }
  }
  int delete_count = 0;
  for (const auto& [k, g] : deletes) delete_count += static_cast<int>(g.changes.size());
  progress->changes_total =
      static_cast<int>(copies.size() + written.size()) + delete_count;

  auto finish = [&](const planner::Change& c, const core::Status& st, std::int64_t bytes = 0) {
    std::lock_guard<std::mutex> lk(mu);
    if (st.ok()) {
      ++report.succeeded;
      ++progress->changes_done;
    } else {
      ++report.failed;
      ++progress->changes_failed;
      report.failures.push_back({c, st});
    }
    if (options.on_change_done) options.on_change_done(c, st, bytes);
  };

  // One ledger per destination registry, shared by every copy into it.
  std::map<std::string, std::unique_ptr<BlobLedger>> ledgers;
  for (const auto* c : copies)
    if (!ledgers.count(c->destination_endpoint))
      ledgers[c->destination_endpoint] = std::make_unique<BlobLedger>();
  ManifestCache manifests;  // many tags of one digest: fetched once

  // One attempt at a copy (or adoption) change; COPIER (null for an adoption) serves
  // every attempt of the change.
  auto copy_once = [&](const planner::Change& c, Copier* copier) -> core::Status {
    if (c.action == planner::Action::kAdopt) {
      // Nothing to copy; make sure the tag still holds the digest before owning it.
      auto h = registries.at(c.destination_endpoint)->HeadManifest(c.destination_repository, c.tag);
      if (!h.ok()) return h.status();
      if (!*h || (*h)->digest != c.source_digest)
        return core::Status::Conflict(c.destination_repository + ":" + c.tag +
                                      " changed since the plan; it was not adopted. Run plan again.");
      return core::Status::Ok();
    }
    return copier->CopyTagged(c.source_repository, c.source_digest, c.destination_repository,
                              c.tag, c.destination_digest);
  };

  std::atomic<int> started{0};
  core::ParallelFor(copies.size(), options.parallelism, [&](size_t i) {
    ++started;
    const planner::Change& c = *copies[i];
    const int retries = options.retries_for ? std::clamp(options.retries_for(c.rule), 0, 10) : 0;
    std::optional<std::chrono::milliseconds> timeout;
    if (options.timeout_for) timeout = options.timeout_for(c.rule);
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::string timed_out;
    if (timeout && timeout->count() > 0) {
      deadline = std::chrono::steady_clock::now() + *timeout;
      timed_out = "timed out after " + FormatDuration(*timeout);
    }
    std::optional<Copier> copier;
    if (c.action != planner::Action::kAdopt) {
      copier.emplace(registries.at(c.source_endpoint), registries.at(c.destination_endpoint),
                     ledgers.at(c.destination_endpoint).get(), progress, options.blob_attempts);
      if (deadline) copier->SetDeadline(*deadline, timed_out);
      copier->SetCancel(options.cancel);  // a stop abandons the copy in flight
      copier->SetManifestCache(&manifests);
    }
    core::Status st;
    for (int attempt = 1;; ++attempt) {
      // Damage that persists to the last attempt fails as DataLoss (corrupt at the source…).
      if (copier) copier->SetFinalAttempt(attempt > retries);
      st = copy_once(c, copier ? &*copier : nullptr);
      // Only a transient failure is worth repeating: the client maps transport errors,
      // 5xx, 429 and a token that expired mid-upload to Unavailable, the copier a blob
      // or manifest that did not arrive intact (until the final attempt).
      if (st.ok() || st.code() != core::Code::kUnavailable || attempt > retries) break;
      if (options.cancel && options.cancel->load()) {
        st = StoppedAfter(attempt, st);
        break;
      }
      {
        std::lock_guard<std::mutex> lk(mu);
        if (options.on_retry) options.on_retry(c, attempt, st);
      }
      SleepUnlessStopped(options.change_retry.Delay(attempt + 1, core::Jitter(), std::nullopt),
                         options.cancel, deadline);
      if (deadline && std::chrono::steady_clock::now() >= *deadline) {
        st = core::Status::Cancelled(timed_out + "; attempt " + std::to_string(attempt) +
                                     " had failed: " + st.message());
        break;
      }
      if (options.cancel && options.cancel->load()) {
        st = StoppedAfter(attempt, st);
        break;
      }
    }
    if (st.ok()) {
      core::Status rec = recorder->Record([&](state::State& s) { s.Upsert(ArtifactOf(c)); });
      if (!rec.ok()) st = rec.WithContext("copied, but the state could not be saved");
    }
    finish(c, st, copier ? copier->bytes_copied() : 0);
  }, options.cancel);

  // Written manifests (referrers indexes) name copied ones: they go after the copies.
  for (const auto* cp : written) {
    if (options.cancel && options.cancel->load()) break;
    ++started;
    const planner::Change& c = *cp;
    providers::Manifest m{c.manifest_media_type, c.source_digest, c.manifest_bytes};
    // Checked as a copied tag is: never left on a manifest altered on the way.
    providers::Registry* dst = registries.at(c.destination_endpoint);
    auto& ledger = ledgers[c.destination_endpoint];
    if (!ledger) ledger = std::make_unique<BlobLedger>();
    Copier writer(dst, dst, ledger.get(), progress, options.blob_attempts);
    core::Status st = writer.PutTag(c.destination_repository, c.tag, m, c.destination_digest);
    if (st.ok()) {
      core::Status rec = recorder->Record([&](state::State& s) { s.Upsert(ArtifactOf(c)); });
      if (!rec.ok()) st = rec.WithContext("written, but the state could not be saved");
    }
    finish(c, st);
  }

  std::vector<const DeleteGroup*> groups;
  for (const auto& [k, g] : deletes) groups.push_back(&g);
  core::ParallelFor(groups.size(), options.parallelism, [&](size_t i) {
    const DeleteGroup& g = *groups[i];
    started += static_cast<int>(g.changes.size());
    providers::Registry* dst = registries.at(g.endpoint);
    auto forget = [&](const planner::Change& c) {
      return recorder->Record([&](state::State& s) {
        s.Remove(c.destination_endpoint, c.destination_repository, c.tag);
      });
    };
    // What each tag of the repository points at now, to find tags sharing a digest.
    std::set<std::string> deleting;
    for (const auto* c : g.changes) deleting.insert(c->tag);
    std::map<std::string, std::string> digest_of_other;  // other tag -> digest
    bool need_listing = false;
    for (const auto* c : g.changes) need_listing = need_listing || c->destination_digest.has_value();
    core::Status listing;
    if (need_listing) {
      auto tags = dst->ListTags(g.repository);
      if (!tags.ok() && tags.status().code() != core::Code::kNotFound) listing = tags.status();
      if (tags.ok()) {
        for (const auto& t : *tags) {
          if (deleting.count(t)) continue;
          auto h = dst->HeadManifest(g.repository, t);
          if (!h.ok()) {
            listing = h.status();
            break;
          }
          if (*h) digest_of_other[t] = (*h)->digest;
        }
      }
    }
    std::set<std::string> deleted_digests;
    for (const auto* cp : g.changes) {
      const planner::Change& c = *cp;
      if (options.cancel && options.cancel->load()) break;
      if (!c.destination_digest) {  // already gone: only forget it
        finish(c, forget(c));
        continue;
      }
      if (!listing.ok()) {
        finish(c, listing);
        continue;
      }
      auto now = dst->HeadManifest(g.repository, c.tag);
      if (!now.ok()) {
        finish(c, now.status());
        continue;
      }
      if (!*now) {
        finish(c, forget(c));
        continue;
      }
      if ((*now)->digest != *c.destination_digest) {
        finish(c, core::Status::Conflict(
                      g.repository + ":" + c.tag + " at endpoint \"" + g.endpoint +
                      "\" changed since the plan (now " + (*now)->digest +
                      "); it was not deleted. Run plan again."));
        continue;
      }
      std::string sharing;
      for (const auto& [t, d] : digest_of_other)
        if (d == (*now)->digest) sharing += (sharing.empty() ? "" : ", ") + t;
      if (!sharing.empty()) {
        finish(c, core::Status::Conflict(
                      "cannot delete " + g.repository + ":" + c.tag + " at endpoint \"" +
                      g.endpoint + "\": the registry deletes by digest, and tag(s) " + sharing +
                      " (not crossdock's to delete) share digest " + (*now)->digest));
        continue;
      }
      core::Status st;
      if (!deleted_digests.count((*now)->digest)) {
        st = dst->DeleteManifest(g.repository, (*now)->digest);
        if (st.code() == core::Code::kNotFound) st = core::Status::Ok();
        if (st.ok()) deleted_digests.insert((*now)->digest);
      }
      if (st.ok()) st = forget(c);
      finish(c, st);
    }
  }, options.cancel);

  report.not_started = progress->changes_total - report.succeeded - report.failed;
  report.bytes_copied = progress->bytes_copied;
  report.blobs_copied = progress->blobs_copied;
  report.blobs_mounted = progress->blobs_mounted;
  report.blobs_present = progress->blobs_present;
  // Whatever failed to persist is the caller's to report (StateRecorder::first_error).
  (void)recorder->Flush();
  return report;
}

void UseRuleRetriesAndTimeouts(const core::Config& config, ApplyOptions* options) {
  std::map<std::string, int> retries;
  std::map<std::string, std::chrono::milliseconds> timeouts;
  for (const core::Rule& rule : config.rules) {
    retries[rule.name] = rule.retries;
    if (rule.timeout.count() > 0) timeouts[rule.name] = rule.timeout;
  }
  options->retries_for = [retries](const std::string& rule) {
    auto it = retries.find(rule);
    return it == retries.end() ? 0 : it->second;
  };
  options->timeout_for =
      [timeouts](const std::string& rule) -> std::optional<std::chrono::milliseconds> {
    auto it = timeouts.find(rule);
    if (it == timeouts.end()) return std::nullopt;
    return it->second;
  };
}

ApplyReport ApplyRefresh(const planner::Plan& plan, StateRecorder* recorder) {
  ApplyReport report;
  for (const auto& c : plan.drift) {
    (void)recorder->Record([&](state::State& s) {
      s.Remove(c.destination_endpoint, c.destination_repository, c.tag);
    });
  }
  // One write for all of them: they succeed or fail together.
  core::Status st = recorder->Flush();
  for (const auto& c : plan.drift) {
    if (st.ok()) {
      ++report.succeeded;
    } else {
      ++report.failed;
      report.failures.push_back({c, st});
    }
  }
  return report;
}

}  // namespace crossdock::applier
