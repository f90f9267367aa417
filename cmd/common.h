// What every subcommand shares: loading and validating the config, building the
// registry clients, reading the state, printing diagnostics, exit codes, Ctrl-C.
// Used only by cmd/*.cc.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/config.h"
#include "core/status.h"
#include "providers/http.h"
#include "providers/registry.h"

namespace crossdock::cmd {

// Exit codes (README "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitChanges = 2;
inline constexpr int kExitInterrupted = 130;

// SIGINT and SIGTERM cancel the tokens of the work in progress: an InterruptScope
// puts one in reach of the signal handlers for its lifetime. (A handler can reach
// only globals: what is global here is where the tokens are, not a flag the work
// reads; the work sees its own token.) At most kMaxInterruptScopes at once.
inline constexpr int kMaxInterruptScopes = 4;
class InterruptScope {
 public:
  explicit InterruptScope(core::CancelToken* token);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  int slot_;
};

// Cancels every token in scope, and those of scopes opened later. Async-signal-safe:
// for the handlers of run and serve.
void CancelInterruptScopes();

// For plan, apply and retry: the first SIGINT or SIGTERM cancels the tokens in scope
// and says so on stderr; a second exits at once with kExitInterrupted.
void InstallInterruptHandler();

// Loads CONFIG_PATH and prints every diagnostic to stderr. nullopt when it has errors.
std::optional<core::Config> LoadConfigOrReport(const std::string& config_path);

// Prints "Error: MESSAGE" to stderr.
void PrintError(const std::string& message);
void PrintWarning(const std::string& message);
// Prints "<RFC 3339 time> LINE" to stdout and flushes; thread-safe. The log of the
// long-running commands (run, serve).
void LogLine(const std::string& line);

// Clients for every endpoint the config defines; keeps the HTTP clients alive.
class Registries {
 public:
  // Finds each endpoint's credentials (providers/credentials.h); one that cannot be
  // found (a secret unset, an auth file broken, a helper failing) is an error naming
  // the endpoint.
  static core::Result<std::unique_ptr<Registries>> Build(const core::Config& config);
  const std::map<std::string, providers::Registry*>& map() const { return view_; }
  // Who endpoint NAME logs in as ("" : anonymous) and where that came from.
  const std::string& username(const std::string& name) const { return logins_.at(name).first; }
  const std::string& credential_source(const std::string& name) const {
    return logins_.at(name).second;
  }
  // Sum of HTTP requests sent by every client.
  long requests() const;

 private:
  std::vector<std::unique_ptr<providers::HttpClient>> http_;
  std::vector<std::unique_ptr<providers::Registry>> owned_;
  std::map<std::string, providers::Registry*> view_;
  std::map<std::string, std::pair<std::string, std::string>> logins_;  // username, source
};

// The state file for this run: --state, else [settings] state.
std::string StatePath(const core::Config& config, const std::string& flag);

// True when no run holds the whole-state lock of the state at LOCATION (a file or a
// PostgreSQL URL), tried once: an execution of its history still "running" may then
// belong to a run that died. False as well when the state cannot be opened.
bool NoRunHoldsTheState(const std::string& location);

// True when stdout (fd 1) or stderr (fd 2) is a terminal.
bool IsTerminal(int fd);

// Parses a Go duration ("30s", "1h30m", "250ms"; core/duration.h) or plain seconds.
// nullopt when malformed.
std::optional<double> ParseDurationSeconds(const std::string& text);

}  // namespace crossdock::cmd

#include <boost/program_options.hpp>

namespace crossdock::cmd {

// Parses ARGS into *VM against DESC (and POSITIONAL). Prints usage (USAGE_LINE then
// the options) for --help and returns kExitOk; prints the problem and returns
// kExitError for bad flags; returns nullopt when the command should go on.
std::optional<int> ParseArgs(const std::vector<std::string>& args,
                             const boost::program_options::options_description& desc,
                             const boost::program_options::positional_options_description& positional,
                             const std::string& usage_line, boost::program_options::variables_map* vm);

// The options every config-reading command takes: -c/--config, --no-color.
void AddConfigOptions(boost::program_options::options_description* desc);

// A command's options as its own Run function defines them, for shell completion
// (`crossdock __complete`): while an OptionsCapture is alive, ParseArgs records the
// options and positional arguments it is given and returns kExitOk without parsing,
// so calling RunX({}) tells X's options without running X. One capture at a time,
// on one thread.
class OptionsCapture {
 public:
  OptionsCapture();
  ~OptionsCapture();
  OptionsCapture(const OptionsCapture&) = delete;
  OptionsCapture& operator=(const OptionsCapture&) = delete;

  // Every option, the positional ones included.
  const boost::program_options::options_description& options() const { return options_; }
  // The option each positional argument fills, in order (at most 16).
  const std::vector<std::string>& positional() const { return positional_; }

  // For ParseArgs, and a command that parses its arguments itself, before parsing:
  // records DESC and POSITIONAL and returns true while a capture is alive (the
  // command then returns kExitOk at once); false otherwise.
  static bool Record(const boost::program_options::options_description& desc,
                     const boost::program_options::positional_options_description& positional);

 private:
  boost::program_options::options_description options_;
  std::vector<std::string> positional_;
};

}  // namespace crossdock::cmd
