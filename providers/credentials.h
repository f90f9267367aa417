// FindCredentials: what an endpoint logs in with. The endpoint's own username and
// password when it sets them; else the first auth file with an entry for its host,
// in the order Podman reads them (providers/auth_files.h), or the one auth_file it
// names; a credential helper named there is run (the docker-credential-helpers
// protocol: `docker-credential-NAME get`, the server on stdin, JSON on stdout);
// else anonymous. An aws-ecr endpoint takes its access key from its username and
// password, else from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never from an auth
// file. Used by cmd/ when it builds the registry clients; the source is what
// `endpoint test` prints. Nothing here ever puts a secret in a message.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "providers/registry.h"

namespace crossdock::providers {

struct CredentialLookup {
  // The environment (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, DOCKER_CONFIG, HOME, PATH,
  // and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN for aws-ecr).
  std::function<const char*(const char*)> getenv;
  // How long a credential helper may take before it counts as hung.
  std::chrono::milliseconds helper_timeout{10000};
};

// The process's own environment and a 10 s helper timeout.
CredentialLookup DefaultCredentialLookup();

// Credentials for ENDPOINT (its password resolved, or found as above), with
// Credentials::source saying where they came from. Errors name the file or the
// helper and what to do: an auth file that is not JSON, a helper that is missing,
// fails or hangs.
core::Result<Credentials> FindCredentials(const core::Endpoint& endpoint,
                                          const CredentialLookup& lookup);

// Runs the credential helper PROGRAM (an absolute path) as `PROGRAM get` with SERVER
// on stdin. nullopt when it answers "credentials not found in native keychain";
// Unavailable (naming the program, never its output) when it exits otherwise
// unsuccessfully, answers something else than {"Username","Secret"}, or runs past
// TIMEOUT (it is killed then).
core::Result<std::optional<Credentials>> RunCredentialHelper(const std::string& program,
                                                             const std::string& server,
                                                             std::chrono::milliseconds timeout);

}  // namespace crossdock::providers
