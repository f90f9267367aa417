// Fuzz target: the saved-plan reader (planner::ParsePlanText, what `apply FILE` reads).
#include <cstddef>
#include <cstdint>
#include <string>

#include "planner/saved_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)crossdock::planner::ParsePlanText(text, "fuzz.plan.json");
  return 0;
}
