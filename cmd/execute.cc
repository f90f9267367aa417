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
#include "applier/execution.h"
#include "cmd/session.h"
#include "core/clock.h"
#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::cmd {

namespace {

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

// --json: stdout carries only JSON lines (documented in the README, "apply --json").
void Emit(const nlohmann::ordered_json& j) {
  fmt::print("{}\n", j.dump());
  std::fflush(stdout);
}

// The plan as the user sees it before anything is done.
void ShowPlan(const planner::Plan& plan, const ExecuteOptions& eo) {
  if (eo.json) {
    Emit({{"type", "plan"}, {"plan", nlohmann::ordered_json::parse(planner::RenderPlanJson(plan))}});
  } else {
    fmt::print("{}", planner::RenderPlanText(plan, eo.color));
    std::fflush(stdout);  // run and serve logs are read as they grow
  }
}

// Recorded all the same, so that --due measures from it.
int FinishUnchanged(Session& session, const planner::Plan& plan, const ExecuteOptions& eo) {
  applier::ExecutionOptions xo;
  xo.trigger = eo.trigger;
  xo.warn = PrintWarning;
  auto e = applier::RecordUnchanged(plan, session.state_path, xo);
  if (e && eo.on_finished) eo.on_finished(*e);
  if (eo.json) {
    Emit({{"type", "report"}, {"status", plan.errors.empty() ? "succeeded" : "failed"},
          {"succeeded", 0}, {"failed", 0}, {"not_started", 0}, {"bytes", 0},
          {"duration_seconds", 0}, {"failures", nlohmann::ordered_json::array()}});
  }
  return plan.errors.empty() ? kExitOk : kExitError;
}

// Approval for a fresh plan: --auto-approve, or "yes" typed in a terminal. Prints why
// not and returns false.
bool Approved(const ExecuteOptions& eo) {
  if (!eo.ask) return true;
  if (eo.json && !eo.auto_approve) {
    PrintError("apply --json cannot ask for approval: pass --auto-approve, or apply a saved plan");
    return false;
  }
  bool interactive = IsTerminal(0) && IsTerminal(1);
  if (!eo.auto_approve && !interactive) {
    PrintError("apply needs approval: run it in a terminal, pass --auto-approve, or apply a "
               "saved plan (crossdock plan --out FILE; crossdock apply FILE)");
    return false;
  }
  if (!Approve(eo.auto_approve)) {
    fmt::print("\nApply cancelled.\n");
    return false;
  }
  return true;
}

// Prints each finished change: a line of text, or a JSON line.
class ChangePrinter {
 public:
  ChangePrinter(const ExecuteOptions& eo, const applier::Progress* progress)
      : eo_(eo), progress_(progress), tty_(IsTerminal(2) && !eo.json) {}

  void Done(const planner::Change& c, const core::Status& st, std::int64_t bytes) {
    std::lock_guard<std::mutex> lk(mu_);
    if (eo_.json) {
      nlohmann::ordered_json j = {
          {"type", st.ok() ? "change_complete" : "change_errored"},
          {"rule", c.rule},
          {"action", planner::ActionName(c.action)},
          {"destination_endpoint", c.destination_endpoint},
          {"destination_repository", c.destination_repository},
          {"tag", c.tag},
          {"bytes", bytes},
          {"done", progress_->changes_done.load() + progress_->changes_failed.load()},
          {"total", progress_->changes_total.load()}};
      if (!st.ok()) j["message"] = st.message();
      Emit(j);
      return;
    }
    if (tty_) fmt::print(stderr, "\r\033[K");
    std::string ref = c.destination_host + "/" + c.destination_repository + core::RefSuffix(c.tag);
    if (st.ok()) {
      fmt::print("{}: {}\n", ref, Verb(c.action));
    } else {
      fmt::print("{}: failed: {}\n", ref, st.message());
    }
    std::fflush(stdout);
  }
  bool tty() const { return tty_; }

 private:
  const ExecuteOptions& eo_;
  const applier::Progress* progress_;
  const bool tty_;
  std::mutex mu_;
};

// Says what a failed state write and changes left unrecorded mean.
void ReportPersistence(const applier::ExecutionResult& r, const std::string& state_path) {
  if (!r.persisted.ok()) {
    PrintError("the state could not be saved: " + r.persisted.message() +
               "; no new change was started after that");
  }
  if (r.report.unrecorded > 0) {
    const int n = r.report.unrecorded;
    PrintError(fmt::format(
        "{} change{} done at the registries {} not recorded in the state file; crossdock wrote "
        "its intent to push them before it started, so the next apply records them once {} can "
        "be written (free space, fix permissions)",
        n, n == 1 ? "" : "s", n == 1 ? "is" : "are", state_path));
  }
}

int ReportJson(const planner::Plan& plan, const applier::ExecutionResult& r, double secs) {
  const applier::ApplyReport& report = r.report;
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (const auto& f : report.failures) {
    failures.push_back({{"rule", f.change.rule},
                        {"destination_endpoint", f.change.destination_endpoint},
                        {"destination_repository", f.change.destination_repository},
                        {"tag", f.change.tag},
                        {"message", f.status.message()}});
  }
  bool failed = report.failed > 0 || !r.persisted.ok() || !plan.errors.empty();
  Emit({{"type", "report"},
        {"status", r.cancelled ? "stopped" : failed ? "failed" : "succeeded"},
        {"execution", r.execution ? nlohmann::ordered_json(r.execution->id) : nullptr},
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
  return r.cancelled ? kExitInterrupted : failed ? kExitError : kExitOk;
}

int ReportText(const planner::Plan& plan, const applier::ExecutionResult& r, double secs) {
  const applier::ApplyReport& report = r.report;
  const std::string execution_line =
      r.execution ? fmt::format(" Execution {}: see `crossdock tasks {}`.", r.execution->id,
                                r.execution->id)
                  : "";
  if (r.cancelled) {
    fmt::print("\nApply {}: {} done, {} failed, {} not started. The state records "
               "everything that finished.{}\n",
               r.stopped_by_request ? "stopped" : "interrupted", report.succeeded, report.failed,
               report.not_started, execution_line);
    return kExitInterrupted;
  }
  std::string blobs = fmt::format("blobs: {} copied, {} mounted, {} already present",
                                  report.blobs_copied, report.blobs_mounted, report.blobs_present);
  if (report.failed > 0 || !r.persisted.ok() || !plan.errors.empty()) {
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

// An unattended run that the deletion guard refused: a failed execution of PLAN's rules
// with the guard as its message, so `crossdock executions` says why nothing happened
// and a scheduled fire counts as taken (the rules are not due again every second).
void RecordRefusal(Session& session, const planner::Plan& plan, state::Trigger trigger,
                   const std::string& guard) {
  state::ExecutionStore history(session.state_path, PrintWarning);
  auto e = history.Start(plan.rules, trigger, {});
  if (!e.ok()) {
    PrintWarning("could not record the refused execution: " + e.status().message());
    return;
  }
  e->status = state::ExecutionStatus::kFailed;
  e->ended_at = core::NowRfc3339();
  e->message = "refused: " + guard;
  if (plan.shard) e->shard = plan.shard->Name();
  if (core::Status st = history.Save(*e); !st.ok())
    PrintWarning("could not record the refused execution: " + st.message());
}

}  // namespace

int ExecutePlan(Session& session, const planner::Plan& plan, const ExecuteOptions& eo) {
  ShowPlan(plan, eo);
  if (!plan.has_changes()) return FinishUnchanged(session, plan, eo);
  if (const std::string guard = planner::DeletionGuard(plan); !guard.empty() && !eo.allow_deletes) {
    PrintError(guard + ": nothing was changed");
    if (eo.trigger == state::Trigger::kScheduled || eo.trigger == state::Trigger::kEvent)
      RecordRefusal(session, plan, eo.trigger, guard);
    return kExitError;
  }
  if (!Approved(eo)) return kExitError;
  if (!eo.json) fmt::print("\n");

  applier::Progress progress;
  ChangePrinter printer(eo, &progress);
  applier::ExecutionOptions xo;
  xo.trigger = eo.trigger;
  xo.warn = PrintWarning;
  applier::UseRuleRetriesAndTimeouts(session.config, &xo.apply);  // per-rule retries and timeout
  xo.apply.parallelism = eo.parallelism;
  if (session.lock_repositories) {
    xo.apply.lock_repository = [&session](const std::string& endpoint,
                                          const std::string& repository) {
      return session.backend->LockRepository(endpoint, repository,
                                             session.repository_lock_timeout_seconds);
    };
  }
  xo.apply.progress = &progress;
  xo.apply.on_change_done = [&](const planner::Change& c, const core::Status& st,
                                std::int64_t bytes) { printer.Done(c, st, bytes); };
  if (eo.json) {
    xo.on_start = [&](std::optional<std::int64_t> id) {
      Emit({{"type", "apply_start"},
            {"execution", id ? nlohmann::ordered_json(*id) : nullptr},
            {"changes", plan.changes.size()}});
    };
  }
  auto start = std::chrono::steady_clock::now();
  applier::ExecutionResult r;
  {
    std::optional<ProgressLine> line;
    if (printer.tty() && !plan.refresh_only) line.emplace(&progress);
    r = applier::RunExecution(plan, &session.state, session.backend.get(), session.registries->map(),
                              eo.cancel, xo);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ReportPersistence(r, session.backend->name());
  if (r.execution && eo.on_finished) eo.on_finished(*r.execution);
  return eo.json ? ReportJson(plan, r, secs) : ReportText(plan, r, secs);
}

}  // namespace crossdock::cmd
