// Fuzz target: a token server's answer (providers::ParseTokenAnswer).
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/distribution/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  (void)crossdock::providers::ParseTokenAnswer(body);
  return 0;
}
