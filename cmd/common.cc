#include "cmd/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <mutex>
#include <cstdio>
#include <sstream>

#include "core/clock.h"
#include "core/secret.h"
#include "providers/distribution/client.h"

namespace crossdock::cmd {

std::atomic<bool> g_interrupted{false};

namespace {
void OnInterrupt(int) {
  if (g_interrupted.exchange(true)) {
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
    providers::Credentials creds;
    creds.username = ep.username;
    if (!ep.password.empty()) {
      auto secret = core::ResolveSecret(ep.password);
      if (!secret.ok())
        return secret.status().WithContext("password of endpoint \"" + name + "\"");
      creds.password = *secret;
    }
    providers::TlsOptions tls;
    tls.ca_file = ep.ca_cert;
    tls.insecure = ep.insecure;
    out->http_.push_back(providers::NewCurlHttpClient(tls));
    providers::DistributionOptions options;
    options.rate_limit_per_second = ep.rate_limit_per_second;
    options.max_connections = ep.max_connections;
    out->owned_.push_back(std::make_unique<providers::DistributionRegistry>(
        name, ep.url, creds, out->http_.back().get(), options));
    out->view_[name] = out->owned_.back().get();
  }
  return out;
}

long Registries::requests() const {
  long n = 0;
  for (const auto& r : owned_)
    n += static_cast<const providers::DistributionRegistry*>(r.get())->requests();
  return n;
}

std::string StatePath(const core::Config& config, const std::string& flag) {
  return flag.empty() ? config.settings.state_path : flag;
}

bool IsTerminal(int fd) { return isatty(fd) == 1; }

std::optional<double> ParseDurationSeconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v;
  try {
    v = std::stod(text.substr(0, i));
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = text.substr(i);
  if (unit.empty() || unit == "s") return v;
  if (unit == "ms") return v / 1000;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  return std::nullopt;
}

}  // namespace crossdock::cmd

namespace crossdock::cmd {

namespace po = boost::program_options;

std::optional<int> ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                             const po::positional_options_description& positional,
                             const std::string& usage_line, po::variables_map* vm) {
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

}  // namespace crossdock::cmd
