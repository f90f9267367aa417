// crossdock run: the long-running scheduler. Holds the state lock for its lifetime
// (a second run on the same state is refused), fires scheduled rules when due, one
// execution at a time, reloads the config on SIGHUP and stops gracefully on SIGTERM
// or Ctrl-C. With --listen it also receives registry webhooks as crossdock serve
// does; their events run between scheduled executions, never beside one.
#include <fmt/format.h>

#include <csignal>
#include <thread>

#include "applier/history.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "cmd/webhooks.h"
#include "core/clock.h"
#include "core/cron.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

std::atomic<bool> g_reload{false};  // SIGHUP: read the config again

// SIGTERM / SIGINT: the execution in progress stops starting new work, and the run
// ends after it (both tokens are in an InterruptScope).
void OnStop(int) { CancelInterruptScopes(); }
void OnReload(int) { g_reload = true; }

void InstallRunHandlers() {
  struct sigaction sa{};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnReload;
  sigaction(SIGHUP, &sa, nullptr);
}

// The earliest next fire time of CONFIG's enabled scheduled rules after NOW.
std::optional<std::chrono::system_clock::time_point> NextFire(
    const core::Config& config, std::chrono::system_clock::time_point now) {
  std::optional<std::chrono::system_clock::time_point> best;
  for (const auto& r : config.rules) {
    if (!r.enabled || r.schedule.empty()) continue;
    auto s = core::Schedule::Parse(r.schedule, r.timezone);
    if (!s.ok()) continue;
    auto next = s->Next(now);
    if (next && (!best || *next < *best)) best = next;
  }
  return best;
}


// SIGHUP: reads CONFIG_PATH again; an invalid config leaves the previous one running.
void Reload(const std::string& config_path, Session* session, WebhookServer* webhooks) {
  LogLine("SIGHUP: reading " + config_path + " again");
  auto config = LoadConfigOrReport(config_path);
  std::unique_ptr<Registries> regs;
  if (config) {
    auto built = Registries::Build(*config);
    if (built.ok()) {
      regs = std::move(*built);
    } else {
      PrintError(built.status().message());
    }
  }
  if (!config || !regs) {
    LogLine("the new configuration is invalid; the previous one keeps running");
    return;
  }
  session->config = std::move(*config);
  session->registries = std::move(regs);
  if (webhooks) webhooks->SetConfig(session->config);
  LogLine(fmt::format("configuration reloaded: {} rule(s)", session->config.rules.size()));
}

// One execution of the rules DUE. A rule whose fire times pass while it runs is run
// once afterwards, never queued once per missed fire (Harbor #17269).
void RunDue(const std::vector<std::string>& due, int parallelism,
            const std::optional<core::Shard>& shard, const core::CancelToken& stopping,
            Session* session, Metrics* metrics) {
  // A `crossdock stop` ends this execution only; a signal ends the run too.
  core::CancelToken cancel;
  InterruptScope scope(&cancel);
  planner::PlanOptions po;
  po.rules = due;
  po.parallelism = parallelism;
  po.cancel = cancel.flag();
  po.shard = shard;
  planner::Plan plan =
      planner::MakePlan(session->config, session->state, session->registries->map(), po);
  ExecuteOptions eo;
  eo.trigger = state::Trigger::kScheduled;
  eo.ask = false;
  eo.parallelism = parallelism;
  eo.cancel = &cancel;
  eo.on_finished = [metrics](const state::Execution& e) { metrics->ExecutionFinished(e); };
  std::string names;
  for (const auto& r : due) names += " " + r;
  LogLine("due" + (shard ? " for shard " + shard->Name() : "") + ":" + names);
  auto started = std::chrono::steady_clock::now();
  (void)ExecutePlan(*session, plan, eo);
  std::fflush(stdout);
  // Should the history be unwritable, the same rules stay due: pace them.
  while (!stopping.cancelled() &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(1))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

int RunScheduler(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("state", po::value<std::string>()->default_value(""),
                     "State file or postgres:// URL (default: [settings] state)")(
      "parallelism", po::value<int>(), "Concurrent transfers (default: [settings] parallelism)")(
      "listen", po::value<std::string>(),
      "Also receive registry webhooks on HOST:PORT, as crossdock serve does")(
      "shard", po::value<std::string>(), kShardHelp);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock run [options]", &vm)) return *rc;
  auto shard = ShardFrom(vm);
  if (!shard.ok()) {
    PrintError(shard.status().message());
    return kExitError;
  }
  if (*shard && vm.count("listen")) {
    // An event is applied once, by whoever receives it: a shard would have to drop
    // the events of the others' repositories.
    PrintError("--shard and --listen cannot be combined: webhook events are applied by one "
               "process for every shard; run `crossdock serve` (or one `crossdock run "
               "--listen` without --shard) for them");
    return kExitError;
  }
  std::string listen, host;
  int port = 0;
  if (vm.count("listen")) {
    listen = vm["listen"].as<std::string>();
    if (!ParseListen(listen, &host, &port)) return kExitError;
  }
  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  so.lock = true;  // held while crossdock run lives
  so.shard = *shard;
  auto session = OpenSession(so);
  if (!session) return kExitError;
  if (!ParallelismFrom(vm, session->config)) return kExitError;
  // After a reload, [settings] parallelism may have changed (validated by the config).
  const auto parallelism = [&] {
    return vm.count("parallelism") ? vm["parallelism"].as<int>()
                                   : session->config.settings.parallelism;
  };
  Metrics metrics;
  std::unique_ptr<WebhookServer> webhooks;
  if (!listen.empty()) {
    auto token = WebhookToken(session->config, listen);
    if (!token) return kExitError;
    webhooks = std::make_unique<WebhookServer>(session->config, *token, session->events_path,
                                               &metrics);
  }
  core::CancelToken stopping;
  InterruptScope stop_scope(&stopping);
  InstallRunHandlers();
  state::ExecutionStore history(session->state_path);
  (void)history.RecoverCrashed();
  if (webhooks && !webhooks->Start(host, port)) return kExitError;
  LogLine(fmt::format("crossdock run: watching {} rule(s) of {}; state {}{}{}",
                      session->config.rules.size(), session->config.path, session->backend->name(),
                      webhooks ? "; webhooks on " + listen : "",
                      *shard ? "; shard " + (*shard)->Name() : ""));

  while (!stopping.cancelled()) {
    if (g_reload.exchange(false)) Reload(so.config_path, &*session, webhooks.get());
    // Events first, then whatever schedule is due: a steady stream of events never
    // starves the schedule.
    if (webhooks && webhooks->HasPending()) {
      webhooks->Drain(*session, parallelism(), stopping);
      if (stopping.cancelled()) break;
    }
    auto due =
        applier::DueRules(session->config, history, std::chrono::system_clock::now(), *shard);
    if (!due.ok()) {
      PrintError(due.status().message());
    } else if (!due->empty()) {
      RunDue(*due, parallelism(), *shard, stopping, &*session, &metrics);
      continue;
    }
    // Sleep until the next fire time or event, waking every 200 ms for signals.
    auto next = NextFire(session->config, std::chrono::system_clock::now());
    auto until = next ? *next : std::chrono::system_clock::now() + std::chrono::seconds(60);
    while (!stopping.cancelled() && !g_reload && std::chrono::system_clock::now() < until) {
      if (!webhooks) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      if (webhooks->HasPending()) break;
      webhooks->WaitForEvents(std::chrono::milliseconds(200));
    }
  }
  if (webhooks) webhooks->Stop();
  LogLine("crossdock run: stopped");
  return kExitOk;
}

}  // namespace crossdock::cmd
