#include "planner/observe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "core/digest.h"
#include "core/parallel.h"
#include "planner/artifact_info.h"

namespace crossdock::planner {

namespace {

using Registries = std::map<std::string, providers::Registry*>;

// One source tag the plan follows, as Observe refines the selection.
struct TagWork {
  const SelectedRepository* repo;
  std::string tag;
  std::string accessory_of;  // for signatures, attestations, SBOMs and referrers
  std::string error;         // reading its labels failed
  // An immutable tag the state records at every destination with this digest: no
  // request is spent on it, for this rule (other rules still ask).
  bool pinned = false;
  std::string pinned_digest;
};

// What a source's referrers API listed for one subject.
struct ReferrerSet {
  const SelectedRepository* repo;
  std::string subject_digest;
  std::string subject_tag;
  std::vector<providers::ManifestHead> referrers;
};

bool HasArtifactFilters(const core::Rule& rule) {
  return !rule.labels.empty() || !rule.exclude_labels.empty() || !rule.resource.empty();
}

TagKey SourceKey(const TagWork& w) {
  return {w.repo->rule->source, w.repo->source_repository, w.tag};
}

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

Observation Head(providers::Registry* r, const std::string& repo, const std::string& ref) {
  auto h = r->HeadManifest(repo, ref);
  Observation o;
  if (!h.ok()) o.error = h.status().message();
  if (h.ok() && *h) o.digest = (*h)->digest;
  return o;
}

// HEADs (or lists) what is not observed yet among SOURCES and DESTINATIONS, every
// registry answering at once with up to `parallelism` requests in flight each.
void ObserveTagsImpl(const Registries& registries, const std::vector<TagKey>& sources,
                     const std::vector<TagKey>& destinations, int parallelism,
                     const std::atomic<bool>* cancel, Observed* observed) {
  struct Unit {
    bool source;
    TagKey key;  // for a destination listing: (endpoint, repository, "")
    std::vector<TagKey> listed;  // the destination tags the listing answers for
  };
  std::vector<Unit> source_units, dest_units;
  std::set<TagKey> queued;
  for (const auto& k : sources)
    if (!observed->sources.count(k) && queued.insert(k).second) source_units.push_back({true, k, {}});
  std::map<std::pair<std::string, std::string>, size_t> listings;
  for (const auto& k : destinations) {
    if (observed->destinations.count(k) || !queued.insert(k).second) continue;
    const auto& [endpoint, repo, tag] = k;
    if (!registries.at(endpoint)->ListingHasDigests()) {
      dest_units.push_back({false, k, {}});
      continue;
    }
    auto [it, first] = listings.emplace(std::make_pair(endpoint, repo), dest_units.size());
    if (first) dest_units.push_back({false, {endpoint, repo, ""}, {}});
    dest_units[it->second].listed.push_back(k);
  }
  // Sources and destinations alternate, so each side has about PARALLELISM requests
  // in flight (ParallelFor hands out indexes in order).
  std::vector<Unit> units;
  for (size_t i = 0; i < std::max(source_units.size(), dest_units.size()); ++i) {
    if (i < source_units.size()) units.push_back(std::move(source_units[i]));
    if (i < dest_units.size()) units.push_back(std::move(dest_units[i]));
  }
  const bool both = !source_units.empty() && !dest_units.empty();
  std::vector<std::vector<std::pair<TagKey, Observation>>> found(units.size());
  core::ParallelFor(units.size(), both ? 2 * parallelism : parallelism, [&](size_t i) {
    const Unit& u = units[i];
    const auto& [endpoint, repo, tag] = u.key;
    providers::Registry* r = registries.at(endpoint);
    if (!u.listed.empty()) {
      auto l = r->ListTagsWithDigests(repo);
      for (const auto& k : u.listed) {
        const std::string& t = std::get<2>(k);
        Observation o;
        if (!l.ok() && l.status().code() != core::Code::kNotFound) o.error = l.status().message();
        if (l.ok() && l->digests.count(t) && !core::IsValidDigest(l->digests.at(t))) {
          o.error = "endpoint \"" + endpoint + "\" listed an invalid digest for " + repo + ":" + t;
        } else if (l.ok() && l->digests.count(t)) {
          o.digest = l->digests.at(t);
        } else if (l.ok() && std::find(l->tags.begin(), l->tags.end(), t) != l->tags.end()) {
          o = Head(r, repo, t);  // listed without its digest
        }
        found[i].push_back({k, o});
      }
      return;
    }
    found[i].push_back({u.key, Head(r, repo, tag)});
  }, cancel);
  for (size_t i = 0; i < units.size(); ++i)
    for (auto& [k, o] : found[i]) (units[i].source ? observed->sources : observed->destinations)[k] = o;
}

class Observer {
 public:
  Observer(const core::Config& config, const state::State& state, const Registries& registries,
           const ObserveOptions& options, Desired* desired, Observed* observed)
      : config_(config), state_(state), registries_(registries), options_(options),
        desired_(desired), observed_(observed) {}

  void Run(const Selection& selection);

 private:
  void StartTags(const Selection& selection);
  void Pin(TagWork* w);
  void Look(const std::vector<TagKey>& sources, const std::vector<TagKey>& destinations) {
    ObserveTagsImpl(registries_, sources, destinations, options_.parallelism, options_.cancel,
                    observed_);
  }
  void LookFrom(size_t first_tag);
  void FilterByArtifact();
  void AddAccessoryTags();
  std::vector<ReferrerSet> AddReferrers();
  void PlanReferrerIndexes(const std::vector<ReferrerSet>& sets);
  void FinishDesired(const Selection& selection);
  std::optional<Change> ReferrerIndexChange(const ReferrerSet& rs, const std::string& dest,
                                            std::string* error);
  bool SourceKnown(const TagWork& w) const {
    if (w.pinned) return true;
    auto it = observed_->sources.find(SourceKey(w));
    return it != observed_->sources.end() && it->second.error.empty() && it->second.digest;
  }
  std::string SourceDigest(const TagWork& w) const {
    if (w.pinned) return w.pinned_digest;
    return SourceKnown(w) ? *observed_->sources.at(SourceKey(w)).digest : "";
  }
  void AddTag(TagWork w) {
    have_.insert({w.repo, w.tag});
    tags_.push_back(std::move(w));
  }

  const core::Config& config_;
  const state::State& state_;
  const Registries& registries_;
  const ObserveOptions& options_;
  Desired* desired_;
  Observed* observed_;
  std::vector<TagWork> tags_;
  std::set<std::pair<const SelectedRepository*, std::string>> have_;  // (repo, tag)
};

// The selected tags, with digests the listings gave and immutable tags pinned.
void Observer::StartTags(const Selection& selection) {
  for (const auto& r : selection.repositories) {
    for (const auto& [tag, digest] : r.listed_digests)
      observed_->sources[{r.rule->source, r.source_repository, tag}].digest = digest;
    // Compiled once per repository, not per tag; a filter of no patterns selects
    // everything, so an empty immutable_tags pins nothing.
    const NameFilter immutable(r.rule->immutable_tags, {});
    const bool pinning = !options_.refresh && !options_.refresh_only && !r.rule->immutable_tags.empty();
    for (const auto& t : r.tags) {
      TagWork w{&r, t, "", "", false, ""};
      if (pinning && immutable.Selects(t)) Pin(&w);
      AddTag(std::move(w));
    }
  }
}

// An immutable tag (immutable_tags) the state records at every destination as copied
// from this source with one digest: no request is spent on it. REQUIRES: W's tag
// matches the rule's immutable_tags.
void Observer::Pin(TagWork* w) {
  const core::Rule& rule = *w->repo->rule;
  std::optional<std::string> digest;
  for (const auto& d : DestinationsOf(rule)) {
    const state::Artifact* a = state_.Find(d, w->repo->destination_repository, w->tag);
    if (!a || a->rule != rule.name || a->source_repository != w->repo->source_repository ||
        a->source_digest != a->destination_digest || (digest && *digest != a->source_digest))
      return;
    digest = a->source_digest;
  }
  if (!digest) return;
  w->pinned = true;
  w->pinned_digest = *digest;
}

// The sources of the tags from FIRST_TAG on; their destinations too where nothing can
// drop the tag in between (artifact filters read the source's manifest first): source
// and destinations answer at the same time instead of one registry after the other.
void Observer::LookFrom(size_t first_tag) {
  std::vector<TagKey> sources, destinations;
  for (size_t i = first_tag; i < tags_.size(); ++i) {
    const TagWork& w = tags_[i];
    if (w.pinned) continue;
    sources.push_back(SourceKey(w));
    if (HasArtifactFilters(*w.repo->rule) && w.accessory_of.empty()) continue;
    for (const auto& d : DestinationsOf(*w.repo->rule))
      destinations.push_back({d, w.repo->destination_repository, w.tag});
  }
  Look(sources, destinations);
}

// The registry's own labels on W's tag (Harbor's), as the label filters read them:
// "env=prod" is key "env" with value "prod", "prod" is key "prod".
std::map<std::string, std::string> RegistryLabels(const TagWork& w) {
  std::map<std::string, std::string> out;
  auto it = w.repo->listed_labels.find(w.tag);
  if (it == w.repo->listed_labels.end()) return out;
  for (const auto& l : it->second) {
    const size_t eq = l.find('=');
    out.emplace(l.substr(0, eq), eq == std::string::npos ? "" : l.substr(eq + 1));
  }
  return out;
}

// What the registry's labels alone say about W under RULE's filters: true keep,
// false drop, nullopt when the artifact itself must be read (its annotations and
// config labels, or its kind for `resource`).
std::optional<bool> SettledByRegistryLabels(const core::Rule& rule, const TagWork& w) {
  if (!rule.resource.empty()) return std::nullopt;
  const auto labels = RegistryLabels(w);
  if (labels.empty()) return std::nullopt;
  if (!rule.exclude_labels.empty() && HasAllLabels(labels, rule.exclude_labels)) return false;
  if (rule.exclude_labels.empty() && HasAllLabels(labels, rule.labels)) return true;
  return std::nullopt;
}

// Label and resource filters: the registry's own labels first (Harbor's, listed with
// the tags: no request), then what the artifact itself says.
void Observer::FilterByArtifact() {
  std::map<std::pair<const core::Rule*, std::string>, size_t> index;  // (rule, digest)
  std::vector<std::pair<const SelectedRepository*, std::string>> to_inspect;
  for (const auto& w : tags_) {
    if (!HasArtifactFilters(*w.repo->rule) || !SourceKnown(w)) continue;
    if (SettledByRegistryLabels(*w.repo->rule, w)) continue;
    if (index.emplace(std::make_pair(w.repo->rule, SourceDigest(w)), to_inspect.size()).second)
      to_inspect.push_back({w.repo, SourceDigest(w)});
  }
  std::vector<core::Result<ArtifactInfo>> info(to_inspect.size(), ArtifactInfo{});
  core::ParallelFor(to_inspect.size(), options_.parallelism, [&](size_t i) {
    const auto& [repo, digest] = to_inspect[i];
    info[i] = InspectArtifact(registries_.at(repo->rule->source), repo->source_repository, digest);
  }, options_.cancel);
  std::vector<TagWork> kept;
  for (auto& w : tags_) {
    const core::Rule& rule = *w.repo->rule;
    const bool filtered = HasArtifactFilters(rule) && SourceKnown(w);
    const std::optional<bool> settled = filtered ? SettledByRegistryLabels(rule, w) : std::nullopt;
    auto it = filtered && !settled ? index.find({&rule, SourceDigest(w)}) : index.end();
    bool keep = settled.value_or(true);
    if (it != index.end()) {
      const auto& i = info[it->second];
      if (!i.ok()) {
        w.error = i.status().message();
      } else {
        auto labels = i->labels;
        labels.merge(RegistryLabels(w));  // the artifact's own values win on a shared key
        keep = (rule.resource.empty() || i->resource == rule.resource) &&
               HasAllLabels(labels, rule.labels) &&
               (rule.exclude_labels.empty() || !HasAllLabels(labels, rule.exclude_labels));
      }
    }
    if (!keep) {
      have_.erase({w.repo, w.tag});
      continue;
    }
    kept.push_back(std::move(w));
  }
  tags_ = std::move(kept);
}

// Signatures, attestations and SBOMs (cosign's sha256-<digest>.sig/.att/.sbom tags,
// and OCI 1.1's sha256-<digest> referrers tag) go with their subject, whatever the
// tag filters say.
void Observer::AddAccessoryTags() {
  std::map<const SelectedRepository*, std::map<std::string, std::string>> subjects;  // digest -> tag
  for (const auto& w : tags_)
    if (w.repo->rule->include_referrers && SourceKnown(w))
      subjects[w.repo].emplace(SourceDigest(w), w.tag);
  for (auto& [repo, by_digest] : subjects) {
    std::set<std::string> selected(repo->tags.begin(), repo->tags.end());
    for (const auto& t : repo->all_tags) {
      auto it = by_digest.find(AccessorySubject(t));
      if (it == by_digest.end() || selected.count(t)) continue;
      AddTag({repo, t, it->second, "", false, ""});
    }
  }
}

// Referrers the source lists through the OCI 1.1 referrers API (signatures, SBOMs,
// attestations pushed with a "subject"): copied by digest with it.
std::vector<ReferrerSet> Observer::AddReferrers() {
  std::vector<std::tuple<const SelectedRepository*, std::string, std::string>> subjects;
  std::set<std::pair<const SelectedRepository*, std::string>> asked;  // (repo, digest)
  for (const auto& w : tags_)
    if (w.repo->rule->include_referrers && SourceKnown(w) && w.accessory_of.empty() &&
        !w.pinned && asked.insert({w.repo, SourceDigest(w)}).second)
      subjects.push_back({w.repo, SourceDigest(w), w.tag});
  using Found = core::Result<std::optional<std::vector<providers::ManifestHead>>>;
  std::vector<Found> found(subjects.size(), std::optional<std::vector<providers::ManifestHead>>());
  core::ParallelFor(subjects.size(), options_.parallelism, [&](size_t i) {
    const auto& [repo, digest, tag] = subjects[i];
    found[i] = registries_.at(repo->rule->source)->ListReferrers(repo->source_repository, digest);
  }, options_.cancel);
  std::vector<ReferrerSet> sets;
  for (size_t i = 0; i < subjects.size(); ++i) {
    const auto& [repo, digest, tag] = subjects[i];
    if (!found[i].ok()) {
      desired_->errors.push_back({repo->rule->name, repo->source_repository,
                                  found[i].status().message()});
      continue;
    }
    if (!*found[i]) continue;  // no referrers API at the source
    if (!(*found[i])->empty()) sets.push_back({repo, digest, tag, **found[i]});
    for (const auto& r : **found[i]) {
      if (have_.count({repo, r.digest})) continue;
      observed_->sources[{repo->rule->source, repo->source_repository, r.digest}].digest = r.digest;
      AddTag({repo, r.digest, tag, "", false, ""});
    }
  }
  return sets;
}

// The fallback index for RS at DEST, when DEST has no referrers API and its index
// lacks some of them; nullopt otherwise (or on an error, then in *ERROR).
std::optional<Change> Observer::ReferrerIndexChange(const ReferrerSet& rs, const std::string& dest,
                                                    std::string* error) {
  providers::Registry* dst = registries_.at(dest);
  auto api = dst->ListReferrers(rs.repo->destination_repository, rs.subject_digest);
  if (!api.ok()) {
    *error = api.status().message();
    return std::nullopt;
  }
  if (*api) return std::nullopt;  // the destination indexes referrers by their subject itself
  std::string tag = ReferrersTag(rs.subject_digest);
  std::string existing;
  std::optional<std::string> existing_digest;
  auto m = dst->GetManifest(rs.repo->destination_repository, tag);
  if (m.ok()) {
    existing = m->bytes;
    existing_digest = m->digest;
  } else if (m.status().code() != core::Code::kNotFound) {
    *error = m.status().message();
    return std::nullopt;
  }
  std::string bytes = MergedReferrersIndex(existing, rs.referrers);
  if (bytes.empty()) return std::nullopt;
  Change c;
  c.rule = rs.repo->rule->name;
  c.action = existing_digest ? Action::kUpdate : Action::kCreate;
  c.source_endpoint = rs.repo->rule->source;
  c.source_repository = rs.repo->source_repository;
  c.source_digest = core::Sha256Digest(bytes);
  c.destination_endpoint = dest;
  c.destination_host = config_.endpoints.at(dest).host();
  c.destination_repository = rs.repo->destination_repository;
  c.tag = tag;
  c.destination_digest = existing_digest;
  c.accessory_of = rs.subject_tag;
  c.reason = "the destination has no referrers API";
  c.manifest_bytes = std::move(bytes);
  c.manifest_media_type = providers::kOciIndex;
  return c;
}

// A destination without the referrers API finds referrers through the OCI 1.1
// fallback tag sha256-<subject hex>, an index crossdock keeps up to date there (which
// also keeps the referrers from being garbage-collected as untagged).
void Observer::PlanReferrerIndexes(const std::vector<ReferrerSet>& sets) {
  std::vector<std::pair<const ReferrerSet*, std::string>> work;  // set, destination
  for (const auto& rs : sets)
    for (const auto& d : DestinationsOf(*rs.repo->rule)) work.push_back({&rs, d});
  std::vector<std::optional<Change>> made(work.size());
  std::vector<std::string> errors(work.size());
  core::ParallelFor(work.size(), options_.parallelism, [&](size_t i) {
    made[i] = ReferrerIndexChange(*work[i].first, work[i].second, &errors[i]);
  }, options_.cancel);
  for (size_t i = 0; i < work.size(); ++i) {
    const ReferrerSet& rs = *work[i].first;
    desired_->written_tags.insert({rs.repo->rule->name, work[i].second,
                                   rs.repo->destination_repository, ReferrersTag(rs.subject_digest)});
    if (!errors[i].empty())
      desired_->errors.push_back({rs.repo->rule->name, rs.repo->source_repository, errors[i]});
    if (made[i] && !options_.refresh_only) desired_->written.push_back(std::move(*made[i]));
  }
}

void Observer::FinishDesired(const Selection& selection) {
  for (const auto* r : selection.rules) desired_->rules.push_back(r->name);
  desired_->disabled_rules = selection.disabled_rules;
  desired_->unlisted_rules = selection.unlisted_rules;
  desired_->unlisted_repositories = selection.erred_repositories;
  for (const auto& r : selection.repositories)
    if (!r.listed) desired_->unlisted_repositories.insert({r.rule->name, r.source_repository});
  for (const auto& w : tags_) {
    DesiredTag t;
    t.rule = w.repo->rule->name;
    t.source_endpoint = w.repo->rule->source;
    t.source_repository = w.repo->source_repository;
    t.destination_repository = w.repo->destination_repository;
    t.destination_endpoints = DestinationsOf(*w.repo->rule);
    t.tag = w.tag;
    t.accessory_of = w.accessory_of;
    t.error = w.error;
    t.pinned = w.pinned;
    desired_->tags.push_back(std::move(t));
  }
}

void Observer::Run(const Selection& selection) {
  desired_->errors = selection.errors;
  StartTags(selection);
  LookFrom(0);
  FilterByArtifact();
  const size_t first_accessory = tags_.size();
  AddAccessoryTags();
  LookFrom(first_accessory);
  PlanReferrerIndexes(AddReferrers());
  FinishDesired(selection);
  // Last, in one pass: the destinations not looked at yet (of tags whose source is
  // known), and the tags the state's intents and deletion candidates name.
  std::vector<TagKey> destinations;
  for (const auto& w : tags_) {
    if (!w.error.empty() || w.pinned || !SourceKnown(w)) continue;
    for (const auto& d : DestinationsOf(*w.repo->rule))
      destinations.push_back({d, w.repo->destination_repository, w.tag});
  }
  for (auto& k : StateTagsToObserve(config_, *desired_, state_, {options_.refresh_only}))
    destinations.push_back(std::move(k));
  Look({}, destinations);
  for (const auto* r : selection.rules) {
    auto remaining = registries_.at(r->source)->rate_limit_remaining();
    if (remaining) observed_->pulls_remaining[r->source] = *remaining;
  }
}

}  // namespace

void ObserveTags(const std::map<std::string, providers::Registry*>& registries,
                 const std::vector<TagKey>& sources, const std::vector<TagKey>& destinations,
                 int parallelism, const std::atomic<bool>* cancel, Observed* observed) {
  ObserveTagsImpl(registries, sources, destinations, parallelism, cancel, observed);
}

void Observe(const core::Config& config, const Selection& selection, const state::State& state,
             const std::map<std::string, providers::Registry*>& registries,
             const ObserveOptions& options, Desired* desired, Observed* observed) {
  Observer(config, state, registries, options, desired, observed).Run(selection);
}

}  // namespace crossdock::planner
