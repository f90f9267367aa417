// ResolveSecret: turns a SecretRef from the config ("env:NAME", "file:PATH" or a
// literal) into the secret itself, at the moment a provider needs it. Used by cmd/
// when it builds providers; errors never contain the secret.
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

}  // namespace crossdock::core
