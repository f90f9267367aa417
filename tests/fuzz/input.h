// Helpers the fuzz targets share to read their input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace crossdock::fuzz {

// DATA as text, split at its first '\n': (the first line, the rest); the rest is empty
// when there is no '\n'.
inline std::pair<std::string_view, std::string_view> FirstLineAndRest(const uint8_t* data,
                                                                       size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return {input, {}};
  return {input.substr(0, newline), input.substr(newline + 1)};
}

}  // namespace crossdock::fuzz
