// Implementation of bench/vendor_front.h. The fakes' flags are documented at the top of
// tests/fakes/harbor.cc and tests/fakes/dockerhub.cc.
#include "bench/vendor_front.h"

// Debian builds libcpp-httplib with these three; the header's class layouts depend on
// them, so they must match (as in bench/datasets.cc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "bench/bench_error.h"

namespace crossdock::bench {
namespace {

httplib::Client Client(const VendorFront& front) {
  httplib::Client cli(front.url());
  cli.set_connection_timeout(10);
  cli.set_read_timeout(30);
  return cli;
}

}  // namespace

std::string EndpointType(Vendor vendor) {
  return vendor == Vendor::kHarbor ? "harbor" : "docker-hub";
}

VendorFront::VendorFront(Vendor vendor, const BenchRegistry& upstream, const std::string& dir)
    : vendor_(vendor) {
  if (upstream.tls() || !upstream.options().username.empty()) {
    throw BenchError("a vendor fake needs a plain registry without auth in front of it");
  }
  std::string name;
  std::vector<std::string> args;
  if (vendor == Vendor::kHarbor) {
    name = "harbor";
    username_ = "admin";
    password_ = "Harbor12345";
    args = {"--admin", username_, "--project", "bench"};
  } else {
    name = "dockerhub";
    username_ = "alice";
    password_ = "dckr_pat_alice";
    args = {"--org", "bench:" + username_};
  }
  args.insert(args.end(), {"--user", username_ + ":" + password_, "--upstream", upstream.url(),
                           "--storage", upstream.storage_dir()});
  try {
    fake_ = std::make_unique<testing::FakeProcess>(name, args, dir + "/" + name + ".log");
  } catch (const testing::HarnessError& e) {
    throw BenchError(std::string("cannot start the ") + name + " fake: " + e.what());
  }
}

testing::FakeStats VendorFront::Stats() const {
  httplib::Client cli = Client(*this);
  httplib::Result r = cli.Get("/fake/stats");
  if (!r || r->status != 200) throw BenchError("GET " + url() + "/fake/stats failed");
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) throw BenchError("GET " + url() + "/fake/stats: not JSON");
  testing::FakeStats stats;
  stats.requests = j.value("requests", 0);
  stats.api = j.value("api", 0);
  stats.v2 = j.value("v2", 0);
  stats.token = j.value("token", 0);
  stats.by_path = j.value("by_path", std::map<std::string, int>{});
  stats.paths = j.value("paths", std::vector<std::string>{});
  return stats;
}

void VendorFront::ResetStats() const {
  httplib::Client cli = Client(*this);
  httplib::Result r = cli.Post("/fake/reset-stats", "", "application/json");
  if (!r || r->status != 200) throw BenchError("POST " + url() + "/fake/reset-stats failed");
}

void VendorFront::WarmListing(const std::string& repository) const {
  const size_t slash = repository.find('/');
  if (slash == std::string::npos) {
    throw BenchError("a vendor repository needs a namespace: " + repository);
  }
  const std::string ns = repository.substr(0, slash), rest = repository.substr(slash + 1);
  std::string path;
  if (vendor_ == Vendor::kHarbor) {
    // The repository below its project, escaped twice (tests/fakes/harbor.cc).
    path = "/api/v2.0/projects/" + ns + "/repositories/" +
           testing::HarborFake::EncodeRepository(rest) + "/artifacts?page=1&page_size=100";
  } else {
    path = "/v2/namespaces/" + ns + "/repositories/" + rest + "/tags?page_size=100";
  }
  httplib::Client cli = Client(*this);
  // Harbor's API takes Basic credentials; the Hub's only a token: anonymous, a public listing.
  if (vendor_ == Vendor::kHarbor) cli.set_basic_auth(username_, password_);
  httplib::Result r = cli.Get(path);
  if (!r || r->status != 200) {
    throw BenchError("GET " + url() + path + " answered " +
                     (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
  }
}

double VendorFront::CpuSeconds() const { return ProcessCpuSeconds(fake_->process().pid()); }

}  // namespace crossdock::bench
