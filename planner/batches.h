// Planning in batches of destination repositories: Observe and Diff (observe.h,
// diff.h) for the tags of a few destination repositories at a time, their plans merged,
// so that what a plan holds while it runs grows with the batch rather than with the
// fleet (a million tags would otherwise hold a gigabyte of desired tags and
// observations). Every rule writing to a destination repository, and every state record
// under it, is in the repository's batch, so collisions, adoption and deletion are
// decided as one Diff would; the records under repositories no rule selects any more
// are diffed last. Used by MakePlan (planner.cc).
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "core/config.h"
#include "planner/diff.h"
#include "planner/observe.h"
#include "planner/plan.h"
#include "planner/select.h"
#include "providers/registry.h"
#include "state/state.h"

namespace crossdock::planner {

// The plan for SELECTION (whose repositories are moved out batch by batch) against
// STATE. Batches hold about BATCH_TAGS selected tags each; a selection that fits in one
// is observed and diffed whole, exactly as Observe and Diff would. Several batches give
// the same changes, drift and errors (errors grouped by batch); an interrupted plan
// (OBSERVE.cancel) stops after the batch under way.
Plan PlanInBatches(const core::Config& config, Selection selection, const state::State& state,
                   const std::map<std::string, providers::Registry*>& registries,
                   const ObserveOptions& observe, const DiffOptions& diff, size_t batch_tags);

}  // namespace crossdock::planner
