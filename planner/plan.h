// Plan: what `crossdock plan` proposes and `crossdock apply` executes. Data only;
// planner.cc builds it, render_*.cc print it, saved_plan.cc persists it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/shard.h"

namespace crossdock::planner {

// kAdopt: the destination already holds the source digest; the rule has
// adopt = true, so crossdock records the tag as its own without copying.
enum class Action { kCreate, kUpdate, kDelete, kSkip, kAdopt };

// "create", "update", "delete", "skip", "adopt": the plan JSON's and the saved plan's
// words. ActionFromName is its inverse; nullopt for any other word.
const char* ActionName(Action a);
std::optional<Action> ActionFromName(std::string_view name);

// One destination tag and what happens to it.
struct Change {
  std::string rule;
  Action action = Action::kCreate;
  std::string source_endpoint;
  std::string source_repository;  // empty for deletes whose source is gone
  std::string source_digest;      // empty for deletes
  std::string destination_endpoint;
  std::string destination_host;  // "127.0.0.1:5002", for display
  std::string destination_repository;
  std::string tag;
  std::optional<std::string> destination_digest;  // what the destination holds now
  std::string reason;  // why a skip (or a delete) happens
  std::string accessory_of;  // a signature/attestation/SBOM tag: the tag it belongs to
  // A manifest crossdock writes itself rather than copies: the OCI 1.1 referrers
  // fallback index (tag "sha256-<subject hex>") at a destination without the
  // referrers API. source_digest is its digest.
  std::string manifest_bytes;
  std::string manifest_media_type;
};

// A problem confined to one rule or repository; the rest is still planned.
struct PlanError {
  std::string rule;
  std::string source_repository;  // empty when the whole rule failed
  std::string message;
};

// A destination namespace (Harbor project, Quay organisation, JFrog repository key)
// that apply creates before the first push into it (Registry::EnsureNamespace).
struct NamespaceChange {
  std::string endpoint;
  std::string name;
  std::string rule;  // the first rule needing it
  std::vector<std::string> repositories;  // the destination repositories needing it
};

struct Summary {
  int create = 0, update = 0, del = 0, skip = 0, adopt = 0;
};

struct Plan {
  // The state the plan was made against; a saved plan is refused when they move.
  std::string state_lineage;  // empty when the state had never been written
  std::int64_t state_serial = 0;
  bool refresh_only = false;
  std::vector<std::string> rules;  // the rules planned, in config order
  std::vector<std::string> disabled_rules;  // enabled = false: shown, never run
  std::vector<Change> changes;
  std::vector<NamespaceChange> namespaces;  // to create, in order of first need
  std::vector<PlanError> errors;
  std::vector<std::string> warnings;
  // --refresh-only: state records whose destination tag is gone or changed.
  std::vector<Change> drift;
  // [settings] max_deletes when the plan was made: a plan deleting more tags is shown
  // with the guard's error (DeletionGuard) and apply refuses it without --allow-deletes.
  std::optional<long> max_deletes;
  // --shard: the plan covers only the destination repositories this shard owns.
  std::optional<core::Shard> shard;

  Summary summary() const;
  bool has_changes() const;
};

}  // namespace crossdock::planner
