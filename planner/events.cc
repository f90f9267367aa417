// Distribution notifications into Changes. The envelope is documented at
// https://distribution.github.io/distribution/about/notifications/ (2.8): a manifest
// push is notified before the tag is linked, so a push is copied by target.digest;
// a manifest delete by digest is notified twice, once with the digest and once with
// only the tag (registry-facts.md), so deletes match the state by either.
#include "planner/events.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/names.h"
#include "planner/naming.h"
#include "planner/diff.h"
#include "planner/observe.h"
#include "planner/select.h"

namespace crossdock::planner {

namespace {

using nlohmann::json;

// Manifest media types distribution notifies about; everything else is a blob.
const std::vector<std::string> kManifestMediaTypes = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};

bool IsManifestMediaType(const std::string& t) {
  return std::find(kManifestMediaTypes.begin(), kManifestMediaTypes.end(), t) !=
         kManifestMediaTypes.end();
}

// OBJ[KEY] as a string; "" when absent; false when present but not a string.
bool StringField(const json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

// "http://h:p/v2/..." -> "h:p"; "" when URL has no scheme.
std::string HostOfUrl(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  std::string rest = url.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

// What the last event for one destination tag asks of it.
struct EventIntent {
  const core::Rule* rule = nullptr;
  bool push = true;
  std::string source_endpoint, source_repository, digest;
  TagKey destination;
};

}  // namespace

core::Status CheckNames(const std::string& where, std::string_view repository,
                        std::string_view tag, std::string_view digest) {
  auto shown = [](std::string_view name) { return "\"" + core::ShowName(name) + "\""; };
  if (!core::IsValidRepositoryName(repository)) {
    return core::Status::InvalidArgument(
        where + ": repository " + shown(repository) +
        " is not a valid repository name: lowercase letters and digits, separated by '.', '_', "
        "\"__\" or '-', in components joined by '/', at most 255 characters");
  }
  if (!tag.empty() && !core::IsValidTag(tag)) {
    return core::Status::InvalidArgument(
        where + ": tag " + shown(tag) +
        " is not a valid tag: up to 128 letters, digits, '_', '.' and '-', not starting with "
        "'.' or '-'");
  }
  if (!digest.empty() && !core::IsValidDigest(digest)) {
    return core::Status::InvalidArgument(where + ": digest " + shown(digest) +
                                         " is not a valid digest: \"sha256:\" and 64 lowercase "
                                         "hex digits");
  }
  return core::Status::Ok();
}

core::Result<std::vector<RegistryEvent>> ParseEnvelope(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return core::Status::InvalidArgument("the body is not JSON");
  }
  if (!doc.is_object() || !doc.contains("events") || !doc["events"].is_array()) {
    return core::Status::InvalidArgument(
        "the body is not a distribution notification envelope: it needs an \"events\" array");
  }
  std::vector<RegistryEvent> out;
  size_t i = 0;
  for (const auto& e : doc["events"]) {
    const std::string where = "event " + std::to_string(i++);
    if (!e.is_object()) return core::Status::InvalidArgument(where + " is not an object");
    RegistryEvent ev;
    if (!StringField(e, "action", &ev.action) || ev.action.empty()) {
      return core::Status::InvalidArgument(where + " has no \"action\" string");
    }
    auto target = e.find("target");
    if (target == e.end() || !target->is_object()) {
      return core::Status::InvalidArgument(where + " has no \"target\" object");
    }
    if (!StringField(*target, "mediaType", &ev.media_type) ||
        !StringField(*target, "digest", &ev.digest) ||
        !StringField(*target, "repository", &ev.repository) ||
        !StringField(*target, "tag", &ev.tag) || !StringField(*target, "url", &ev.url)) {
      return core::Status::InvalidArgument(where + " has a target field that is not a string");
    }
    auto request = e.find("request");
    if (request != e.end() && request->is_object() &&
        !StringField(*request, "host", &ev.request_host)) {
      return core::Status::InvalidArgument(where + " has a request.host that is not a string");
    }
    if (ev.action != "push" && ev.action != "delete") continue;  // pulls, mounts
    if (ev.repository.empty()) {
      return core::Status::InvalidArgument(where + " has no target.repository");
    }
    if (ev.action == "push" && !IsManifestMediaType(ev.media_type)) continue;  // a blob
    if (ev.action == "delete" && !ev.media_type.empty() && !IsManifestMediaType(ev.media_type))
      continue;
    if (ev.digest.empty() && ev.tag.empty()) {
      return core::Status::InvalidArgument(where + " has neither target.digest nor target.tag");
    }
    if (ev.action == "push" && ev.digest.empty()) {
      return core::Status::InvalidArgument(where + " is a push without target.digest");
    }
    CROSSDOCK_RETURN_IF_ERROR(CheckNames(where, ev.repository, ev.tag, ev.digest));
    out.push_back(std::move(ev));
  }
  return out;
}

core::Result<std::vector<RegistryEvent>> ParseHarborPayload(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return core::Status::InvalidArgument("the body is not JSON");
  if (!doc.is_object()) {
    return core::Status::InvalidArgument("the body is not a Harbor webhook payload: not an object");
  }
  std::string type;
  if (!StringField(doc, "type", &type) || type.empty()) {
    return core::Status::InvalidArgument(
        "the body is not a Harbor webhook payload: it needs a \"type\" string");
  }
  // The Default format's event types and their CloudEvents names
  // (goharbor/harbor src/pkg/notifier/formats/cloudevents.go).
  static const std::map<std::string, std::string> kActions = {
      {"PUSH_ARTIFACT", "push"},           {"harbor.artifact.pushed", "push"},
      {"CREATE_TAG", "push"},              {"harbor.tag.created", "push"},
      {"DELETE_ARTIFACT", "delete"},       {"harbor.artifact.deleted", "delete"},
      {"DELETE_TAG", "delete"},            {"harbor.tag.deleted", "delete"},
  };
  const bool cloud = doc.contains("specversion");
  const char* data_key = cloud ? "data" : "event_data";
  auto data = doc.find(data_key);
  if (data == doc.end() || !data->is_object()) {
    return core::Status::InvalidArgument(std::string("the Harbor payload has no \"") + data_key +
                                         "\" object");
  }
  auto action = kActions.find(type);
  if (action == kActions.end()) return std::vector<RegistryEvent>{};  // pulls, scans, quotas
  std::string repository;
  auto repo = data->find("repository");
  if (repo == data->end() || !repo->is_object() ||
      !StringField(*repo, "repo_full_name", &repository) || repository.empty()) {
    return core::Status::InvalidArgument("the Harbor payload has no " + std::string(data_key) +
                                         ".repository.repo_full_name");
  }
  auto resources = data->find("resources");
  if (resources == data->end() || !resources->is_array()) {
    return core::Status::InvalidArgument("the Harbor payload has no " + std::string(data_key) +
                                         ".resources array");
  }
  std::vector<RegistryEvent> out;
  size_t i = 0;
  for (const auto& r : *resources) {
    const std::string where = "resource " + std::to_string(i++);
    if (!r.is_object()) return core::Status::InvalidArgument(where + " is not an object");
    RegistryEvent ev;
    ev.action = action->second;
    ev.repository = repository;
    std::string resource_url;
    if (!StringField(r, "digest", &ev.digest) || !StringField(r, "tag", &ev.tag) ||
        !StringField(r, "resource_url", &resource_url)) {
      return core::Status::InvalidArgument(where + " has a field that is not a string");
    }
    if (ev.tag.rfind("sha256:", 0) == 0) ev.tag.clear();  // an untagged artifact
    if (ev.digest.empty() && ev.tag.empty()) {
      return core::Status::InvalidArgument(where + " has neither digest nor tag");
    }
    if (ev.action == "push" && ev.digest.empty()) {
      return core::Status::InvalidArgument(where + " is a push without a digest");
    }
    CROSSDOCK_RETURN_IF_ERROR(CheckNames(where, ev.repository, ev.tag, ev.digest));
    // "harbor.example.com/library/nginx:v1", without a scheme.
    ev.request_host = resource_url.substr(0, resource_url.find('/'));
    if (ev.request_host == resource_url) ev.request_host.clear();
    out.push_back(std::move(ev));
  }
  return out;
}

core::Result<std::string> MatchEndpoint(const core::Config& config, const RegistryEvent& event,
                                        const std::string& path_endpoint) {
  if (!path_endpoint.empty()) {
    if (config.FindEndpoint(path_endpoint) == nullptr) {
      return core::Status::NotFound("no endpoint named \"" + path_endpoint +
                                    "\" in the configuration");
    }
    return path_endpoint;
  }
  std::vector<std::string> hosts;
  if (std::string h = HostOfUrl(event.url); !h.empty()) hosts.push_back(h);
  if (!event.request_host.empty()) hosts.push_back(event.request_host);
  for (const auto& h : hosts)
    for (const auto& [name, endpoint] : config.endpoints)
      if (endpoint.host() == h) return name;
  if (hosts.empty()) {
    return core::Status::NotFound(
        "the event names no host; append /<endpoint> to the webhook path, e.g. "
        "/webhooks/distribution/<endpoint>");
  }
  return core::Status::NotFound("no endpoint has host \"" + core::ShowName(hosts.front()) +
                                "\"; append /<endpoint> to the webhook path, e.g. "
                                "/webhooks/distribution/<endpoint>");
}

std::vector<const core::Rule*> MatchRules(const core::Config& config, const std::string& endpoint,
                                          const RegistryEvent& event) {
  std::vector<const core::Rule*> out;
  for (const auto& r : config.rules) {
    if (!r.enabled || !r.events || r.source != endpoint) continue;
    if (r.keep_latest > 0 || !r.labels.empty() || !r.exclude_labels.empty() ||
        !r.resource.empty())
      continue;
    if (!NameFilter(r.repositories, r.exclude_repositories).Selects(event.repository)) continue;
    if (!event.tag.empty() && !TagSelected(r, event.tag)) continue;
    out.push_back(&r);
  }
  return out;
}

std::string JournalLine(const JournaledEvent& e) {
  json j = {{"endpoint", e.endpoint},          {"action", e.event.action},
            {"repository", e.event.repository}, {"tag", e.event.tag},
            {"digest", e.event.digest},         {"media_type", e.event.media_type}};
  return j.dump() + "\n";
}

core::Result<JournaledEvent> ParseJournalLine(std::string_view line) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  JournaledEvent e;
  if (j.is_discarded() || !j.is_object() || !StringField(j, "endpoint", &e.endpoint) ||
      !StringField(j, "action", &e.event.action) ||
      !StringField(j, "repository", &e.event.repository) ||
      !StringField(j, "tag", &e.event.tag) || !StringField(j, "digest", &e.event.digest) ||
      !StringField(j, "media_type", &e.event.media_type) || e.endpoint.empty() ||
      e.event.repository.empty()) {
    return core::Status::DataLoss("unreadable journal line: " +
                                  core::ShowName(line.substr(0, 200)));
  }
  if (core::Status names =
          CheckNames("journal line of endpoint \"" + core::ShowName(e.endpoint) + "\"",
                     e.event.repository, e.event.tag, e.event.digest);
      !names.ok()) {
    return core::Status::DataLoss(names.message() + "; the line is skipped");
  }
  return e;
}

namespace {

// STATE's artifacts by (source endpoint, source repository), indexed at the first
// lookup: a journal of many delete events reads the state once, not once per event.
class ArtifactsBySource {
 public:
  explicit ArtifactsBySource(const state::State& state) : state_(state) {}
  const std::vector<const state::Artifact*>& Of(const std::string& endpoint,
                                                const std::string& repository) {
    if (!indexed_) {
      for (const auto& a : state_.artifacts)
        index_[{a.source_endpoint, a.source_repository}].push_back(&a);
      indexed_ = true;
    }
    static const std::vector<const state::Artifact*> kNone;
    auto it = index_.find({endpoint, repository});
    return it == index_.end() ? kNone : it->second;
  }

 private:
  const state::State& state_;
  bool indexed_ = false;
  std::map<std::pair<std::string_view, std::string_view>, std::vector<const state::Artifact*>>
      index_;
};

// The last event per (rule, destination tag) wins. Events and rules that name
// something impossible go to *ERRORS.
std::vector<EventIntent> CoalescedIntents(
    const core::Config& config, const state::State& state,
    const std::map<std::string, providers::Registry*>& registries,
    const std::vector<JournaledEvent>& events, std::vector<PlanError>* errors) {
  std::vector<EventIntent> out;
  ArtifactsBySource by_source(state);
  std::map<std::pair<std::string, TagKey>, size_t> index;
  auto add = [&](EventIntent in) {
    auto [it, inserted] = index.emplace(std::make_pair(in.rule->name, in.destination), out.size());
    if (inserted) {
      out.push_back(std::move(in));
    } else {
      out[it->second] = std::move(in);
    }
  };
  for (const auto& je : events) {
    const RegistryEvent& ev = je.event;
    // The parsers refuse such events already; a caller that built one itself must not
    // get it into a URL either.
    if (core::Status names = CheckNames("event", ev.repository, ev.tag, ev.digest); !names.ok()) {
      errors->push_back({"", core::ShowName(ev.repository), names.message()});
      continue;
    }
    for (const core::Rule* rule : MatchRules(config, je.endpoint, ev)) {
      if (ev.action == "push") {
        if (ev.tag.empty()) continue;  // a push by digest names no tag to copy
        auto dest = DestinationRepository(ev.repository, rule->dest_namespace, rule->flatten);
        if (!dest.ok()) {
          errors->push_back({rule->name, ev.repository, dest.status().message()});
          continue;
        }
        if (std::string broken = PathRuleBroken(*rule, *dest, registries); !broken.empty()) {
          errors->push_back({rule->name, ev.repository, broken});
          continue;
        }
        for (const auto& d : DestinationsOf(*rule))
          add({rule, true, je.endpoint, ev.repository, ev.digest, {d, *dest, ev.tag}});
        continue;
      }
      if (!rule->delete_missing) continue;
      for (const state::Artifact* artifact : by_source.Of(je.endpoint, ev.repository)) {
        const state::Artifact& a = *artifact;
        if (a.rule != rule->name) continue;
        bool match = ev.digest.empty()
                         ? a.tag == ev.tag
                         : (a.source_digest == ev.digest || a.destination_digest == ev.digest) &&
                               (ev.tag.empty() || a.tag == ev.tag);
        if (match)
          add({rule, false, je.endpoint, ev.repository, "",
               {a.destination_endpoint, a.destination_repository, a.tag}});
      }
    }
  }
  return out;
}

}  // namespace

std::vector<Change> EventChanges(const core::Config& config, const state::State& state,
                                 const std::map<std::string, providers::Registry*>& registries,
                                 const std::vector<JournaledEvent>& events,
                                 std::vector<PlanError>* errors) {
  Desired desired;
  Observed observed;
  std::vector<TagKey> destinations;
  for (auto& in : CoalescedIntents(config, state, registries, events, &desired.errors)) {
    const auto& [endpoint, repository, tag] = in.destination;
    if (!registries.count(endpoint)) continue;  // a state record of an endpoint since removed
    destinations.push_back(in.destination);
    if (!in.push) {
      desired.deleted_at_source.push_back({in.rule->name, in.destination});
      continue;
    }
    // Distribution notifies before it links the tag: the event's digest is the source's.
    if (!in.digest.empty())
      observed.sources[{in.source_endpoint, in.source_repository, tag}].digest = in.digest;
    desired.tags.push_back(
        {in.rule->name, in.source_endpoint, in.source_repository, repository, {endpoint}, tag, "", "", false});
  }
  ObserveTags(registries, {}, destinations, /*parallelism=*/4, nullptr, &observed);
  Plan plan = Diff(config, desired, state, observed, {});
  errors->insert(errors->end(), plan.errors.begin(), plan.errors.end());
  return plan.changes;
}

Plan PlanForJournal(const core::Config& config, const state::State& state,
                    const std::map<std::string, providers::Registry*>& registries,
                    const std::vector<std::string>& lines, size_t* events) {
  Plan plan;
  std::vector<JournaledEvent> read;
  for (const auto& line : lines) {
    auto e = ParseJournalLine(line);
    if (e.ok()) {
      read.push_back(std::move(*e));
    } else {
      plan.warnings.push_back(e.status().message());
    }
  }
  *events = read.size();
  plan.state_lineage = state.serial == 0 ? "" : state.lineage;
  plan.state_serial = state.serial;
  plan.changes = EventChanges(config, state, registries, read, &plan.errors);
  for (const auto& c : plan.changes)
    if (std::find(plan.rules.begin(), plan.rules.end(), c.rule) == plan.rules.end())
      plan.rules.push_back(c.rule);
  return plan;
}

}  // namespace crossdock::planner
