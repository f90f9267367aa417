// NewRegistry: the provider for an endpoint's type, built from its config. cmd/
// builds every client here and from then on sees only providers::Registry.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/status.h"
#include "providers/http.h"
#include "providers/registry.h"

namespace crossdock::providers {

// A client for ENDPOINT, sending through HTTP (which must outlive it), with CREDS
// (the password resolved already): the provider of its type (core/endpoint_types.h).
// REQUIRES: the type is supported (the config loader refuses the others).
// InvalidArgument when the credentials do not fit the type (a quay password that is
// not the json_file secret), naming the endpoint and never the secret.
core::Result<std::unique_ptr<Registry>> NewRegistry(const core::Endpoint& endpoint,
                                                    Credentials creds, HttpClient* http);

}  // namespace crossdock::providers
