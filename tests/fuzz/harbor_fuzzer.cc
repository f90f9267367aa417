// Fuzz target: Harbor webhook payloads, Default and CloudEvents formats
// (planner::ParseHarborPayload).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "planner/events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)crossdock::planner::ParseHarborPayload(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
