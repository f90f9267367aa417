#include "planner/observe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_set>
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

// A tag to observe, by reference to names that outlive the observation (a TagKey the
// caller holds, or a rule's endpoint, a selected repository and a tag): a million of
// these cost 24 bytes each, not three strings.
struct KeyRef {
  const std::string* endpoint;
  const std::string* repository;
  const std::string* tag;
};

std::vector<KeyRef> Refs(const std::vector<TagKey>& keys) {
  std::vector<KeyRef> out;
  out.reserve(keys.size());
  for (const auto& [endpoint, repository, tag] : keys)
    out.push_back({&endpoint, &repository, &tag});
  return out;
}

// Filled in when a request was never sent (the plan was interrupted first).
constexpr const char* kNotObserved = "not observed: the plan was interrupted";

// HEADs (or lists) what is not observed yet among SOURCES and DESTINATIONS, every
// registry answering at once with up to `parallelism` requests in flight each. Every
// observation is made in *OBSERVED before the first request and filled in place by
// the request that answers it, so nothing is inserted while requests run and no answer
// is held twice.
void ObserveTagsImpl(const Registries& registries, const std::vector<KeyRef>& sources,
                     const std::vector<KeyRef>& destinations, int parallelism,
                     const std::atomic<bool>* cancel, Observed* observed) {
  // A HEAD (listing < 0), or a listing of one destination repository (whose tags and
  // observations are listings[listing]).
  struct Unit {
    KeyRef key;
    Observation* out;
    int listing;
  };
  std::vector<Unit> source_units, dest_units;
  std::vector<std::vector<std::pair<const std::string*, Observation*>>> listings;
  for (const KeyRef& k : sources) {
    bool added = false;
    Observation& o = observed->sources.Insert(*k.endpoint, *k.repository, *k.tag, &added);
    if (!added) continue;  // observed already, or queued
    o.error = kNotObserved;
    source_units.push_back({k, &o, -1});
  }
  std::map<std::pair<std::string_view, std::string_view>, int> listing_of;
  for (const KeyRef& k : destinations) {
    bool added = false;
    Observation& o = observed->destinations.Insert(*k.endpoint, *k.repository, *k.tag, &added);
    if (!added) continue;
    o.error = kNotObserved;
    if (!registries.at(*k.endpoint)->ListingHasDigests()) {
      dest_units.push_back({k, &o, -1});
      continue;
    }
    auto [it, first] = listing_of.emplace(
        std::pair<std::string_view, std::string_view>(*k.endpoint, *k.repository),
        static_cast<int>(listings.size()));
    if (first) {
      listings.emplace_back();
      dest_units.push_back({k, nullptr, it->second});
    }
    listings[it->second].push_back({k.tag, &o});
  }
  // Sources and destinations alternate, so each side has about PARALLELISM requests
  // in flight (ParallelFor hands out indexes in order).
  const size_t both = std::min(source_units.size(), dest_units.size());
  auto unit = [&](size_t i) -> const Unit& {
    if (i < 2 * both) return i % 2 == 0 ? source_units[i / 2] : dest_units[i / 2];
    i -= both;
    return source_units.size() > both ? source_units[i] : dest_units[i];
  };
  const size_t n = source_units.size() + dest_units.size();
  core::ParallelFor(n, both > 0 ? 2 * parallelism : parallelism, [&](size_t i) {
    const Unit& u = unit(i);
    const std::string& endpoint = *u.key.endpoint;
    const std::string& repo = *u.key.repository;
    providers::Registry* r = registries.at(endpoint);
    if (u.listing < 0) {
      *u.out = Head(r, repo, *u.key.tag);
      return;
    }
    auto l = r->ListTagsWithDigests(repo);
    std::unordered_set<std::string_view> listed;
    if (l.ok()) listed.insert(l->tags.begin(), l->tags.end());
    for (const auto& [tag, out] : listings[u.listing]) {
      const std::string& t = *tag;
      Observation o;
      if (!l.ok() && l.status().code() != core::Code::kNotFound) o.error = l.status().message();
      if (l.ok() && l->digests.count(t) && !core::IsValidDigest(l->digests.at(t))) {
        o.error = "endpoint \"" + endpoint + "\" listed an invalid digest for " + repo + ":" + t;
      } else if (l.ok() && l->digests.count(t)) {
        o.digest = l->digests.at(t);
      } else if (l.ok() && listed.count(t)) {
        o = Head(r, repo, t);  // listed without its digest
      }
      *out = std::move(o);
    }
  }, cancel);
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
  void Look(const std::vector<KeyRef>& sources, const std::vector<KeyRef>& destinations) {
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
  const Observation* Source(const TagWork& w) const {
    return observed_->sources.Find(w.repo->rule->source, w.repo->source_repository, w.tag);
  }
  bool SourceKnown(const TagWork& w) const {
    if (w.pinned) return true;
    const Observation* o = Source(w);
    return o != nullptr && o->error.empty() && o->digest;
  }
  std::string SourceDigest(const TagWork& w) const {
    if (w.pinned) return w.pinned_digest;
    return SourceKnown(w) ? *Source(w)->digest : "";
  }
  void AddTag(TagWork w) {
    // Only a referrer's tag is its digest, and only those are looked up here.
    if (core::IsValidDigest(w.tag)) have_.insert({w.repo, w.tag});
    tags_.push_back(std::move(w));
  }

  const core::Config& config_;
  const state::State& state_;
  const Registries& registries_;
  const ObserveOptions& options_;
  Desired* desired_;
  Observed* observed_;
  std::vector<TagWork> tags_;
  // (repo, tag) of the tags that are digests (referrers copied by digest).
  std::set<std::pair<const SelectedRepository*, std::string>> have_;
};

// The selected tags, with digests the listings gave and immutable tags pinned.
void Observer::StartTags(const Selection& selection) {
  size_t total = 0;
  for (const auto& r : selection.repositories) total += r.tags.size();
  tags_.reserve(total);
  for (const auto& r : selection.repositories) {
    for (const auto& [tag, digest] : r.listed_digests)
      observed_->sources.Insert(r.rule->source, r.source_repository, tag).digest = digest;
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

// An immutable tag (immutable_tags) the state records at every destination (of the
// shard's) as copied from this source with one digest: no request is spent on it.
// REQUIRES: W's tag matches the rule's immutable_tags.
void Observer::Pin(TagWork* w) {
  const core::Rule& rule = *w->repo->rule;
  std::optional<std::string> digest;
  for (const auto& d : w->repo->destinations) {
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
  std::vector<KeyRef> sources, destinations;
  for (size_t i = first_tag; i < tags_.size(); ++i) {
    const TagWork& w = tags_[i];
    if (w.pinned) continue;
    sources.push_back({&w.repo->rule->source, &w.repo->source_repository, &w.tag});
    if (HasArtifactFilters(*w.repo->rule) && w.accessory_of.empty()) continue;
    for (const auto& d : w.repo->destinations)
      destinations.push_back({&d, &w.repo->destination_repository, &w.tag});
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
  if (std::none_of(tags_.begin(), tags_.end(),
                   [](const TagWork& w) { return HasArtifactFilters(*w.repo->rule); }))
    return;
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
  kept.reserve(tags_.size());
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
  // Only a repository that lists an accessory tag needs its subjects' digests; most
  // list none.
  std::map<const SelectedRepository*, bool> lists_accessories;
  auto any_accessory = [&](const SelectedRepository* repo) {
    auto [it, added] = lists_accessories.try_emplace(repo, false);
    if (added)
      it->second = std::any_of(repo->all_tags.begin(), repo->all_tags.end(),
                               [](const std::string& t) { return !AccessorySubject(t).empty(); });
    return it->second;
  };
  std::map<const SelectedRepository*, std::map<std::string, std::string>> subjects;  // digest -> tag
  for (const auto& w : tags_)
    if (w.repo->rule->include_referrers && any_accessory(w.repo) && SourceKnown(w))
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
  // Each (repository, digest) is asked once, in chunks of subjects, so that a million
  // tags never have a million answers waiting at once. The digests are the observed
  // ones (pinned tags are not asked), which stay where they are.
  constexpr size_t kChunk = 10000;
  struct Subject {
    const SelectedRepository* repo;
    std::string_view digest;
    size_t tag;  // index in tags_
  };
  struct Asked {
    size_t operator()(const std::pair<const SelectedRepository*, std::string_view>& k) const {
      return std::hash<std::string_view>()(k.second) ^ std::hash<const void*>()(k.first);
    }
  };
  std::unordered_set<std::pair<const SelectedRepository*, std::string_view>, Asked> asked;
  using Found = core::Result<std::optional<std::vector<providers::ManifestHead>>>;
  std::vector<ReferrerSet> sets;
  const size_t n = tags_.size();  // referrers added below are not subjects themselves
  for (size_t start = 0; start < n; start += kChunk) {
    std::vector<Subject> subjects;
    for (size_t i = start; i < std::min(n, start + kChunk); ++i) {
      const TagWork& w = tags_[i];
      if (!w.repo->rule->include_referrers || !SourceKnown(w) || !w.accessory_of.empty() ||
          w.pinned)
        continue;
      const std::string_view digest = *Source(w)->digest;
      if (asked.insert({w.repo, digest}).second) subjects.push_back({w.repo, digest, i});
    }
    std::vector<Found> found(subjects.size(),
                             std::optional<std::vector<providers::ManifestHead>>());
    core::ParallelFor(subjects.size(), options_.parallelism, [&](size_t i) {
      const Subject& s = subjects[i];
      found[i] = registries_.at(s.repo->rule->source)
                     ->ListReferrers(s.repo->source_repository, std::string(s.digest));
    }, options_.cancel);
    for (size_t i = 0; i < subjects.size(); ++i) {
      const SelectedRepository* repo = subjects[i].repo;
      if (!found[i].ok()) {
        desired_->errors.push_back({repo->rule->name, repo->source_repository,
                                    found[i].status().message()});
        continue;
      }
      if (!*found[i] || (*found[i])->empty()) continue;  // no referrers API, or none
      const std::string tag = tags_[subjects[i].tag].tag;  // AddTag may move tags_
      sets.push_back({repo, std::string(subjects[i].digest), tag, **found[i]});
      for (const auto& r : **found[i]) {
        if (have_.count({repo, r.digest})) continue;
        observed_->sources.Insert(repo->rule->source, repo->source_repository, r.digest).digest =
            r.digest;
        AddTag({repo, r.digest, tag, "", false, ""});
      }
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
    for (const auto& d : rs.repo->destinations) work.push_back({&rs, d});
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

// Moves the tags into *desired_ (tags_ is empty afterwards).
void Observer::FinishDesired(const Selection& selection) {
  for (const auto* r : selection.rules) desired_->rules.push_back(r->name);
  desired_->disabled_rules = selection.disabled_rules;
  desired_->unlisted_rules = selection.unlisted_rules;
  desired_->unlisted_repositories = selection.erred_repositories;
  for (const auto& r : selection.repositories)
    if (!r.listed) desired_->unlisted_repositories.insert({r.rule->name, r.source_repository});
  desired_->tags.reserve(desired_->tags.size() + tags_.size());
  for (auto& w : tags_) {
    DesiredTag t;
    t.rule = w.repo->rule->name;
    t.source_endpoint = w.repo->rule->source;
    t.source_repository = w.repo->source_repository;
    t.destination_repository = w.repo->destination_repository;
    t.destination_endpoints = w.repo->destinations;
    t.tag = std::move(w.tag);
    t.accessory_of = std::move(w.accessory_of);
    t.error = std::move(w.error);
    t.pinned = w.pinned;
    desired_->tags.push_back(std::move(t));
  }
  tags_ = {};
  have_.clear();
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
  // The destinations not looked at yet, of tags whose source is known.
  std::vector<KeyRef> destinations;
  for (const auto& w : tags_) {
    if (!w.error.empty() || w.pinned || !SourceKnown(w)) continue;
    for (const auto& d : w.repo->destinations)
      if (!observed_->destinations.Find(d, w.repo->destination_repository, w.tag))
        destinations.push_back({&d, &w.repo->destination_repository, &w.tag});
  }
  Look({}, destinations);
  FinishDesired(selection);
  // Last, the tags the state's intents and deletion candidates name (which depend on
  // what is desired).
  const std::vector<TagKey> state_tags =
      StateTagsToObserve(config_, *desired_, state_, {options_.refresh_only, options_.shard});
  Look({}, Refs(state_tags));
  for (const auto* r : selection.rules) {
    auto remaining = registries_.at(r->source)->rate_limit_remaining();
    if (remaining) observed_->pulls_remaining[r->source] = *remaining;
  }
}

}  // namespace

void ObserveTags(const std::map<std::string, providers::Registry*>& registries,
                 const std::vector<TagKey>& sources, const std::vector<TagKey>& destinations,
                 int parallelism, const std::atomic<bool>* cancel, Observed* observed) {
  ObserveTagsImpl(registries, Refs(sources), Refs(destinations), parallelism, cancel, observed);
}

void Observe(const core::Config& config, const Selection& selection, const state::State& state,
             const std::map<std::string, providers::Registry*>& registries,
             const ObserveOptions& options, Desired* desired, Observed* observed) {
  Observer(config, state, registries, options, desired, observed).Run(selection);
}

}  // namespace crossdock::planner
