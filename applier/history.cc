#include "applier/history.h"

#include "core/clock.h"
#include <ctime>

#include "core/cron.h"
#include "core/digest.h"

namespace crossdock::applier {

namespace {


bool Executable(const planner::Change& c) { return c.action != planner::Action::kSkip; }

}  // namespace

ExecutionRecorder::TaskKey ExecutionRecorder::KeyOf(const planner::Change& c) {
  return {c.rule, c.destination_endpoint, c.destination_repository,
          c.action == planner::Action::kDelete ? state::Operation::kDelete
                                               : state::Operation::kCopy};
}

ExecutionRecorder::ExecutionRecorder(state::ExecutionStore* store, state::Execution e,
                                     std::map<TaskKey, size_t> index)
    : store_(store), execution_(std::move(e)), index_(std::move(index)) {
  for (const auto& t : execution_.tasks)
    remaining_[static_cast<size_t>(t.id - 1)] = static_cast<int>(t.references.size());
  execution_.total = 0;
  for (const auto& [k, n] : remaining_) execution_.total += n;
}

core::Result<std::unique_ptr<ExecutionRecorder>> ExecutionRecorder::Start(
    state::ExecutionStore* store, const planner::Plan& plan, state::Trigger trigger) {
  std::vector<state::Task> tasks;
  std::map<TaskKey, size_t> index;
  for (const auto& c : plan.changes) {
    if (!Executable(c)) continue;
    auto [it, inserted] = index.emplace(KeyOf(c), tasks.size());
    if (inserted) {
      state::Task t;
      t.rule = c.rule;
      t.operation = std::get<3>(it->first);
      t.destination_endpoint = c.destination_endpoint;
      t.destination_repository = c.destination_repository;
      tasks.push_back(t);
    }
    tasks[it->second].references.push_back(c.tag);
  }
  auto e = store->Start(plan.rules, trigger, std::move(tasks));
  if (!e.ok()) return e.status();
  if (plan.shard) {  // what --due measures a shard's runs by
    e->shard = plan.shard->Name();
    CROSSDOCK_RETURN_IF_ERROR(store->Save(*e));
  }
  return std::unique_ptr<ExecutionRecorder>(new ExecutionRecorder(store, std::move(*e), std::move(index)));
}

void ExecutionRecorder::ChangeDone(const planner::Change& c, const core::Status& st,
                                   std::int64_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = index_.find(KeyOf(c));
  if (it == index_.end()) return;
  size_t i = it->second;
  state::Task& t = execution_.tasks[i];
  auto now = std::chrono::steady_clock::now();
  if (t.status == state::TaskStatus::kPending) {
    t.status = state::TaskStatus::kRunning;
    t.attempts = 1;
    started_[i] = now;
  }
  t.bytes += bytes;
  std::string ref = c.destination_repository + core::RefSuffix(c.tag);
  std::string line = st.ok() ? std::string(planner::ActionName(c.action)) + " " + ref + " " +
                                   (c.source_digest.empty() ? "" : c.source_digest) + ": done"
                             : std::string(planner::ActionName(c.action)) + " " + ref + ": failed: " +
                                   st.message();
  core::Status log = store_->AppendLog(execution_.id, t.id, line);
  if (!log.ok() && first_error_.ok()) first_error_ = log;
  // A copy abandoned by a stop fails with Cancelled "stopped: …" (applier.h).
  const bool stopped = st.code() == core::Code::kCancelled && st.message().rfind("stopped", 0) == 0;
  if (st.ok()) {
    ++execution_.succeeded;
  } else {
    ++execution_.failed;
    if (t.error.empty()) t.error = st.message();
    if (!stopped) failed_tasks_.insert(i);
  }
  execution_.bytes += bytes;
  if (--remaining_[i] > 0) return;
  t.status = t.error.empty()             ? state::TaskStatus::kSucceeded
             : failed_tasks_.count(i) ? state::TaskStatus::kFailed
                                      : state::TaskStatus::kStopped;
  t.duration_seconds = std::chrono::duration<double>(now - started_[i]).count();
  core::Status saved = store_->Save(execution_);
  if (!saved.ok() && first_error_.ok()) first_error_ = saved;
}

core::Status ExecutionRecorder::Finish(bool interrupted, const std::string& problem, int keep,
                                       const std::string& stop_message) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& t : execution_.tasks)
    if (t.status == state::TaskStatus::kPending || t.status == state::TaskStatus::kRunning)
      t.status = interrupted ? state::TaskStatus::kStopped : state::TaskStatus::kFailed;
  execution_.ended_at = core::NowRfc3339();
  if (interrupted) {
    execution_.status = state::ExecutionStatus::kStopped;
    execution_.message = (stop_message.empty() ? "interrupted" : stop_message) +
                         "; the changes not started were left for the next run";
  } else if (execution_.failed > 0 || !problem.empty()) {
    execution_.status = state::ExecutionStatus::kFailed;
    execution_.message = problem.empty() ? std::to_string(execution_.failed) + " change(s) failed"
                                         : problem;
  } else {
    execution_.status = state::ExecutionStatus::kSucceeded;
  }
  CROSSDOCK_RETURN_IF_ERROR(store_->Save(execution_));
  store_->ClearStopRequest(execution_.id);
  CROSSDOCK_RETURN_IF_ERROR(store_->Prune(keep));
  return first_error_;
}

core::Result<std::vector<std::string>> DueRules(const core::Config& config,
                                                const state::ExecutionStore& history,
                                                std::chrono::system_clock::time_point now,
                                                const std::optional<core::Shard>& shard) {
  const std::string mine = shard ? shard->Name() : "";
  auto all = history.List();
  if (!all.ok()) return all.status();
  std::vector<std::string> due;
  for (const auto& rule : config.rules) {
    if (!rule.enabled || rule.schedule.empty()) continue;
    auto schedule = core::Schedule::Parse(rule.schedule, rule.timezone);
    if (!schedule.ok()) return schedule.status();
    std::optional<std::chrono::system_clock::time_point> last;
    for (const auto& e : *all) {  // newest first
      if (e.trigger != state::Trigger::kScheduled ||
          std::find(e.rules.begin(), e.rules.end(), rule.name) == e.rules.end() ||
          (!e.shard.empty() && e.shard != mine))
        continue;
      std::tm tm{};
      if (strptime(e.started_at.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) continue;
      last = std::chrono::system_clock::from_time_t(timegm(&tm));
      break;
    }
    if (!last) {
      due.push_back(rule.name);
      continue;
    }
    auto next = schedule->Next(*last);
    if (next && *next <= now) due.push_back(rule.name);
  }
  return due;
}

RetryFilter::RetryFilter(const state::Execution& execution) {
  for (const auto& t : execution.tasks)
    if (t.status == state::TaskStatus::kFailed || t.status == state::TaskStatus::kStopped)
      tasks_.insert({t.rule, t.destination_endpoint, t.destination_repository, t.operation});
}

void RetryFilter::Keep(planner::Plan* plan) const {
  std::vector<planner::Change> kept;
  for (auto& c : plan->changes)
    if (tasks_.count(ExecutionRecorder::KeyOf(c))) kept.push_back(std::move(c));
  plan->changes = std::move(kept);
}

}  // namespace crossdock::applier
