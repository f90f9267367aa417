// Fuzz target: the WWW-Authenticate parser (providers::ParseChallenge), and the
// RateLimit-* header parser on the same value: headers a registry chooses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/distribution/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  (void)crossdock::providers::ParseChallenge(header);
  (void)crossdock::providers::ParseRateLimitHeader(header);
  return 0;
}
