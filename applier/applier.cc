#include "applier/applier.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <set>

#include "applier/copier.h"
#include "core/parallel.h"

namespace crossdock::applier {

namespace {

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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
  a.replicated_at = NowRfc3339();
  return a;
}

// The deletes of one destination repository, executed together because a registry
// that deletes by digest removes every tag sharing it.
struct DeleteGroup {
  std::string endpoint, repository;
  std::vector<const planner::Change*> changes;
};

}  // namespace

StateRecorder::StateRecorder(state::State* state,
                             std::function<core::Status(state::State*)> persist)
    : state_(state), persist_(std::move(persist)) {}

core::Status StateRecorder::Record(const std::function<void(state::State&)>& mutate) {
  std::unique_lock<std::mutex> lk(mu_);
  mutate(*state_);
  dirty_ = true;
  if (writing_) return core::Status::Ok();  // the writer in progress picks it up
  writing_ = true;
  core::Status last;
  while (dirty_) {
    dirty_ = false;
    state::State snapshot = *state_;
    lk.unlock();
    last = persist_(&snapshot);
    lk.lock();
    if (last.ok()) {
      state_->serial = snapshot.serial;
    } else if (first_error_.ok()) {
      first_error_ = last;
    }
  }
  writing_ = false;
  return last;
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

  std::atomic<int> started{0};
  core::ParallelFor(copies.size(), options.parallelism, [&](size_t i) {
    ++started;
    const planner::Change& c = *copies[i];
    core::Status st;
    std::int64_t bytes = 0;
    if (c.action == planner::Action::kAdopt) {
      // Nothing to copy; make sure the tag still holds the digest before owning it.
      auto h = registries.at(c.destination_endpoint)->HeadManifest(c.destination_repository, c.tag);
      if (!h.ok()) {
        st = h.status();
      } else if (!*h || (*h)->digest != c.source_digest) {
        st = core::Status::Conflict(c.destination_repository + ":" + c.tag +
                                    " changed since the plan; it was not adopted. Run plan again.");
      }
    } else {
      Copier copier(registries.at(c.source_endpoint), registries.at(c.destination_endpoint),
                    ledgers.at(c.destination_endpoint).get(), progress, options.blob_attempts);
      st = copier.CopyTagged(c.source_repository, c.source_digest, c.destination_repository, c.tag);
      bytes = copier.bytes_copied();
    }
    if (st.ok()) {
      core::Status rec = recorder->Record([&](state::State& s) { s.Upsert(ArtifactOf(c)); });
      if (!rec.ok()) st = rec.WithContext("copied, but the state could not be saved");
    }
    finish(c, st, bytes);
  }, options.cancel);

  // Written manifests (referrers indexes) name copied ones: they go after the copies.
  for (const auto* cp : written) {
    if (options.cancel && options.cancel->load()) break;
    ++started;
    const planner::Change& c = *cp;
    providers::Manifest m{c.manifest_media_type, c.source_digest, c.manifest_bytes};
    core::Status st = registries.at(c.destination_endpoint)->PutManifest(c.destination_repository, c.tag, m);
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
  return report;
}

ApplyReport ApplyRefresh(const planner::Plan& plan, StateRecorder* recorder) {
  ApplyReport report;
  for (const auto& c : plan.drift) {
    core::Status st = recorder->Record([&](state::State& s) {
      s.Remove(c.destination_endpoint, c.destination_repository, c.tag);
    });
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
