// crossdock serve: receives Docker distribution notifications and replicates the
// pushes and deletes they report through the event-based rules. Holds the state lock
// for its lifetime, as run does.
//
// The event journal, <state>.events.jsonl, holds one accepted event a line
// (planner/events.h, JournalLine); a request is answered 202 only once its events are
// written and fsynced, so a crash loses none. <state>.events.offset holds the byte
// offset up to which events were executed, written atomically after each execution:
// a restart resumes there, so nothing is replayed twice (an execution cut short by a
// signal leaves its events for the next start; replaying them is harmless, since
// every Change is diffed against the destination again).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>
// httplib first: it needs the macros above for Debian's class layout.

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "applier/history.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/file.h"
#include "core/secret.h"
#include "planner/events.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

constexpr size_t kMaxBody = 1 << 20;  // 1 MiB: distribution batches a few events per request

std::atomic<bool> g_stop_serve{false};

void OnStop(int) {
  g_stop_serve = true;
  g_interrupted = true;  // the execution in progress stops starting new work
}

void InstallServeHandlers() {
  struct sigaction sa{};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::mutex g_log_mu;
template <typename... T>
void Log(fmt::format_string<T...> f, T&&... args) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard<std::mutex> lk(g_log_mu);
  fmt::print("{} {}\n", buf, fmt::format(f, std::forward<T>(args)...));
  std::fflush(stdout);
}

// Compares without an early exit, so timing tells nothing about the token.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;  // the length is no secret worth keeping
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The journal file and the offset executed so far.
class Journal {
 public:
  explicit Journal(const std::string& state_path)
      : path_(state_path + ".events.jsonl"), offset_path_(state_path + ".events.offset") {}

  const std::string& path() const { return path_; }

  // Appends LINES in one write and fsyncs. Thread-safe.
  core::Status Append(const std::string& lines) {
    std::lock_guard<std::mutex> lk(mu_);
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return core::ErrnoStatus("opening the event journal " + path_, errno);
    size_t done = 0;
    while (done < lines.size()) {
      ssize_t n = ::write(fd, lines.data() + done, lines.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return core::ErrnoStatus("writing the event journal " + path_, err);
      }
      done += static_cast<size_t>(n);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return core::ErrnoStatus("syncing the event journal " + path_, err);
    return core::Status::Ok();
  }

  std::uint64_t ReadOffset() const {
    std::ifstream in(offset_path_);
    std::uint64_t offset = 0;
    if (in >> offset) return offset;
    return 0;
  }
  core::Status WriteOffset(std::uint64_t offset) const {
    return core::WriteFileAtomically(offset_path_, std::to_string(offset) + "\n");
  }

  // The complete lines after OFFSET; *END is the offset after the last of them.
  std::vector<std::string> ReadFrom(std::uint64_t offset, std::uint64_t* end) const {
    std::vector<std::string> lines;
    *end = offset;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return lines;
    in.seekg(static_cast<std::streamoff>(offset));
    std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t start = 0;
    for (size_t nl; (nl = rest.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(rest.substr(start, nl - start));
    *end = offset + start;  // a torn last line (no '\n') waits
    return lines;
  }

 private:
  std::string path_, offset_path_;
  std::mutex mu_;
};

// The HTTP side: checks, parses, matches and journals; never touches registries.
class Receiver {
 public:
  Receiver(const core::Config& config, std::string token, Journal* journal,
           std::condition_variable* wake)
      : config_(config), token_(std::move(token)), journal_(journal), wake_(wake) {}

  void Handle(const httplib::Request& req, httplib::Response& res,
              const std::string& path_endpoint) {
    auto reply = [&](int status, const std::string& text) {
      res.status = status;
      res.set_content(text + "\n", "text/plain");
    };
    if (!token_.empty() &&
        !ConstantTimeEquals(req.get_header_value("Authorization"), "Bearer " + token_)) {
      res.set_header("WWW-Authenticate", "Bearer");
      Log("refused a webhook from {}: missing or wrong bearer token", req.remote_addr);
      return reply(401, "unauthorized: send Authorization: Bearer <[settings.webhook] token>");
    }
    if (req.body.size() > kMaxBody) return reply(413, "the body is larger than 1 MiB");
    if (!path_endpoint.empty() && config_.FindEndpoint(path_endpoint) == nullptr) {
      return reply(404, "no endpoint named \"" + path_endpoint + "\" in the configuration");
    }
    auto events = planner::ParseEnvelope(req.body);
    if (!events.ok()) {
      Log("refused a webhook: {}", events.status().message());
      return reply(400, events.status().message());
    }
    std::string lines;
    int accepted = 0, ignored = 0;
    for (const auto& ev : *events) {
      std::string what = fmt::format("{} {}{}{}", ev.action, ev.repository,
                                     ev.tag.empty() ? "" : ":" + ev.tag,
                                     ev.digest.empty() ? "" : "@" + ev.digest);
      auto endpoint = planner::MatchEndpoint(config_, ev, path_endpoint);
      if (!endpoint.ok()) {
        Log("ignored {}: {}", what, endpoint.status().message());
        ++ignored;
        continue;
      }
      if (planner::MatchRules(config_, *endpoint, ev).empty()) {
        Log("ignored {} from {}: no enabled rule with events = true selects it", what, *endpoint);
        ++ignored;
        continue;
      }
      Log("accepted {} from {}", what, *endpoint);
      lines += planner::JournalLine({*endpoint, ev});
      ++accepted;
    }
    if (!lines.empty()) {
      if (core::Status st = journal_->Append(lines); !st.ok()) {
        Log("error: {}", st.message());
        return reply(503, "the event journal is not writable; retry later");
      }
      wake_->notify_all();
    }
    res.status = 202;
    res.set_content(fmt::format("{{\"accepted\":{},\"ignored\":{}}}\n", accepted, ignored),
                    "application/json");
  }

 private:
  const core::Config& config_;
  const std::string token_;
  Journal* journal_;
  std::condition_variable* wake_;
};

// Executes the journal's events from the recorded offset on, one execution at a
// time, until the server stops.
void DrainJournal(Session& session, Journal& journal, std::mutex& mu,
                  std::condition_variable& wake, int parallelism) {
  std::uint64_t offset = journal.ReadOffset();
  while (!g_stop_serve) {
    std::uint64_t end = 0;
    std::vector<std::string> lines = journal.ReadFrom(offset, &end);
    if (lines.empty()) {
      std::unique_lock<std::mutex> lk(mu);
      wake.wait_for(lk, std::chrono::milliseconds(200));
      continue;
    }
    std::vector<planner::JournaledEvent> events;
    for (const auto& line : lines) {
      auto e = planner::ParseJournalLine(line);
      if (e.ok()) {
        events.push_back(std::move(*e));
      } else {
        Log("warning: {}", e.status().message());
      }
    }
    planner::Plan plan;
    plan.state_lineage = session.state.serial == 0 ? "" : session.state.lineage;
    plan.state_serial = session.state.serial;
    plan.changes = planner::EventChanges(session.config, session.state,
                                         session.registries->map(), events, &plan.errors);
    for (const auto& c : plan.changes)
      if (std::find(plan.rules.begin(), plan.rules.end(), c.rule) == plan.rules.end())
        plan.rules.push_back(c.rule);
    int rc = kExitOk;
    if (plan.has_changes() || !plan.errors.empty()) {
      ExecuteOptions eo;
      eo.trigger = "event";
      eo.ask = false;
      eo.parallelism = parallelism;
      rc = ExecutePlan(session, plan, eo);
    }
    // Cut short by a signal: those events wait for the next start.
    if (rc == kExitInterrupted || g_stop_serve) break;
    if (core::Status st = journal.WriteOffset(end); !st.ok()) Log("error: {}", st.message());
    offset = end;
    Log("processed {} event(s): {} change(s), {} error(s); journal offset {}", events.size(),
        plan.changes.size(), plan.errors.size(), offset);
    g_interrupted = false;  // a `crossdock stop` ends that execution only
  }
}

}  // namespace

int RunServe(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1:8080"),
                     "Address to listen on (HOST:PORT)")(
      "state", po::value<std::string>()->default_value(""),
      "State file (default: [settings] state)")(
      "parallelism", po::value<int>(), "Concurrent transfers (default: [settings] parallelism)");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock serve [options]", &vm)) return *rc;
  const std::string listen = vm["listen"].as<std::string>();
  auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    PrintError("--listen \"" + listen + "\" must be HOST:PORT, e.g. 127.0.0.1:8080");
    return kExitError;
  }
  const std::string host = listen.substr(0, colon);

  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  so.lock = true;  // held while crossdock serve lives
  auto session = OpenSession(so);
  if (!session) return kExitError;
  std::string token;
  if (!session->config.settings.webhook_token.empty()) {
    auto t = core::ResolveSecret(session->config.settings.webhook_token);
    if (!t.ok()) {
      PrintError("[settings.webhook] token: " + t.status().message());
      return kExitError;
    }
    token = *t;
  } else {
    PrintWarning("no [settings.webhook] token: anyone who reaches " + listen +
                 " can trigger replication");
  }
  const int parallelism = vm.count("parallelism") ? vm["parallelism"].as<int>()
                                                  : session->config.settings.parallelism;
  InstallServeHandlers();
  state::ExecutionStore history(session->state_path);
  (void)history.RecoverCrashed();

  Journal journal(session->state_path);
  std::mutex wake_mu;
  std::condition_variable wake;
  const core::Config config = session->config;  // the handlers' copy
  Receiver receiver(config, token, &journal, &wake);

  httplib::Server server;
  server.set_payload_max_length(kMaxBody);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  server.Post("/webhooks/distribution", [&](const httplib::Request& req, httplib::Response& res) {
    receiver.Handle(req, res, "");
  });
  server.Post(R"(/webhooks/distribution/([A-Za-z0-9._-]+))",
              [&](const httplib::Request& req, httplib::Response& res) {
                receiver.Handle(req, res, req.matches[1].str());
              });
  if (!server.bind_to_port(host, port)) {
    PrintError("cannot listen on " + listen + ": the address is in use or not local");
    return kExitError;
  }
  std::thread http([&] { server.listen_after_bind(); });
  std::thread worker(
      [&] { DrainJournal(*session, journal, wake_mu, wake, parallelism); });
  Log("crossdock serve: listening on {} (POST /webhooks/distribution[/<endpoint>]); journal {}",
      listen, journal.path());

  while (!g_stop_serve) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Log("stopping: no new webhooks are accepted");
  server.stop();
  http.join();
  wake.notify_all();
  worker.join();
  Log("crossdock serve: stopped");
  return kExitOk;
}

}  // namespace crossdock::cmd
