// Every configuration under examples/ must load without errors, so examples cannot
// rot. Files an example names that exist only at run time (demo.sh writes the demo's
// CA certificate) are created in a scratch copy first.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/config.h"

namespace crossdock::core {
namespace {

namespace fs = std::filesystem;

TEST(ExamplesTest, EveryExampleConfigLoadsWithoutErrors) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  fs::path examples = fs::path(src ? src : ".") / "examples";
  ASSERT_TRUE(fs::exists(examples)) << examples;
  fs::path scratch = fs::temp_directory_path() / ("crossdock-examples-" + std::to_string(getpid()));
  fs::create_directories(scratch / "demo-certs");
  std::ofstream(scratch / "demo-certs" / "ca.pem") << "written by demo.sh at run time\n";
  int seen = 0;
  for (const auto& entry : fs::recursive_directory_iterator(examples)) {
    if (entry.path().extension() != ".toml") continue;
    ++seen;
    fs::path copy = scratch / entry.path().filename();
    fs::copy_file(entry.path(), copy, fs::copy_options::overwrite_existing);
    Diagnostics diags;
    LoadConfig(copy.string(), &diags);
    std::string all;
    for (const auto& d : diags.items())
      if (d.severity == Severity::kError) all += FormatDiagnostic(d) + "\n";
    EXPECT_FALSE(diags.has_errors()) << entry.path() << ":\n" << all;
  }
  fs::remove_all(scratch);
  EXPECT_GE(seen, 2);
}

}  // namespace
}  // namespace crossdock::core
