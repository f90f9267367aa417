// The JSON Schema (draft 2020-12) of crossdock.toml, printed by `crossdock schema`:
// generated from the loader's key tables (core/config_keys.h), so it describes exactly
// the keys, types, words and ranges the loader accepts. Editors that read a
// `#:schema` line (taplo, Even Better TOML) complete and check configs with it.
#pragma once

#include <nlohmann/json.hpp>

namespace crossdock::core {

// What a schema can say that the loader also holds to; what it cannot (an endpoint a
// rule names must be defined, files must exist, patterns, cron expressions and
// durations must parse) only `crossdock validate` checks. JSON has one number type,
// so an integer key given as a float (parallelism = 10.0) passes the schema but not
// the loader.
nlohmann::ordered_json ConfigSchema();

}  // namespace crossdock::core
