// crossdock endpoint test NAME: Harbor's "Test Connection": reachability, TLS,
// credentials (and where they came from) and the vendor's control plane, each with
// a verdict.
#include <fmt/format.h>

#include "cmd/commands.h"
#include "cmd/common.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunEndpoint(const Args& args) {
  const std::string usage = "Usage: crossdock endpoint test [options] NAME";
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("action", po::value<std::string>(), "test")("name", po::value<std::string>(),
                                                                  "endpoint");
  po::positional_options_description pos;
  pos.add("action", 1).add("name", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, usage, &vm)) return *rc;
  if (!vm.count("action") || vm["action"].as<std::string>() != "test" || !vm.count("name")) {
    PrintError("expected `endpoint test NAME`\n\n" + usage);
    return kExitError;
  }
  auto config = LoadConfigOrReport(vm["config"].as<std::string>());
  if (!config) return kExitError;
  std::string name = vm["name"].as<std::string>();
  const core::Endpoint* ep = config->FindEndpoint(name);
  if (!ep) {
    PrintError("no endpoint \"" + name + "\" in " + config->path);
    return kExitError;
  }
  auto regs = Registries::Build(*config);
  if (!regs.ok()) {
    PrintError(regs.status().message());
    return kExitError;
  }
  fmt::print("Endpoint \"{}\" ({}, {})\n", name, ep->type, ep->url);
  core::Status st = (*regs)->map().at(name)->Ping();
  bool https = ep->url.rfind("https://", 0) == 0;
  std::string tls = !https ? "not used (plain HTTP)"
                    : ep->insecure ? "verification OFF (insecure = true)"
                    : ep->ca_cert.empty() ? "verified (system CAs)"
                                          : "verified (CA " + ep->ca_cert + ")";
  if (st.code() == core::Code::kUnavailable) {
    bool tls_problem = st.message().find("SSL") != std::string::npos ||
                       st.message().find("certificate") != std::string::npos;
    fmt::print("  reachable:   {}\n", tls_problem ? "yes" : "NO");
    if (tls_problem) fmt::print("  TLS:         FAILED\n");
    fmt::print("Result: unhealthy: {}\n", st.message());
    return kExitError;
  }
  fmt::print("  reachable:   yes\n  TLS:         {}\n", tls);
  if (!st.ok()) {
    fmt::print("  credentials: REJECTED\nResult: unhealthy: {}\n", st.message());
    return kExitError;
  }
  providers::Registry* registry = (*regs)->map().at(name);
  const std::string& source = (*regs)->credential_source(name);
  const std::string& user = (*regs)->username(name);
  fmt::print("  credentials: {}\n",
             // "anonymous (no username/password, …)" -> "none (no username/password, …)"
             source.starts_with("anonymous (") ? "none " + source.substr(10)
             : user.empty()                  ? "accepted (from " + source + ")"
                                             : "accepted (user " + user + ", from " + source + ")");
  auto control = registry->CheckControlPlane();
  if (!control.ok()) {
    fmt::print("  API:         FAILED\nResult: unhealthy: {}\n", control.status().message());
    return kExitError;
  }
  if (!control->empty()) fmt::print("  API:         {}\n", *control);
  fmt::print("Result: healthy\n");
  return kExitOk;
}

}  // namespace crossdock::cmd
