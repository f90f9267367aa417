// Diff: the pure last stage of planning. What the rules want (Desired), what the
// state records and what the registries hold (Observed) become a Plan, with no
// request sent. MakePlan (planner.h) and EventChanges (events.h) both end here; unit
// tests drive it with tables of values.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/shard.h"
#include "planner/plan.h"
#include "state/state.h"

namespace crossdock::planner {

// A tag at one endpoint: (endpoint, repository, tag). For a referrer copied by digest,
// the tag is the digest.
using TagKey = std::tuple<std::string, std::string, std::string>;
// A destination tag as one rule wants it: (rule, endpoint, repository, tag).
using RuleTagKey = std::tuple<std::string, std::string, std::string, std::string>;

// One tag a rule wants at each of its destinations, from one source tag.
struct DesiredTag {
  std::string rule;
  std::string source_endpoint;
  std::string source_repository;
  std::string destination_repository;
  std::vector<std::string> destination_endpoints;
  std::string tag;
  std::string accessory_of;  // a signature/attestation/SBOM tag: the tag it belongs to
  // Observing it failed for this rule (reading the labels its filters need): an
  // error, no change, and the tag stays desired (nothing is deleted for it).
  std::string error;
  // An immutable tag the state records at every destination as copied by this rule
  // (immutable_tags): desired, nothing to observe, no change.
  bool pinned = false;
};

// A state record an event says was deleted at the source (EventChanges): deleted at
// the destination when nothing changed it there since.
struct DeletedAtSource {
  std::string rule;
  TagKey destination;
};

struct Desired {
  std::vector<std::string> rules;           // planned, in config order
  std::vector<std::string> disabled_rules;  // enabled = false: shown, never run
  std::vector<DesiredTag> tags;
  // Manifests crossdock writes itself (referrer fallback indexes), already diffed;
  // their destination tags count as desired.
  std::vector<Change> written;
  std::set<RuleTagKey> written_tags;  // with or without a change this time
  // Where the selection is incomplete, what the state records stays: rules whose
  // listing failed, and (rule, source repository) whose tags could not be listed.
  std::set<std::string> unlisted_rules;
  std::set<std::pair<std::string, std::string>> unlisted_repositories;
  std::vector<DeletedAtSource> deleted_at_source;
  // Problems met while selecting and observing, in the order met.
  std::vector<PlanError> errors;
};

// What a manifest HEAD (or a listing with digests) found for one tag.
struct Observation {
  std::optional<std::string> digest;  // nullopt: absent
  std::string error;                  // not empty: the request failed
};

// Observations by TagKey, kept per (endpoint, repository) so that those two names are
// stored once per repository rather than once per tag: at a million tags the copies
// would cost more than the observations. An observation stays where it is (references
// to it stay valid) until the map is destroyed.
class ObservationMap {
 public:
  // The observation at KEY, made (empty: absent, no error) when there is none.
  Observation& operator[](const TagKey& key) {
    return Insert(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  }
  Observation& Insert(std::string_view endpoint, std::string_view repository,
                      const std::string& tag, bool* inserted = nullptr);
  // The observation at KEY, or nullptr.
  const Observation* Find(const TagKey& key) const {
    return Find(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  }
  const Observation* Find(std::string_view endpoint, std::string_view repository,
                          const std::string& tag) const;
  size_t count(const TagKey& key) const { return Find(key) != nullptr ? 1 : 0; }
  size_t size() const { return size_; }

 private:
  using Repository = std::pair<std::string, std::string>;  // (endpoint, repository)
  struct RepositoryHash {
    using is_transparent = void;
    size_t operator()(const Repository& r) const { return Hash(r.first, r.second); }
    size_t operator()(const std::pair<std::string_view, std::string_view>& r) const {
      return Hash(r.first, r.second);
    }
    static size_t Hash(std::string_view endpoint, std::string_view repository);
  };
  struct RepositoryEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::string_view(a.first) == std::string_view(b.first) &&
             std::string_view(a.second) == std::string_view(b.second);
    }
  };
  std::unordered_map<Repository, std::unordered_map<std::string, Observation>, RepositoryHash,
                     RepositoryEqual>
      repositories_;
  size_t size_ = 0;
};

struct Observed {
  ObservationMap sources;       // (source endpoint, repository, tag)
  ObservationMap destinations;  // (destination endpoint, repository, tag)
  // Pulls each source endpoint says remain in its rate-limit window (Docker Hub).
  std::map<std::string, long> pulls_remaining;
};

struct DiffOptions {
  bool refresh_only = false;
  // The state's records and intents at destination repositories another shard owns
  // are left alone: neither deleted, adopted nor checked for drift.
  std::optional<core::Shard> shard;
};

// The Plan for DESIRED against STATE, given OBSERVED. Pure: no request, no clock.
// - Each desired tag at each destination: create when absent, nothing when it holds
//   the source digest (adopt when the rule has adopt = true and the state has no
//   record), update when it holds another and override = true, skip otherwise.
//   Two sources wanting one destination tag: an error for each rule, no change.
// - Intents (state::Intent) of planned rules whose tag holds the intended digest:
//   adopted, or the skip planned for the tag replaced by the adoption.
// - State records of planned rules no longer desired: deleted when the rule has
//   delete = true and the tag still holds what crossdock put there, skipped when it
//   changed since, forgotten when already gone. Records under unlisted rules or
//   repositories stay. DESIRED.deleted_at_source names further records to delete.
// - --refresh-only: only drift (records whose tag is gone or changed).
// - With a shard, records and intents elsewhere are none of its business; DESIRED
//   holds only the shard's destinations (Observe).
// Errors are reported once per (rule, repository, message); changes are sorted by
// rule (config order), destination endpoint, repository and tag.
Plan Diff(const core::Config& config, const Desired& desired, const state::State& state,
          const Observed& observed, const DiffOptions& options);

// Diff's last steps, for a plan merged from several Diffs (planning in batches,
// batches.h): errors once per (rule, repository, message), changes sorted as Diff
// sorts them, and the warnings of pulls the plan needs beyond PULLS_REMAINING (the
// warnings already in *PLAN are replaced).
void FinishPlan(const std::map<std::string, long>& pulls_remaining, Plan* plan);

// The Change for one source tag, from what the destination holds and the rule.
// Returns nullopt for a no-op (the destination already holds BASE.source_digest).
std::optional<Change> DiffTag(const core::Rule& rule, Change base,
                              const std::optional<std::string>& destination_digest);

// The destination tags Diff reads from Observed::destinations besides the desired
// ones: open intents and deletion candidates. Observe HEADs exactly these.
std::vector<TagKey> StateTagsToObserve(const core::Config& config, const Desired& desired,
                                       const state::State& state, const DiffOptions& options);

// The destinations of RULE (destination, or destinations).
std::vector<std::string> DestinationsOf(const core::Rule& rule);

}  // namespace crossdock::planner
