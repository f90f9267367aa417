// Fuzz target: the doublestar pattern compiler and matcher (core::Pattern). The input's
// first line is the pattern, the rest the subject it is matched against.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using crossdock::core::Pattern;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view text = input.substr(0, newline);
  const std::string_view subject =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  auto pattern = Pattern::Compile(text);
  if (!pattern.ok()) return 0;
  (void)pattern->Matches(subject);
  (void)pattern->IsLiteral();
  (void)pattern->SpecificPaths();
  return 0;
}
