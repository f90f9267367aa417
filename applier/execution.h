// RunExecution: one apply as the replication history shows it, start to end. The
// history's crashed executions are recovered, a running Execution is recorded,
// `crossdock stop` is polled, the plan is applied (each change recorded in the state
// and in its task), and the execution is finished and pruned. Used by cmd/execute.cc
// for apply, retry, run and serve.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "applier/applier.h"
#include "core/cancel.h"
#include "planner/plan.h"
#include "providers/registry.h"
#include "state/backend.h"
#include "state/executions.h"
#include "state/state.h"

namespace crossdock::applier {

// Executions kept per rule in the history (Harbor keeps 50 per policy).
inline constexpr int kExecutionsKept = 50;

struct ExecutionOptions {
  state::Trigger trigger = state::Trigger::kManual;
  int keep = kExecutionsKept;
  // Parallelism, progress, per-rule retries and on_change_done; cancel is CANCEL's.
  ApplyOptions apply;
  // How often a `crossdock stop` request is looked for.
  std::chrono::milliseconds stop_poll{200};
  // Called once the execution is recorded (with its id; nullopt: not recorded), before
  // the first change starts.
  std::function<void(std::optional<std::int64_t> id)> on_start;
  // Problems with the history, which never stop an apply (no "Warning: " prefix).
  std::function<void(const std::string&)> warn = [](const std::string&) {};
};

struct ExecutionResult {
  std::optional<state::Execution> execution;  // as it ended; nullopt: not recorded
  ApplyReport report;
  core::Status persisted;           // the first failure to write the state, if any
  bool stopped_by_request = false;  // by `crossdock stop`
  bool cancelled = false;           // by CANCEL (a signal, or the stop)
};

// Applies PLAN (or, for a --refresh-only plan, its drift) to STATE, persisted through
// BACKEND, via REGISTRIES, as one execution of the history at BACKEND's history_path().
// A stop request for the execution cancels CANCEL. Problems of the history go to
// OPTIONS.warn; the apply runs without a record when it cannot be written.
// REQUIRES: the caller holds BACKEND's lock of the scope it applies.
ExecutionResult RunExecution(const planner::Plan& plan, state::State* state,
                             state::Backend* backend,
                             const std::map<std::string, providers::Registry*>& registries,
                             core::CancelToken* cancel, const ExecutionOptions& options);

// Records a plan with nothing to do as an execution all the same (as Harbor's "no
// resources need to be replicated"): a scheduled rule's last run is what --due
// measures from. Returns it as ended, or nullopt after a warning.
std::optional<state::Execution> RecordUnchanged(const planner::Plan& plan,
                                                const std::string& state_path,
                                                const ExecutionOptions& options);

}  // namespace crossdock::applier
