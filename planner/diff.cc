#include "planner/diff.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_set>

#include "core/digest.h"

namespace crossdock::planner {

namespace {

// A Change at the destination tag a state record (Artifact or Intent) names, from the
// same source; action and digests are the caller's to fill in.
template <class Record>
Change ChangeAt(const core::Config& config, const Record& r) {
  Change c;
  c.rule = r.rule;
  c.source_endpoint = r.source_endpoint;
  c.source_repository = r.source_repository;
  c.destination_endpoint = r.destination_endpoint;
  c.destination_host = config.endpoints.at(r.destination_endpoint).host();
  c.destination_repository = r.destination_repository;
  c.tag = r.tag;
  return c;
}

bool Planned(const Desired& desired, const std::string& rule) {
  return std::find(desired.rules.begin(), desired.rules.end(), rule) != desired.rules.end();
}

// Which of STATE's artifacts (by position) a desired or written tag of their own rule
// names: those are kept. One lookup per desired tag, no copy of any key.
std::vector<bool> DesiredArtifacts(const Desired& desired, const state::State& state) {
  std::vector<bool> wanted(state.artifacts.size(), false);
  auto mark = [&](const std::string& rule, const std::string& endpoint, const std::string& repo,
                  const std::string& tag) {
    const state::Artifact* a = state.Find(endpoint, repo, tag);
    if (a && a->rule == rule) wanted[a - state.artifacts.data()] = true;
  };
  for (const auto& [rule, endpoint, repo, tag] : desired.written_tags)
    mark(rule, endpoint, repo, tag);
  for (const auto& t : desired.tags)
    for (const auto& d : t.destination_endpoints) mark(t.rule, d, t.destination_repository, t.tag);
  return wanted;
}

// A planned rule and its destinations, looked up once per rule name rather than once
// per state record.
struct PlannedRule {
  const core::Rule* rule = nullptr;  // nullptr: not planned (or not configured)
  std::vector<std::string> destinations;
};

class PlannedRules {
 public:
  PlannedRules(const core::Config& config, const Desired& desired)
      : config_(config), desired_(desired) {}
  const PlannedRule& Of(const std::string& name) {
    auto [it, inserted] = rules_.try_emplace(name);
    if (inserted && Planned(desired_, name)) {
      it->second.rule = config_.FindRule(name);
      if (it->second.rule) it->second.destinations = DestinationsOf(*it->second.rule);
    }
    return it->second;
  }

 private:
  const core::Config& config_;
  const Desired& desired_;
  std::map<std::string, PlannedRule, std::less<>> rules_;
};

// The intents of planned rules at configured endpoints: their tags are HEADed, and
// those holding the intended digest adopted.
std::vector<const state::Intent*> OpenIntents(const core::Config& config, const Desired& desired,
                                              const state::State& state,
                                              const DiffOptions& options) {
  std::vector<const state::Intent*> out;
  if (options.refresh_only) return out;
  core::ShardOwnership owned(options.shard);
  for (const auto& i : state.intents)
    if (Planned(desired, i.rule) && config.endpoints.count(i.destination_endpoint) &&
        owned(i.destination_endpoint, i.destination_repository))
      out.push_back(&i);
  return out;
}

struct DeletionCandidate {
  const state::Artifact* artifact;
  const char* reason;  // when it is deleted
};

// The state records a deletion (or, with --refresh-only, drift) is planned for, once
// what their destination tag holds is known.
std::vector<DeletionCandidate> DeletionCandidates(const core::Config& config,
                                                  const Desired& desired,
                                                  const state::State& state,
                                                  const DiffOptions& options) {
  std::vector<DeletionCandidate> out;
  const std::vector<bool> wanted =
      options.refresh_only ? std::vector<bool>() : DesiredArtifacts(desired, state);
  PlannedRules rules(config, desired);
  core::ShardOwnership owned(options.shard);
  for (const auto& a : state.artifacts) {
    const PlannedRule& planned = rules.Of(a.rule);
    const core::Rule* rule = planned.rule;
    if (!rule || !owned(a.destination_endpoint, a.destination_repository)) continue;
    const auto& dests = planned.destinations;
    if (std::find(dests.begin(), dests.end(), a.destination_endpoint) == dests.end()) continue;
    if (options.refresh_only) {
      out.push_back({&a, ""});
      continue;
    }
    if (desired.unlisted_rules.count(rule->name) ||
        desired.unlisted_repositories.count({rule->name, a.source_repository}))
      continue;
    if (wanted[&a - state.artifacts.data()]) continue;
    // A file edited by hand may record a key twice: the lookups found one of them.
    const state::Artifact* same =
        state.Find(a.destination_endpoint, a.destination_repository, a.tag);
    if (same && same->rule == a.rule && wanted[same - state.artifacts.data()]) continue;
    if (rule->delete_missing) out.push_back({&a, "gone from the source or no longer selected"});
  }
  if (options.refresh_only) return out;
  for (const auto& d : desired.deleted_at_source) {
    const auto& [endpoint, repository, tag] = d.destination;
    const state::Artifact* a = state.Find(endpoint, repository, tag);
    if (a && a->rule == d.rule && config.endpoints.count(endpoint) && owned(endpoint, repository))
      out.push_back({a, "deleted at the source"});
  }
  return out;
}

// Desired tags at one of their destinations, each named by its position (the tag's in
// DESIRED.tags, the destination's in its destination_endpoints) and compared by the
// destination tag it names: 8 bytes an entry, where a set of TagKeys would hold a copy
// of every endpoint, repository and tag name.
class DestinationTags {
 public:
  explicit DestinationTags(const Desired& desired)
      : set_(0, Hash{&desired.tags}, Equal{&desired.tags}) {}
  // Adds the I-th desired tag at its D-th destination, unless a tag at the same
  // destination tag is there already; returns that one's position in desired.tags,
  // or -1 when added.
  std::int64_t Add(size_t i, size_t d) {
    auto [it, added] = set_.insert(i << 32 | d);
    return added ? -1 : static_cast<std::int64_t>(*it >> 32);
  }

 private:
  using Tags = std::vector<DesiredTag>;
  static std::tuple<const std::string&, const std::string&, const std::string&> Key(
      const Tags& tags, std::uint64_t entry) {
    const DesiredTag& t = tags[entry >> 32];
    return {t.destination_endpoints[entry & 0xffffffff], t.destination_repository, t.tag};
  }
  struct Hash {
    const Tags* tags;
    size_t operator()(std::uint64_t entry) const {
      const auto [endpoint, repository, tag] = Key(*tags, entry);
      const std::hash<std::string> h;
      size_t seed = h(endpoint);
      for (const std::string* part : {&repository, &tag})
        seed ^= h(*part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
      return seed;
    }
  };
  struct Equal {
    const Tags* tags;
    bool operator()(std::uint64_t a, std::uint64_t b) const {
      return Key(*tags, a) == Key(*tags, b);
    }
  };
  std::unordered_set<std::uint64_t, Hash, Equal> set_;
};

// The destination tags two different sources want: an error for each rule, and
// nothing copied there. A referrer copied by digest is the same content whatever its
// source, so it never collides.
std::set<TagKey> Collisions(const Desired& desired, std::vector<PlanError>* errors) {
  DestinationTags first(desired);
  std::set<TagKey> collided;
  for (size_t i = 0; i < desired.tags.size(); ++i) {
    const DesiredTag& t = desired.tags[i];
    if (core::IsValidDigest(t.tag)) continue;
    for (size_t k = 0; k < t.destination_endpoints.size(); ++k) {
      const std::string& d = t.destination_endpoints[k];
      const std::int64_t earlier = first.Add(i, k);
      if (earlier < 0) continue;
      const DesiredTag& o = desired.tags[static_cast<size_t>(earlier)];
      TagKey key{d, t.destination_repository, t.tag};
      if (o.source_endpoint == t.source_endpoint && o.source_repository == t.source_repository)
        continue;
      collided.insert(key);
      const std::string message =
          "rules \"" + o.rule + "\" and \"" + t.rule + "\" both write " + t.destination_repository +
          ":" + t.tag + " at endpoint \"" + d + "\", from " + o.source_endpoint + ":" +
          o.source_repository + " and " + t.source_endpoint + ":" + t.source_repository +
          "; nothing is copied there until one of them excludes it";
      errors->push_back({o.rule, o.source_repository, message});
      errors->push_back({t.rule, t.source_repository, message});
    }
  }
  return collided;
}

// Changes for the desired tags at each destination.
// With --refresh-only, only the sources' errors.
void DiffDesiredTags(const core::Config& config, const Desired& desired,
                     const state::State& state, const Observed& observed,
                     const DiffOptions& options, Plan* plan) {
  const std::set<TagKey> collided = Collisions(desired, &plan->errors);
  DestinationTags planned(desired);  // a second rule wanting the same tag from the same source
  for (size_t i = 0; i < desired.tags.size(); ++i) {
    const DesiredTag& t = desired.tags[i];
    const core::Rule* rule = config.FindRule(t.rule);
    if (!rule) continue;
    if (!t.error.empty()) {
      plan->errors.push_back({t.rule, t.source_repository, t.error});
      continue;
    }
    if (t.pinned) continue;
    const Observation* source =
        observed.sources.Find(t.source_endpoint, t.source_repository, t.tag);
    if (!source) continue;
    if (!source->error.empty()) {
      plan->errors.push_back({t.rule, t.source_repository, source->error});
      continue;
    }
    if (!source->digest || options.refresh_only) continue;  // gone since it was listed
    for (size_t k = 0; k < t.destination_endpoints.size(); ++k) {
      const std::string& d = t.destination_endpoints[k];
      if (!collided.empty() && collided.count({d, t.destination_repository, t.tag})) continue;
      if (planned.Add(i, k) >= 0) continue;
      const Observation* dest = observed.destinations.Find(d, t.destination_repository, t.tag);
      if (!dest) continue;
      if (!dest->error.empty()) {
        plan->errors.push_back({t.rule, t.source_repository, dest->error});
        continue;
      }
      Change base;
      base.rule = t.rule;
      base.source_endpoint = t.source_endpoint;
      base.source_repository = t.source_repository;
      base.source_digest = *source->digest;
      base.destination_endpoint = d;
      base.destination_host = config.endpoints.at(d).host();
      base.destination_repository = t.destination_repository;
      base.tag = t.tag;
      base.accessory_of = t.accessory_of;
      // A destination that stores a conversion (a Helm chart repository keeps the chart,
      // not the OCI manifest: Registry::ConvertsManifests) holds another digest than its
      // source. It is converged while it holds what crossdock recorded writing there for
      // this very source digest.
      const state::Artifact* record = state.Find(d, t.destination_repository, t.tag);
      if (record && dest->digest && record->source_digest == base.source_digest &&
          record->destination_digest == *dest->digest)
        continue;
      auto change = DiffTag(*rule, base, dest->digest);
      if (!change && rule->adopt && !record) {
        base.action = Action::kAdopt;
        base.destination_digest = dest->digest;
        base.reason = "already holds the source digest; adopt = true takes ownership";
        change = base;
      }
      if (change) plan->changes.push_back(std::move(*change));
    }
  }
}

// Tags an interrupted apply pushed without recording them (its intents, written
// before the push): the tag holding the intended digest shows crossdock put it there,
// so it is adopted. An intent whose tag holds anything else is left for the apply to
// drop.
void AdoptInterruptedPushes(const core::Config& config, const Desired& desired,
                            const state::State& state, const Observed& observed,
                            const DiffOptions& options, Plan* plan) {
  const std::vector<const state::Intent*> intents = OpenIntents(config, desired, state, options);
  // The first change planned at each destination tag, when there are intents to match.
  std::map<TagKey, size_t> change_at;
  if (!intents.empty())
    for (size_t k = 0; k < plan->changes.size(); ++k) {
      const Change& c = plan->changes[k];
      change_at.emplace(TagKey{c.destination_endpoint, c.destination_repository, c.tag}, k);
    }
  for (const state::Intent* i : intents) {
    const Observation* now =
        observed.destinations.Find(i->destination_endpoint, i->destination_repository, i->tag);
    if (!now) continue;
    if (!now->error.empty()) {
      plan->errors.push_back({i->rule, i->source_repository, now->error});
      continue;
    }
    if (now->digest != i->source_digest) continue;  // the push never landed
    const state::Artifact* a = state.Find(i->destination_endpoint, i->destination_repository, i->tag);
    if (a && a->destination_digest == i->source_digest) continue;  // recorded after all
    auto at = change_at.find({i->destination_endpoint, i->destination_repository, i->tag});
    Change* same_tag = at == change_at.end() ? nullptr : &plan->changes[at->second];
    // A copy or replacement planned for the tag records it anyway.
    if (same_tag && same_tag->action != Action::kSkip) continue;
    Change c = ChangeAt(config, *i);
    c.action = Action::kAdopt;
    c.source_digest = i->source_digest;
    c.destination_digest = now->digest;
    c.reason = "pushed by an apply that was interrupted before it could record it";
    if (same_tag) {
      *same_tag = std::move(c);
    } else {
      change_at.emplace(TagKey{c.destination_endpoint, c.destination_repository, c.tag},
                        plan->changes.size());
      plan->changes.push_back(std::move(c));
    }
  }
}

// What crossdock put there before and no longer wants, and, for --refresh-only, what
// changed behind its back.
void DiffManaged(const core::Config& config, const Desired& desired, const state::State& state,
                 const Observed& observed, const DiffOptions& options, Plan* plan) {
  for (const auto& [artifact, reason] : DeletionCandidates(config, desired, state, options)) {
    const state::Artifact& a = *artifact;
    const Observation* now =
        observed.destinations.Find(a.destination_endpoint, a.destination_repository, a.tag);
    if (!now) continue;
    if (!now->error.empty()) {
      plan->errors.push_back({a.rule, a.source_repository, now->error});
      continue;
    }
    Change c = ChangeAt(config, a);
    c.destination_digest = now->digest;
    if (options.refresh_only) {
      if (now->digest == a.destination_digest) continue;
      c.action = Action::kDelete;  // the record is dropped
      c.source_digest = a.source_digest;
      c.reason = now->digest ? "changed outside crossdock" : "deleted outside crossdock";
      plan->drift.push_back(std::move(c));
      continue;
    }
    if (!now->digest) {
      c.action = Action::kDelete;  // already gone: apply only forgets it
      c.reason = "already absent at the destination";
    } else if (*now->digest != a.destination_digest) {
      c.action = Action::kSkip;
      c.reason = "the destination tag was changed outside crossdock since it was copied; it is "
                 "not deleted";
    } else {
      c.action = Action::kDelete;
      c.reason = reason;
    }
    plan->changes.push_back(std::move(c));
  }
}

// Docker Hub counts every manifest GET as a pull and says how many remain in the
// window (RateLimit-Remaining; docs.docker.com/docker-hub/usage/pulls/). A copy GETs at
// least one manifest at its source (an index, one per platform more).
void WarnAboutPullLimits(const std::map<std::string, long>& pulls_remaining, Plan* plan) {
  std::map<std::string, long> pulls;
  for (const auto& c : plan->changes)
    if (c.action == Action::kCreate || c.action == Action::kUpdate) ++pulls[c.source_endpoint];
  for (const auto& [endpoint, n] : pulls) {
    auto it = pulls_remaining.find(endpoint);
    if (it == pulls_remaining.end() || n <= it->second) continue;
    plan->warnings.push_back(
        "endpoint \"" + endpoint + "\" allows " + std::to_string(it->second) +
        " more pulls in its rate-limit window (RateLimit-Remaining) and this plan pulls at "
        "least " + std::to_string(n) +
        " manifests from it: the apply would be refused (HTTP 429) partway; copy fewer tags "
        "(--rule, keep_latest), log in for a higher limit, or wait for the window to reset");
  }
}

// One unreachable endpoint fails every tag the same way: say it once per repository.
void DeduplicateErrors(Plan* plan) {
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::vector<PlanError> errors;
  for (auto& e : plan->errors)
    if (seen.insert({e.rule, e.source_repository, e.message}).second) errors.push_back(std::move(e));
  plan->errors = std::move(errors);
}

void SortChanges(Plan* plan) {
  const auto& rules = plan->rules;
  std::stable_sort(plan->changes.begin(), plan->changes.end(), [&](const Change& x, const Change& y) {
    auto rx = std::find(rules.begin(), rules.end(), x.rule);
    auto ry = std::find(rules.begin(), rules.end(), y.rule);
    return std::tie(rx, x.destination_endpoint, x.destination_repository, x.tag) <
           std::tie(ry, y.destination_endpoint, y.destination_repository, y.tag);
  });
}

}  // namespace

size_t ObservationMap::RepositoryHash::Hash(std::string_view endpoint,
                                            std::string_view repository) {
  const std::hash<std::string_view> h;
  const size_t seed = h(endpoint);
  return seed ^ (h(repository) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

Observation& ObservationMap::Insert(std::string_view endpoint, std::string_view repository,
                                    const std::string& tag, bool* inserted) {
  auto repo = repositories_.find(std::pair{endpoint, repository});
  if (repo == repositories_.end())
    repo = repositories_.try_emplace(Repository(endpoint, repository)).first;
  auto [it, added] = repo->second.try_emplace(tag);
  if (added) ++size_;
  if (inserted) *inserted = added;
  return it->second;
}

const Observation* ObservationMap::Find(std::string_view endpoint, std::string_view repository,
                                        const std::string& tag) const {
  auto repo = repositories_.find(std::pair{endpoint, repository});
  if (repo == repositories_.end()) return nullptr;
  auto it = repo->second.find(tag);
  return it == repo->second.end() ? nullptr : &it->second;
}

std::vector<std::string> DestinationsOf(const core::Rule& rule) {
  if (!rule.destinations.empty()) return rule.destinations;
  return {rule.destination};
}

std::optional<Change> DiffTag(const core::Rule& rule, Change base,
                              const std::optional<std::string>& destination_digest) {
  base.destination_digest = destination_digest;
  if (!destination_digest) {
    base.action = Action::kCreate;
    return base;
  }
  if (*destination_digest == base.source_digest) return std::nullopt;
  if (rule.override_tags) {
    base.action = Action::kUpdate;
    return base;
  }
  base.action = Action::kSkip;
  base.reason = "the destination holds another digest and override = false";
  return base;
}

std::vector<TagKey> StateTagsToObserve(const core::Config& config, const Desired& desired,
                                       const state::State& state, const DiffOptions& options) {
  std::vector<TagKey> out;
  for (const state::Intent* i : OpenIntents(config, desired, state, options))
    out.push_back({i->destination_endpoint, i->destination_repository, i->tag});
  for (const auto& c : DeletionCandidates(config, desired, state, options))
    out.push_back({c.artifact->destination_endpoint, c.artifact->destination_repository,
                   c.artifact->tag});
  return out;
}

Plan Diff(const core::Config& config, const Desired& desired, const state::State& state,
          const Observed& observed, const DiffOptions& options) {
  Plan plan;
  // A state never written has no lineage yet (its fresh one is not kept until the
  // first write), as Terraform's plan of an empty state.
  plan.state_lineage = state.serial == 0 ? "" : state.lineage;
  plan.state_serial = state.serial;
  plan.refresh_only = options.refresh_only;
  plan.rules = desired.rules;
  plan.disabled_rules = desired.disabled_rules;
  plan.errors = desired.errors;
  if (!options.refresh_only) plan.changes = desired.written;
  DiffDesiredTags(config, desired, state, observed, options, &plan);
  AdoptInterruptedPushes(config, desired, state, observed, options, &plan);
  DiffManaged(config, desired, state, observed, options, &plan);
  FinishPlan(observed.pulls_remaining, &plan);
  return plan;
}

void FinishPlan(const std::map<std::string, long>& pulls_remaining, Plan* plan) {
  plan->warnings.clear();
  DeduplicateErrors(plan);
  SortChanges(plan);
  WarnAboutPullLimits(pulls_remaining, plan);
}

}  // namespace crossdock::planner
