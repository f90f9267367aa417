// crossdock validate: reports every configuration problem in one run, and what it can
// tell of the secrets the config names (core::CheckSecrets).
#include <fmt/format.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/config_check.h"
#include "core/secret.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunValidate(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock validate [options]", &vm)) return *rc;
  std::string path = vm["config"].as<std::string>();
  core::Diagnostics found;
  const core::Config loaded = core::LoadConfig(path, &found);
  core::CheckSecrets(loaded, &found);
  core::Diagnostics diags;  // the loader's and the secrets' problems, in file order
  core::config_check::AppendInFileOrder(found, &diags);
  for (const auto& d : diags.items()) fmt::print(stderr, "{}\n", core::FormatDiagnostic(d));
  if (diags.has_errors()) return kExitError;
  fmt::print("The configuration is valid: {} endpoint{}, {} rule{}.\n", loaded.endpoints.size(),
             loaded.endpoints.size() == 1 ? "" : "s", loaded.rules.size(),
             loaded.rules.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace crossdock::cmd
