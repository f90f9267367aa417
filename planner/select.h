// Select: the first stage of planning. The rules to plan, and for each the source
// repositories and tags its name filters choose, from the config and the sources'
// listings. Used by MakePlan (planner.cc); Observe (observe.h) takes it from here.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/pattern.h"
#include "core/shard.h"
#include "planner/plan.h"
#include "providers/registry.h"

namespace crossdock::planner {

struct SelectedRepository {
  const core::Rule* rule = nullptr;
  std::string source_repository;
  std::string destination_repository;
  // The rule's destinations (DestinationsOf) whose destination_repository the shard
  // owns: all of them without a shard.
  std::vector<std::string> destinations;
  std::vector<std::string> all_tags;  // as listed (valid names only)
  std::vector<std::string> tags;      // chosen by the rule's name filters, sorted
  // tag -> digest, when the source's listing gives digests (TagListing).
  std::map<std::string, std::string> listed_digests;
  // tag -> the registry's own labels on it (Harbor's), "key" or "key=value" each.
  std::map<std::string, std::vector<std::string>> listed_labels;
  bool listed = false;  // the tags were listed
};

struct Selection {
  std::vector<const core::Rule*> rules;     // planned, in config order
  std::vector<std::string> disabled_rules;  // named but enabled = false
  std::vector<SelectedRepository> repositories;
  std::set<std::string> unlisted_rules;  // their repositories could not be listed
  // (rule, source repository) left out by an error (a name the destination refuses,
  // a collision): what the state records for them stays.
  std::set<std::pair<std::string, std::string>> erred_repositories;
  std::vector<PlanError> errors;
};

struct SelectOptions {
  std::vector<std::string> rules;  // empty: every rule
  int parallelism = 10;
  const std::atomic<bool>* cancel = nullptr;
  // Only the repositories with a destination repository this shard owns (at any of
  // the rule's destinations) are selected, their tags listed, their errors reported.
  std::optional<core::Shard> shard;
};

// Lists repositories (literal names directly, otherwise the catalog) and their tags,
// both in parallel. Names outside the distribution grammar, repositories two sources
// would share at the destination, and failed listings become errors; the rest is
// still selected. REGISTRIES maps every endpoint of CONFIG to a client.
// With a shard, every shard lists the same repositories (the catalog is shared work)
// and chooses the same destinations, so two source repositories meeting at one
// destination repository are found whatever the shard; errors that belong to no
// destination repository (a failed catalog listing) are every shard's.
Selection Select(const core::Config& config,
                 const std::map<std::string, providers::Registry*>& registries,
                 const SelectOptions& options);

// Names chosen by include patterns (none: every name) and not by exclude patterns.
class NameFilter {
 public:
  // The patterns are validated already by the config loader; an invalid one is ignored.
  NameFilter(const std::vector<std::string>& include, const std::vector<std::string>& exclude);
  bool Selects(const std::string& name) const;

 private:
  std::vector<core::Pattern> include_, exclude_;
};

// Whether RULE's tag patterns and semver range choose TAG (keep_latest, which needs
// every tag, aside). Used for webhook events.
bool TagSelected(const core::Rule& rule, const std::string& tag);

// Why the destination repository DEST breaks the path rule (Registry::path_rule) of a
// destination of RULE, or "" when every destination takes it.
std::string PathRuleBroken(const core::Rule& rule, const std::string& dest,
                           const std::map<std::string, providers::Registry*>& registries);

// The tags RULE selects from TAGS: patterns, then the semver range, then keep_latest;
// sorted. Stops early once *CANCEL is set.
std::vector<std::string> SelectTags(const core::Rule& rule, const std::vector<std::string>& tags,
                                    const std::atomic<bool>* cancel);

// "sha256-<64 hex>" optionally followed by ".sig", ".att" or ".sbom": cosign's tags
// for signatures, attestations and SBOMs, and the OCI 1.1 referrers fallback tag.
// Returns the subject digest ("sha256:<hex>"), or "" for any other tag.
std::string AccessorySubject(const std::string& tag);

}  // namespace crossdock::planner
