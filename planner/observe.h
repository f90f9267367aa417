// Observe: the middle stage of planning. From a Selection, asks the registries what
// Diff (diff.h) needs: each selected tag's source digest, what every destination tag
// holds, the artifact filters' labels, signatures and referrers that go with a subject,
// and the tags the state's records and intents name. Used by MakePlan (planner.cc).
//
// Digests come from listings where the provider's listing gives them
// (Registry::ListingHasDigests, TagListing::digests), else from one manifest HEAD per
// tag; immutable tags the state records at every destination cost no request.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/shard.h"
#include "planner/diff.h"
#include "planner/select.h"
#include "providers/registry.h"
#include "state/state.h"

namespace crossdock::planner {

struct ObserveOptions {
  int parallelism = 10;  // requests in flight per registry
  bool refresh = false;  // check immutable tags too
  bool refresh_only = false;
  const std::atomic<bool>* cancel = nullptr;
  // Only destinations this shard owns are looked at (and the state's records there).
  std::optional<core::Shard> shard;
};

// Fills *DESIRED (the selected tags, with accessories and referrers; referrer
// fallback indexes to write; the selection's errors) and *OBSERVED.
// REGISTRIES maps every endpoint of CONFIG to a client.
void Observe(const core::Config& config, const Selection& selection, const state::State& state,
             const std::map<std::string, providers::Registry*>& registries,
             const ObserveOptions& options, Desired* desired, Observed* observed);

// What SOURCES and DESTINATIONS hold, for those not in *OBSERVED yet: a manifest HEAD
// each, or one listing per destination repository where the provider's listing has
// digests. Every registry answers at once, up to 2 × PARALLELISM requests in flight.
void ObserveTags(const std::map<std::string, providers::Registry*>& registries,
                 const std::vector<TagKey>& sources, const std::vector<TagKey>& destinations,
                 int parallelism, const std::atomic<bool>* cancel, Observed* observed);

}  // namespace crossdock::planner
