#include "applier/applier.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <tuple>
#include <thread>

#include "applier/copier.h"
#include "core/clock.h"
#include "core/parallel.h"

namespace crossdock::applier {

namespace {


using RecordKey = std::tuple<std::string, std::string, std::string>;

RecordKey KeyOf(const planner::Change& c) {
  return {c.destination_endpoint, c.destination_repository, c.tag};
}

state::Intent IntentOf(const planner::Change& c) {
  return {.rule = c.rule,
          .source_endpoint = c.source_endpoint,
          .source_repository = c.source_repository,
          .source_digest = c.source_digest,
          .destination_endpoint = c.destination_endpoint,
          .destination_repository = c.destination_repository,
          .tag = c.tag,
          .recorded_at = core::NowRfc3339()};
}

// Records C as done: its artifact replaces its intent.
void RecordDone(state::State& s, const planner::Change& c, const state::Artifact& a) {
  s.Upsert(a);
  s.RemoveIntent(c.destination_endpoint, c.destination_repository, c.tag);
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
                             std::chrono::milliseconds min_interval, bool journal_only)
    : state_(state),
      persist_(std::move(persist)),
      min_interval_(min_interval),
      journal_only_(journal_only) {
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

void StateRecorder::WriteLocked(std::unique_lock<std::mutex>& lk, bool until_clean) {
  writing_ = true;
  while (dirty_) {
    dirty_ = false;
    state::State snapshot = journal_only_ ? state_->JournaledPart() : *state_;
    const std::int64_t sequence = sequence_;
    lk.unlock();
    core::Status st = persist_(&snapshot);
    lk.lock();
    if (st.ok()) {
      state_->serial = snapshot.serial;
      state_->journal.Forget(snapshot.journal);  // written; later touches stay
      persisted_ = std::max(persisted_, sequence);
    } else {
      dirty_ = true;  // still to be written
      if (first_error_.ok()) first_error_ = st;
      break;
    }
    if (!until_clean) break;
  }
  writing_ = false;
  cv_.notify_all();
}

void StateRecorder::WriterLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    // After a failed write the writer waits for Flush to try again.
    cv_.wait(lk, [&] { return stop_ || (dirty_ && !writing_ && first_error_.ok()); });
    if (stop_) break;
    WriteLocked(lk, false);
    // Changes recorded from now on wait for the next write, at most MIN_INTERVAL away.
    cv_.wait_for(lk, min_interval_, [&] { return stop_; });
  }
}

core::Status StateRecorder::Record(const std::function<void(state::State&)>& mutate,
                                   std::int64_t* sequence) {
  std::lock_guard<std::mutex> lk(mu_);
  mutate(*state_);
  dirty_ = true;
  ++sequence_;
  if (sequence) *sequence = sequence_;
  cv_.notify_all();
  return first_error_;
}

void StateRecorder::Read(const std::function<void(const state::State&)>& read) const {
  std::lock_guard<std::mutex> lk(mu_);
  read(*state_);
}

core::Status StateRecorder::Flush() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return !writing_; });
  WriteLocked(lk, true);
  return dirty_ ? first_error_ : core::Status::Ok();
}

core::Status StateRecorder::first_error() const {
  std::lock_guard<std::mutex> lk(mu_);
  return first_error_;
}

std::int64_t StateRecorder::persisted_sequence() const {
  std::lock_guard<std::mutex> lk(mu_);
  return persisted_;
}

namespace {

// One Apply: the plan's changes sorted by kind, then intents, copies, written
// manifests and deletes in that order, each phase stopping once halted.
class ApplyRun {
 public:
  ApplyRun(const planner::Plan& plan, const std::map<std::string, providers::Registry*>& registries,
           StateRecorder* recorder, const ApplyOptions& options)
      : plan_(plan), registries_(registries), recorder_(recorder), options_(options),
        progress_(options.progress ? options.progress : &local_) {}

  ApplyReport Run();

 private:
  void Sort();
  bool RecordIntents();
  core::Status CopyOnce(const planner::Change& c, Copier* copier);
  core::Status EnsureNamespace(const planner::Change& c);
  core::Status CopyWithRetries(const planner::Change& c);
  void Copy(const planner::Change& c);
  void Write(const planner::Change& c);
  void DeleteAll(const DeleteGroup& g);
  core::Status Record(const std::function<void(state::State&)>& mutate);
  void Finish(const planner::Change& c, const core::Status& st, std::int64_t bytes = 0);
  // The lock of one destination repository (ApplyOptions::lock_repository): nullptr
  // when there is none to take.
  core::Result<std::unique_ptr<state::BackendLock>> LockRepository(const std::string& endpoint,
                                                                   const std::string& repository) {
    if (!options_.lock_repository) return std::unique_ptr<state::BackendLock>();
    return options_.lock_repository(endpoint, repository);
  }
  // Once set, no new change starts: a stop (options.cancel) or a failed state write.
  bool Halted() {
    if (options_.cancel && options_.cancel->load()) halt_ = true;
    return halt_.load();
  }
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }
  BlobLedger* LedgerOf(const std::string& endpoint) {
    std::lock_guard<std::mutex> lk(mu_);
    auto& ledger = ledgers_[endpoint];
    if (!ledger) ledger = std::make_unique<BlobLedger>();
    return ledger.get();
  }

  const planner::Plan& plan_;
  const std::map<std::string, providers::Registry*>& registries_;
  StateRecorder* recorder_;
  const ApplyOptions& options_;
  Progress local_;
  Progress* progress_;
  std::mutex mu_;  // guards report_, recorded_sequences_, ledgers_ and on_change_done
  ApplyReport report_;
  std::atomic<bool> halt_{false};
  std::vector<const planner::Change*> copies_;
  std::vector<const planner::Change*> written_;  // manifests crossdock writes itself
  std::map<std::pair<std::string, std::string>, DeleteGroup> deletes_;
  // Sequences of the records of changes that succeeded, to tell at the end which of
  // them reached the disk.
  std::vector<std::int64_t> recorded_sequences_;
  // One ledger per destination registry, shared by every copy into it.
  std::map<std::string, std::unique_ptr<BlobLedger>> ledgers_;
  ManifestCache manifests_;  // many tags of one digest: fetched once
  // Per (endpoint, repository): whether its namespace is known to exist.
  struct Namespace {
    std::mutex mu;
    bool exists = false;
  };
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Namespace>> namespaces_;
};

// The destination namespace of C (Registry::EnsureNamespace), asked until it once
// succeeded for the repository in this apply (a failure is asked again by the next
// attempt or change).
core::Status ApplyRun::EnsureNamespace(const planner::Change& c) {
  const auto key = std::make_pair(c.destination_endpoint, c.destination_repository);
  std::shared_ptr<Namespace> ns;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto& slot = namespaces_[key];
    if (!slot) slot = std::make_shared<Namespace>();
    ns = slot;
  }
  // One caller per repository at a time: copies into one repository start together,
  // and the first creates it; other repositories do not wait.
  std::lock_guard<std::mutex> lk(ns->mu);
  if (ns->exists) return core::Status::Ok();
  if (Cancelled()) return core::Status::Cancelled("stopped before the namespace was checked");
  core::Status st = registries_.at(c.destination_endpoint)->EnsureNamespace(c.destination_repository);
  ns->exists = st.ok();
  return st;
}

void ApplyRun::Sort() {
  for (const auto& c : plan_.changes) {
    const bool pushes = c.action == planner::Action::kCreate || c.action == planner::Action::kUpdate;
    if (!c.manifest_bytes.empty() && pushes) {
      written_.push_back(&c);
    } else if (pushes || c.action == planner::Action::kAdopt) {
      copies_.push_back(&c);
    } else if (c.action == planner::Action::kDelete) {
      auto& g = deletes_[{c.destination_endpoint, c.destination_repository}];
      g.endpoint = c.destination_endpoint;
      g.repository = c.destination_repository;
      g.changes.push_back(&c);
    }
  }
  int delete_count = 0;
  for (const auto& [k, g] : deletes_) delete_count += static_cast<int>(g.changes.size());
  progress_->changes_total = static_cast<int>(copies_.size() + written_.size()) + delete_count;
}

// Intents: one write before the first push (state::Intent). False when it failed:
// nothing may be pushed that a killed run could not find again.
bool ApplyRun::RecordIntents() {
  std::set<RecordKey> pushing, adopting;
  for (const auto* c : copies_)
    (c->action == planner::Action::kAdopt ? adopting : pushing).insert(KeyOf(*c));
  for (const auto* c : written_) pushing.insert(KeyOf(*c));
  std::set<std::string> rules(plan_.rules.begin(), plan_.rules.end());
  std::vector<state::Intent> earlier;
  recorder_->Read([&](const state::State& s) { earlier = s.intents; });
  // An earlier run's intent this plan neither adopts nor pushes again: drop it once
  // its tag shows the push never landed (absent, or another digest).
  std::vector<const state::Intent*> to_check;
  for (const auto& i : earlier) {
    RecordKey key{i.destination_endpoint, i.destination_repository, i.tag};
    if (rules.count(i.rule) && !adopting.count(key) && !pushing.count(key) &&
        registries_.count(i.destination_endpoint))
      to_check.push_back(&i);
  }
  std::vector<char> landed(to_check.size(), 1);
  core::ParallelFor(to_check.size(), options_.parallelism, [&](size_t k) {
    const state::Intent& i = *to_check[k];
    auto h = registries_.at(i.destination_endpoint)->HeadManifest(i.destination_repository, i.tag);
    if (h.ok() && (!*h || (*h)->digest != i.source_digest)) landed[k] = 0;
  }, options_.cancel);
  if (pushing.empty() && std::count(landed.begin(), landed.end(), 0) == 0) return true;
  (void)recorder_->Record([&](state::State& s) {
    for (size_t k = 0; k < to_check.size(); ++k)
      if (!landed[k])
        s.RemoveIntent(to_check[k]->destination_endpoint, to_check[k]->destination_repository,
                       to_check[k]->tag);
    for (const auto* c : copies_)
      if (c->action != planner::Action::kAdopt) s.AddIntent(IntentOf(*c));
    for (const auto* c : written_) s.AddIntent(IntentOf(*c));
  });
  return recorder_->Flush().ok();
}

core::Status ApplyRun::Record(const std::function<void(state::State&)>& mutate) {
  std::int64_t sequence = 0;
  core::Status st = recorder_->Record(mutate, &sequence);
  std::lock_guard<std::mutex> lk(mu_);
  recorded_sequences_.push_back(sequence);
  if (!st.ok()) halt_ = true;
  return st;
}

void ApplyRun::Finish(const planner::Change& c, const core::Status& st, std::int64_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  if (st.ok()) {
    ++report_.succeeded;
    ++progress_->changes_done;
  } else {
    ++report_.failed;
    ++progress_->changes_failed;
    report_.failures.push_back({c, st});
  }
  if (options_.on_change_done) options_.on_change_done(c, st, bytes);
}

// One attempt at a copy (or adoption) change; COPIER (null for an adoption) serves
// every attempt of the change.
core::Status ApplyRun::CopyOnce(const planner::Change& c, Copier* copier) {
  if (c.action == planner::Action::kAdopt) {
    // Nothing to copy; make sure the tag still holds the digest before owning it.
    auto h = registries_.at(c.destination_endpoint)->HeadManifest(c.destination_repository, c.tag);
    if (!h.ok()) return h.status();
    if (!*h || (*h)->digest != c.source_digest)
      return core::Status::Conflict(c.destination_repository + ":" + c.tag +
                                    " changed since the plan; it was not adopted. Run plan again.");
    return core::Status::Ok();
  }
  CROSSDOCK_RETURN_IF_ERROR(EnsureNamespace(c));
  return copier->CopyTagged(c.source_repository, c.source_digest, c.destination_repository, c.tag,
                            c.destination_digest);
}

void ApplyRun::Copy(const planner::Change& c) {
  const int retries = options_.retries_for ? std::clamp(options_.retries_for(c.rule), 0, 10) : 0;
  std::optional<std::chrono::milliseconds> timeout;
  if (options_.timeout_for) timeout = options_.timeout_for(c.rule);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string timed_out;
  if (timeout && timeout->count() > 0) {
    deadline = std::chrono::steady_clock::now() + *timeout;
    timed_out = "timed out after " + FormatDuration(*timeout);
  }
  std::optional<Copier> copier;
  if (c.action != planner::Action::kAdopt) {
    copier.emplace(registries_.at(c.source_endpoint), registries_.at(c.destination_endpoint),
                   LedgerOf(c.destination_endpoint), progress_, options_.blob_attempts);
    if (deadline) copier->SetDeadline(*deadline, timed_out);
    copier->SetCancel(options_.cancel);  // a stop abandons the copy in flight
    copier->SetManifestCache(&manifests_);
  }
  core::Status st;
  for (int attempt = 1;; ++attempt) {
    // Damage that persists to the last attempt fails as DataLoss (corrupt at the source…).
    if (copier) copier->SetFinalAttempt(attempt > retries);
    st = CopyOnce(c, copier ? &*copier : nullptr);
    // Only a transient failure is worth repeating: the client maps transport errors,
    // 5xx, 429 and a token that expired mid-upload to Unavailable, the copier a blob
    // or manifest that did not arrive intact (until the final attempt).
    if (st.ok() || st.code() != core::Code::kUnavailable || attempt > retries) break;
    if (Cancelled()) {
      st = StoppedAfter(attempt, st);
      break;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (options_.on_retry) options_.on_retry(c, attempt, st);
    }
    SleepUnlessStopped(options_.change_retry.Delay(attempt + 1, core::Jitter(), std::nullopt),
                       options_.cancel, deadline);
    if (deadline && std::chrono::steady_clock::now() >= *deadline) {
      st = core::Status::Cancelled(timed_out + "; attempt " + std::to_string(attempt) +
                                   " had failed: " + st.message());
      break;
    }
    if (Cancelled()) {
      st = StoppedAfter(attempt, st);
      break;
    }
  }
  state::Artifact a = ArtifactOf(c);
  providers::Registry* dst = registries_.at(c.destination_endpoint);
  if (st.ok() && dst->ConvertsManifests()) {
    // What the tag holds now is the destination's own form of the source manifest.
    auto held = dst->HeadManifest(c.destination_repository, c.tag);
    if (!held.ok() || !*held)
      st = core::Status::Unavailable(
          "copied, but " + c.destination_repository + ":" + c.tag + " at endpoint \"" +
          c.destination_endpoint + "\" could not be read back (" +
          (held.ok() ? std::string("absent") : held.status().message()) + "); run apply again");
    else
      a.destination_digest = (*held)->digest;
  }
  if (st.ok()) {
    core::Status rec = Record([&](state::State& s) { RecordDone(s, c, a); });
    if (!rec.ok()) st = rec.WithContext("copied, but the state could not be saved");
  }
  Finish(c, st, copier ? copier->bytes_copied() : 0);
}

// A manifest crossdock writes itself (a referrers index), checked as a copied tag is:
// never left on a manifest altered on the way.
void ApplyRun::Write(const planner::Change& c) {
  providers::Manifest m{c.manifest_media_type, c.source_digest, c.manifest_bytes};
  providers::Registry* dst = registries_.at(c.destination_endpoint);
  Copier writer(dst, dst, LedgerOf(c.destination_endpoint), progress_, options_.blob_attempts);
  core::Status st = EnsureNamespace(c);
  if (st.ok()) st = writer.PutTag(c.destination_repository, c.tag, m, c.destination_digest);
  if (st.ok()) {
    const state::Artifact a = ArtifactOf(c);
    core::Status rec = Record([&](state::State& s) { RecordDone(s, c, a); });
    if (!rec.ok()) st = rec.WithContext("written, but the state could not be saved");
  }
  Finish(c, st);
}

// The deletes at one destination repository.
void ApplyRun::DeleteAll(const DeleteGroup& g) {
  providers::Registry* dst = registries_.at(g.endpoint);
  auto forget = [&](const planner::Change& c) {
    return Record([&](state::State& s) {
      s.Remove(c.destination_endpoint, c.destination_repository, c.tag);
      s.RemoveIntent(c.destination_endpoint, c.destination_repository, c.tag);
    });
  };
  // What each tag of the repository points at now, to find tags sharing a digest.
  std::set<std::string> deleting;
  for (const auto* c : g.changes) deleting.insert(c->tag);
  std::map<std::string, std::string> digest_of_other;  // other tag -> digest
  // A registry that deletes tags alone cannot take another tag along.
  bool need_listing = false;
  for (const auto* c : g.changes) need_listing = need_listing || c->destination_digest.has_value();
  need_listing = need_listing && !dst->DeletesTagsAlone();
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
    if (Halted()) break;
    if (!c.destination_digest) {  // already gone: only forget it
      Finish(c, forget(c));
      continue;
    }
    if (!listing.ok()) {
      Finish(c, listing);
      continue;
    }
    auto now = dst->HeadManifest(g.repository, c.tag);
    if (!now.ok()) {
      Finish(c, now.status());
      continue;
    }
    if (!*now) {
      Finish(c, forget(c));
      continue;
    }
    if ((*now)->digest != *c.destination_digest) {
      Finish(c, core::Status::Conflict(
                    g.repository + ":" + c.tag + " at endpoint \"" + g.endpoint +
                    "\" changed since the plan (now " + (*now)->digest +
                    "); it was not deleted. Run plan again."));
      continue;
    }
    std::string sharing;
    for (const auto& [t, d] : digest_of_other)
      if (d == (*now)->digest) sharing += (sharing.empty() ? "" : ", ") + t;
    if (!sharing.empty()) {
      Finish(c, core::Status::Conflict(
                    "cannot delete " + g.repository + ":" + c.tag + " at endpoint \"" +
                    g.endpoint + "\": the registry deletes by digest, and tag(s) " + sharing +
                    " (not crossdock's to delete) share digest " + (*now)->digest));
      continue;
    }
    core::Status st;
    if (dst->DeletesTagsAlone() || !deleted_digests.count((*now)->digest)) {
      st = dst->DeleteTag(g.repository, c.tag, (*now)->digest);
      if (st.code() == core::Code::kNotFound) st = core::Status::Ok();
      if (st.ok()) deleted_digests.insert((*now)->digest);
    }
    if (st.ok()) st = forget(c);
    Finish(c, st);
  }
}

ApplyReport ApplyRun::Run() {
  Sort();
  if (!RecordIntents()) {
    report_.not_started = progress_->changes_total;
    return report_;
  }
  core::ParallelFor(copies_.size(), options_.parallelism, [&](size_t i) {
    if (Halted()) return;
    const planner::Change& c = *copies_[i];
    auto held = LockRepository(c.destination_endpoint, c.destination_repository);
    if (!held.ok()) return Finish(c, held.status());
    Copy(c);
  }, &halt_);
  // Written manifests (referrers indexes) name copied ones: they go after the copies.
  for (const auto* c : written_) {
    if (Halted()) break;
    auto held = LockRepository(c->destination_endpoint, c->destination_repository);
    if (!held.ok()) {
      Finish(*c, held.status());
      continue;
    }
    Write(*c);
  }
  std::vector<const DeleteGroup*> groups;
  for (const auto& [k, g] : deletes_) groups.push_back(&g);
  core::ParallelFor(groups.size(), options_.parallelism, [&](size_t i) {
    if (Halted()) return;
    const DeleteGroup& g = *groups[i];
    auto held = LockRepository(g.endpoint, g.repository);
    if (!held.ok()) {
      for (const auto* c : g.changes) Finish(*c, held.status());
      return;
    }
    DeleteAll(g);
  }, &halt_);

  report_.not_started = progress_->changes_total - report_.succeeded - report_.failed;
  report_.bytes_copied = progress_->bytes_copied;
  report_.blobs_copied = progress_->blobs_copied;
  report_.blobs_mounted = progress_->blobs_mounted;
  report_.blobs_present = progress_->blobs_present;
  // Whatever failed to persist is the caller's to report (StateRecorder::first_error).
  (void)recorder_->Flush();
  const std::int64_t on_disk = recorder_->persisted_sequence();
  for (std::int64_t sequence : recorded_sequences_)
    if (sequence > on_disk) ++report_.unrecorded;
  return report_;
}

}  // namespace

ApplyReport Apply(const planner::Plan& plan,
                  const std::map<std::string, providers::Registry*>& registries,
                  StateRecorder* recorder, const ApplyOptions& options) {
  return ApplyRun(plan, registries, recorder, options).Run();
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
