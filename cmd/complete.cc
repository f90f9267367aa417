// crossdock __complete WORD... : what the shell completion scripts (cmd/completion.cc)
// ask at each TAB. WORDS are the words after "crossdock" up to the one under the
// cursor, which comes last (possibly empty). Prints one candidate per line, as
// "CANDIDATE" or "CANDIDATE<TAB>DESCRIPTION", then one directive line:
//   :words        the candidates are words (commands, flags, names)
//   :paths        the candidates are paths; those ending in '/' are folders
//   :files[ EXT]  no candidates: the shell completes file names (ending in EXT)
// Flags come from each command's own option definitions (OptionsCapture), rule and
// endpoint names from the config (-c/--config on the line, else the default), so
// neither can drift. Never prints an error, never contacts a registry: a TAB must
// not hang or scribble on the terminal.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/any.hpp>
#include <cstdlib>
#include <set>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/config.h"

namespace crossdock::cmd {

namespace {

namespace po = boost::program_options;

// What completes an option's value or a positional argument.
enum class Kind { kNothing, kWords, kRules, kEndpoints, kFiles, kConfigFiles, kPlanFiles };
struct Values {
  Kind kind = Kind::kNothing;
  std::vector<std::string> words{};  // kWords
};

struct Command {
  const char* name;
  int (*run)(const Args&);  // nullptr: takes no options
  // What completes each positional argument, by the option it fills.
  std::map<std::string, Values> positional;
};

// Every command `crossdock --help` lists (tests/e2e/completion_test.cc holds the two
// lists equal).
const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"validate", RunValidate, {}},
      {"plan", RunPlan, {}},
      {"apply", RunApply, {{"plan-file", {Kind::kPlanFiles}}}},
      {"show", RunShow, {{"plan-file", {Kind::kPlanFiles}}}},
      {"run", RunScheduler, {}},
      {"serve", RunServe, {}},
      {"rules", RunRules, {}},
      {"executions", RunExecutions, {}},
      {"tasks", RunTasks, {}},
      {"logs", RunLogs, {}},
      {"stop", RunStop, {}},
      {"retry", RunRetry, {}},
      {"state", RunState, {{"action", {Kind::kWords, {"list", "show", "migrate"}}}}},
      {"endpoint", RunEndpoint,
       {{"action", {Kind::kWords, {"test"}}}, {"name", {Kind::kEndpoints}}}},
      {"import", RunImport, {{"vendor", {Kind::kWords, {"harbor"}}}}},
      {"schema", RunSchema, {}},
      {"completion", RunCompletion, {{"shell", {Kind::kWords, {"bash", "zsh", "fish"}}}}},
      {"version", nullptr, {}},
  };
  return commands;
}

// What completes the value of an option, by its long name, in every command.
Values OptionValues(const std::string& option) {
  if (option == "config") return {Kind::kConfigFiles};
  if (option == "rule") return {Kind::kRules};
  if (option == "format") return {Kind::kWords, {"text", "github", "gitlab"}};
  if (option == "out" || option == "state" || option == "to" || option == "ca-cert" ||
      option == "from-file")
    return {Kind::kFiles};
  return {};
}

struct Candidate {
  std::string value;
  std::string description;
};

struct Completion {
  std::vector<Candidate> candidates;
  std::string directive = "words";
};

bool TakesValue(const po::option_description& option) {
  return option.semantic()->min_tokens() > 0;
}

// The option WORD ("--name", "--name=value", "-c", "-cvalue") names in OPTIONS, as
// the parser would resolve it (unambiguous prefixes of long names included), and
// the value given with it. nullptr when it names none.
const po::option_description* FindOption(const po::options_description& options,
                                         const std::string& word,
                                         std::optional<std::string>* value) {
  std::string name;
  if (word.starts_with("--")) {
    const size_t eq = word.find('=');
    name = word.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (eq != std::string::npos) *value = word.substr(eq + 1);
  } else {
    name = word.substr(0, 2);
    if (word.size() > 2) *value = word.substr(2);
  }
  try {
    return options.find_nothrow(name, /*approx=*/true);
  } catch (const po::error&) {  // ambiguous
    return nullptr;
  }
}

std::string DefaultConfigPath(const po::options_description& options) {
  const po::option_description* config = options.find_nothrow("config", false);
  boost::any value;
  if (config == nullptr || !config->semantic()->apply_default(value)) return "";
  return boost::any_cast<std::string>(value);
}

std::string ExpandHome(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (home != nullptr && path.starts_with("~/")) return home + path.substr(1);
  return path;
}

// Whether the regular file at PATH is a saved plan: its first bytes name the plan
// format (planner/saved_plan.cc). Opens nothing that could block (FIFOs, devices).
bool IsPlanFile(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  char head[256];
  const ssize_t n = read(fd, head, sizeof head);
  close(fd);
  return n > 0 && std::string_view(head, n).find("\"crossdock_plan_format\"") != std::string::npos;
}

// The folders and saved plans whose path starts with PREFIX (as typed: "~/" kept),
// folders ending in '/'. Looks at no more than 2,000 entries of one folder.
std::vector<Candidate> PlanFiles(const std::string& prefix) {
  const size_t slash = prefix.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
  const std::string base = prefix.substr(dir.size());
  std::vector<Candidate> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir.empty() ? "." : ExpandHome(dir), ec);
  int seen = 0;
  for (; !ec && it != std::filesystem::directory_iterator() && seen < 2000; it.increment(ec), ++seen) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(base) || (name.starts_with(".") && !base.starts_with("."))) continue;
    if (it->is_directory(ec))
      out.push_back({dir + name + "/", ""});
    else if (IsPlanFile(it->path().string()))
      out.push_back({dir + name, "saved plan"});
  }
  std::sort(out.begin(), out.end(),
            [](const Candidate& a, const Candidate& b) { return a.value < b.value; });
  return out;
}

class Completer {
 public:
  explicit Completer(std::string config_path) : config_path_(std::move(config_path)) {}

  // The candidates VALUES offers for a word starting with PREFIX (after LEAD, the
  // "--name=" of --name=value, which each candidate gets back).
  Completion Complete(const Values& values, const std::string& lead, const std::string& prefix) {
    Completion out;
    switch (values.kind) {
      case Kind::kNothing:
        break;
      case Kind::kWords:
        for (const auto& w : values.words) out.candidates.push_back({w, ""});
        break;
      case Kind::kRules:
        for (const auto& r : Config().rules) {
          std::string to;
          for (const auto& d : r.destinations) to += (to.empty() ? "" : ", ") + d;
          out.candidates.push_back({r.name, r.source + " → " + to});
        }
        break;
      case Kind::kEndpoints:
        for (const auto& [name, ep] : Config().endpoints) out.candidates.push_back({name, ep.type});
        break;
      case Kind::kFiles:
        out.directive = "files";
        break;
      case Kind::kConfigFiles:
        out.directive = "files .toml";
        break;
      case Kind::kPlanFiles:
        out.candidates = PlanFiles(prefix);
        out.directive = "paths";
        break;
    }
    std::vector<Candidate> kept;
    for (auto& c : out.candidates)
      if (c.value.starts_with(prefix)) kept.push_back({lead + c.value, c.description});
    out.candidates = std::move(kept);
    return out;
  }

 private:
  // The config, read once; whatever it holds even when it has errors. Only a regular
  // file is read: a FIFO or a device could block the TAB.
  const core::Config& Config() {
    if (!config_) {
      const std::string path = ExpandHome(config_path_);
      struct stat st{};
      core::Diagnostics diags;
      config_ = stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                    ? core::LoadConfig(path, &diags)
                    : core::Config{};
    }
    return *config_;
  }

  std::string config_path_;
  std::optional<core::Config> config_;
};

Completion CompleteCommand(const Command& command, const std::vector<std::string>& words) {
  const std::string& current = words.back();
  OptionsCapture capture;
  if (command.run != nullptr) command.run({});
  const po::options_description& options = capture.options();
  const std::vector<std::string>& positional = capture.positional();
  auto is_positional = [&](const std::string& name) {
    return std::find(positional.begin(), positional.end(), name) != positional.end();
  };

  // The words between the command and the current one: options, their values and
  // positional arguments.
  std::string config_path = DefaultConfigPath(options);
  const po::option_description* pending = nullptr;  // an option whose value comes next
  size_t arguments = 0;                              // positional arguments seen
  std::set<std::string> given;                       // options on the line
  bool options_ended = false;                        // after "--"
  for (size_t i = 1; i + 1 < words.size(); ++i) {
    const std::string& w = words[i];
    if (pending != nullptr) {
      if (pending->long_name() == "config") config_path = w;
      pending = nullptr;
    } else if (!options_ended && w == "--") {
      options_ended = true;
    } else if (!options_ended && w.size() > 1 && w[0] == '-') {
      std::optional<std::string> value;
      const po::option_description* option = FindOption(options, w, &value);
      if (option != nullptr) given.insert(option->long_name());
      if (option == nullptr || !TakesValue(*option)) continue;
      if (!value) pending = option;
      else if (option->long_name() == "config") config_path = *value;
    } else {
      ++arguments;
    }
  }

  Completer completer(config_path);
  if (pending != nullptr) return completer.Complete(OptionValues(pending->long_name()), "", current);
  if (!options_ended && current.starts_with("--") && current.find('=') != std::string::npos) {
    std::optional<std::string> value;
    const po::option_description* option = FindOption(options, current, &value);
    if (option == nullptr || !TakesValue(*option)) return {};
    const std::string lead = current.substr(0, current.size() - value->size());
    return completer.Complete(OptionValues(option->long_name()), lead, *value);
  }
  if (!options_ended && current.starts_with("-")) {
    Completion out;
    for (const auto& option : options.options()) {
      if (option->long_name().empty() || is_positional(option->long_name())) continue;
      // Once is enough, but for the repeatable ones (--rule).
      if (given.count(option->long_name()) && !option->semantic()->is_composing()) continue;
      const std::string flag = "--" + option->long_name();
      if (flag.starts_with(current)) out.candidates.push_back({flag, option->description()});
    }
    return out;
  }
  if (arguments >= positional.size()) return {};
  auto it = command.positional.find(positional[arguments]);
  if (it == command.positional.end()) return {};
  return completer.Complete(it->second, "", current);
}

Completion CompleteWords(std::vector<std::string> words) {
  if (words.empty()) words.push_back("");
  const std::string& current = words.back();
  if (words.size() == 1) {
    Completion out;
    if (current.starts_with("-")) {
      for (const char* flag : {"--help", "--version"})
        if (std::string(flag).starts_with(current)) out.candidates.push_back({flag, ""});
    } else {
      for (const auto& c : Commands())
        if (std::string(c.name).starts_with(current)) out.candidates.push_back({c.name, ""});
    }
    return out;
  }
  for (const auto& c : Commands())
    if (words[0] == c.name) return CompleteCommand(c, words);
  return {};
}

// One line: tabs and line breaks inside would break the protocol.
std::string OneLine(std::string text) {
  for (char& ch : text)
    if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
  return text;
}

}  // namespace

int RunComplete(const Args& args) {
  Completion completion;
  try {
    completion = CompleteWords(args);
  } catch (const std::exception&) {
    completion = {};  // nothing to offer beats an error on the user's terminal
  }
  for (const auto& c : completion.candidates) {
    if (c.value.find_first_of("\t\n\r") != std::string::npos) continue;
    if (c.description.empty())
      fmt::print("{}\n", c.value);
    else
      fmt::print("{}\t{}\n", c.value, OneLine(c.description));
  }
  fmt::print(":{}\n", completion.directive);
  return kExitOk;
}

}  // namespace crossdock::cmd
