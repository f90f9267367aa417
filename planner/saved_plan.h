// Saved plans (`plan --out FILE`, `apply FILE`): the Plan plus what it was made
// against, so apply can refuse a stale one. Used by cmd/plan and cmd/apply.
#pragma once

#include <string>

#include "core/status.h"
#include "planner/plan.h"

namespace crossdock::planner {

struct SavedPlan {
  int format_version = 1;
  std::string config_path;
  std::string config_digest;  // sha256 of the config file's bytes
  Plan plan;
};

core::Status WritePlanFile(const std::string& path, const SavedPlan& saved);

// DataLoss for a file that is not a crossdock plan, or whose changes name an invalid
// repository, tag or digest, or carry manifest bytes that are not their digest (a file
// altered since `plan --out`: nothing of it reaches a registry); InvalidArgument for a
// newer format. Messages name PATH.
core::Result<SavedPlan> ReadPlanFile(const std::string& path);

// The same check of TEXT, a plan file's content; PATH only names it in errors.
core::Result<SavedPlan> ParsePlanText(const std::string& text, const std::string& path);

}  // namespace crossdock::planner
