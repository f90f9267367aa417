// crossdock state list|show: what crossdock manages, read from the state; state
// migrate: the state copied to another backend (a file or PostgreSQL), both ways.
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

// A state's size for messages: "serial 4, 12 artifacts, 1 intent".
std::string Describe(const state::State& s) {
  return fmt::format("serial {}, {} artifact{}, {} intent{}", s.serial, s.artifacts.size(),
                     s.artifacts.size() == 1 ? "" : "s", s.intents.size(),
                     s.intents.size() == 1 ? "" : "s");
}

bool HoldsAState(const state::State& s) {
  return s.serial > 0 || !s.artifacts.empty() || !s.intents.empty();
}

// Opens LOCATION, locks its whole state (waiting TIMEOUT) and reads it into *STATE.
// Prints what failed and returns nullptr.
std::unique_ptr<state::Backend> OpenLocked(const std::string& location, double timeout,
                                           std::unique_ptr<state::BackendLock>* lock,
                                           state::State* state) {
  auto backend = state::OpenBackend(location);
  if (!backend.ok()) {
    PrintError(backend.status().message());
    return nullptr;
  }
  auto held = (*backend)->LockScope(state::kWholeStateScope, timeout);
  if (!held.ok()) {
    PrintError(held.status().message());
    return nullptr;
  }
  *lock = std::move(*held);
  auto read = (*backend)->Read();
  if (!read.ok()) {
    PrintError(read.status().message());
    return nullptr;
  }
  *state = std::move(*read);
  return std::move(*backend);
}

// state migrate: FROM's state written to --to, both locked meanwhile. Refuses a target
// holding another state (another lineage), even with --force, and one holding this
// state without --force.
int Migrate(const po::variables_map& vm, const std::string& from) {
  if (!vm.count("to") || vm["to"].as<std::string>().empty()) {
    PrintError("state migrate needs --to: the state file or postgres:// URL to copy the state to");
    return kExitError;
  }
  const std::string& text = vm["lock-timeout"].as<std::string>();
  auto timeout = ParseDurationSeconds(text);
  if (!timeout) {
    PrintError("--lock-timeout \"" + text + "\" is not a duration; use e.g. 30s, 5m or 1h30m");
    return kExitError;
  }
  const std::string to = vm["to"].as<std::string>();  // a file: relative to the current folder
  if (to == from) {
    PrintError("the state is at " + to + " already: --to names where to copy it");
    return kExitError;
  }
  std::unique_ptr<state::BackendLock> from_lock, to_lock;
  state::State source, target;
  auto source_backend = OpenLocked(from, *timeout, &from_lock, &source);
  if (!source_backend) return kExitError;
  if (!HoldsAState(source)) {
    PrintError("there is no state at " + source_backend->name() + ": nothing to migrate");
    return kExitError;
  }
  auto target_backend = OpenLocked(to, *timeout, &to_lock, &target);
  if (!target_backend) return kExitError;
  if (HoldsAState(target)) {
    if (target.lineage != source.lineage) {
      PrintError(fmt::format(
          "cannot migrate into {}: it holds another state (lineage {}, {}), and the state of {} "
          "has lineage {}; crossdock never replaces one state by another, even with --force: "
          "migrate into an empty target, or empty this one first",
          target_backend->name(), target.lineage, Describe(target), source_backend->name(),
          source.lineage));
      return kExitError;
    }
    if (!vm.count("force")) {
      PrintError(fmt::format(
          "{} already holds this state (lineage {}, {}); pass --force to replace it with the "
          "one at {} ({})",
          target_backend->name(), target.lineage, Describe(target), source_backend->name(),
          Describe(source)));
      return kExitError;
    }
  }
  if (core::Status st = target_backend->Replace(source); !st.ok()) {
    PrintError("cannot write the state to " + target_backend->name() + ": " + st.message());
    return kExitError;
  }
  fmt::print("Migrated the state (lineage {}, {}) from {} to {}.\n"
             "Point [settings] state (or --state) at {} to use it; {} was left as it was.\n",
             source.lineage, Describe(source), source_backend->name(), target_backend->name(),
             target_backend->name(), source_backend->name());
  return kExitOk;
}

}  // namespace

int RunState(const Args& args) {
  const std::string usage =
      "Usage: crossdock state list [options]\n"
      "       crossdock state show [options] ADDRESS\n"
      "       crossdock state migrate [options] --to FILE_OR_URL [--force]\n\n"
      "ADDRESS is ENDPOINT/REPOSITORY:TAG as `state list` prints it. migrate copies the state "
      "(--state, or [settings] state) to a state file or a postgres:// URL, keeping its "
      "lineage and serial.";
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("state", po::value<std::string>()->default_value(""),
                     "State file or postgres:// URL (default: [settings] state)")("json", "Print JSON")(
      "to", po::value<std::string>(), "migrate: the state file or postgres:// URL to copy to")(
      "force", "migrate: replace what the target holds of this state (same lineage)")(
      "lock-timeout", po::value<std::string>()->default_value("0s"),
      "migrate: how long to wait for each state's lock (a Go duration: 30s, 5m, 1h30m)")(
      "action", po::value<std::string>(), "list, show or migrate")(
      "address", po::value<std::string>(), "what to show");
  po::positional_options_description pos;
  pos.add("action", 1).add("address", 1);
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, pos, usage, &vm)) return *rc;
  std::string action = vm.count("action") ? vm["action"].as<std::string>() : "";
  if (action != "list" && action != "show" && action != "migrate") {
    PrintError("state needs a subcommand, list, show or migrate\n\n" + usage);
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
  if (action == "migrate") return Migrate(vm, path);
  auto backend = state::OpenBackend(path);
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
