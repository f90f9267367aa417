#include "planner/planner.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/names.h"
#include "core/parallel.h"
#include "core/pattern.h"
#include "core/semver.h"
#include "planner/artifact_info.h"
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

// "sha256-<64 hex>" optionally followed by ".sig", ".att" or ".sbom": cosign's tags
// for signatures, attestations and SBOMs, and the OCI 1.1 referrers fallback tag.
// Returns the subject digest ("sha256:<hex>"), or "" for any other tag.
std::string AccessorySubject(const std::string& tag) {
  if (tag.size() < 71 || tag.compare(0, 7, "sha256-") != 0) return "";
  std::string hex = tag.substr(7, 64);
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return "";
  std::string rest = tag.substr(71);
  if (!rest.empty() && rest != ".sig" && rest != ".att" && rest != ".sbom") return "";
  return "sha256:" + hex;
}

bool Cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// The tags a rule selects from a repository's TAGS: patterns, then the semver range,
// then keep_latest. Stops early once *CANCEL is set.
std::vector<std::string> SelectTags(const core::Rule& rule, const std::vector<std::string>& tags,
                                    const std::atomic<bool>* cancel) {
  auto include = CompileAll(rule.tags);
  auto exclude = CompileAll(rule.exclude_tags);
  std::optional<core::VersionRange> range;
  if (!rule.semver.empty()) {
    auto r = core::VersionRange::Parse(rule.semver);
    if (r.ok()) range = *r;
  }
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (Cancelled(cancel)) break;
    if (!Selected(include, exclude, t)) continue;
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

bool HasArtifactFilters(const core::Rule& rule) {
  return !rule.labels.empty() || !rule.exclude_labels.empty() || !rule.resource.empty();
}

std::vector<std::string> DestinationsOf(const core::Rule& rule) {
  if (!rule.destinations.empty()) return rule.destinations;
  return {rule.destination};
}

// What a source's referrers API listed for one subject.
struct ReferrerSet;

struct RepoWork {
  const core::Rule* rule;
  std::string source_repo;
  std::string dest_repo;
  std::vector<std::string> all_tags;  // as listed
  std::vector<std::string> tags;      // selected
  bool listed = false;                // tags were listed successfully
};

// One source tag to replicate, and what each destination holds.
struct TagWork {
  const RepoWork* repo;
  std::string tag;
  std::string accessory_of;  // for signature/attestation/SBOM tags
  std::string source_digest;
  std::string error;
  std::vector<std::optional<std::string>> dest_digest;  // per destination of the rule
  std::vector<std::string> dest_error;
  // An immutable tag the state records at every destination: no request is spent
  // on it; source_digest comes from the state.
  bool pinned = false;
  bool dest_checked = false;  // dest_digest and dest_error are filled in
};

// State records by destination (endpoint, repository, tag).
using RecordKey = std::tuple<std::string, std::string, std::string>;

struct ReferrerSet {
  const RepoWork* repo;
  std::string subject_digest;
  std::string subject_tag;
  std::vector<providers::ManifestHead> referrers;
};

// The OCI 1.1 fallback tag for the referrers of SUBJECT ("sha256:<hex>").
std::string ReferrersTag(const std::string& subject) { return "sha256-" + subject.substr(7); }

// The referrers index to write under the fallback tag: what EXISTING (the current
// index at that tag, or "") lists, plus REFERRERS not in it yet. Returns "" when
// EXISTING already lists them all.
std::string MergedReferrersIndex(const std::string& existing,
                                 const std::vector<providers::ManifestHead>& referrers) {
  nlohmann::json index = nlohmann::json::parse(existing, nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("manifests") ||
      !index["manifests"].is_array()) {
    index = {{"schemaVersion", 2}, {"mediaType", providers::kOciIndex},
             {"manifests", nlohmann::json::array()}};
  }
  std::set<std::string> listed;
  for (const auto& d : index["manifests"]) listed.insert(d.value("digest", ""));
  bool added = false;
  for (const auto& r : referrers) {
    if (!listed.insert(r.digest).second) continue;
    nlohmann::json d = {{"mediaType", r.media_type}, {"digest", r.digest}, {"size", r.size}};
    if (!r.artifact_type.empty()) d["artifactType"] = r.artifact_type;
    index["manifests"].push_back(d);
    added = true;
  }
  return added ? index.dump() : "";
}

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

namespace {

// Docker Hub counts every manifest GET as a pull and says how many remain in the
// window (RateLimit-Remaining; docs.docker.com/docker-hub/usage/pulls/). A copy GETs at
// least one manifest at its source (an index, one per platform more).
void WarnAboutPullLimits(const std::map<std::string, providers::Registry*>& registries,
                         Plan* plan) {
  std::map<std::string, long> pulls;
  for (const auto& c : plan->changes)
    if (c.action == Action::kCreate || c.action == Action::kUpdate) ++pulls[c.source_endpoint];
  for (const auto& [endpoint, n] : pulls) {
    auto it = registries.find(endpoint);
    if (it == registries.end() || it->second == nullptr) continue;
    std::optional<long> remaining = it->second->rate_limit_remaining();
    if (!remaining || n <= *remaining) continue;
    plan->warnings.push_back(
        "endpoint \"" + endpoint + "\" allows " + std::to_string(*remaining) +
        " more pulls in its rate-limit window (RateLimit-Remaining) and this plan pulls at "
        "least " + std::to_string(n) +
        " manifests from it: the apply would be refused (HTTP 429) partway; copy fewer tags "
        "(--rule, keep_latest), log in for a higher limit, or wait for the window to reset");
  }
}

}  // namespace

Plan MakePlan(const core::Config& config, const state::State& state,
              const std::map<std::string, providers::Registry*>& registries,
              const PlanOptions& options) {
  Plan plan;
  // A state never written has no lineage yet (its fresh one is not kept until the
  // first write), as Terraform's plan of an empty state.
  plan.state_lineage = state.serial == 0 ? "" : state.lineage;
  plan.state_serial = state.serial;
  plan.refresh_only = options.refresh_only;
  auto reg = [&](const std::string& name) { return registries.at(name); };

  std::vector<const core::Rule*> rules;
  for (const auto& r : config.rules) {
    bool named = options.rules.empty();
    for (const auto& n : options.rules) named = named || n == r.name;
    if (!named) continue;
    if (!r.enabled) {
      plan.disabled_rules.push_back(r.name);
      continue;
    }
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
    auto specific = SpecificRepositories(CompileAll(rule.repositories));
    if (!specific.empty()) {
      listings[i] = specific;
      return;
    }
    auto list = reg(rule.source)->ListRepositories();
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
    std::vector<std::string> invalid;
    for (const auto& repo : listings[i]) {
      if (Cancelled(options.cancel)) break;
      if (!core::IsValidRepositoryName(repo)) {
        invalid.push_back(repo);
        continue;
      }
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
      repos.push_back({&rule, repo, *dest, {}, {}, false});
    }
    if (!invalid.empty())
      plan.errors.push_back({rule.name, "", InvalidNames(rule.source, "repository", invalid, "")});
  }

  // 2. Tags per repository, selected by the rule's tag filters.
  std::vector<std::string> repo_errors(repos.size());
  core::ParallelFor(repos.size(), options.parallelism, [&](size_t i) {
    RepoWork& w = repos[i];
    auto tags = reg(w.rule->source)->ListTags(w.source_repo);
    if (!tags.ok()) {
      repo_errors[i] = tags.status().message();
      return;
    }
    std::vector<std::string> invalid;
    for (auto& t : *tags) {
      if (core::IsValidTag(t)) {
        w.all_tags.push_back(std::move(t));
      } else {
        invalid.push_back(std::move(t));
      }
    }
    w.tags = SelectTags(*w.rule, w.all_tags, options.cancel);
    w.listed = true;
    if (!invalid.empty()) repo_errors[i] = InvalidNames(w.rule->source, "tag", invalid, w.source_repo);
  }, options.cancel);
  for (size_t i = 0; i < repos.size(); ++i)
    if (!repo_errors[i].empty())
      plan.errors.push_back({repos[i].rule->name, repos[i].source_repo, repo_errors[i]});

  // 3. One manifest HEAD per selected tag at the source, except for immutable tags
  //    the state already records at every destination.
  std::map<RecordKey, const state::Artifact*> recorded;
  for (const auto& a : state.artifacts)
    recorded.emplace(RecordKey{a.destination_endpoint, a.destination_repository, a.tag}, &a);
  auto record_of = [&](const std::string& dest, const std::string& repo,
                       const std::string& tag) -> const state::Artifact* {
    auto it = recorded.find(RecordKey{dest, repo, tag});
    return it == recorded.end() ? nullptr : it->second;
  };
  std::vector<TagWork> tags;
  for (const auto& r : repos) {
    auto immutable = CompileAll(r.rule->immutable_tags);
    for (const auto& t : r.tags) {
      if (Cancelled(options.cancel)) break;
      tags.push_back({&r, t, "", "", "", {}, {}});
      if (options.refresh || !AnyMatches(immutable, t)) continue;
      std::optional<std::string> digest;
      bool pinned = true;
      for (const auto& d : DestinationsOf(*r.rule)) {
        const state::Artifact* a = record_of(d, r.dest_repo, t);
        pinned = pinned && a && a->rule == r.rule->name && a->source_repository == r.source_repo &&
                 a->source_digest == a->destination_digest &&
                 (!digest || *digest == a->source_digest);
        if (pinned) digest = a->source_digest;
      }
      if (pinned && digest) {
        tags.back().pinned = true;
        tags.back().source_digest = *digest;
      }
    }
  }
  // The destination HEADs go in the same pass as the source's where nothing can
  // drop the tag in between (artifact filters read the source's manifest first):
  // source and destinations answer at the same time, each with up to `parallelism`
  // requests in flight, instead of one registry after the other.
  auto head_sources = [&](size_t from) {
    std::vector<std::pair<size_t, int>> heads;  // tag index, -1 (source) or destination
    for (size_t i = from; i < tags.size(); ++i) {
      TagWork& w = tags[i];
      if (w.pinned) continue;
      heads.push_back({i, -1});
      if (HasArtifactFilters(*w.repo->rule)) continue;
      size_t n = DestinationsOf(*w.repo->rule).size();
      w.dest_digest.assign(n, std::nullopt);
      w.dest_error.assign(n, "");
      w.dest_checked = true;
      for (size_t d = 0; d < n; ++d) heads.push_back({i, static_cast<int>(d)});
    }
    core::ParallelFor(heads.size(), 2 * options.parallelism, [&](size_t k) {
      TagWork& w = tags[heads[k].first];
      const int d = heads[k].second;
      const bool source = d < 0;
      auto h = source ? reg(w.repo->rule->source)->HeadManifest(w.repo->source_repo, w.tag)
                      : reg(DestinationsOf(*w.repo->rule)[static_cast<size_t>(d)])
                            ->HeadManifest(w.repo->dest_repo, w.tag);
      if (!h.ok() && source) {
        w.error = h.status().message();
      } else if (!h.ok()) {
        w.dest_error[static_cast<size_t>(d)] = h.status().message();
      } else if (*h && source) {
        w.source_digest = (*h)->digest;
      } else if (*h) {
        w.dest_digest[static_cast<size_t>(d)] = (*h)->digest;
      }
    }, options.cancel);
  };
  head_sources(0);

  // 3a. Label and resource filters, by what the artifact itself says.
  std::map<std::pair<const core::Rule*, std::string>, core::Result<ArtifactInfo>> infos;
  std::vector<std::pair<const RepoWork*, std::string>> to_inspect;
  for (const auto& w : tags) {
    if (!HasArtifactFilters(*w.repo->rule) || w.source_digest.empty()) continue;
    if (infos.emplace(std::make_pair(w.repo->rule, w.source_digest), ArtifactInfo{}).second)
      to_inspect.push_back({w.repo, w.source_digest});
  }
  std::vector<core::Result<ArtifactInfo>> inspected(to_inspect.size(), ArtifactInfo{});
  core::ParallelFor(to_inspect.size(), options.parallelism, [&](size_t i) {
    const auto& [repo, digest] = to_inspect[i];
    inspected[i] = InspectArtifact(reg(repo->rule->source), repo->source_repo, digest);
  }, options.cancel);
  for (size_t i = 0; i < to_inspect.size(); ++i)
    infos.insert_or_assign({to_inspect[i].first->rule, to_inspect[i].second}, inspected[i]);
  std::vector<TagWork> kept;
  for (auto& w : tags) {
    const core::Rule& rule = *w.repo->rule;
    if (HasArtifactFilters(rule) && !w.source_digest.empty()) {
      const auto& info = infos.at({&rule, w.source_digest});
      if (!info.ok()) {
        w.error = info.status().message();
      } else {
        if (!rule.resource.empty() && info->resource != rule.resource) continue;
        if (!HasAllLabels(info->labels, rule.labels)) continue;
        if (!rule.exclude_labels.empty() && HasAllLabels(info->labels, rule.exclude_labels))
          continue;
      }
    }
    kept.push_back(std::move(w));
  }
  tags = std::move(kept);

  // 3b. Signatures, attestations and SBOMs (cosign's sha256-<digest>.sig/.att/.sbom
  //     tags, and OCI 1.1's sha256-<digest> referrers tag) go with their subject,
  //     whatever the tag filters say.
  size_t first_accessory = tags.size();
  {
    std::map<const RepoWork*, std::map<std::string, std::string>> subjects;  // digest -> tag
    for (const auto& w : tags)
      if (w.repo->rule->include_referrers && !w.source_digest.empty())
        subjects[w.repo].emplace(w.source_digest, w.tag);
    for (auto& [repo, by_digest] : subjects) {
      std::set<std::string> selected(repo->tags.begin(), repo->tags.end());
      for (const auto& t : repo->all_tags) {
        std::string subject = AccessorySubject(t);
        auto it = by_digest.find(subject);
        if (subject.empty() || selected.count(t) || it == by_digest.end()) continue;
        tags.push_back({repo, t, it->second, "", "", {}, {}});
      }
    }
  }
  head_sources(first_accessory);

  // 3c. Referrers the source lists through the OCI 1.1 referrers API (signatures,
  //     SBOMs, attestations pushed with a "subject"): copied by digest with it.
  std::vector<ReferrerSet> referrer_sets;
  {
    std::vector<std::tuple<const RepoWork*, std::string, std::string>> subjects;  // repo, digest, tag
    std::set<std::pair<const RepoWork*, std::string>> asked;
    for (const auto& w : tags)
      if (w.repo->rule->include_referrers && !w.source_digest.empty() && w.accessory_of.empty() &&
          !w.pinned && asked.insert({w.repo, w.source_digest}).second)
        subjects.push_back({w.repo, w.source_digest, w.tag});
    std::vector<core::Result<std::optional<std::vector<providers::ManifestHead>>>> found(
        subjects.size(), std::optional<std::vector<providers::ManifestHead>>());
    core::ParallelFor(subjects.size(), options.parallelism, [&](size_t i) {
      const auto& [repo, digest, tag] = subjects[i];
      found[i] = reg(repo->rule->source)->ListReferrers(repo->source_repo, digest);
    }, options.cancel);
    std::set<std::pair<const RepoWork*, std::string>> have;  // already planned by digest
    for (const auto& w : tags) have.insert({w.repo, w.tag});
    for (size_t i = 0; i < subjects.size(); ++i) {
      const auto& [repo, digest, tag] = subjects[i];
      if (!found[i].ok()) {
        plan.errors.push_back({repo->rule->name, repo->source_repo, found[i].status().message()});
        continue;
      }
      if (!*found[i]) continue;  // no referrers API at the source
      if (!(*found[i])->empty()) referrer_sets.push_back({repo, digest, tag, **found[i]});
      for (const auto& r : **found[i])
        if (have.insert({repo, r.digest}).second)
          tags.push_back({repo, r.digest, tag, r.digest, "", {}, {}});
    }
  }

  // 4. One manifest HEAD per tag at each destination.
  for (auto& w : tags) {
    if (w.dest_checked) continue;
    auto dests = DestinationsOf(*w.repo->rule);
    w.dest_digest.resize(dests.size());
    w.dest_error.resize(dests.size());
    if (!w.pinned) continue;
    for (size_t d = 0; d < dests.size(); ++d)
      w.dest_digest[d] = record_of(dests[d], w.repo->dest_repo, w.tag)->destination_digest;
  }
  std::vector<std::pair<size_t, size_t>> dest_heads;  // tag index, destination index
  for (size_t i = 0; i < tags.size(); ++i)
    if (tags[i].error.empty() && !tags[i].source_digest.empty() && !tags[i].pinned &&
        !tags[i].dest_checked)
      for (size_t d = 0; d < tags[i].dest_digest.size(); ++d) dest_heads.push_back({i, d});
  core::ParallelFor(dest_heads.size(), options.parallelism, [&](size_t k) {
    TagWork& w = tags[dest_heads[k].first];
    size_t d = dest_heads[k].second;
    std::string dest = DestinationsOf(*w.repo->rule)[d];
    auto h = reg(dest)->HeadManifest(w.repo->dest_repo, w.tag);
    if (!h.ok()) {
      w.dest_error[d] = h.status().message();
    } else if (*h) {
      w.dest_digest[d] = (*h)->digest;
    }
  }, options.cancel);

  // 4b. A destination without the referrers API finds referrers through the OCI 1.1
  //     fallback tag sha256-<subject hex>, an index crossdock keeps up to date there
  //     (which also keeps the referrers from being garbage-collected as untagged).
  std::vector<Change> referrer_indexes;
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> index_tags;
  {
    std::vector<std::pair<const ReferrerSet*, std::string>> work;  // set, destination
    for (const auto& rs : referrer_sets)
      for (const auto& d : DestinationsOf(*rs.repo->rule)) work.push_back({&rs, d});
    std::vector<std::optional<Change>> made(work.size());
    std::vector<std::string> errs(work.size());
    core::ParallelFor(work.size(), options.parallelism, [&](size_t i) {
      const ReferrerSet& rs = *work[i].first;
      const std::string& dest = work[i].second;
      providers::Registry* dst = reg(dest);
      auto api = dst->ListReferrers(rs.repo->dest_repo, rs.subject_digest);
      if (!api.ok()) {
        errs[i] = api.status().message();
        return;
      }
      if (*api) return;  // the destination indexes referrers by their subject itself
      std::string tag = ReferrersTag(rs.subject_digest);
      std::string existing;
      std::optional<std::string> existing_digest;
      auto m = dst->GetManifest(rs.repo->dest_repo, tag);
      if (m.ok()) {
        existing = m->bytes;
        existing_digest = m->digest;
      } else if (m.status().code() != core::Code::kNotFound) {
        errs[i] = m.status().message();
        return;
      }
      std::string bytes = MergedReferrersIndex(existing, rs.referrers);
      if (bytes.empty()) return;
      Change c;
      c.rule = rs.repo->rule->name;
      c.action = existing_digest ? Action::kUpdate : Action::kCreate;
      c.source_endpoint = rs.repo->rule->source;
      c.source_repository = rs.repo->source_repo;
      c.source_digest = core::Sha256Digest(bytes);
      c.destination_endpoint = dest;
      c.destination_host = config.endpoints.at(dest).host();
      c.destination_repository = rs.repo->dest_repo;
      c.tag = tag;
      c.destination_digest = existing_digest;
      c.accessory_of = rs.subject_tag;
      c.reason = "the destination has no referrers API";
      c.manifest_bytes = std::move(bytes);
      c.manifest_media_type = providers::kOciIndex;
      made[i] = std::move(c);
    }, options.cancel);
    for (size_t i = 0; i < work.size(); ++i) {
      const ReferrerSet& rs = *work[i].first;
      index_tags.push_back({rs.repo->rule->name, work[i].second, rs.repo->dest_repo,
                            ReferrersTag(rs.subject_digest)});
      if (!errs[i].empty()) plan.errors.push_back({rs.repo->rule->name, rs.repo->source_repo, errs[i]});
      if (made[i] && !options.refresh_only) referrer_indexes.push_back(std::move(*made[i]));
    }
  }

  // 5. Diff.
  // rule, destination endpoint, destination repository, tag
  std::set<std::tuple<std::string, std::string, std::string, std::string>> desired;
  std::set<std::pair<std::string, std::string>> unknown;  // rule, source repo: keep its state
  for (const auto& r : repos)
    if (!r.listed) unknown.insert({r.rule->name, r.source_repo});
  desired.insert(index_tags.begin(), index_tags.end());
  for (auto& c : referrer_indexes) plan.changes.push_back(std::move(c));
  for (const auto& w : tags) {
    const core::Rule& rule = *w.repo->rule;
    auto dests = DestinationsOf(rule);
    for (const auto& d : dests) desired.insert({rule.name, d, w.repo->dest_repo, w.tag});
    if (!w.error.empty()) {
      plan.errors.push_back({rule.name, w.repo->source_repo, w.error});
      continue;
    }
    if (w.source_digest.empty() || options.refresh_only) continue;
    for (size_t d = 0; d < dests.size(); ++d) {
      if (!w.dest_error[d].empty()) {
        plan.errors.push_back({rule.name, w.repo->source_repo, w.dest_error[d]});
        continue;
      }
      Change base;
      base.rule = rule.name;
      base.source_endpoint = rule.source;
      base.source_repository = w.repo->source_repo;
      base.source_digest = w.source_digest;
      base.destination_endpoint = dests[d];
      base.destination_host = config.endpoints.at(dests[d]).host();
      base.destination_repository = w.repo->dest_repo;
      base.tag = w.tag;
      base.accessory_of = w.accessory_of;
      auto change = DiffTag(rule, base, w.dest_digest[d]);
      if (!change && rule.adopt && !record_of(dests[d], w.repo->dest_repo, w.tag)) {
        base.action = Action::kAdopt;
        base.destination_digest = w.dest_digest[d];
        base.reason = "already holds the source digest; adopt = true takes ownership";
        change = base;
      }
      if (change) plan.changes.push_back(*change);
    }
  }

  // 5b. Tags an interrupted apply pushed without recording them (its intents, written
  //     before the push): the tag holding the intended digest shows crossdock put it
  //     there, so it is adopted. An intent whose tag holds anything else is left for
  //     the apply to drop.
  if (!options.refresh_only) {
    std::vector<const state::Intent*> open;
    for (const auto& i : state.intents) {
      bool planned = false;
      for (const auto* r : rules) planned = planned || r->name == i.rule;
      if (planned && registries.count(i.destination_endpoint) &&
          config.endpoints.count(i.destination_endpoint))
        open.push_back(&i);
    }
    std::vector<std::optional<std::string>> holds(open.size());
    std::vector<std::string> errs(open.size());
    core::ParallelFor(open.size(), options.parallelism, [&](size_t k) {
      const state::Intent& i = *open[k];
      auto h = reg(i.destination_endpoint)->HeadManifest(i.destination_repository, i.tag);
      if (!h.ok()) {
        errs[k] = h.status().message();
      } else if (*h) {
        holds[k] = (*h)->digest;
      }
    }, options.cancel);
    for (size_t k = 0; k < open.size(); ++k) {
      const state::Intent& i = *open[k];
      if (!errs[k].empty()) {
        plan.errors.push_back({i.rule, i.source_repository, errs[k]});
        continue;
      }
      if (holds[k] != i.source_digest) continue;  // the push never landed
      const state::Artifact* a = record_of(i.destination_endpoint, i.destination_repository, i.tag);
      if (a && a->destination_digest == i.source_digest) continue;  // recorded after all
      auto same_tag = std::find_if(plan.changes.begin(), plan.changes.end(), [&](const Change& c) {
        return c.destination_endpoint == i.destination_endpoint &&
               c.destination_repository == i.destination_repository && c.tag == i.tag;
      });
      // A copy or replacement planned for the tag records it anyway.
      if (same_tag != plan.changes.end() && same_tag->action != Action::kSkip) continue;
      Change c = ChangeAt(config, i);
      c.action = Action::kAdopt;
      c.source_digest = i.source_digest;
      c.destination_digest = holds[k];
      c.reason = "pushed by an apply that was interrupted before it could record it";
      if (same_tag != plan.changes.end()) {
        *same_tag = std::move(c);
      } else {
        plan.changes.push_back(std::move(c));
      }
    }
  }

  // 6. What crossdock put there before and no longer wants (deletion), and, for
  //    --refresh-only, what changed behind its back.
  std::vector<const state::Artifact*> managed;
  for (const auto& a : state.artifacts) {
    const core::Rule* rule = nullptr;
    for (const auto* r : rules) {
      auto dests = DestinationsOf(*r);
      if (r->name == a.rule && std::count(dests.begin(), dests.end(), a.destination_endpoint))
        rule = r;
    }
    if (!rule) continue;
    if (options.refresh_only) {
      managed.push_back(&a);
      continue;
    }
    if (failed_rules.count(rule->name) || unknown.count({rule->name, a.source_repository}))
      continue;
    if (desired.count({rule->name, a.destination_endpoint, a.destination_repository, a.tag}))
      continue;
    if (!rule->delete_missing) continue;
    managed.push_back(&a);
  }
  std::vector<std::optional<std::string>> now(managed.size());
  std::vector<std::string> errs(managed.size());
  core::ParallelFor(managed.size(), options.parallelism, [&](size_t i) {
    const auto& a = *managed[i];
    auto h = reg(a.destination_endpoint)->HeadManifest(a.destination_repository, a.tag);
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
    Change c = ChangeAt(config, a);
    c.destination_digest = now[i];
    if (options.refresh_only) {
      if (now[i] == a.destination_digest) continue;
      c.action = Action::kDelete;  // the record is dropped
      c.source_digest = a.source_digest;
      c.reason = now[i] ? "changed outside crossdock" : "deleted outside crossdock";
      plan.drift.push_back(c);
      continue;
    }
    if (!now[i]) {
      // Already gone: apply only forgets it.
      c.action = Action::kDelete;
      c.reason = "already absent at the destination";
    } else if (*now[i] != a.destination_digest) {
      c.action = Action::kSkip;
      c.reason = "the destination tag was changed outside crossdock since it was copied; it is "
                 "not deleted";
    } else {
      c.action = Action::kDelete;
      c.reason = "gone from the source or no longer selected";
    }
    plan.changes.push_back(c);
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
    return std::tie(rx, x.destination_endpoint, x.destination_repository, x.tag) <
           std::tie(ry, y.destination_endpoint, y.destination_repository, y.tag);
  });
  WarnAboutPullLimits(registries, &plan);
  return plan;
}

}  // namespace crossdock::planner
