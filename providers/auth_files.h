// Credentials where Docker and Podman keep them (issue 12, section 3): the auth files
// `docker login` and `podman login` write, looked up for an endpoint that sets no
// username/password. Facts: containers-auth.json(5) (containers/image
// docs/containers-auth.json.5.md) for the order and the keys; docker/cli
// configfile for `auths`, `credHelpers`, `credsStore`; credential helpers themselves
// are run by the caller (the entry names the helper). Used by cmd/ when it builds the
// registry clients, and by `endpoint test` to say where credentials came from.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "providers/registry.h"

namespace crossdock::providers {

// The auth files to read, in order, for the environment GETENV answers:
// $REGISTRY_AUTH_FILE; ${XDG_RUNTIME_DIR}/containers/auth.json;
// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json. Unset variables are
// skipped; the first file with an entry for a host wins.
std::vector<std::string> AuthFilePaths(const std::function<const char*(const char*)>& getenv);

// What one auth file says about a host.
struct AuthEntry {
  Credentials credentials;  // from "auths" (empty when a helper is named)
  std::string helper;       // "docker-credential-<suffix>" from credHelpers/credsStore, or ""
  std::string how;          // "auths", "credHelpers" or "credsStore", for `endpoint test`
};

// Looks HOST ("registry.example:5000", "docker.io"…) up in TEXT, the JSON of the auth
// file at PATH (named in errors only). Keys match with or without a scheme and a
// trailing path ("https://host/v1/"); Docker Hub's names (docker.io, index.docker.io,
// registry-1.docker.io, https://index.docker.io/v1/) are one. A credHelpers entry
// for the host wins over "auths", which wins over credsStore. An "auth" value is
// base64 of "user:password"; an "identitytoken" is sent as the password of the user
// "<token>", as docker does. nullopt when the file names the host nowhere;
// InvalidArgument naming PATH (never a secret) when it is not such a file.
core::Result<std::optional<AuthEntry>> LookupAuthEntry(std::string_view text,
                                                      const std::string& host,
                                                      const std::string& path);

}  // namespace crossdock::providers
