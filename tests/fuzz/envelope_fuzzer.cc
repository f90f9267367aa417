// Fuzz target: distribution's notification envelope (planner::ParseEnvelope), and the
// journal line serve writes for each event it keeps, which must read back the same
// (but for url and request host, which serve has used up by then and does not journal).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "planner/events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crossdock::planner;
  auto events = ParseEnvelope(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!events.ok()) return 0;
  for (const RegistryEvent& event : *events) {
    JournaledEvent journaled{"fuzz", event};
    journaled.event.url.clear();
    journaled.event.request_host.clear();
    auto back = ParseJournalLine(JournalLine(journaled));
    if (!back.ok() || !(*back == journaled)) {
      std::fprintf(stderr, "journal line does not read back: %s\n", JournalLine(journaled).c_str());
      std::abort();
    }
  }
  return 0;
}
