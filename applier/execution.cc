#include "applier/execution.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "applier/history.h"

namespace crossdock::applier {

namespace {

// Polls for a stop request of execution ID while it lives; on one, cancels the
// execution exactly as Ctrl-C does.
class StopWatcher {
 public:
  StopWatcher(const state::ExecutionStore* store, std::int64_t id, core::CancelToken* cancel,
              std::chrono::milliseconds poll) {
    thread_ = std::thread([this, store, id, cancel, poll] {
      std::unique_lock<std::mutex> lk(mu_);
      while (!cv_.wait_for(lk, poll, [&] { return done_; })) {
        if (store->StopRequested(id)) {
          requested_ = true;
          cancel->Cancel();
          return;
        }
      }
    });
  }
  ~StopWatcher() { Join(); }
  void Join() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool requested() const { return requested_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> requested_{false};
  std::thread thread_;
};

}  // namespace

std::optional<state::Execution> RecordUnchanged(const planner::Plan& plan,
                                                const std::string& state_path,
                                                const ExecutionOptions& options) {
  state::ExecutionStore history(state_path);
  auto e = ExecutionRecorder::Start(&history, plan, options.trigger);
  if (!e.ok()) {
    options.warn("execution history: " + e.status().message());
    return std::nullopt;
  }
  core::Status st =
      (*e)->Finish(false, plan.errors.empty() ? "" : "the plan had errors", options.keep);
  if (!st.ok()) options.warn("execution history: " + st.message());
  return (*e)->execution();
}

ExecutionResult RunExecution(const planner::Plan& plan, state::State* state,
                             state::Backend* backend,
                             const std::map<std::string, providers::Registry*>& registries,
                             core::CancelToken* cancel, const ExecutionOptions& options) {
  state::ExecutionStore history(backend->history_path());
  StateRecorder recorder(
      state, [&](state::State* s) { return backend->Persist(s); }, StateRecorder::kDefaultInterval,
      backend->persists_journal_only());
  // We hold the state lock, so an execution still "running" belongs to a run that crashed.
  if (auto recovered = history.RecoverCrashed(); !recovered.ok())
    options.warn("execution history: " + recovered.status().message());
  std::unique_ptr<ExecutionRecorder> execution;
  if (auto e = ExecutionRecorder::Start(&history, plan, options.trigger); e.ok()) {
    execution = std::move(*e);
  } else {
    options.warn("execution history: " + e.status().message() + "; applying without it");
  }
  // `crossdock stop ID` from another terminal asks this run to stop.
  std::optional<StopWatcher> watcher;
  if (execution) watcher.emplace(&history, execution->id(), cancel, options.stop_poll);

  if (options.on_start)
    options.on_start(execution ? std::optional<std::int64_t>(execution->id()) : std::nullopt);
  ExecutionResult result;
  if (plan.refresh_only) {
    result.report = ApplyRefresh(plan, &recorder);
  } else {
    ApplyOptions ao = options.apply;
    ao.cancel = cancel->flag();
    ao.on_change_done = [&](const planner::Change& c, const core::Status& st, std::int64_t bytes) {
      if (execution) execution->ChangeDone(c, st, bytes);
      if (options.apply.on_change_done) options.apply.on_change_done(c, st, bytes);
    };
    result.report = Apply(plan, registries, &recorder, ao);
  }
  result.persisted = recorder.first_error();
  if (watcher) {
    watcher->Join();  // first: a stop it saw has cancelled the token by now
    result.stopped_by_request = watcher->requested();
  }
  result.cancelled = cancel->cancelled();
  if (execution) {
    std::string problem = !result.persisted.ok() ? result.persisted.message()
                          : !plan.errors.empty() ? "the plan had errors"
                                                 : "";
    core::Status st =
        execution->Finish(result.cancelled, problem, options.keep,
                          result.stopped_by_request ? "stopped by `crossdock stop`" : "");
    if (!st.ok()) options.warn("execution history: " + st.message());
    result.execution = execution->execution();
  }
  return result;
}

}  // namespace crossdock::applier
