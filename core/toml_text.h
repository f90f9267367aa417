// TOML text for configs crossdock writes itself (`crossdock import harbor`): strings,
// keys and string arrays quoted so that any value reads back as it was given.
// toml++ cannot write comments or keep an order, so the writer builds the text and
// quotes each piece with these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace crossdock::core {

// TEXT as a TOML basic string: "…" with '"', '\' and control characters escaped
// (\b \t \n \f \r, \uXXXX for the others and DEL). REQUIRES: TEXT is valid UTF-8.
std::string TomlString(std::string_view text);

// KEY as it may stand in a table header or before '=': bare when it is only ASCII
// letters, digits, '_' and '-' (and not empty), a basic string otherwise ("a.b" would
// be a dotted key).
std::string TomlKey(std::string_view key);

// ["a", "b"].
std::string TomlStringArray(const std::vector<std::string>& items);

}  // namespace crossdock::core
