#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>
// httplib first: it needs the macros above for Debian's class layout.

#include "cmd/webhooks.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/secret.h"
#include "planner/events.h"

namespace crossdock::cmd {

namespace {

constexpr size_t kMaxBody = 1 << 20;  // 1 MiB: registries batch a few events per request

// cpp-httplib gives each connection a worker for as long as it stays open, and with
// its defaults (max(8, cores - 1) workers, 5 s keep-alive and read timeouts) eight
// connections that send nothing kept /healthz waiting for 5-10 s (issue 10). So: many
// workers, an idle connection closed after 1 s, a request that stalls for 2 s dropped.
// Registries send each notification at once, and reconnect when a kept-alive
// connection was closed.
constexpr size_t kWorkers = 64;
constexpr time_t kKeepAliveSeconds = 1;
constexpr time_t kReadTimeoutSeconds = 2;
constexpr time_t kWriteTimeoutSeconds = 5;

// Compares without an early exit, so timing tells nothing about the token.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;  // the length is no secret worth keeping
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool ParseListen(const std::string& listen, std::string* host, int* port) {
  auto colon = listen.rfind(':');
  *port = -1;
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      *port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1) *port = -1;
    } catch (const std::exception&) {
      *port = -1;
    }
  }
  if (colon == std::string::npos || colon == 0 || *port < 0 || *port > 65535) {
    PrintError("--listen \"" + listen + "\" must be HOST:PORT, e.g. 127.0.0.1:8080");
    return false;
  }
  *host = listen.substr(0, colon);
  return true;
}

std::optional<std::string> WebhookToken(const core::Config& config, const std::string& listen) {
  if (config.settings.webhook_token.empty()) {
    PrintWarning("no [settings.webhook] token: anyone who reaches " + listen +
                 " can trigger replication");
    return std::string();
  }
  auto t = core::ResolveSecret(config.settings.webhook_token);
  if (!t.ok()) {
    PrintError("[settings.webhook] token: " + t.status().message());
    return std::nullopt;
  }
  return *t;
}

// The HTTP side: checks, parses, matches and journals; never touches registries.
class WebhookServer::Receiver {
 public:
  using Parser = core::Result<std::vector<planner::RegistryEvent>> (*)(std::string_view);

  Receiver(const core::Config& config, std::string token, state::EventJournal* journal, Metrics* metrics,
           std::function<void()> accepted)
      : config_(std::make_shared<const core::Config>(config)),
        token_(std::move(token)),
        journal_(journal),
        metrics_(metrics),
        on_accepted_(std::move(accepted)) {}

  void SetConfig(const core::Config& config) {
    auto copy = std::make_shared<const core::Config>(config);
    std::lock_guard<std::mutex> lk(mu_);
    config_ = std::move(copy);
  }

  // SOURCE: "distribution" or "harbor", with its parser.
  void Handle(const std::string& source, Parser parse, const httplib::Request& req,
              httplib::Response& res, const std::string& path_endpoint) {
    std::shared_ptr<const core::Config> config;
    {
      std::lock_guard<std::mutex> lk(mu_);
      config = config_;
    }
    int accepted = 0, ignored = 0;
    auto reply = [&](int status, const std::string& text) {
      res.status = status;
      res.set_content(text + "\n", "text/plain");
      if (metrics_) metrics_->WebhookRequest(source, status, accepted, ignored);
    };
    // Distribution sends the headers its endpoint configures ("Authorization: Bearer
    // …"); Harbor sends its policy's "Auth Header" value as Authorization, verbatim:
    // either form of the token is accepted.
    const std::string auth = req.get_header_value("Authorization");
    if (!token_.empty() && !ConstantTimeEquals(auth, "Bearer " + token_) &&
        !ConstantTimeEquals(auth, token_)) {
      res.set_header("WWW-Authenticate", "Bearer");
      LogLine(fmt::format("refused a {} webhook from {}: missing or wrong token", source,
                          req.remote_addr));
      return reply(401, "unauthorized: send Authorization: Bearer <[settings.webhook] token>");
    }
    if (req.body.size() > kMaxBody) return reply(413, "the body is larger than 1 MiB");
    if (!path_endpoint.empty() && config->FindEndpoint(path_endpoint) == nullptr) {
      return reply(404, "no endpoint named \"" + path_endpoint + "\" in the configuration");
    }
    auto events = parse(req.body);
    if (!events.ok()) {
      LogLine("refused a " + source + " webhook: " + events.status().message());
      return reply(400, events.status().message());
    }
    std::string lines;
    for (const auto& ev : *events) {
      std::string what = fmt::format("{} {}{}{}", ev.action, ev.repository,
                                     ev.tag.empty() ? "" : ":" + ev.tag,
                                     ev.digest.empty() ? "" : "@" + ev.digest);
      auto endpoint = planner::MatchEndpoint(*config, ev, path_endpoint);
      if (!endpoint.ok()) {
        LogLine("ignored " + what + ": " + endpoint.status().message());
        ++ignored;
        continue;
      }
      if (planner::MatchRules(*config, *endpoint, ev).empty()) {
        LogLine(fmt::format("ignored {} from {}: no enabled rule with events = true selects it",
                            what, *endpoint));
        ++ignored;
        continue;
      }
      LogLine(fmt::format("accepted {} from {}", what, *endpoint));
      lines += planner::JournalLine({*endpoint, ev});
      ++accepted;
    }
    if (!lines.empty()) {
      if (core::Status st = journal_->Append(lines); !st.ok()) {
        LogLine("error: " + st.message());
        accepted = 0;
        return reply(503, "the event journal is not writable; retry later");
      }
      on_accepted_();
    }
    res.status = 202;
    res.set_content(fmt::format("{{\"accepted\":{},\"ignored\":{}}}\n", accepted, ignored),
                    "application/json");
    if (metrics_) metrics_->WebhookRequest(source, 202, accepted, ignored);
  }

 private:
  std::mutex mu_;  // guards config_
  std::shared_ptr<const core::Config> config_;
  const std::string token_;
  state::EventJournal* journal_;
  Metrics* metrics_;
  std::function<void()> on_accepted_;  // wakes the caller's Drain loop
};

WebhookServer::WebhookServer(const core::Config& config, std::string token,
                             const std::string& state_path, Metrics* metrics)
    : journal_(std::make_unique<state::EventJournal>(state_path)), metrics_(metrics) {
  receiver_ = std::make_unique<Receiver>(config, std::move(token), journal_.get(), metrics,
                                         [this] {
                                           std::lock_guard<std::mutex> lk(wake_mu_);
                                           wake_.notify_all();
                                         });
  server_ = std::make_unique<httplib::Server>();
}

WebhookServer::~WebhookServer() { Stop(); }

const std::string& WebhookServer::journal_path() const { return journal_->path(); }

bool WebhookServer::Start(const std::string& host, int port) {
  httplib::Server& s = *server_;
  s.set_payload_max_length(kMaxBody);
  // httplib owns and deletes the queue it gets from this factory.
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  s.set_keep_alive_timeout(kKeepAliveSeconds);
  s.set_read_timeout(kReadTimeoutSeconds, 0);
  s.set_write_timeout(kWriteTimeoutSeconds, 0);
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (metrics_) metrics_->SetQueueDepth(static_cast<std::int64_t>(journal_->PendingCount()));
    res.set_content(metrics_ ? metrics_->Render() : "", "text/plain; version=0.0.4");
  });
  auto route = [&](const std::string& source, Receiver::Parser parse) {
    s.Post("/webhooks/" + source, [this, source, parse](const httplib::Request& req,
                                                        httplib::Response& res) {
      receiver_->Handle(source, parse, req, res, "");
    });
    s.Post("/webhooks/" + source + R"(/([A-Za-z0-9._-]+))",
           [this, source, parse](const httplib::Request& req, httplib::Response& res) {
             receiver_->Handle(source, parse, req, res, req.matches[1].str());
           });
  };
  route("distribution", &planner::ParseEnvelope);
  route("harbor", &planner::ParseHarborPayload);
  if (!s.bind_to_port(host, port)) {
    PrintError(fmt::format("cannot listen on {}:{}: the address is in use or not local", host,
                           port));
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void WebhookServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void WebhookServer::SetConfig(const core::Config& config) { receiver_->SetConfig(config); }

bool WebhookServer::HasPending() const { return journal_->PendingCount() > 0; }

void WebhookServer::WaitForEvents(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(wake_mu_);
  wake_.wait_for(lk, timeout);
}

int WebhookServer::Drain(Session& session, int parallelism, const core::CancelToken& stopping) {
  std::uint64_t end = 0;
  std::vector<std::string> lines = journal_->Pending(&end);
  if (lines.empty()) return kExitOk;
  size_t events = 0;
  planner::Plan plan = planner::PlanForJournal(session.config, session.state,
                                               session.registries->map(), lines, &events);
  int rc = kExitOk;
  if (plan.has_changes() || !plan.errors.empty()) {
    // A `crossdock stop` ends this execution only; a signal ends the caller too.
    core::CancelToken cancel;
    InterruptScope scope(&cancel);
    ExecuteOptions eo;
    eo.cancel = &cancel;
    eo.trigger = state::Trigger::kEvent;
    eo.ask = false;
    eo.parallelism = parallelism;
    if (metrics_) eo.on_finished = [this](const state::Execution& e) { metrics_->ExecutionFinished(e); };
    rc = ExecutePlan(session, plan, eo);
  } else {
    for (const auto& w : plan.warnings) LogLine("warning: " + w);
  }
  // Cut short by a signal: those events wait for the next start.
  if (rc == kExitInterrupted && stopping.cancelled()) return rc;
  if (core::Status st = journal_->Executed(end); !st.ok()) LogLine("error: " + st.message());
  LogLine(fmt::format("processed {} event(s): {} change(s), {} error(s); journal offset {}",
                      events, plan.changes.size(), plan.errors.size(), end));
  return rc;
}

}  // namespace crossdock::cmd
