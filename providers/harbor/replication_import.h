// `crossdock import harbor`: Harbor's replication setup (its registries and
// replication policies, as GET /api/v2.0/registries and /api/v2.0/replication/policies
// return them: api/v2.0/swagger.yaml Registry and ReplicationPolicy) read from a
// Harbor or from files, and turned into an equivalent crossdock.toml. Semantics of
// each policy field: ../shared/reference/harbor-replication.md. Used by cmd/import.cc.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "providers/http.h"

namespace crossdock::providers {

// The two lists, each a JSON array as Harbor's API returns it (every page joined).
struct HarborReplicationSetup {
  nlohmann::json registries = nlohmann::json::array();
  nlohmann::json policies = nlohmann::json::array();
};

// Reads every page of both lists (page_size 100, then the Link rel="next" headers,
// on URL's own origin only) from the Harbor at URL ("https://harbor.example") with
// Basic credentials. Both need a Harbor system administrator. Errors, none of them
// quoting the password: Unauthenticated for 401 (Harbor takes wrong credentials for
// none), PermissionDenied for 403, NotFound for 404 (no Harbor 2.x API at URL),
// Unavailable when URL cannot be reached, Internal for an answer that is not a JSON
// list; each names the URL and says what to do.
core::Result<HarborReplicationSetup> FetchHarborReplicationSetup(HttpClient* http,
                                                                 const std::string& url,
                                                                 const std::string& username,
                                                                 const std::string& password);

// TEXT, the content of FILE, as the body of LIST_PATH ("/api/v2.0/registries"): a JSON
// array. InvalidArgument "FILE:LINE:COL: …" when it is not JSON, "FILE: …" when it is
// not an array of objects.
core::Result<nlohmann::json> ParseHarborList(const std::string& text, const std::string& file,
                                             const std::string& list_path);

struct HarborImportOptions {
  // Harbor itself, the local side of every policy: its URL and the user crossdock
  // logs in as there. URL "" (an offline import without --url): the address Harbor
  // gives its local registry in the policies, with a note to replace it.
  std::string harbor_url;
  std::string username;
  std::string harbor_ca_cert;  // an absolute path, or ""
  bool harbor_insecure = false;
  // Where the setup came from, for the header ("Harbor at https://…") and when
  // (RFC 3339).
  std::string origin;
  std::string time;
  // Whether files beside the config can be written (a registry's CA certificate);
  // false: a note says where to put it.
  bool can_write_files = true;
};

struct ImportedConfig {
  std::string toml;  // passes `crossdock validate` once `files` are written beside it
  // Files to write beside the config (its folder), by name: CA certificates (PEM).
  std::map<std::string, std::string> files;
  // What has no equivalent in crossdock, or needs a look, one line each; each is also
  // a comment at its endpoint or rule in TOML.
  std::vector<std::string> warnings;
  // The environment variables the config's passwords name, in file order.
  std::vector<std::string> password_variables;
  int endpoints = 0;
  int rules = 0;
};

// Maps SETUP: every registry to an endpoint (Harbor's type names are crossdock's),
// Harbor itself to endpoint "harbor" ([settings] home), each policy to a rule
// (mode push or pull, filters, dest_namespace and flatten, override, delete,
// enabled, schedule or events). Passwords become env: placeholders named after the
// endpoint; no secret Harbor returned is ever written. InvalidArgument (naming the
// policy) for input Harbor would not hold: a policy naming a registry id that is not
// in the list, both or neither side local, a filter value of the wrong JSON type.
core::Result<ImportedConfig> ImportHarborReplication(const HarborReplicationSetup& setup,
                                                     const HarborImportOptions& options);

}  // namespace crossdock::providers
