#include "planner/batches.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/shard.h"

namespace crossdock::planner {
namespace {

// SELECTION's repositories grouped by destination repository name (a group holds every
// rule writing there, whatever the endpoint), the groups packed in order into batches
// of at least BATCH_TAGS tags (the last may hold fewer).
std::vector<std::vector<size_t>> Batches(const Selection& selection, size_t batch_tags) {
  std::vector<std::vector<size_t>> groups;
  std::unordered_map<std::string_view, size_t> group_of;
  for (size_t i = 0; i < selection.repositories.size(); ++i) {
    auto [it, added] =
        group_of.try_emplace(selection.repositories[i].destination_repository, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  std::vector<std::vector<size_t>> batches;
  size_t tags = 0;
  for (const auto& group : groups) {
    if (batches.empty() || tags >= batch_tags) {
      batches.emplace_back();
      tags = 0;
    }
    for (size_t i : group) {
      batches.back().push_back(i);
      tags += selection.repositories[i].tags.size();
    }
  }
  return batches;
}

// The positions of STATE's records by destination repository name; taken out as the
// batches claim them, so what is left at the end belongs to no batch. A shard's plan
// leaves the other shards' records out (Diff would pass them over): a shard's last part
// would otherwise copy (N-1)/N of the state.
struct Records {
  Records(const state::State& state, const std::optional<core::Shard>& shard) : state(state) {
    core::ShardOwnership owns(shard);  // one hash per repository's run of records
    for (size_t i = 0; i < state.artifacts.size(); ++i) {
      const state::Artifact& a = state.artifacts[i];
      if (owns(a.destination_endpoint, a.destination_repository))
        artifacts[a.destination_repository].push_back(i);
    }
    for (size_t i = 0; i < state.intents.size(); ++i) {
      const state::Intent& in = state.intents[i];
      if (owns(in.destination_endpoint, in.destination_repository))
        intents[in.destination_repository].push_back(i);
    }
  }

  // A state with STATE's lineage and serial and the records under REPOSITORY names
  // (nullptr: every record not taken yet), taken.
  state::State Take(const std::vector<std::string_view>* repositories) {
    state::State part;
    part.format_version = state.format_version;
    part.lineage = state.lineage;
    part.serial = state.serial;
    auto take = [&](auto& index, const auto& all, auto* out) {
      auto move_out = [&](auto it) {
        for (size_t i : it->second) out->push_back(all[i]);
        index.erase(it);
      };
      if (repositories == nullptr) {
        while (!index.empty()) move_out(index.begin());
        return;
      }
      for (std::string_view repo : *repositories)
        if (auto it = index.find(repo); it != index.end()) move_out(it);
    };
    take(artifacts, state.artifacts, &part.artifacts);
    take(intents, state.intents, &part.intents);
    return part;
  }

  bool empty() const { return artifacts.empty() && intents.empty(); }

  const state::State& state;
  std::unordered_map<std::string_view, std::vector<size_t>> artifacts, intents;
};

// What every part of SELECTION shares: the rules, and where the selection is
// incomplete; its errors go with the first part only.
Selection Shell(const Selection& selection, bool with_errors) {
  Selection part;
  part.rules = selection.rules;
  part.disabled_rules = selection.disabled_rules;
  part.unlisted_rules = selection.unlisted_rules;
  part.erred_repositories = selection.erred_repositories;
  if (with_errors) part.errors = selection.errors;
  return part;
}

}  // namespace

Plan PlanInBatches(const core::Config& config, Selection selection, const state::State& state,
                   const std::map<std::string, providers::Registry*>& registries,
                   const ObserveOptions& observe, const DiffOptions& diff, size_t batch_tags) {
  const std::vector<std::vector<size_t>> batches = Batches(selection, batch_tags);
  if (batches.size() <= 1) {
    Desired desired;
    Observed observed;
    Observe(config, selection, state, registries, observe, &desired, &observed);
    selection = Selection();  // what it lists is in DESIRED now
    return Diff(config, desired, state, observed, diff);
  }
  Records records(state, diff.shard);
  Plan merged;
  std::map<std::string, long> pulls_remaining;
  bool first = true;
  auto plan_part = [&](const Selection& part, const state::State& part_state) {
    Plan p;
    {
      Desired desired;
      Observed observed;
      Observe(config, part, part_state, registries, observe, &desired, &observed);
      p = Diff(config, desired, part_state, observed, diff);
      for (const auto& [endpoint, n] : observed.pulls_remaining) pulls_remaining[endpoint] = n;
    }
    if (first) {
      merged.state_lineage = p.state_lineage;
      merged.state_serial = p.state_serial;
      merged.refresh_only = p.refresh_only;
      merged.rules = p.rules;
      merged.disabled_rules = p.disabled_rules;
      first = false;
    }
    for (auto* list : {&p.changes, &p.drift}) {
      auto& into = list == &p.changes ? merged.changes : merged.drift;
      into.insert(into.end(), std::make_move_iterator(list->begin()),
                  std::make_move_iterator(list->end()));
    }
    merged.errors.insert(merged.errors.end(), std::make_move_iterator(p.errors.begin()),
                         std::make_move_iterator(p.errors.end()));
  };
  auto cancelled = [&] { return observe.cancel != nullptr && observe.cancel->load(); };
  for (const auto& batch : batches) {
    Selection part = Shell(selection, first);
    part.repositories.reserve(batch.size());  // the views below point into it
    std::vector<std::string_view> repositories;
    for (size_t i : batch) {
      part.repositories.push_back(std::move(selection.repositories[i]));
      repositories.push_back(part.repositories.back().destination_repository);
    }
    plan_part(part, records.Take(&repositories));
    if (cancelled()) break;
  }
  // The records under destination repositories no rule selects now.
  if (!cancelled() && !records.empty()) plan_part(Shell(selection, first), records.Take(nullptr));
  FinishPlan(pulls_remaining, &merged);
  return merged;
}

}  // namespace crossdock::planner
