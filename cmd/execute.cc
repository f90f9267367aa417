// Executing a plan: approval, the execution record, progress, the apply itself and the
// final report. Shared by apply (a fresh or saved plan) and retry.
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "applier/applier.h"
#include "applier/history.h"
#include "cmd/session.h"
#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::cmd {

namespace {

// Executions kept per rule in the history (Harbor keeps 50 per policy).
constexpr int kExecutionsKept = 50;

std::string Bytes(std::int64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (1 << 20)) return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < (1ll << 30)) return fmt::format("{:.1f} MiB", n / 1048576.0);
  return fmt::format("{:.2f} GiB", n / 1073741824.0);
}

// Shows "tags done/total, bytes, rate" on one refreshed stderr line while it lives.
class ProgressLine {
 public:
  explicit ProgressLine(const applier::Progress* p) : p_(p) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLine() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    fmt::print(stderr, "\r\033[K");
  }

 private:
  void Loop() {
    auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lk(mu_);
    while (!cv_.wait_for(lk, std::chrono::milliseconds(250), [&] { return stop_; })) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::int64_t bytes = p_->bytes_copied;
      fmt::print(stderr, "\r\033[K[{}/{} done{}] {} copied, {}/s", p_->changes_done.load(),
                 p_->changes_total.load(),
                 p_->changes_failed ? fmt::format(", {} failed", p_->changes_failed.load()) : "",
                 Bytes(bytes), Bytes(secs > 0 ? static_cast<std::int64_t>(bytes / secs) : 0));
    }
  }
  const applier::Progress* p_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

std::string Verb(planner::Action a) {
  switch (a) {
    case planner::Action::kCreate: return "copied";
    case planner::Action::kUpdate: return "replaced";
    case planner::Action::kDelete: return "deleted";
    case planner::Action::kSkip: return "skipped";
    case planner::Action::kAdopt: return "adopted";
  }
  return "";
}

// Polls for a stop request of execution ID while it lives; on one, stops starting
// new work exactly as Ctrl-C does.
class StopWatcher {
 public:
  StopWatcher(const state::ExecutionStore* store, std::int64_t id) : store_(store), id_(id) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lk(mu_);
      while (!cv_.wait_for(lk, std::chrono::milliseconds(200), [&] { return done_; })) {
        if (store_->StopRequested(id_)) {
          requested_ = true;
          g_interrupted = true;
          return;
        }
      }
    });
  }
  ~StopWatcher() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool requested() const { return requested_; }

 private:
  const state::ExecutionStore* store_;
  std::int64_t id_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> requested_{false};
  std::thread thread_;
};

bool Approve(bool auto_approve) {
  if (auto_approve) return true;
  fmt::print("\nDo you want to perform these actions?\n"
             "  crossdock will perform the actions described above.\n"
             "  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

}  // namespace

int ExecutePlan(Session& session, const planner::Plan& plan, const ExecuteOptions& eo) {
  state::ExecutionStore history(session.state_path);
  auto finished = [&](applier::ExecutionRecorder& e) {
    if (eo.on_finished) eo.on_finished(e.execution());
  };
  // --json: stdout carries only JSON lines (documented in the README, "apply --json").
  auto emit = [](const nlohmann::ordered_json& j) {
    fmt::print("{}\n", j.dump());
    std::fflush(stdout);
  };
  if (eo.json) {
    emit({{"type", "plan"}, {"plan", nlohmann::ordered_json::parse(planner::RenderPlanJson(plan))}});
  } else {
    fmt::print("{}", planner::RenderPlanText(plan, eo.color));
    std::fflush(stdout);  // run and serve logs are read as they grow
  }
  if (!plan.has_changes()) {
    // Recorded all the same (as Harbor's "no resources need to be replicated"): a
    // scheduled rule's last run is what --due measures from.
    auto e = applier::ExecutionRecorder::Start(&history, plan, eo.trigger);
    if (e.ok()) {
      core::Status st = (*e)->Finish(false, plan.errors.empty() ? "" : "the plan had errors",
                                     kExecutionsKept);
      if (!st.ok()) PrintWarning("execution history: " + st.message());
      finished(**e);
    } else {
      PrintWarning("execution history: " + e.status().message());
    }
    if (eo.json) {
      emit({{"type", "report"}, {"status", plan.errors.empty() ? "succeeded" : "failed"},
            {"succeeded", 0}, {"failed", 0}, {"not_started", 0}, {"bytes", 0},
            {"duration_seconds", 0}, {"failures", nlohmann::ordered_json::array()}});
    }
    return plan.errors.empty() ? kExitOk : kExitError;
  }

  if (eo.ask && eo.json && !eo.auto_approve) {
    PrintError("apply --json cannot ask for approval: pass --auto-approve, or apply a saved plan");
    return kExitError;
  }
  if (eo.ask) {
    bool interactive = IsTerminal(0) && IsTerminal(1);
    if (!eo.auto_approve && !interactive) {
      PrintError("apply needs approval: run it in a terminal, pass --auto-approve, or apply a "
                 "saved plan (crossdock plan --out FILE; crossdock apply FILE)");
      return kExitError;
    }
    if (!Approve(eo.auto_approve)) {
      fmt::print("\nApply cancelled.\n");
      return kExitError;
    }
  }
  if (!eo.json) fmt::print("\n");

  std::string state_path = session.state_path;
  applier::StateRecorder recorder(&session.state, [&](state::State* s) {
    return state::WriteState(state_path, s);
  });
  // The history of this run (crossdock executions / tasks / logs). We hold the state
  // lock, so an execution still "running" belongs to a run that crashed.
  if (auto recovered = history.RecoverCrashed(); !recovered.ok()) {
    PrintWarning("execution history: " + recovered.status().message());
  }
  std::unique_ptr<applier::ExecutionRecorder> execution;
  if (auto e = applier::ExecutionRecorder::Start(&history, plan, eo.trigger); e.ok()) {
    execution = std::move(*e);
  } else {
    PrintWarning("execution history: " + e.status().message() + "; applying without it");
  }
  // `crossdock stop ID` from another terminal asks this run to stop.
  std::optional<StopWatcher> watcher;
  if (execution) watcher.emplace(&history, execution->id());
  auto start = std::chrono::steady_clock::now();
  if (eo.json) {
    emit({{"type", "apply_start"},
          {"execution", execution ? nlohmann::ordered_json(execution->id()) : nullptr},
          {"changes", plan.changes.size()}});
  }
  applier::ApplyReport report;
  if (plan.refresh_only) {
    report = applier::ApplyRefresh(plan, &recorder);
  } else {
    applier::Progress progress;
    applier::ApplyOptions ao;
    applier::UseRuleRetriesAndTimeouts(session.config, &ao);  // per-rule retries and timeout
    ao.parallelism = eo.parallelism;
    ao.cancel = &g_interrupted;
    ao.progress = &progress;
    std::mutex print_mu;
    const bool tty = IsTerminal(2) && !eo.json;
    ao.on_change_done = [&](const planner::Change& c, const core::Status& st, std::int64_t bytes) {
      if (execution) execution->ChangeDone(c, st, bytes);
      std::lock_guard<std::mutex> lk(print_mu);
      if (eo.json) {
        nlohmann::ordered_json j = {
            {"type", st.ok() ? "change_complete" : "change_errored"},
            {"rule", c.rule},
            {"action", planner::ActionName(c.action)},
            {"destination_endpoint", c.destination_endpoint},
            {"destination_repository", c.destination_repository},
            {"tag", c.tag},
            {"bytes", bytes},
            {"done", progress.changes_done.load() + progress.changes_failed.load()},
            {"total", progress.changes_total.load()}};
        if (!st.ok()) j["message"] = st.message();
        emit(j);
        return;
      }
      if (tty) fmt::print(stderr, "\r\033[K");
      std::string ref = c.destination_host + "/" + c.destination_repository + core::RefSuffix(c.tag);
      if (st.ok()) {
        fmt::print("{}: {}\n", ref, Verb(c.action));
      } else {
        fmt::print("{}: failed: {}\n", ref, st.message());
      }
      std::fflush(stdout);
    };
    std::optional<ProgressLine> line;
    if (tty) line.emplace(&progress);
    report = applier::Apply(plan, session.registries->map(), &recorder, ao);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  core::Status persisted = recorder.first_error();
  if (!persisted.ok()) {
    PrintError("the state could not be saved: " + persisted.message() +
               "; no new change was started after that");
  }
  if (report.unrecorded > 0) {
    PrintError(fmt::format(
        "{} change{} done at the registries {} not recorded in the state file; crossdock wrote "
        "its intent to push them before it started, so the next apply records them once {} can "
        "be written (free space, fix permissions)",
        report.unrecorded, report.unrecorded == 1 ? "" : "s",
        report.unrecorded == 1 ? "is" : "are", state_path));
  }
  std::string execution_line;
  bool by_request_stop = false;
  if (execution) {
    std::string problem = !persisted.ok()          ? persisted.message()
                          : !plan.errors.empty()   ? "the plan had errors"
                                                   : "";
    bool by_request = watcher && watcher->requested();
    by_request_stop = by_request;
    watcher.reset();
    core::Status st = execution->Finish(g_interrupted, problem, kExecutionsKept,
                                        by_request ? "stopped by `crossdock stop`" : "");
    if (!st.ok()) PrintWarning("execution history: " + st.message());
    finished(*execution);
    execution_line = fmt::format(" Execution {}: see `crossdock tasks {}`.", execution->id(),
                                 execution->id());
  }

  if (eo.json) {
    nlohmann::ordered_json failures = nlohmann::ordered_json::array();
    for (const auto& f : report.failures) {
      failures.push_back({{"rule", f.change.rule},
                          {"destination_endpoint", f.change.destination_endpoint},
                          {"destination_repository", f.change.destination_repository},
                          {"tag", f.change.tag},
                          {"message", f.status.message()}});
    }
    bool failed = report.failed > 0 || !persisted.ok() || !plan.errors.empty();
    emit({{"type", "report"},
          {"status", g_interrupted ? "stopped" : failed ? "failed" : "succeeded"},
          {"execution", execution ? nlohmann::ordered_json(execution->id()) : nullptr},
          {"succeeded", report.succeeded},
          {"failed", report.failed},
          {"not_started", report.not_started},
          {"unrecorded", report.unrecorded},
          {"bytes", report.bytes_copied},
          {"duration_seconds", secs},
          {"blobs", {{"copied", report.blobs_copied},
                     {"mounted", report.blobs_mounted},
                     {"present", report.blobs_present}}},
          {"failures", failures}});
    return g_interrupted ? kExitInterrupted : failed ? kExitError : kExitOk;
  }
  if (g_interrupted) {
    fmt::print("\nApply {}: {} done, {} failed, {} not started. The state records "
               "everything that finished.{}\n",
               by_request_stop ? "stopped" : "interrupted", report.succeeded, report.failed,
               report.not_started, execution_line);
    return kExitInterrupted;
  }
  std::string blobs = fmt::format("blobs: {} copied, {} mounted, {} already present",
                                  report.blobs_copied, report.blobs_mounted, report.blobs_present);
  if (report.failed > 0 || !persisted.ok() || !plan.errors.empty()) {
    fmt::print("\nApply finished with errors: {} done, {} failed{}. {} in {:.1f}s ({}).{}\n",
               report.succeeded, report.failed,
               report.not_started ? fmt::format(", {} not started", report.not_started) : "",
               Bytes(report.bytes_copied), secs, blobs, execution_line);
    for (const auto& f : report.failures)
      fmt::print(stderr, "Error: {}/{}{}: {}\n", f.change.destination_endpoint,
                 f.change.destination_repository, core::RefSuffix(f.change.tag), f.status.message());
    return kExitError;
  }
  fmt::print("\nApply complete! {} change{} applied. {} in {:.1f}s ({}).{}\n", report.succeeded,
             report.succeeded == 1 ? "" : "s", Bytes(report.bytes_copied), secs, blobs,
             execution_line);
  return kExitOk;
}

}  // namespace crossdock::cmd
