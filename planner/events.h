// Registry events: Docker distribution notifications parsed into RegistryEvents,
// matched to their source endpoint and to the event-based rules, and turned into the
// Changes of a Plan. Also the format of serve's event journal. Used by cmd/serve.cc.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "planner/plan.h"
#include "providers/registry.h"
#include "state/state.h"

namespace crossdock::planner {

// One manifest event of a distribution notification envelope.
struct RegistryEvent {
  std::string action;  // "push" or "delete"
  std::string media_type;
  std::string digest;      // may be empty for a delete that names only the tag
  std::string repository;  // without host
  std::string tag;         // may be empty (a push or delete by digest)
  std::string url;         // target.url, may be empty
  std::string request_host;
  friend bool operator==(const RegistryEvent&, const RegistryEvent&) = default;
};

// Names from outside (events, the journal, saved plans) follow the distribution
// grammar (core/names.h) before they are matched against rules or put into a URL:
// "lib/../other/victim" or a tag "../../x/manifests/y" never reaches a registry.
// Returns InvalidArgument "WHERE: repository \"…\" is not a valid repository name: …"
// for the first of REPOSITORY, TAG and DIGEST that does not (TAG and DIGEST may be
// empty); the name is shown escaped and shortened (core::ShowName).
core::Status CheckNames(const std::string& where, std::string_view repository,
                        std::string_view tag, std::string_view digest);

// Parses distribution's envelope, {"events":[{action, target:{mediaType, digest,
// repository, tag, url}, request:{host}}]}. Keeps push and delete events of manifests
// (by media type; a delete carries none and is kept); blob pushes and pulls are
// dropped. Returns InvalidArgument with a one-line reason when BODY is not such an
// envelope, or when a kept event's repository, tag or digest is invalid (CheckNames):
// the whole request is refused.
core::Result<std::vector<RegistryEvent>> ParseEnvelope(std::string_view body);

// Parses a Harbor webhook payload, in Harbor's "Default" format ({"type",
// "event_data":{"resources":[{digest, tag, resource_url}], "repository":{repo_full_name}}})
// or its "CloudEvents" format ({"specversion", "type":"harbor.artifact.pushed", "data":
// {the same event_data}}). PUSH_ARTIFACT and CREATE_TAG become pushes, DELETE_ARTIFACT
// and DELETE_TAG deletes; other types (pulls, scans, quotas, replication) give no
// events. Harbor puts the digest in "tag" when an artifact has no tag: such a tag is
// dropped. The host of resource_url goes to request_host. InvalidArgument with a
// one-line reason when BODY is not such a payload or names an invalid repository, tag
// or digest (CheckNames).
core::Result<std::vector<RegistryEvent>> ParseHarborPayload(std::string_view body);

// The endpoint EVENT came from: PATH_ENDPOINT when not empty (NotFound when the config
// has no such endpoint), else the endpoint whose host() is the host of target.url,
// else of request.host. NotFound naming the host when none matches; the message
// suggests appending /<endpoint> to the webhook path.
core::Result<std::string> MatchEndpoint(const core::Config& config, const RegistryEvent& event,
                                        const std::string& path_endpoint);

// The enabled rules with events = true whose source is ENDPOINT and whose repository
// and tag filters (patterns and the semver range) select EVENT's repository and tag.
// Rules whose selection needs the whole repository or the artifact itself
// (keep_latest, labels, exclude_labels, resource) are never event-triggered.
// A delete names no tag sometimes: then only the repository filters apply.
std::vector<const core::Rule*> MatchRules(const core::Config& config, const std::string& endpoint,
                                          const RegistryEvent& event);

// An event as serve journals it, with the endpoint it was matched to.
struct JournaledEvent {
  std::string endpoint;
  RegistryEvent event;
  friend bool operator==(const JournaledEvent&, const JournaledEvent&) = default;
};

// One JSON object and a '\n': {"endpoint", "action", "repository", "tag", "digest",
// "media_type"}. JSON lines, so that an append is one write and a torn last line
// (a crash mid-write) is recognisable and skipped. ParseJournalLine refuses (DataLoss)
// a line that is not such an object or whose names are invalid (a journal edited by
// hand).
std::string JournalLine(const JournaledEvent& e);
core::Result<JournaledEvent> ParseJournalLine(std::string_view line);

// The Changes for EVENTS, coalesced per (rule, destination endpoint, destination
// repository, tag): the last event wins. A push copies the tag by the event's digest
// (distribution notifies before it links the tag, so the tag is never resolved) after
// a HEAD at the destination. A delete removes, for rules with delete = true, the
// artifacts STATE records for that source repository whose digest (or, for a tag-only
// event, tag) matches. Both end in Diff (diff.h), as a plan does: create, update, skip
// under override = false, adopt under adopt = true, nothing when the destination holds
// the digest already; a delete is skipped when the tag changed at the destination
// since. Changes come sorted by destination; problems (a HEAD failing, a naming
// conflict, a name a destination's path rule refuses, an event whose names CheckNames
// refuses) go to *ERRORS, once per repository and message.
// REGISTRIES maps every endpoint of CONFIG to a client.
std::vector<Change> EventChanges(const core::Config& config, const state::State& state,
                                 const std::map<std::string, providers::Registry*>& registries,
                                 const std::vector<JournaledEvent>& events,
                                 std::vector<PlanError>* errors);

// The Plan for journal LINES (JournalLine) not executed yet: EventChanges of the
// readable ones, made against STATE, with the rules the changes come from. An
// unreadable line is skipped with a warning in the plan. *EVENTS: how many were read.
Plan PlanForJournal(const core::Config& config, const state::State& state,
                    const std::map<std::string, providers::Registry*>& registries,
                    const std::vector<std::string>& lines, size_t* events);

}  // namespace crossdock::planner
