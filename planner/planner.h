// MakePlan: Select (select.h) the rules, repositories and tags from the Config and
// the sources' listings, Observe (observe.h) what sources and destinations hold, and
// Diff (diff.h) that against the State into a Plan, in batches of destination
// repositories (batches.h), whose destination namespaces PlanNamespaces (namespaces.h)
// then checks. Used by cmd/plan, apply, run, retry.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/shard.h"
#include "planner/diff.h"
#include "planner/plan.h"
#include "providers/registry.h"
#include "state/state.h"

namespace crossdock::planner {

struct PlanOptions {
  std::vector<std::string> rules;  // empty: every enabled rule
  int parallelism = 10;
  bool refresh_only = false;
  // Check the tags a rule declares immutable_tags as well, instead of trusting the
  // state's record of them.
  bool refresh = false;
  const std::atomic<bool>* cancel = nullptr;
  // Plan only the destination repositories this shard owns (README "Shards"): the
  // listings are every shard's, the HEADs, referrers lookups, namespaces, copies and
  // deletes only the owner's. The plans of shards 0..N-1 together are the plan
  // without a shard.
  std::optional<core::Shard> shard;
  // Tags observed and diffed at a time (batches.h): a plan's memory grows with this,
  // not with the number of tags selected.
  size_t batch_tags = 50000;
};

// REGISTRIES maps every endpoint name in CONFIG to a client. Problems with one rule
// or repository become Plan::errors; the others are still planned.
Plan MakePlan(const core::Config& config, const state::State& state,
              const std::map<std::string, providers::Registry*>& registries,
              const PlanOptions& options);

}  // namespace crossdock::planner
