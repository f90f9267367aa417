// The bench's runs: for each data set, crossdock and skopeo alternating on the same
// work, each run into a fresh destination registry, measured and checked; plus the
// plan timings against a curl floor, the immutable_tags request counts, and the no-op
// plan through a vendor's API (Harbor, Docker Hub fakes) against the same by HEADs.
// Results are plain data for bench/report.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/counting_proxy.h"
#include "bench/scale.h"

namespace crossdock::bench {

// One measured run of one tool.
struct Measurement {
  double wall_s = 0;
  double tool_cpu_s = 0;      // user + system of the tool (wait4)
  double registry_cpu_s = 0;  // user + system of both registries during the run
  double fake_cpu_s = 0;      // vendor-noop via the API: user + system of both vendor fakes
  std::int64_t max_rss_bytes = 0;
  Traffic src{}, dst{};
};

// A data set's runs, by tool ("crossdock", "skopeo"), in the order they ran.
struct DatasetResult {
  std::string name;   // "fleet", "no-op", "big", "many-tags", "many-tags no-op", "fleet-tls"
  std::string title;  // one line: what was copied, into what
  std::int64_t unique_blob_bytes = 0;
  int tags = 0;
  std::map<std::string, std::vector<Measurement>> runs;
};

// crossdock plan over one repository of `tags` tags, destination converged.
struct PlanResult {
  int tags = 0;
  std::vector<double> crossdock_s, floor_s;
  std::string plan_summary;  // the plan's last line
  Traffic crossdock_src{}, crossdock_dst{};  // of the last plan
  std::int64_t floor_requests = 0;
};

// No-op fleet runs of crossdock with and without immutable_tags = ["*"].
struct ImmutableResult {
  std::vector<Measurement> without, with;
};

// crossdock plan over one repository of `tags` artifacts, destination converged, with
// both endpoints of a vendor type (listing with digests through the vendor's API, here a
// fake of tests/fakes/) and with both as docker-registry endpoints (a HEAD per tag).
struct VendorNoopResult {
  std::string vendor;  // the endpoint type: "harbor", "docker-hub"
  int tags = 0;
  // `api`: src/dst requests are what each vendor fake was sent, by_kind its categories
  // ("vendor API", "registry /v2/", "token service"); no bytes or connections. `heads`:
  // the counting proxies' figures.
  std::vector<Measurement> api, heads;
  std::string api_summary, heads_summary;  // each path's plan's last line
  std::vector<std::string> src_paths, dst_paths;  // "METHOD /path?query" of the last API run
  // Listing pages (Harbor's artifacts, Docker Hub's tags) the last API run read at each
  // side, and how many a full listing takes (100 items a page, the vendors' largest).
  int src_pages = 0, dst_pages = 0, pages_needed = 0;
};

struct Results {
  int reps = 0;
  std::vector<DatasetResult> datasets;
  std::vector<PlanResult> plans;
  std::optional<ImmutableResult> immutable;
  std::vector<VendorNoopResult> vendor_noop;
  std::optional<ScaleResult> scale;
};

struct BenchOptions {
  std::string crossdock;  // the binary under test
  std::string cache_dir, work_dir;
  int reps = 3;
  // Any of: fleet, no-op, big, many-tags, plan, fleet-tls, immutable, vendor-noop, scale.
  std::vector<std::string> parts;
  bool quick = false;  // many-tags on 1k tags, plan at 1k and 5k only
  std::string bench;   // crossdock_bench itself (scale runs it with --state-io)
  int scale_max = 100000;  // scale: the largest plan (10k, 100k or 1M tags)
};

// Every part of the issue, in this order; the default selection.
const std::vector<std::string>& AllParts();

// Runs the selected parts. Progress goes to stderr. Throws BenchError on anything
// that keeps a figure from being measured: a registry that does not start, a tool
// that fails, a copy whose digests differ.
Results RunBench(const BenchOptions& options);

}  // namespace crossdock::bench
