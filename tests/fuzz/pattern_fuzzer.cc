// Fuzz target: the doublestar pattern compiler and matcher (core::Pattern). The input's
// first line is the pattern, the rest the subject it is matched against.
#include <cstddef>
#include <cstdint>

#include "core/pattern.h"
#include "tests/fuzz/input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using crossdock::core::Pattern;
  const auto [text, subject] = crossdock::fuzz::FirstLineAndRest(data, size);
  auto pattern = Pattern::Compile(text);
  if (!pattern.ok()) return 0;
  (void)pattern->Matches(subject);
  (void)pattern->IsLiteral();
  (void)pattern->SpecificPaths();
  return 0;
}
