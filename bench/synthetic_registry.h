// A registry of generated data on loopback, for the scale part of the bench (issue
// #15): R repositories of T tags each, every tag a small manifest made up on request
// (nothing is stored), so that crossdock's plan can be measured at a million tags on
// one machine. It answers what a plan asks of a distribution registry: GET /v2/, the
// catalog and tag lists (paginated with n and last, and a Link header, as distribution
// does), and manifest HEAD and GET by tag; and it counts the requests by kind. With
// Options::harbor it also answers, anonymously, the Harbor API v2.0 calls crossdock's
// Harbor provider makes to plan (providers/harbor/harbor.cc): a registry whose listing
// returns digests. Used by bench/scale.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace crossdock::bench {

class SyntheticRegistry {
 public:
  struct Options {
    int repositories = 100;  // scale/service-00000 … (at most 100,000)
    int tags = 100;          // per repository: v1.0.000 … (at most 1,000)
    int threads = 32;        // connections served at once
    // Also Harbor's API, one public project "scale" (the shapes of tests/fakes/harbor.cc,
    // after goharbor's api/v2.0/swagger.yaml): GET /api/version; /api/v2.0/projects and
    // /api/v2.0/projects/scale; its repositories; each repository's artifacts, one per
    // tag, with tags and digests. Paged with page and page_size (default 10, at most
    // 100), X-Total-Count and a Link to the next page.
    bool harbor = false;
  };

  // Repository I's name and tag J's name (their listings are sorted the same way).
  static std::string RepositoryName(int i);
  static std::string TagName(int j);
  // The manifest of repository I, tag J: an OCI image manifest of about 500 bytes,
  // distinct per tag and the same in every SyntheticRegistry, so a second one serves a
  // converged destination.
  static std::string Manifest(int i, int j);

  // Starts serving on 127.0.0.1 (a free port). Throws BenchError when it cannot.
  explicit SyntheticRegistry(const Options& options);
  ~SyntheticRegistry();
  SyntheticRegistry(const SyntheticRegistry&) = delete;
  SyntheticRegistry& operator=(const SyntheticRegistry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::int64_t tags() const {
    return static_cast<std::int64_t>(options_.repositories) * options_.tags;
  }

  // Requests answered since the last Reset, by kind: "GET ping", "GET catalog", "GET
  // tags", "HEAD manifest", "GET manifest", "GET referrers 404" (there is no referrers
  // API, as in distribution 2.8), with Options::harbor "GET api version", "GET api
  // projects" (the list and the project), "GET api repositories", "GET api artifacts";
  // and "other" (anything else, 404s included).
  std::map<std::string, std::int64_t> Counts() const;
  std::int64_t Requests() const;
  void Reset();

 private:
  enum Kind {
    kPing,
    kCatalog,
    kTags,
    kHeadManifest,
    kGetManifest,
    kReferrers,
    kApiVersion,
    kApiProjects,
    kApiRepositories,
    kApiArtifacts,
    kOther,
    kKinds
  };
  struct Handler;

  Options options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<std::int64_t> counts_[kKinds] = {};
};

}  // namespace crossdock::bench
