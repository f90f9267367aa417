#include "cmd/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <cstdio>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/duration.h"
#include "core/secret.h"
#include "providers/credentials.h"
#include "providers/factory.h"
#include "state/backend.h"

namespace crossdock::cmd {

namespace {

std::atomic<core::CancelToken*> g_scopes[kMaxInterruptScopes];
std::atomic<int> g_interrupts{0};  // signals received: scopes opened after are cancelled
// Handlers between reading a slot and cancelling its token: a scope ending waits for
// them, so its token is never cancelled after it is gone.
std::atomic<int> g_in_handler{0};

void OnInterrupt(int) {
  const bool again = g_interrupts.load() > 0;
  CancelInterruptScopes();
  if (again) {
    // A second Ctrl-C: leave now. The state file is replaced atomically, so it is
    // never half-written even so.
    _exit(kExitInterrupted);
  }
  const char msg[] =
      "\nInterrupt received: abandoning transfers in flight (nothing half-copied is tagged) and "
      "saving the state. Press "
      "Ctrl-C again to stop at once.\n";
  (void)!write(2, msg, sizeof msg - 1);
}
}  // namespace

InterruptScope::InterruptScope(core::CancelToken* token) : slot_(-1) {
  for (int i = 0; i < kMaxInterruptScopes && slot_ < 0; ++i) {
    core::CancelToken* empty = nullptr;
    if (g_scopes[i].compare_exchange_strong(empty, token)) slot_ = i;
  }
  if (slot_ < 0) std::abort();  // more scopes than any command opens: a programming error
  if (g_interrupts.load() > 0) token->Cancel();  // the signal came first
}

InterruptScope::~InterruptScope() {
  g_scopes[slot_].store(nullptr);
  // A handler that read the slot before the store finishes within a few instructions.
  while (g_in_handler.load() > 0) std::this_thread::yield();
}

void CancelInterruptScopes() {
  g_in_handler.fetch_add(1);
  g_interrupts.fetch_add(1);
  for (auto& scope : g_scopes)
    if (core::CancelToken* t = scope.load()) t->Cancel();
  g_in_handler.fetch_sub(1);
}

void InstallInterruptHandler() {
  struct sigaction sa{};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void PrintError(const std::string& message) { fmt::print(stderr, "Error: {}\n", message); }
void PrintWarning(const std::string& message) { fmt::print(stderr, "Warning: {}\n", message); }

void LogLine(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  fmt::print("{} {}\n", core::NowRfc3339(), line);
  std::fflush(stdout);
}

std::optional<core::Config> LoadConfigOrReport(const std::string& config_path) {
  core::Diagnostics diags;
  core::Config config = core::LoadConfig(config_path, &diags);
  for (const auto& d : diags.items()) fmt::print(stderr, "{}\n", core::FormatDiagnostic(d));
  if (diags.has_errors()) return std::nullopt;
  return config;
}

core::Result<std::unique_ptr<Registries>> Registries::Build(const core::Config& config) {
  auto out = std::make_unique<Registries>();
  for (const auto& [name, ep] : config.endpoints) {
    auto creds = providers::FindCredentials(ep, providers::DefaultCredentialLookup());
    if (!creds.ok()) return creds.status();
    out->logins_[name] = {creds->username, creds->source};
    providers::TlsOptions tls;
    tls.ca_file = ep.ca_cert;
    tls.insecure = ep.insecure;
    out->http_.push_back(providers::NewCurlHttpClient(tls));
    auto registry = providers::NewRegistry(ep, *creds, out->http_.back().get());
    if (!registry.ok()) return registry.status();
    out->owned_.push_back(std::move(*registry));
    out->view_[name] = out->owned_.back().get();
  }
  return out;
}

long Registries::requests() const {
  long n = 0;
  for (const auto& r : owned_) n += r->requests();
  return n;
}

std::string StatePath(const core::Config& config, const std::string& flag) {
  return flag.empty() ? config.settings.state_path : flag;
}

bool NoRunHoldsTheState(const std::string& location) {
  auto backend = state::OpenBackend(location);
  return backend.ok() && (*backend)->LockScope(state::kWholeStateScope, 0).ok();
}

bool IsTerminal(int fd) { return isatty(fd) == 1; }

std::optional<double> ParseDurationSeconds(const std::string& text) {
  auto d = core::ParseCliDuration(text);
  if (!d) return std::nullopt;
  return std::chrono::duration<double>(*d).count();
}

}  // namespace crossdock::cmd

namespace crossdock::cmd {

namespace po = boost::program_options;

std::optional<int> ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                             const po::positional_options_description& positional,
                             const std::string& usage_line, po::variables_map* vm) {
  if (OptionsCapture::Record(desc, positional)) return kExitOk;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    PrintError(std::string(e.what()) + "\n\n" + usage_line + "\n\n" +
               [&] {
                 std::ostringstream os;
                 os << desc;
                 return os.str();
               }());
    return kExitError;
  }
  if (vm->count("help")) {
    std::ostringstream os;
    os << desc;
    fmt::print("{}\n\n{}", usage_line, os.str());
    return kExitOk;
  }
  return std::nullopt;
}

void AddConfigOptions(po::options_description* desc) {
  desc->add_options()("help,h", "Show this help")(
      "config,c", po::value<std::string>()->default_value("crossdock.toml"),
      "Configuration file")("no-color", "Print without ANSI colours");
}

namespace {
OptionsCapture* g_capture = nullptr;  // the capture alive, if any
}  // namespace

OptionsCapture::OptionsCapture() { g_capture = this; }
OptionsCapture::~OptionsCapture() { g_capture = nullptr; }

bool OptionsCapture::Record(const po::options_description& desc,
                            const po::positional_options_description& positional) {
  if (g_capture == nullptr) return false;
  for (const auto& option : desc.options()) g_capture->options_.add(option);
  const unsigned count = std::min(positional.max_total_count(), 16u);
  for (unsigned i = 0; i < count; ++i)
    g_capture->positional_.push_back(positional.name_for_position(i));
  return true;
}

}  // namespace crossdock::cmd
