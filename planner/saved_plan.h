// Saved plans (`plan --out FILE`, `apply FILE`): the Plan plus what it was made
// against, so apply can refuse a stale one. Used by cmd/plan and cmd/apply.
#pragma once

#include <map>
#include <string>

#include "core/status.h"
#include "core/config.h"
#include "planner/plan.h"
#include "providers/registry.h"
#include "state/state.h"

namespace crossdock::planner {

// 2: actions by name ("create"…) instead of the enum's number, which a reordered
// enum would have silently changed; format 1 files are refused (make a new plan).
// 3: the namespaces to create (Plan::namespaces); format 2 files are refused.
// 4: the plan's max_deletes (the deletion guard); format 3 files are refused.
// 5: the plan's shard ("I/N" of --shard, "" for none); format 4 files are refused.
inline constexpr int kPlanFormatVersion = 5;

struct SavedPlan {
  int format_version = kPlanFormatVersion;
  std::string config_path;
  std::string config_digest;  // sha256 of the config file's bytes
  Plan plan;
};

// A saved plan of PLAN, with the digest of CONFIG's file.
SavedPlan MakeSavedPlan(const core::Config& config, Plan plan);

// Whether SAVED may still be applied: Conflict, saying what moved and to plan again,
// when the state (STATE read from STATE_PATH) has another lineage or serial, the
// config file changed, or a tag it copies now holds another digest at its source
// (one HEAD per copy, through REGISTRIES); the HEAD's error when one fails.
core::Status CheckSavedPlanCurrent(const SavedPlan& saved, const state::State& state,
                                   const std::string& state_path, const core::Config& config,
                                   const std::map<std::string, providers::Registry*>& registries);

core::Status WritePlanFile(const std::string& path, const SavedPlan& saved);

// DataLoss for a file that is not a crossdock plan, or whose changes name an unknown
// action, an invalid repository, tag or digest, a destination repository outside the
// plan's shard, or carry manifest bytes that are not their digest (a file altered since `plan --out`: nothing of it reaches a registry);
// InvalidArgument for a format other than kPlanFormatVersion. Messages name PATH.
core::Result<SavedPlan> ReadPlanFile(const std::string& path);

// The same check of TEXT, a plan file's content; PATH only names it in errors.
core::Result<SavedPlan> ParsePlanText(const std::string& text, const std::string& path);

}  // namespace crossdock::planner
