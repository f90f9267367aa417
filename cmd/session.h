// Session: what plan and apply both set up before talking to registries: the
// validated config, the state (read, optionally locked) and the registry clients.
// Used by cmd/plan.cc and cmd/apply.cc.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cmd/common.h"
#include "core/cancel.h"
#include "core/shard.h"
#include "planner/plan.h"
#include "planner/planner.h"
#include "planner/saved_plan.h"
#include "state/backend.h"
#include "state/executions.h"
#include "state/store.h"

namespace crossdock::cmd {

struct Session {
  core::Config config;
  // Where the execution history lives: the state file, or the PostgreSQL URL
  // (state::Backend::history_path).
  std::string state_path;
  // Where the event journal of serve and run lives: the state file, or beside the config
  // for a PostgreSQL state (state::LocalPath).
  std::string events_path;
  std::unique_ptr<state::Backend> backend;  // backend->name() names the state in messages
  state::State state;
  std::unique_ptr<state::BackendLock> lock;  // held for apply (SessionOptions::lock)
  std::unique_ptr<state::BackendLock> shard_lock;  // a shard's own scope, beside it
  // Others write the state at once (a shard's or serve's session on PostgreSQL): each
  // change is applied under its destination repository's lock, waited for this long.
  bool lock_repositories = false;
  double repository_lock_timeout_seconds = 0;
  std::unique_ptr<Registries> registries;
};

struct SessionOptions {
  std::string config_path;
  std::string state_flag;
  bool lock = false;
  double lock_timeout_seconds = 0;
  // With lock, where the backend has concurrent writers (PostgreSQL): for a shard, the
  // whole state's scope shared and the shard's own scope exclusive, so that the N
  // shards run side by side and nothing else writes meanwhile; for serve, the serve
  // scope only (it locks the state per execution: LockForExecution). Both then apply
  // each change under its repository's lock. A state file is always locked whole.
  std::optional<core::Shard> shard;
  bool serve = false;
};

// Validates the config, opens the state's backend, locks (SessionOptions) and
// reads the state, builds clients, in that order, so that a run failing validation
// creates no file. Prints what failed and returns nullopt.
std::optional<Session> OpenSession(const SessionOptions& options);

// The flags plan and apply share: --state, --rule, --parallelism, --refresh-only,
// --shard.
void AddPlanningOptions(boost::program_options::options_description* desc);

// --shard's help text (plan, apply, run).
inline constexpr const char* kShardHelp =
    "Only the destination repositories of shard I of N, I/N with 0 <= I < N (README \"Shards\")";

// --shard I/N (core/shard.h); nullopt without it. The error names the flag, what is
// wrong and the form expected. Commands check it before reading or contacting anything.
core::Result<std::optional<core::Shard>> ShardFrom(const boost::program_options::variables_map& vm);

// --parallelism, or [settings] parallelism; the one range check of every command.
// Prints the problem and returns nullopt when it is out of range.
std::optional<int> ParallelismFrom(const boost::program_options::variables_map& vm,
                                   const core::Config& config);

// PlanOptions from those flags (defaults from CONFIG), cancelled by CANCEL. Prints
// unknown --rule names (and a bad --shard) and returns nullopt.
std::optional<planner::PlanOptions> PlanOptionsFrom(const boost::program_options::variables_map& vm,
                                                    const core::Config& config,
                                                    const core::CancelToken& cancel);

struct ExecuteOptions {
  state::Trigger trigger = state::Trigger::kManual;  // recorded in the execution
  bool ask = true;                 // ask for approval (false for saved plans)
  bool auto_approve = false;
  bool color = false;
  int parallelism = 10;
  bool json = false;  // JSON lines on stdout instead of text
  // Apply a plan deleting more tags than [settings] max_deletes (apply --allow-deletes).
  bool allow_deletes = false;
  // The execution's token: Ctrl-C (in an InterruptScope) or `crossdock stop` cancels it.
  core::CancelToken* cancel = nullptr;
  // Called with the execution as recorded once it has finished (crossdock serve and
  // run count it in /metrics).
  std::function<void(const state::Execution&)> on_finished;
};

// Prints PLAN, refuses it when it deletes more tags than [settings] max_deletes (unless
// OPTIONS.allow_deletes; an unattended run, scheduled or by event, records the refusal
// as a failed execution), asks for approval (when it has changes), applies it under an
// execution record (stoppable with `crossdock stop`), reports, and returns the exit code. REQUIRES: SESSION holds the
// state lock; OPTIONS.cancel is set.
int ExecutePlan(Session& session, const planner::Plan& plan, const ExecuteOptions& options);

// OpenSession for the commands that write the state (apply, retry): the config and
// state from -c/--state, locked (as SHARD's, if any), waiting --lock-timeout. Prints
// what failed and returns nullopt.
std::optional<Session> OpenLockedSession(const boost::program_options::variables_map& vm,
                                         const std::optional<core::Shard>& shard);

// For serve on a state with concurrent writers: the whole state's lock shared (as the
// shards hold it: no run of the whole state goes on meanwhile), waited for until
// STOPPING (the holder is logged once), and the state read anew, since other writers
// changed it; its changes then take their repository's lock. Returns nullptr when
// stopped first. Elsewhere serve holds the whole state already: returns a lock that
// holds nothing.
std::unique_ptr<state::BackendLock> LockForExecution(Session& session,
                                                     const core::CancelToken& stopping);

}  // namespace crossdock::cmd
