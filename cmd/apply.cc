// crossdock apply: plans (or loads a saved plan), asks for approval, executes, and
// records every finished change in the state.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "applier/applier.h"
#include "applier/history.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

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

// A saved plan is applied only against the state and sources it was made from.
core::Status CheckSavedPlan(const planner::SavedPlan& saved, Session& s) {
  const planner::Plan& plan = saved.plan;
  if (!plan.state_lineage.empty() && !s.state.lineage.empty() &&
      plan.state_lineage != s.state.lineage && s.state.serial > 0)
    return core::Status::Conflict("Saved plan does not match the given state: the plan was made "
                                  "for state lineage " + plan.state_lineage + ", " +
                                  s.state_path + " has lineage " + s.state.lineage);
  if (plan.state_serial != s.state.serial)
    return core::Status::Conflict(fmt::format(
        "Saved plan is stale: the state changed since the plan was made (serial {} then, {} "
        "now). Run crossdock plan again.",
        plan.state_serial, s.state.serial));
  if (!SavedPlanMatchesConfig(saved, s.config))
    return core::Status::Conflict("Saved plan is stale: " + s.config.path +
                                  " changed since the plan was made. Run crossdock plan again.");
  for (const auto& c : plan.changes) {
    if (c.action == planner::Action::kDelete || c.action == planner::Action::kSkip) continue;
    if (!c.manifest_bytes.empty()) continue;  // written by crossdock, not copied
    auto it = s.registries->map().find(c.source_endpoint);
    if (it == s.registries->map().end())
      return core::Status::Conflict("Saved plan is stale: endpoint \"" + c.source_endpoint +
                                    "\" is no longer configured");
    auto h = it->second->HeadManifest(c.source_repository, c.tag);
    if (!h.ok()) return h.status();
    if (!*h || (*h)->digest != c.source_digest)
      return core::Status::Conflict(
          "Saved plan is stale: " + c.source_repository + ":" + c.tag + " at endpoint \"" +
          c.source_endpoint + "\" is now " + (*h ? (*h)->digest : std::string("absent")) +
          ", the plan copies " + c.source_digest + ". Run crossdock plan again.");
  }
  return core::Status::Ok();
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

}  // namespace

int RunApply(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  AddPlanningOptions(&desc);
  desc.add_options()("auto-approve", "Apply without asking (required when not run in a terminal)")(
      "due",
      "Run only the scheduled rules whose fire time passed since their last scheduled run "
      "(for cron, CI schedules and Kubernetes CronJobs)")(
      "lock-timeout", po::value<std::string>()->default_value("0s"),
      "How long to wait for the state lock (e.g. 30s, 5m)")(
      "plan-file", po::value<std::string>(), "A plan saved by `crossdock plan --out`");
  po::positional_options_description pos;
  pos.add("plan-file", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, "Usage: crossdock apply [options] [PLANFILE]", &vm))
    return *rc;
  auto lock_timeout = ParseDurationSeconds(vm["lock-timeout"].as<std::string>());
  if (!lock_timeout) {
    PrintError("--lock-timeout \"" + vm["lock-timeout"].as<std::string>() +
               "\" is not a duration; use e.g. 30s, 5m or 1h");
    return kExitError;
  }
  std::optional<planner::SavedPlan> saved;
  if (vm.count("plan-file")) {
    auto r = planner::ReadPlanFile(vm["plan-file"].as<std::string>());
    if (!r.ok()) {
      PrintError(r.status().message());
      return kExitError;
    }
    saved = std::move(*r);
  }

  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  so.lock = true;
  so.lock_timeout_seconds = *lock_timeout;
  auto session = OpenSession(so);
  if (!session) return kExitError;
  const bool color = !vm.count("no-color") && IsTerminal(1);
  InstallInterruptHandler();

  auto options = PlanOptionsFrom(vm, session->config);
  if (!options) return kExitError;
  state::ExecutionStore history(session->state_path);
  std::string trigger = "manual";
  if (vm.count("due")) {
    if (saved || vm.count("rule")) {
      PrintError("--due chooses the rules itself; it cannot be combined with --rule or a plan file");
      return kExitError;
    }
    auto due = applier::DueRules(session->config, history, std::chrono::system_clock::now());
    if (!due.ok()) {
      PrintError(due.status().message());
      return kExitError;
    }
    if (due->empty()) {
      fmt::print("No scheduled rule is due.\n");
      return kExitOk;
    }
    std::string names;
    for (const auto& r : *due) names += (names.empty() ? "" : ", ") + r;
    fmt::print("Due on schedule: {}\n\n", names);
    options->rules = *due;
    trigger = "scheduled";
  }
  planner::Plan plan;
  if (saved) {
    core::Status st = CheckSavedPlan(*saved, *session);
    if (!st.ok()) {
      PrintError(st.message());
      return kExitError;
    }
    plan = saved->plan;
  } else {
    plan = planner::MakePlan(session->config, session->state, session->registries->map(), *options);
    if (g_interrupted) {
      PrintError("apply interrupted while planning; nothing was changed");
      return kExitInterrupted;
    }
  }
  fmt::print("{}", planner::RenderPlanText(plan, color));
  if (!plan.has_changes()) {
    // Recorded all the same (as Harbor's "no resources need to be replicated"): a
    // scheduled rule's last run is what --due measures from.
    auto e = applier::ExecutionRecorder::Start(&history, plan, trigger);
    if (e.ok()) {
      core::Status st = (*e)->Finish(false, plan.errors.empty() ? "" : "the plan had errors",
                                     kExecutionsKept);
      if (!st.ok()) PrintWarning("execution history: " + st.message());
    } else {
      PrintWarning("execution history: " + e.status().message());
    }
    return plan.errors.empty() ? kExitOk : kExitError;
  }

  if (!saved) {
    bool interactive = IsTerminal(0) && IsTerminal(1);
    if (!vm.count("auto-approve") && !interactive) {
      PrintError("apply needs approval: run it in a terminal, pass --auto-approve, or apply a "
                 "saved plan (crossdock plan --out FILE; crossdock apply FILE)");
      return kExitError;
    }
    if (!Approve(vm.count("auto-approve") > 0)) {
      fmt::print("\nApply cancelled.\n");
      return kExitError;
    }
  }
  fmt::print("\n");

  std::string state_path = session->state_path;
  applier::StateRecorder recorder(&session->state, [&](state::State* s) {
    return state::WriteState(state_path, s);
  });
  // The history of this run (crossdock executions / tasks / logs). We hold the state
  // lock, so an execution still "running" belongs to a run that crashed.
  if (auto recovered = history.RecoverCrashed(); !recovered.ok()) {
    PrintWarning("execution history: " + recovered.status().message());
  }
  std::unique_ptr<applier::ExecutionRecorder> execution;
  if (auto e = applier::ExecutionRecorder::Start(&history, plan, trigger); e.ok()) {
    execution = std::move(*e);
  } else {
    PrintWarning("execution history: " + e.status().message() + "; applying without it");
  }
  auto start = std::chrono::steady_clock::now();
  applier::ApplyReport report;
  if (plan.refresh_only) {
    report = applier::ApplyRefresh(plan, &recorder);
  } else {
    applier::Progress progress;
    applier::ApplyOptions ao;
    ao.parallelism = options->parallelism;
    ao.cancel = &g_interrupted;
    ao.progress = &progress;
    std::mutex print_mu;
    const bool tty = IsTerminal(2);
    ao.on_change_done = [&](const planner::Change& c, const core::Status& st, std::int64_t bytes) {
      if (execution) execution->ChangeDone(c, st, bytes);
      std::lock_guard<std::mutex> lk(print_mu);
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
    report = applier::Apply(plan, session->registries->map(), &recorder, ao);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  core::Status persisted = recorder.first_error();
  if (!persisted.ok()) PrintError("the state could not be saved: " + persisted.message());
  std::string execution_line;
  if (execution) {
    std::string problem = !persisted.ok()          ? persisted.message()
                          : !plan.errors.empty()   ? "the plan had errors"
                                                   : "";
    core::Status st = execution->Finish(g_interrupted, problem, kExecutionsKept);
    if (!st.ok()) PrintWarning("execution history: " + st.message());
    execution_line = fmt::format(" Execution {}: see `crossdock tasks {}`.", execution->id(),
                                 execution->id());
  }

  if (g_interrupted) {
    fmt::print("\nApply interrupted: {} done, {} failed, {} not started. The state records "
               "everything that finished.{}\n",
               report.succeeded, report.failed, report.not_started, execution_line);
    return kExitInterrupted;
  }
  std::string blobs = fmt::format("blobs: {} copied, {} mounted, {} already present",
                                  report.blobs_copied, report.blobs_mounted, report.blobs_present);
  if (report.failed > 0 || !persisted.ok() || !plan.errors.empty()) {
    fmt::print("\nApply finished with errors: {} done, {} failed. {} in {:.1f}s ({}).{}\n",
               report.succeeded, report.failed, Bytes(report.bytes_copied), secs, blobs,
               execution_line);
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
