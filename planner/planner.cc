#include "planner/planner.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "core/parallel.h"
#include "core/pattern.h"
#include "planner/naming.h"

namespace crossdock::planner {

namespace {

// Compiles PATTERNS (validated already by the config loader).
std::vector<core::Pattern> CompileAll(const std::vector<std::string>& patterns) {
  std::vector<core::Pattern> out;
  for (const auto& p : patterns) {
    auto c = core::Pattern::Compile(p);
    if (c.ok()) out.push_back(*c);
  }
  return out;
}

bool AnyMatches(const std::vector<core::Pattern>& ps, const std::string& s) {
  for (const auto& p : ps)
    if (p.Matches(s)) return true;
  return false;
}

// Included by INCLUDE (empty: everything) and not by EXCLUDE.
bool Selected(const std::vector<core::Pattern>& include,
              const std::vector<core::Pattern>& exclude, const std::string& s) {
  return (include.empty() || AnyMatches(include, s)) && !AnyMatches(exclude, s);
}

// The literal repository paths a rule names, when every pattern is literal (or a
// brace list of literals): those are looked up directly, skipping _catalog (Harbor's
// IsSpecificPath). Empty when the catalog is needed.
std::vector<std::string> SpecificRepositories(const std::vector<core::Pattern>& include) {
  std::vector<std::string> out;
  if (include.empty()) return out;
  for (const auto& p : include) {
    auto paths = p.SpecificPaths();
    if (paths.empty()) return {};
    out.insert(out.end(), paths.begin(), paths.end());
  }
  return out;
}

struct RepoWork {
  const core::Rule* rule;
  std::string source_repo;
  std::string dest_repo;
  std::vector<std::string> tags;  // selected
  bool listed = false;            // tags were listed successfully
};

struct TagWork {
  const RepoWork* repo;
  std::string tag;
  std::string source_digest;
  std::optional<std::string> dest_digest;
  std::string error;
};

}  // namespace

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

Plan MakePlan(const core::Config& config, const state::State& state,
              const std::map<std::string, providers::Registry*>& registries,
              const PlanOptions& options) {
  Plan plan;
  // A state never written has no lineage yet (its fresh one is not kept until the
  // first write), as Terraform's plan of an empty state.
  plan.state_lineage = state.serial == 0 ? "" : state.lineage;
  plan.state_serial = state.serial;
  plan.refresh_only = options.refresh_only;

  std::vector<const core::Rule*> rules;
  for (const auto& r : config.rules) {
    bool named = options.rules.empty();
    for (const auto& n : options.rules) named = named || n == r.name;
    if (!named || !r.enabled) continue;
    rules.push_back(&r);
    plan.rules.push_back(r.name);
  }

  // 1. Repositories per rule: literal names directly, otherwise the catalog.
  std::vector<RepoWork> repos;
  std::set<std::string> failed_rules;  // listing failed: nothing is deleted for them
  std::vector<std::vector<std::string>> listings(rules.size());
  std::vector<core::Status> listing_status(rules.size());
  core::ParallelFor(rules.size(), options.parallelism, [&](size_t i) {
    const core::Rule& rule = *rules[i];
    auto include = CompileAll(rule.repositories);
    auto specific = SpecificRepositories(include);
    if (!specific.empty()) {
      listings[i] = specific;
      return;
    }
    auto list = registries.at(rule.source)->ListRepositories();
    if (!list.ok()) {
      listing_status[i] = list.status();
      return;
    }
    listings[i] = std::move(*list);
  }, options.cancel);
  for (size_t i = 0; i < rules.size(); ++i) {
    const core::Rule& rule = *rules[i];
    if (!listing_status[i].ok()) {
      plan.errors.push_back({rule.name, "", listing_status[i].message()});
      failed_rules.insert(rule.name);
      continue;
    }
    auto include = CompileAll(rule.repositories);
    auto exclude = CompileAll(rule.exclude_repositories);
    std::map<std::string, std::string> dest_owner;  // dest repo -> source repo
    for (const auto& repo : listings[i]) {
      if (!Selected(include, exclude, repo)) continue;
      auto dest = DestinationRepository(repo, rule.dest_namespace, rule.flatten);
      if (!dest.ok()) {
        plan.errors.push_back({rule.name, repo, dest.status().message()});
        continue;
      }
      auto [it, inserted] = dest_owner.emplace(*dest, repo);
      if (!inserted) {
        plan.errors.push_back(
            {rule.name, repo,
             "source repositories \"" + it->second + "\" and \"" + repo +
                 "\" would both be copied to \"" + *dest +
                 "\"; change flatten or dest_namespace, or exclude one of them"});
        continue;
      }
      repos.push_back({&rule, repo, *dest, {}, false});
    }
  }

  // 2. Tags per repository.
  std::vector<std::string> repo_errors(repos.size());
  core::ParallelFor(repos.size(), options.parallelism, [&](size_t i) {
    RepoWork& w = repos[i];
    auto tags = registries.at(w.rule->source)->ListTags(w.source_repo);
    if (!tags.ok()) {
      repo_errors[i] = tags.status().message();
      return;
    }
    auto include = CompileAll(w.rule->tags);
    auto exclude = CompileAll(w.rule->exclude_tags);
    for (const auto& t : *tags)
      if (Selected(include, exclude, t)) w.tags.push_back(t);
    std::sort(w.tags.begin(), w.tags.end());
    w.listed = true;
  }, options.cancel);
  for (size_t i = 0; i < repos.size(); ++i)
    if (!repo_errors[i].empty())
      plan.errors.push_back({repos[i].rule->name, repos[i].source_repo, repo_errors[i]});

  // 3. One manifest HEAD per selected tag at each side.
  std::vector<TagWork> tags;
  for (const auto& r : repos)
    for (const auto& t : r.tags) tags.push_back({&r, t, "", std::nullopt, ""});
  core::ParallelFor(tags.size(), options.parallelism, [&](size_t i) {
    TagWork& w = tags[i];
    const core::Rule& rule = *w.repo->rule;
    auto src = registries.at(rule.source)->HeadManifest(w.repo->source_repo, w.tag);
    if (!src.ok()) {
      w.error = src.status().message();
      return;
    }
    if (!*src) return;  // deleted since the listing
    w.source_digest = (*src)->digest;
    auto dst = registries.at(rule.destination)->HeadManifest(w.repo->dest_repo, w.tag);
    if (!dst.ok()) {
      w.error = dst.status().message();
      return;
    }
    if (*dst) w.dest_digest = (*dst)->digest;
  }, options.cancel);

  // 4. Diff.
  std::set<std::tuple<std::string, std::string, std::string>> desired;  // rule, dest repo, tag
  std::set<std::pair<std::string, std::string>> unknown;  // rule, source repo: keep its state
  for (size_t i = 0; i < repos.size(); ++i)
    if (!repos[i].listed) unknown.insert({repos[i].rule->name, repos[i].source_repo});
  for (const auto& w : tags) {
    const core::Rule& rule = *w.repo->rule;
    desired.insert({rule.name, w.repo->dest_repo, w.tag});
    if (!w.error.empty()) {
      plan.errors.push_back({rule.name, w.repo->source_repo, w.error});
      continue;
    }
    if (w.source_digest.empty()) continue;
    Change base;
    base.rule = rule.name;
    base.source_endpoint = rule.source;
    base.source_repository = w.repo->source_repo;
    base.source_digest = w.source_digest;
    base.destination_endpoint = rule.destination;
    base.destination_host = config.endpoints.at(rule.destination).host();
    base.destination_repository = w.repo->dest_repo;
    base.tag = w.tag;
    if (options.refresh_only) continue;
    auto change = DiffTag(rule, base, w.dest_digest);
    if (change) plan.changes.push_back(*change);
  }

  // 5. What crossdock put there before and no longer wants (deletion), and, for
  //    --refresh-only, what changed behind its back.
  std::vector<const state::Artifact*> managed;
  for (const auto& a : state.artifacts) {
    const core::Rule* rule = nullptr;
    for (const auto* r : rules)
      if (r->name == a.rule && r->destination == a.destination_endpoint) rule = r;
    if (!rule) continue;
    if (options.refresh_only) {
      managed.push_back(&a);
      continue;
    }
    if (failed_rules.count(rule->name) || unknown.count({rule->name, a.source_repository}))
      continue;
    if (desired.count({rule->name, a.destination_repository, a.tag})) continue;
    if (!rule->delete_missing) continue;
    managed.push_back(&a);
  }
  std::vector<std::optional<std::string>> now(managed.size());
  std::vector<std::string> errs(managed.size());
  core::ParallelFor(managed.size(), options.parallelism, [&](size_t i) {
    const auto& a = *managed[i];
    auto h = registries.at(a.destination_endpoint)->HeadManifest(a.destination_repository, a.tag);
    if (!h.ok()) {
      errs[i] = h.status().message();
      return;
    }
    if (*h) now[i] = (*h)->digest;
  }, options.cancel);
  for (size_t i = 0; i < managed.size(); ++i) {
    const auto& a = *managed[i];
    if (!errs[i].empty()) {
      plan.errors.push_back({a.rule, a.source_repository, errs[i]});
      continue;
    }
    Change c;
    c.rule = a.rule;
    c.source_endpoint = a.source_endpoint;
    c.source_repository = a.source_repository;
    c.destination_endpoint = a.destination_endpoint;
    c.destination_host = config.endpoints.at(a.destination_endpoint).host();
    c.destination_repository = a.destination_repository;
    c.tag = a.tag;
    c.destination_digest = now[i];
    if (options.refresh_only) {
      if (now[i] == a.destination_digest) continue;
      c.action = Action::kDelete;  // the record is dropped or corrected
      c.source_digest = a.source_digest;
      c.reason = now[i] ? "changed outside crossdock" : "deleted outside crossdock";
      plan.drift.push_back(c);
      continue;
    }
    if (!now[i]) {
      // Already gone: apply only forgets it.
      c.action = Action::kDelete;
      c.reason = "already absent at the destination";
      plan.changes.push_back(c);
    } else if (*now[i] != a.destination_digest) {
      c.action = Action::kSkip;
      c.reason = "the destination tag was changed outside crossdock since it was copied; it is "
                 "not deleted";
      plan.changes.push_back(c);
    } else {
      c.action = Action::kDelete;
      c.reason = a.source_repository.empty() ? "" : "gone from the source or no longer selected";
      plan.changes.push_back(c);
    }
  }
  // One unreachable endpoint fails every tag the same way: say it once per repository.
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::vector<PlanError> errors;
  for (auto& e : plan.errors)
    if (seen.insert({e.rule, e.source_repository, e.message}).second) errors.push_back(std::move(e));
  plan.errors = std::move(errors);
  std::stable_sort(plan.changes.begin(), plan.changes.end(), [&](const Change& x, const Change& y) {
    auto rx = std::find(plan.rules.begin(), plan.rules.end(), x.rule);
    auto ry = std::find(plan.rules.begin(), plan.rules.end(), y.rule);
    if (rx != ry) return rx < ry;
    if (x.destination_repository != y.destination_repository)
      return x.destination_repository < y.destination_repository;
    return x.tag < y.tag;
  });
  return plan;
}

}  // namespace crossdock::planner
