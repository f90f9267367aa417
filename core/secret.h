// ResolveSecret: turns a SecretRef from the config ("env:NAME", "file:PATH" or a
// literal) into the secret itself, at the moment a provider needs it. Used by cmd/
// when it builds providers; errors never contain the secret. CheckSecrets: what
// `crossdock validate` can tell about them beforehand.
#pragma once

#include <string>

#include "core/config.h"
#include "core/status.h"

namespace crossdock::core {

// "env:NAME": the variable's value; Unauthenticated naming the variable when it is
// unset or empty, InvalidArgument when NAME is missing.
// "file:PATH": the file's content without trailing line breaks; Unauthenticated naming
// the file when it cannot be read or is empty. PATH is absolute once the config
// loader has resolved it.
// Anything else is the secret itself; an empty spec gives "".
Result<std::string> ResolveSecret(const SecretRef& ref);

// Resolves every secret of CONFIG (endpoint passwords, the webhook token) as plan,
// apply and serve will, and reports at its position what would fail: an "env:"
// variable unset or empty here is a warning (CI may set it where crossdock runs), a
// "file:" that is missing, unreadable or empty is an error, and one readable by group
// or others is a warning. No message contains a secret.
void CheckSecrets(const Config& config, Diagnostics* diags);

}  // namespace crossdock::core
