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
  desc.add_options()("format", po::value<std::string>()->default_value("text"),
                     "text (default), github (workflow commands that annotate the lines) or "
                     "gitlab (a Code Quality report, JSON on stdout)");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock validate [options]", &vm)) return *rc;
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "github" && format != "gitlab") {
    PrintError("validate: --format must be text, github or gitlab, not \"" + format + "\"");
    return kExitError;
  }
  std::string path = vm["config"].as<std::string>();
  core::Diagnostics found;
  const core::Config loaded = core::LoadConfig(path, &found);
  core::CheckSecrets(loaded, &found);
  core::Diagnostics diags;  // the loader's and the secrets' problems, in file order
  core::config_check::AppendInFileOrder(found, &diags);
  if (format == "github") {
    for (const auto& d : diags.items()) fmt::print("{}\n", core::FormatGithubAnnotation(d));
  } else if (format == "gitlab") {
    fmt::print("{}\n", core::FormatGitlabCodeQuality(diags.items()));
  } else {
    for (const auto& d : diags.items()) fmt::print(stderr, "{}\n", core::FormatDiagnostic(d));
  }
  if (diags.has_errors()) return kExitError;
  // The Code Quality report is stdout's only content.
  fmt::print(format == "gitlab" ? stderr : stdout,
             "The configuration is valid: {} endpoint{}, {} rule{}.\n", loaded.endpoints.size(),
             loaded.endpoints.size() == 1 ? "" : "s", loaded.rules.size(),
             loaded.rules.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace crossdock::cmd
