// crossdock validate: reports every configuration problem in one run.
#include <fmt/format.h>

#include "cmd/commands.h"
#include "cmd/common.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunValidate(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock validate [options]", &vm)) return *rc;
  std::string path = vm["config"].as<std::string>();
  auto config = LoadConfigOrReport(path);
  if (!config) return kExitError;
  fmt::print("The configuration is valid: {} endpoint{}, {} rule{}.\n", config->endpoints.size(),
             config->endpoints.size() == 1 ? "" : "s", config->rules.size(),
             config->rules.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace crossdock::cmd
