// Fuzz target: versions and ranges (core::ParseVersion, core::VersionRange). Every line
// of the input is parsed as a range and as a version; the first line's range is tested
// against every version, and keep_latest keeps two of the lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/semver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crossdock::core;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  for (size_t start = 0; start <= input.size();) {
    const size_t end = std::min(input.find('\n', start), input.size());
    lines.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  std::optional<VersionRange> range;
  for (const std::string& line : lines) {
    auto parsed = VersionRange::Parse(line);
    if (parsed.ok() && !range) range = *parsed;
  }
  for (const std::string& line : lines) {
    auto version = ParseVersion(line);
    if (!version.ok()) continue;
    if (CompareVersions(*version, *version) != 0) std::abort();  // a version equals itself
    if (range) (void)range->Contains(*version);
  }
  (void)KeepLatest(lines, 2);
  return 0;
}
