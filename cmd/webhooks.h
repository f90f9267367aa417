// The webhook receiver shared by crossdock serve and crossdock run --listen: an HTTP
// server for registry events (Docker distribution notifications and Harbor webhook
// payloads), /healthz and /metrics, and the event journal it fills and the caller
// drains (state/event_journal.h). Used by cmd/serve.cc and cmd/run.cc.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cmd/metrics.h"
#include "cmd/session.h"
#include "state/event_journal.h"

namespace httplib {
class Server;
}

namespace crossdock::cmd {

// HOST:PORT from --listen. Prints what is wrong and returns false.
bool ParseListen(const std::string& listen, std::string* host, int* port);

class WebhookServer {
 public:
  // CONFIG is copied: the HTTP threads match events against it while the caller may
  // reload its own. TOKEN empty: no authentication (the caller warns).
  WebhookServer(const core::Config& config, std::string token, const std::string& state_path,
                Metrics* metrics);
  ~WebhookServer();

  // Binds HOST:PORT and serves on a thread. Prints what failed and returns false.
  bool Start(const std::string& host, int port);
  // Stops accepting requests and joins the server thread.
  void Stop();

  // Matches later events against CONFIG (run's SIGHUP reload). The token stays.
  void SetConfig(const core::Config& config);

  // True when accepted events wait in the journal.
  bool HasPending() const;
  // Waits up to TIMEOUT for an event to be accepted.
  void WaitForEvents(std::chrono::milliseconds timeout);

  // Executes every event journaled past the recorded offset as one execution (trigger
  // "event") through the event-based rules of SESSION's config, then records the new
  // offset. Leaves the events in place when the execution is interrupted by a signal
  // (STOPPING cancelled). Returns ExecutePlan's exit code, kExitOk when nothing waited.
  int Drain(Session& session, int parallelism, const core::CancelToken& stopping);

  const std::string& journal_path() const;

 private:
  class Receiver;
  std::unique_ptr<state::EventJournal> journal_;
  std::unique_ptr<Receiver> receiver_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  Metrics* metrics_;
  mutable std::mutex wake_mu_;
  std::condition_variable wake_;
};

// [settings.webhook] token resolved, or "" with a warning when none is set. Prints
// what failed and returns nullopt.
std::optional<std::string> WebhookToken(const core::Config& config, const std::string& listen);

}  // namespace crossdock::cmd
