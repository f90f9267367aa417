// Config: the parsed crossdock.toml (endpoints, rules, settings) and its loader,
// which reports every problem as a Diagnostic with file:line:col. Used by cmd/ and
// planner/.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostics.h"

namespace crossdock::core {

// A secret as written in the config: "env:NAME", "file:PATH" (made absolute by the
// loader) or a literal. core/secret.h resolves it; the value is never printed.
struct SecretRef {
  std::string spec;  // as written
  SourcePos pos;
  bool empty() const { return spec.empty(); }
};

struct Endpoint {
  std::string name;
  std::string type = "docker-registry";
  std::string url;  // scheme://host[:port], no trailing slash; the type's default if unset
  // The vendor's control plane (scheme://host[:port][/path]): api_url as written, else
  // the type's default (core/endpoint_types.h); "" when the type has none.
  std::string api_url;
  // aws-ecr: the AWS region (region = "…", else from the url's
  // ACCOUNT.dkr.ecr.REGION.amazonaws.com); "" for every other type.
  std::string region;
  std::string description;
  std::string username;
  SecretRef password;
  // auth_file: a Docker config.json or containers auth.json (absolute path) to take
  // credentials from; "" : the files Podman and Docker read.
  std::string auth_file;
  std::string ca_cert;  // absolute path, resolved against the config's folder
  bool insecure = false;
  // rate_limit = "N/s" or "N/m": requests a second to this endpoint, token requests
  // included; 0: unlimited.
  double rate_limit_per_second = 0;
  int max_connections = 0;  // requests in flight at once; 0: unlimited
  SourcePos pos;

  // "127.0.0.1:5002": scheme stripped, as it appears in image references.
  std::string host() const;
};

struct Rule {
  std::string name;
  std::string description;
  std::string source;       // endpoint name
  std::string destination;  // endpoint name: destinations[0]
  // Every destination endpoint (fan-out): from "destination" or "destinations", or
  // from mode/remote with [settings] home. Never empty in a valid config.
  std::vector<std::string> destinations;
  std::string mode;    // "push" or "pull" (Harbor style, needs [settings] home); "" otherwise
  std::string remote;  // with mode: the other endpoint
  std::vector<std::string> repositories;          // empty: all
  std::vector<std::string> exclude_repositories;  // none
  std::vector<std::string> tags;                  // empty: all
  std::vector<std::string> exclude_tags;
  // Tags that never move (releases): once the state records one at a destination,
  // plan spends no request on it (no HEAD at either side, no referrers lookup);
  // `--refresh` checks them all the same.
  std::vector<std::string> immutable_tags;
  // Artifact filters (all ANDed): every listed label must be present; one of
  // exclude_labels' entries all present drops the artifact. "key" or "key=value",
  // matched against OCI manifest annotations and image config labels.
  std::vector<std::string> labels;
  std::vector<std::string> exclude_labels;
  std::string resource;  // "", "image", "chart" or "artifact" (by config media type)
  std::string semver;    // a range such as ">=1.20 <2"; "" selects every tag
  int keep_latest = 0;   // keep only the N highest semantic versions; 0: all
  bool include_referrers = true;  // copy signatures, attestations, SBOMs with their subject
  bool adopt = false;  // take ownership of destination tags already holding the digest
  std::string dest_namespace;  // empty: keep the source path
  int flatten = 0;             // -1 all, 0 none, 1..3 levels
  bool override_tags = true;   // key "override"
  bool delete_missing = false; // key "delete"
  bool enabled = true;
  // Triggers: manual always (apply runs the rule); scheduled when `schedule` is set
  // (cron in `timezone`, UTC by default; `apply --due` runs it when due); events.
  std::string schedule;
  std::string timezone;
  bool events = false;
  // A copy that fails transiently is tried again up to `retries` times, with
  // exponential backoff; one running longer than `timeout` (0: no limit) is abandoned.
  int retries = 3;
  std::chrono::milliseconds timeout{0};
  SourcePos pos;
};

struct Settings {
  std::string state_path;  // absolute; default "<config dir>/crossdock.state.json"
  int parallelism = 10;
  std::string home;  // the endpoint push/pull rules are relative to (Harbor style)
  // [settings.webhook] token: the bearer token `crossdock serve` requires of webhook
  // requests; empty: none is required.
  SecretRef webhook_token;
  // The most tags one plan may delete before apply refuses it without --allow-deletes
  // (a reviewer's guard); nullopt: no limit.
  std::optional<long> max_deletes;
};

struct Config {
  std::string path;  // the file it was read from
  Settings settings;
  std::map<std::string, Endpoint> endpoints;
  std::vector<Rule> rules;  // in file order

  const Endpoint* FindEndpoint(const std::string& name) const;
  const Rule* FindRule(const std::string& name) const;
};

// Reads and validates FILE. Every problem is added to *diags; the returned Config is
// usable only when !diags->has_errors().
Config LoadConfig(const std::string& file, Diagnostics* diags);

// Same, from text (for tests). FILE names positions, and relative paths in the config
// (state, ca_cert, file: secrets) resolve against FILE's folder.
Config ParseConfig(const std::string& text, const std::string& file, Diagnostics* diags);

}  // namespace crossdock::core
