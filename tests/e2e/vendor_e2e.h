// Shared by the end-to-end tests of the vendor providers (harbor_test, dockerhub_test,
// quay_gitlab_test, ghcr_jfrog_test): a small image, a count of what a fake recorded,
// and a fixture with a plain registry, the registry behind a vendor fake, and a config.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/harness.h"
#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

// One 8 KiB layer; SEED makes the digest.
inline ImageSpec SmallVendorImage(uint64_t seed) {
  ImageSpec spec;
  spec.layers = {LayerSpec{.size = 8192, .seed = seed}};
  spec.labels = {{"seed", std::to_string(seed)}};
  return spec;
}

// How many requests a fake recorded starting with PREFIX ("HEAD /v2/").
inline int CountRequests(const FakeStats& stats, const std::string& prefix) {
  return static_cast<int>(std::count_if(stats.paths.begin(), stats.paths.end(),
                                        [&](const std::string& p) { return p.starts_with(prefix); }));
}

// plain_ (a registry of its own), behind_ (the data a vendor fake serves) and a
// crossdock.toml in dir_; crossdock runs with HOME there, so no auth file of the
// machine's leaks in.
class VendorE2eTest : public ::testing::Test {
 protected:
  VendorE2eTest() { config_ = dir_.Sub("crossdock.toml"); }
  RunResult Crossdock(std::vector<std::string> args) {
    args.insert(args.end(), {"-c", config_, "--no-color"});
    return RunCrossdock(args, {{"HOME", dir_.path()}}, dir_.path());
  }
  BuiltImage Seed(const Endpoint& at, const std::string& repo, const std::string& tag,
                  uint64_t seed) {
    const std::string name = "i" + std::to_string(seed);
    BuiltImage img = BuildImage(dir_.Sub("layout"), name, SmallVendorImage(seed));
    Push(dir_.Sub("layout"), name, at, repo, tag);
    return img;
  }
  // [endpoints.plain], then VENDOR_ENDPOINT (a whole [endpoints.NAME] table), then RULES.
  void WriteConfig(const std::string& vendor_endpoint, const std::string& rules) {
    WriteFile(config_, "[endpoints.plain]\nurl = \"" + plain_.url() + "\"\n\n" + vendor_endpoint +
                           "\n" + rules);
  }

  TempDir dir_;
  Registry plain_;
  Registry behind_;
  std::string config_;
};

}  // namespace crossdock::testing
