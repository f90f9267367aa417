// A vendor fake of tests/fakes/ (harbor, dockerhub) in front of a bench registry, for
// the vendor-noop part of bench/scenarios.cc: the fake forwards /v2/ to the registry and
// reads its storage for the vendor's listings; the fake's own count of what it was sent
// (GET /fake/stats) is the vendor path's request figure.
//
// Not tests/support/vendor_fakes.h's HarborFake and DockerHubFake, which take a
// testing::Registry of their own: the bench's registries serve the cached data set
// read-only (BenchRegistry). The fakes are found in $CROSSDOCK_FAKES (bench_main.cc
// points it at the release builds under build/bench/fakes when unset).
#pragma once

#include <memory>
#include <string>

#include "bench/registry.h"
#include "tests/support/vendor_fakes.h"

namespace crossdock::bench {

enum class Vendor { kHarbor, kDockerHub };

// "harbor" or "docker-hub": the crossdock endpoint type, also the vendor's name in the
// report.
std::string EndpointType(Vendor vendor);

class VendorFront {
 public:
  // Starts the fake (its log under dir, which must exist) in front of UPSTREAM, which must
  // be a plain registry without auth. Harbor: the project "bench", the system admin
  // admin/Harbor12345. Docker Hub: the account alice/dckr_pat_alice, a member of the
  // organization "bench". Throws BenchError if it does not start.
  VendorFront(Vendor vendor, const BenchRegistry& upstream, const std::string& dir);

  Vendor vendor() const { return vendor_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(fake_->port()); }
  // The account crossdock uses.
  const std::string& username() const { return username_; }
  const std::string& password() const { return password_; }

  // What the fake was sent since the last ResetStats (GET /fake/stats; requests to
  // /fake/* are not counted). Throw BenchError when the fake does not answer.
  testing::FakeStats Stats() const;
  void ResetStats() const;
  // user + system CPU seconds the fake has used so far.
  double CpuSeconds() const;
  // Asks the fake for the first page of REPOSITORY's listing (Harbor's artifacts, Docker
  // Hub's tags) as this account, so that the fake has read each manifest once (it keeps
  // what a digest's manifest says) before anything is measured. Throws BenchError unless
  // it answers 200.
  void WarmListing(const std::string& repository) const;

 private:
  Vendor vendor_;
  std::string username_, password_;
  std::unique_ptr<testing::FakeProcess> fake_;
};

}  // namespace crossdock::bench
