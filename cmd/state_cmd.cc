// crossdock state list|show: what crossdock manages, read from the state file.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/digest.h"
#include "state/backend.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

std::string Address(const state::Artifact& a) {
  return a.destination_endpoint + "/" + a.destination_repository + core::RefSuffix(a.tag);
}

nlohmann::ordered_json ToJson(const state::Artifact& a) {
  return {{"address", Address(a)},
          {"rule", a.rule},
          {"source_endpoint", a.source_endpoint},
          {"source_repository", a.source_repository},
          {"source_digest", a.source_digest},
          {"destination_endpoint", a.destination_endpoint},
          {"destination_repository", a.destination_repository},
          {"tag", a.tag},
          {"destination_digest", a.destination_digest},
          {"replicated_at", a.replicated_at}};
}

}  // namespace

int RunState(const Args& args) {
  const std::string usage =
      "Usage: crossdock state list [options]\n"
      "       crossdock state show [options] ADDRESS\n\n"
      "ADDRESS is ENDPOINT/REPOSITORY:TAG as `state list` prints it.";
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("state", po::value<std::string>()->default_value(""),
                     "State file (default: [settings] state)")("json", "Print JSON")(
      "action", po::value<std::string>(), "list or show")("address", po::value<std::string>(),
                                                          "what to show");
  po::positional_options_description pos;
  pos.add("action", 1).add("address", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, usage, &vm)) return *rc;
  std::string action = vm.count("action") ? vm["action"].as<std::string>() : "";
  if (action != "list" && action != "show") {
    PrintError("state needs a subcommand, list or show\n\n" + usage);
    return kExitError;
  }
  if (action == "show" && !vm.count("address")) {
    PrintError("state show needs an ADDRESS (see `crossdock state list`)");
    return kExitError;
  }
  std::string path = vm["state"].as<std::string>();
  if (path.empty()) {
    auto config = LoadConfigOrReport(vm["config"].as<std::string>());
    if (!config) return kExitError;
    path = config->settings.state_path;
  }
  auto backend = state::OpenBackend(path, vm["config"].as<std::string>());
  if (!backend.ok()) {
    PrintError(backend.status().message());
    return kExitError;
  }
  auto st = (*backend)->Read();
  if (!st.ok()) {
    PrintError(st.status().message());
    return kExitError;
  }
  const bool json = vm.count("json") > 0;
  if (action == "list") {
    if (json) {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& a : st->artifacts) arr.push_back(ToJson(a));
      fmt::print("{}\n", arr.dump());
    } else {
      for (const auto& a : st->artifacts) fmt::print("{}\n", Address(a));
    }
    return kExitOk;
  }
  std::string address = vm["address"].as<std::string>();
  for (const auto& a : st->artifacts) {
    if (Address(a) != address) continue;
    if (json) {
      fmt::print("{}\n", ToJson(a).dump());
    } else {
      fmt::print(
          "# {}\nrule                   = {}\nsource                 = {}/{}:{}\n"
          "source_digest          = {}\ndestination_digest     = {}\nreplicated_at          = {}\n",
          address, a.rule, a.source_endpoint, a.source_repository, a.tag, a.source_digest,
          a.destination_digest, a.replicated_at);
    }
    return kExitOk;
  }
  PrintError("no artifact \"" + address + "\" in " + (*backend)->name() +
             "; see `crossdock state list`");
  return kExitError;
}

}  // namespace crossdock::cmd
