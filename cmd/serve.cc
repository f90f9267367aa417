// crossdock serve: receives registry webhooks (Docker distribution notifications at
// /webhooks/distribution, Harbor payloads at /webhooks/harbor) and replicates the
// pushes and deletes they report through the event-based rules; serves /healthz and
// /metrics. Holds the state lock for its lifetime, as run does (a PostgreSQL state: the
// serve scope for life; while executing, the whole state shared with the shards and
// each change's repository). The receiver and its
// journal are cmd/webhooks.h and state/event_journal.h.
#include <fmt/format.h>

#include <csignal>
#include <thread>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "cmd/webhooks.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

// SIGTERM / SIGINT: the execution in progress stops starting new work, and serve
// ends after it (both tokens are in an InterruptScope).
void OnStop(int) { CancelInterruptScopes(); }

void InstallServeHandlers() {
  struct sigaction sa{};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

int RunServe(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1:8080"),
                     "Address to listen on (HOST:PORT)")(
      "state", po::value<std::string>()->default_value(""),
      "State file or postgres:// URL (default: [settings] state)")(
      "parallelism", po::value<int>(), "Concurrent transfers (default: [settings] parallelism)");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock serve [options]", &vm)) return *rc;
  const std::string listen = vm["listen"].as<std::string>();
  std::string host;
  int port = 0;
  if (!ParseListen(listen, &host, &port)) return kExitError;

  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  so.lock = true;  // held while crossdock serve lives
  so.serve = true;
  auto session = OpenSession(so);
  if (!session) return kExitError;
  auto token = WebhookToken(session->config, listen);
  if (!token) return kExitError;
  const std::optional<int> parallelism = ParallelismFrom(vm, session->config);
  if (!parallelism) return kExitError;
  core::CancelToken stopping;
  InterruptScope stop_scope(&stopping);
  InstallServeHandlers();
  state::ExecutionStore history(session->state_path);
  (void)history.RecoverCrashed();

  Metrics metrics;
  WebhookServer server(session->config, *token, session->events_path, &metrics);
  if (!server.Start(host, port)) return kExitError;
  LogLine(fmt::format("crossdock serve: listening on {} (POST /webhooks/distribution[/<endpoint>], "
                      "/webhooks/harbor[/<endpoint>]; GET /healthz, /metrics); journal {}",
                      listen, server.journal_path()));
  // Executes the journal's events, one execution at a time, until a signal.
  while (!stopping.cancelled()) {
    if (!server.HasPending()) {
      server.WaitForEvents(std::chrono::milliseconds(200));
      continue;
    }
    // On a state other processes write (shards): the state shared, read anew.
    auto held = LockForExecution(*session, stopping);
    if (!held) break;
    server.Drain(*session, *parallelism, stopping);
  }
  LogLine("stopping: no new webhooks are accepted");
  server.Stop();
  LogLine("crossdock serve: stopped");
  return kExitOk;
}

}  // namespace crossdock::cmd
