// Fuzz target: the config loader (core::ParseConfig) on any text, diagnostics
// formatted as `validate` prints them. Paths in the config resolve against a folder
// that does not exist, so nothing it names is read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crossdock::core;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Diagnostics diags;
  Config config = ParseConfig(text, "/nonexistent/crossdock-fuzz/crossdock.toml", &diags);
  for (const Diagnostic& d : diags.items()) (void)FormatDiagnostic(d);
  if (!diags.has_errors())
    for (const Rule& rule : config.rules) (void)config.FindEndpoint(rule.source);
  return 0;
}
