// The scale part of the bench (issue #15, "a 1M-tag fleet, measured"): `crossdock
// plan` against a synthetic source and a converged synthetic destination
// (bench/synthetic_registry.h) at 10k, 100k and, when asked, 1M tags; the state file's
// load and save at 1M artifacts (a helper mode of crossdock_bench itself, run under
// GNU time); and, when crossdock has `--shard`, the HEADs each of 4 shards sends.
// Used by bench/scenarios.cc; printed by bench/report.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crossdock::bench {

// Tags per repository in the scale data: N tags are N/100 repositories.
inline constexpr int kScaleTagsPerRepository = 100;

struct ScaleRun {
  double wall_s = 0, tool_cpu_s = 0, registries_cpu_s = 0;
  std::int64_t max_rss_bytes = 0;
  std::int64_t src_requests = 0, dst_requests = 0;
  std::map<std::string, std::int64_t> src_by_kind, dst_by_kind;  // SyntheticRegistry::Counts
};

struct ScaleSize {
  int tags = 0, repositories = 0;
  std::vector<ScaleRun> runs;
  std::string plan_summary;  // the last run's last line
};

// One state file of `artifacts` records: saved new, loaded, saved again (as a plan or
// apply after it would), by one crossdock_bench --state-io process.
struct StateFileRun {
  int artifacts = 0;
  std::int64_t file_bytes = 0;
  double save_s = 0, load_s = 0, save_loaded_s = 0;
  double cpu_s = 0;  // the whole helper process, building the state included
  std::int64_t max_rss_bytes = 0;
};

struct ShardRun {
  bool supported = false;  // crossdock plan --help lists --shard
  int tags = 0, count = 4;
  std::int64_t unsharded_heads = 0;  // manifest HEADs, source + destination
  std::vector<std::int64_t> heads;   // per shard I = 0..count-1
  std::vector<std::string> summaries;
};

struct ScaleResult {
  std::vector<ScaleSize> sizes;
  std::vector<StateFileRun> state_file;  // one per rep
  ShardRun shards;
};

struct ScaleOptions {
  std::string crossdock;  // the binary under test
  std::string bench;      // crossdock_bench itself, for --state-io
  std::string work_dir;   // scratch (created)
  int reps = 3;
  int max_tags = 100000;  // the largest plan: 10k, 100k or 1M
  int state_artifacts = 1000000;
};

// Runs the scale part; progress on stderr. Throws BenchError when a plan fails or is
// not a no-op.
ScaleResult RunScale(const ScaleOptions& options);

// crossdock_bench --state-io N DIR: builds a state of N artifacts named like the
// synthetic registry's tags, saves it to DIR/state.json, loads it, saves it again, and
// prints {"artifacts", "file_bytes", "save_s", "load_s", "save_loaded_s"} as one JSON
// line. Returns the exit code.
int StateIoMain(int artifacts, const std::string& dir);

}  // namespace crossdock::bench
