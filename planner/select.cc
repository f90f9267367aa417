#include "planner/select.h"

#include <algorithm>
#include <optional>

#include "core/digest.h"
#include "core/names.h"
#include "core/parallel.h"
#include "core/semver.h"
#include "planner/diff.h"
#include "planner/naming.h"

namespace crossdock::planner {

namespace {

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

// The literal repository paths a rule names, when every pattern is literal (or a
// brace list of literals): those are looked up directly, skipping _catalog (Harbor's
// IsSpecificPath). Empty when the catalog is needed.
std::vector<std::string> SpecificRepositories(const std::vector<std::string>& include) {
  std::vector<std::string> out;
  for (const auto& p : CompileAll(include)) {
    auto paths = p.SpecificPaths();
    if (paths.empty()) return {};
    out.insert(out.end(), paths.begin(), paths.end());
  }
  return out;
}

// The first path components every include pattern starts with, when each starts with
// a literal one ("library/*", "team/**"): a registry listing by namespace lists only
// those. Empty (list everything) when a pattern's first component is a pattern too.
std::vector<std::string> LiteralNamespaces(const std::vector<std::string>& include) {
  std::vector<std::string> out;
  for (const auto& p : include) {
    const size_t slash = p.find('/');
    if (slash == std::string::npos || slash == 0) return {};
    const std::string first = p.substr(0, slash);
    if (first.find_first_of("*?[]{},\\!") != std::string::npos) return {};
    if (std::find(out.begin(), out.end(), first) == out.end()) out.push_back(first);
  }
  return out;
}

bool Cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// The error for names a listing returned that the distribution grammar refuses
// (core/names.h): they are skipped, never matched or put into a URL.
// KIND: "repository" or "tag". The first ten names are shown.
std::string InvalidNames(const std::string& endpoint, const std::string& kind,
                         const std::vector<std::string>& names, const std::string& repo) {
  constexpr size_t kShown = 10;
  std::string shown;
  for (size_t i = 0; i < names.size() && i < kShown; ++i)
    shown += (i ? ", \"" : "\"") + core::ShowName(names[i]) + "\"";
  if (names.size() > kShown) shown += ", …";
  const std::string kinds = kind == "repository" ? "repositories" : kind + "s";
  return "endpoint \"" + endpoint + "\" listed " + std::to_string(names.size()) + " " +
         (names.size() == 1 ? kind : kinds) + (repo.empty() ? "" : " of \"" + repo + "\"") +
         " that the distribution grammar does not allow (" + shown +
         "); skipped, nothing was requested for " + (names.size() == 1 ? "it" : "them");
}

void ChooseRules(const core::Config& config, const SelectOptions& options, Selection* out) {
  for (const auto& r : config.rules) {
    bool named = options.rules.empty() ||
                 std::find(options.rules.begin(), options.rules.end(), r.name) != options.rules.end();
    if (!named) continue;
    if (!r.enabled) {
      out->disabled_rules.push_back(r.name);
      continue;
    }
    out->rules.push_back(&r);
  }
}

}  // namespace

std::string PathRuleBroken(const core::Rule& rule, const std::string& dest,
                           const std::map<std::string, providers::Registry*>& registries) {
  const int n = static_cast<int>(std::count(dest.begin(), dest.end(), '/')) + 1;
  for (const auto& endpoint : DestinationsOf(rule)) {
    auto it = registries.find(endpoint);
    if (it == registries.end()) continue;
    const providers::PathRule p = it->second->path_rule();
    if (n >= p.min_components && (p.max_components == 0 || n <= p.max_components)) continue;
    const std::string bound = p.max_components == p.min_components
                                  ? "exactly " + std::to_string(p.min_components)
                              : n < p.min_components ? "at least " + std::to_string(p.min_components)
                                                     : "at most " + std::to_string(p.max_components);
    return "endpoint \"" + endpoint + "\" takes repository names of " + bound +
           " path components" + (p.why.empty() ? "" : " (" + p.why + ")") + ", and \"" + dest +
           "\" has " + std::to_string(n) + "; set the rule's dest_namespace or flatten";
  }
  return "";
}

namespace {

// The repositories of RULE among LISTED (its literal names or the catalog), where they
// land at the destination; conflicts, names a destination's path rule refuses and
// invalid names go to OUT's errors.
void ChooseRepositories(const core::Rule& rule, const std::vector<std::string>& listed,
                        const std::map<std::string, providers::Registry*>& registries,
                        const SelectOptions& options, Selection* out) {
  const std::atomic<bool>* cancel = options.cancel;
  NameFilter filter(rule.repositories, rule.exclude_repositories);
  // The rule's destinations where the shard owns DEST.
  const auto owned = [&](const std::string& dest) {
    std::vector<std::string> out;
    for (auto& endpoint : DestinationsOf(rule))
      if (core::Owns(options.shard, endpoint, dest)) out.push_back(std::move(endpoint));
    return out;
  };
  std::map<std::string, std::string> dest_owner;  // dest repo -> source repo
  std::vector<std::string> invalid;
  for (const auto& repo : listed) {
    if (Cancelled(cancel)) break;
    if (!core::IsValidRepositoryName(repo)) {
      invalid.push_back(repo);
      continue;
    }
    if (!filter.Selects(repo)) continue;
    auto dest = DestinationRepository(repo, rule.dest_namespace, rule.flatten);
    if (!dest.ok()) {
      out->errors.push_back({rule.name, repo, dest.status().message()});
      out->erred_repositories.insert({rule.name, repo});
      continue;
    }
    if (std::string broken = PathRuleBroken(rule, *dest, registries); !broken.empty()) {
      if (!owned(*dest).empty()) out->errors.push_back({rule.name, repo, broken});
      out->erred_repositories.insert({rule.name, repo});
      continue;
    }
    auto [it, inserted] = dest_owner.emplace(*dest, repo);
    if (!inserted) {
      if (!owned(*dest).empty())
        out->errors.push_back({rule.name, repo,
                               "source repositories \"" + it->second + "\" and \"" + repo +
                                   "\" would both be copied to \"" + *dest +
                                   "\"; change flatten or dest_namespace, or exclude one of them"});
      out->erred_repositories.insert({rule.name, repo});
      continue;
    }
    std::vector<std::string> destinations = owned(*dest);
    if (destinations.empty()) continue;  // another shard's
    SelectedRepository s;
    s.destinations = std::move(destinations);
    s.rule = &rule;
    s.source_repository = repo;
    s.destination_repository = *dest;
    out->repositories.push_back(std::move(s));
  }
  if (!invalid.empty())
    out->errors.push_back({rule.name, "", InvalidNames(rule.source, "repository", invalid, "")});
}

// Lists R's tags and chooses among them. Returns the error for R, or "".
std::string ListAndChooseTags(providers::Registry* source, SelectedRepository* r,
                              const std::atomic<bool>* cancel) {
  auto listing = source->ListTagsWithDigests(r->source_repository);
  if (!listing.ok()) return listing.status().message();
  std::vector<std::string> invalid;
  for (auto& t : listing->tags) {
    if (!core::IsValidTag(t)) {
      invalid.push_back(std::move(t));
      continue;
    }
    auto d = listing->digests.find(t);
    if (d != listing->digests.end() && core::IsValidDigest(d->second))
      r->listed_digests.emplace(t, d->second);
    if (auto l = listing->labels.find(t); l != listing->labels.end())
      r->listed_labels.emplace(t, l->second);
    r->all_tags.push_back(std::move(t));
  }
  r->tags = SelectTags(*r->rule, r->all_tags, cancel);
  r->listed = true;
  return invalid.empty() ? "" : InvalidNames(r->rule->source, "tag", invalid, r->source_repository);
}

}  // namespace

NameFilter::NameFilter(const std::vector<std::string>& include,
                       const std::vector<std::string>& exclude)
    : include_(CompileAll(include)), exclude_(CompileAll(exclude)) {}

bool NameFilter::Selects(const std::string& name) const {
  return (include_.empty() || AnyMatches(include_, name)) && !AnyMatches(exclude_, name);
}

bool TagSelected(const core::Rule& rule, const std::string& tag) {
  if (!NameFilter(rule.tags, rule.exclude_tags).Selects(tag)) return false;
  if (rule.semver.empty()) return true;
  auto range = core::VersionRange::Parse(rule.semver);
  auto v = core::ParseVersion(tag);
  return range.ok() && v.ok() && range->Contains(*v);
}

std::vector<std::string> SelectTags(const core::Rule& rule, const std::vector<std::string>& tags,
                                    const std::atomic<bool>* cancel) {
  NameFilter filter(rule.tags, rule.exclude_tags);
  std::optional<core::VersionRange> range;
  if (!rule.semver.empty()) {
    auto r = core::VersionRange::Parse(rule.semver);
    if (r.ok()) range = *r;
  }
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (Cancelled(cancel)) break;
    if (!filter.Selects(t)) continue;
    if (range) {
      auto v = core::ParseVersion(t);
      if (!v.ok() || !range->Contains(*v)) continue;
    }
    out.push_back(t);
  }
  if (rule.keep_latest > 0) out = core::KeepLatest(out, rule.keep_latest);
  std::sort(out.begin(), out.end());
  return out;
}

std::string AccessorySubject(const std::string& tag) {
  if (tag.size() < 71 || tag.compare(0, 7, "sha256-") != 0) return "";
  std::string hex = tag.substr(7, 64);
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return "";
  std::string rest = tag.substr(71);
  if (!rest.empty() && rest != ".sig" && rest != ".att" && rest != ".sbom") return "";
  return "sha256:" + hex;
}

Selection Select(const core::Config& config,
                 const std::map<std::string, providers::Registry*>& registries,
                 const SelectOptions& options) {
  Selection out;
  ChooseRules(config, options, &out);
  // 1. Repositories per rule: literal names directly, otherwise the catalog.
  const size_t n = out.rules.size();
  std::vector<core::Result<std::vector<std::string>>> listings(n, std::vector<std::string>{});
  core::ParallelFor(n, options.parallelism, [&](size_t i) {
    const core::Rule& rule = *out.rules[i];
    auto specific = SpecificRepositories(rule.repositories);
    if (!specific.empty()) {
      listings[i] = std::move(specific);
    } else {
      listings[i] = registries.at(rule.source)->ListRepositoriesIn(LiteralNamespaces(rule.repositories));
    }
  }, options.cancel);
  for (size_t i = 0; i < n; ++i) {
    const core::Rule& rule = *out.rules[i];
    if (!listings[i].ok()) {
      out.errors.push_back({rule.name, "", listings[i].status().message()});
      out.unlisted_rules.insert(rule.name);
      continue;
    }
    ChooseRepositories(rule, *listings[i], registries, options, &out);
  }
  // 2. Tags per repository.
  std::vector<std::string> errors(out.repositories.size());
  core::ParallelFor(out.repositories.size(), options.parallelism, [&](size_t i) {
    SelectedRepository& r = out.repositories[i];
    errors[i] = ListAndChooseTags(registries.at(r.rule->source), &r, options.cancel);
  }, options.cancel);
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty())
      out.errors.push_back({out.repositories[i].rule->name, out.repositories[i].source_repository,
                            errors[i]});
  return out;
}

}  // namespace crossdock::planner
