// The keys crossdock.toml may hold, table by table, with what each one takes: the one
// list the config loader (core/config.cc) accepts keys, value ranges and words from,
// and that `crossdock schema` (core/config_schema.h) describes, so the two cannot drift.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crossdock::core {

// What a key's value is, as the loader reads it (core/config_check.h TableReader).
enum class ValueKind {
  kString,       // TableReader::String
  kBoolean,      // TableReader::Bool
  kInteger,      // TableReader::Integer
  kStringList,   // TableReader::StringList: a string, or an array of strings
  kSecret,       // a string: "env:NAME", "file:PATH", or the secret itself (a warning)
  kFlatten,      // an integer in [minimum, maximum], or one of `words`
  kTable,        // a table holding the keys of `table`
  kNamedTables,  // a table of tables, each named by `name_pattern` and holding `table`'s keys
};

struct ConfigTable;

struct ConfigKey {
  std::string name;
  ValueKind kind;
  std::string description;
  // The value the loader assumes when the key is absent, as JSON text ("10", "true",
  // "\"docker-registry\""); "": none, the description says what absence means.
  std::string default_json = "";
  // kString: the only values accepted. kFlatten: the words accepted besides integers.
  std::vector<std::string> words = {};
  // kInteger, kFlatten: the inclusive range the loader accepts.
  std::optional<int64_t> minimum = std::nullopt;
  std::optional<int64_t> maximum = std::nullopt;
  // kString, kSecret: "" is refused. kStringList: an empty array is refused.
  bool not_empty = false;
  // kStringList: no entry may appear twice.
  bool unique = false;
  // kString, and each entry of a kStringList: an ECMA-262 regular expression that
  // matches exactly the strings the loader accepts there (set only where one can).
  std::string pattern = "";
  // kTable, kNamedTables: the keys of the table(s) under this key.
  const ConfigTable& (*table)() = nullptr;
  // kNamedTables: a regular expression matching exactly the names the loader accepts.
  std::string name_pattern = "";
};

struct ConfigTable {
  std::string title;  // as users write it: "[settings]", "[endpoints.NAME]"
  std::string description;
  std::vector<ConfigKey> keys;  // in the order the reference documents them

  std::vector<std::string> Names() const;
  // The key called NAME. REQUIRES: one of keys is (the tables are fixed at build time;
  // a missing name is a programming error, and aborts).
  const ConfigKey& Key(std::string_view name) const;
};

// The tables of crossdock.toml: its top level, [settings], [settings.webhook],
// [endpoints.NAME] and [rules.NAME].
const ConfigTable& TopLevelKeys();
const ConfigTable& SettingsKeys();
const ConfigTable& WebhookKeys();
const ConfigTable& EndpointKeys();
const ConfigTable& RuleKeys();

}  // namespace crossdock::core
