// Fuzz target: the pagination Link header parser (providers::ParseNextLink).
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/distribution/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  (void)crossdock::providers::ParseNextLink(header);
  return 0;
}
