// crossdock import harbor: writes a crossdock.toml equivalent to a Harbor's
// replication setup (providers/harbor/replication_import.h), read from Harbor's API or
// from the JSON its API returned.
#include <fmt/format.h>

#include <filesystem>
#include <sstream>
#include <tuple>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/clock.h"
#include "core/config_check.h"
#include "core/file.h"
#include "core/secret.h"
#include "providers/harbor/replication_import.h"

namespace crossdock::cmd {

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

const char kUsage[] =
    "Usage: crossdock import harbor --url URL --username USER --password SECRET [options]\n"
    "       crossdock import harbor --from-file POLICIES.json REGISTRIES.json [options]\n"
    "\n"
    "Writes a crossdock.toml equivalent to Harbor's replication setup: each registry\n"
    "becomes an endpoint, Harbor itself the endpoint \"harbor\" ([settings] home), each\n"
    "replication policy a push or pull rule. Passwords become env: placeholders (Harbor\n"
    "never hands out its secrets); what crossdock cannot express is a comment in the file\n"
    "and a warning on stderr.";

po::options_description Options() {
  po::options_description desc("Options");
  desc.add_options()("help,h", "Show this help")(
      "url", po::value<std::string>()->value_name("URL"),
      "Harbor's address (https://harbor.example); reading its setup needs a system "
      "administrator")("username", po::value<std::string>()->value_name("USER"), "Harbor user name")(
      "password", po::value<std::string>()->value_name("SECRET"),
      "env:NAME, file:PATH, or the password itself (visible to ps: avoid)")(
      "ca-cert", po::value<std::string>()->value_name("FILE"),
      "an extra CA certificate (PEM) to trust for Harbor; also ca_cert of endpoint \"harbor\"")(
      "insecure", "skip TLS verification of Harbor; also insecure = true for endpoint \"harbor\"")(
      "from-file",
      po::value<std::vector<std::string>>()->multitoken()->value_name("POLICIES REGISTRIES"),
      "read the JSON bodies of GET /api/v2.0/replication/policies and GET "
      "/api/v2.0/registries instead of asking Harbor (--url and --username, if given, fill in "
      "endpoint \"harbor\")")(
      "out", po::value<std::string>()->value_name("FILE"),
      "write the configuration to FILE, and the CA certificates Harbor holds for registries "
      "beside it (default: print it on stdout)")("force", "replace FILE if it exists");
  return desc;
}

// Reads the two files of --from-file.
core::Result<providers::HarborReplicationSetup> ReadSetupFiles(const std::string& policies_file,
                                                               const std::string& registries_file) {
  providers::HarborReplicationSetup setup;
  for (const auto& [file, path, list] :
       {std::tuple{policies_file, "/api/v2.0/replication/policies", &setup.policies},
        std::tuple{registries_file, "/api/v2.0/registries", &setup.registries}}) {
    auto text = core::config_check::ReadTextFile(file);
    if (!text.ok()) return core::Status::InvalidArgument("cannot read " + file + ": " +
                                                         text.status().message());
    auto parsed = providers::ParseHarborList(*text, file, path);
    if (!parsed.ok()) return parsed.status();
    *list = std::move(*parsed);
  }
  // Policies have triggers and filters, registries URLs: tell a swap from other input.
  auto looks_like_registry = [](const nlohmann::json& item) {
    return item.contains("url") && !item.contains("trigger") && !item.contains("filters") &&
           !item.contains("src_registry") && !item.contains("dest_registry");
  };
  if (!setup.policies.empty() && looks_like_registry(setup.policies[0]) &&
      (setup.registries.empty() || !looks_like_registry(setup.registries[0])))
    return core::Status::InvalidArgument(policies_file +
                                         " holds registries, not replication policies: give "
                                         "--from-file POLICIES REGISTRIES in that order");
  return setup;
}

// Reads the setup from Harbor's API.
core::Result<providers::HarborReplicationSetup> FetchSetup(const po::variables_map& vm) {
  if (!vm.count("username") || !vm.count("password"))
    return core::Status::InvalidArgument(
        "give --username and --password of a Harbor system administrator (or --from-file)");
  const std::string spec = vm["password"].as<std::string>();
  if (!spec.starts_with("env:") && !spec.starts_with("file:"))
    PrintWarning("a password on the command line is visible to other users (ps); use "
                 "--password env:NAME or file:PATH");
  auto password = core::ResolveSecret(core::SecretRef{spec, {}});
  if (!password.ok()) return password.status().WithContext("--password");
  providers::TlsOptions tls;
  if (vm.count("ca-cert")) tls.ca_file = vm["ca-cert"].as<std::string>();
  tls.insecure = vm.count("insecure") > 0;
  auto http = providers::NewCurlHttpClient(tls);
  return providers::FetchHarborReplicationSetup(http.get(), vm["url"].as<std::string>(),
                                                vm["username"].as<std::string>(), *password);
}

// The files to write for IMPORTED at OUT: the CA certificates beside it, then OUT.
std::vector<std::pair<std::string, const std::string*>> OutputFiles(
    const std::string& out, const providers::ImportedConfig& imported) {
  const fs::path folder = fs::path(out).parent_path();
  std::vector<std::pair<std::string, const std::string*>> files;
  for (const auto& [name, content] : imported.files)
    files.push_back({(folder / name).string(), &content});
  files.push_back({out, &imported.toml});
  return files;
}

}  // namespace

int RunImport(const Args& args) {
  po::options_description desc = Options();
  po::options_description all;
  all.add(desc).add_options()("vendor", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("vendor", 1);
  po::variables_map vm;
  const std::string help = [&] {
    std::ostringstream os;
    os << kUsage << "\n\n" << desc;
    return os.str();
  }();
  if (OptionsCapture::Record(all, positional)) return kExitOk;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    PrintError(std::string(e.what()) + "\n\n" + help);
    return kExitError;
  }
  if (vm.count("help")) {
    fmt::print("{}", help);
    return kExitOk;
  }
  if (!vm.count("vendor") || vm["vendor"].as<std::string>() != "harbor") {
    PrintError("expected `crossdock import harbor`: Harbor is the one system crossdock imports "
               "from\n\n" + help);
    return kExitError;
  }
  const bool from_file = vm.count("from-file") > 0;
  if (from_file && vm["from-file"].as<std::vector<std::string>>().size() != 2) {
    PrintError("--from-file takes two files: POLICIES.json REGISTRIES.json");
    return kExitError;
  }
  if (!from_file && !vm.count("url")) {
    PrintError("give Harbor's address with --url (or --from-file POLICIES.json REGISTRIES.json)");
    return kExitError;
  }
  if (vm.count("url")) {
    // Checked before anything is sent; a URL with credentials is never repeated.
    std::string url = vm["url"].as<std::string>();
    if (url.find('@') != std::string::npos) {
      PrintError("--url must not contain credentials; use --username and --password");
      return kExitError;
    }
    if (core::config_check::NormalizeEndpointUrl(&url, "harbor")) {
      PrintError("--url \"" + url + "\" is not Harbor's address: use scheme://host[:port], "
                 "e.g. https://harbor.example.com");
      return kExitError;
    }
  }
  std::string ca_cert;
  if (vm.count("ca-cert")) {
    std::error_code ec;
    ca_cert = fs::absolute(vm["ca-cert"].as<std::string>(), ec).lexically_normal().string();
    if (!fs::is_regular_file(ca_cert, ec)) {
      PrintError("--ca-cert " + vm["ca-cert"].as<std::string>() + ": no such file");
      return kExitError;
    }
  }

  const auto inputs =
      from_file ? vm["from-file"].as<std::vector<std::string>>() : std::vector<std::string>{};
  auto setup = from_file ? ReadSetupFiles(inputs[0], inputs[1]) : FetchSetup(vm);
  if (!setup.ok()) {
    PrintError(setup.status().message());
    return kExitError;
  }
  providers::HarborImportOptions options;
  options.harbor_url = vm.count("url") ? vm["url"].as<std::string>() : "";
  options.username = vm.count("username") ? vm["username"].as<std::string>() : "";
  options.harbor_ca_cert = ca_cert;
  options.harbor_insecure = vm.count("insecure") > 0;
  options.origin = from_file ? "Harbor's replication policies in " + inputs[0] +
                                   " and registries in " + inputs[1]
                             : "Harbor at " + options.harbor_url;
  options.time = core::NowRfc3339();
  options.can_write_files = vm.count("out") > 0;
  auto imported = providers::ImportHarborReplication(*setup, options);
  if (!imported.ok()) {
    PrintError(imported.status().message());
    return kExitError;
  }
  if (!vm.count("out")) {
    for (const std::string& w : imported->warnings) PrintWarning(w);
    fmt::print("{}", imported->toml);
    return kExitOk;
  }
  const std::string out = vm["out"].as<std::string>();
  const auto files = OutputFiles(out, *imported);
  for (const auto& [path, content] : files) {
    std::error_code ec;
    if (!vm.count("force") && fs::exists(path, ec)) {
      PrintError(path + " exists already: choose another --out, or add --force to replace it");
      return kExitError;
    }
  }
  for (const std::string& w : imported->warnings) PrintWarning(w);
  for (const auto& [path, content] : files) {
    if (core::Status st = core::WriteFileAtomically(path, *content); !st.ok()) {
      PrintError(st.message());
      return kExitError;
    }
  }
  std::string variables;
  for (const std::string& v : imported->password_variables)
    variables += (variables.empty() ? "" : ", ") + v;
  fmt::print("Wrote {}: {} endpoint{} and {} rule{}{}.\n", out, imported->endpoints,
             imported->endpoints == 1 ? "" : "s", imported->rules, imported->rules == 1 ? "" : "s",
             imported->warnings.empty() ? ""
                                        : fmt::format(" ({} note{} to read)",
                                                      imported->warnings.size(),
                                                      imported->warnings.size() == 1 ? "" : "s"));
  fmt::print("Next: {}crossdock validate -c {}, then crossdock plan -c {}.\n",
             variables.empty() ? "" : "set " + variables + "; ", out, out);
  return kExitOk;
}

}  // namespace crossdock::cmd
