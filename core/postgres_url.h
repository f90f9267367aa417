// PostgreSQL connection URLs as a state location ([settings] state, --state): telling
// one from a file path, refusing a password inside one (secrets never go in a config
// or on a command line; libpq takes them from PGPASSWORD or a password file), and
// showing one without its secrets. Used by the config loader and state/postgres.
#pragma once

#include <string>
#include <string_view>

namespace crossdock::core {

// Whether TEXT is a libpq connection URI: it starts with "postgresql://" or
// "postgres://" (lowercase, as libpq requires). Anything else names a state file.
bool IsPostgresUrl(std::string_view text);

// "" when URL carries no secret; otherwise what it carries ("a password after the user
// name", "a password parameter"), for an error message that never repeats the secret.
// Secrets: a password in the user part ("user:secret@host", as libpq reads it: up to
// the first '@' or '/' after "//"), and the parameters password and sslpassword, their
// names possibly percent-encoded. REQUIRES: IsPostgresUrl(URL).
std::string PostgresUrlSecret(std::string_view url);

// An ECMA-262 regular expression matching exactly the state locations the loader
// accepts: not empty, and no PostgresUrlSecret (core/config_keys.cc).
std::string StateLocationPattern();

// URL without any secret, for messages: the password after the user name and the
// values of password and sslpassword parameters become "REDACTED".
std::string RedactPostgresUrl(std::string_view url);

}  // namespace crossdock::core
