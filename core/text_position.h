// Where a byte offset falls in a text, as "line:column" for messages about files and
// secrets a parser refused (nlohmann's parse_error gives a byte count). Used by
// providers/quay (the json_file secret) and providers/harbor (imported JSON).
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace crossdock::core {

// Line and column (both from 1) of byte OFFSET of TEXT; an OFFSET past the end counts
// as the end.
std::pair<size_t, size_t> LineAndColumn(std::string_view text, size_t offset);

}  // namespace crossdock::core
