// The scale part of the bench (issue #15, "a 1M-tag fleet, measured"): `crossdock
// plan` against a synthetic source and a converged synthetic destination
// (bench/synthetic_registry.h) at 10k, 100k and, when asked, 1M tags; the state file's
// load and save at 1M artifacts (a helper mode of crossdock_bench itself, run under
// GNU time); when crossdock has `--shard`, every shard of 4 and of 16 at the largest
// size; and the PostgreSQL backend's cost per recorded change (bench/scale_postgres.h).
// Used by bench/scenarios.cc; printed by bench/report.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/scale_postgres.h"
#include "state/state.h"

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

// Every shard of one count, `crossdock plan --shard I/COUNT` for I = 0..COUNT-1, one
// process at a time (fresh state each), at the largest size.
struct ShardSet {
  int count = 0;
  std::vector<ScaleRun> runs;  // per shard I
  std::vector<std::string> summaries;
};

struct ShardRun {
  bool supported = false;  // crossdock plan --help lists --shard
  std::string type;        // both endpoints': "" docker-registry, or "harbor"
  int tags = 0;
  ScaleRun unsharded;          // the unsharded plan's last run at that size: one shard
  std::vector<ShardSet> sets;  // 4 and 16 shards
};

struct ScaleResult {
  std::vector<ScaleSize> sizes;         // docker-registry endpoints: tags lists, HEADs
  std::vector<ScaleSize> harbor_sizes;  // "harbor" endpoints: listings with digests
  // At the largest size, with a state recording every tag (one run each): the plain
  // plan, the plan through Harbor's API, and shard 0 of 16 of the plain plan.
  std::optional<ScaleSize> full_state, full_state_harbor, full_state_shard;
  std::vector<StateFileRun> state_file;  // one per rep
  ShardRun shards;         // plain registries
  ShardRun harbor_shards;  // through Harbor's API
  std::optional<PostgresResult> postgres;  // states of 10k and 1M artifacts
};

struct ScaleOptions {
  std::string crossdock;  // the binary under test
  std::string bench;      // crossdock_bench itself, for --state-io
  std::string work_dir;   // scratch (created)
  int reps = 3;
  int max_tags = 100000;  // the largest plan: 10k, 100k or 1M
  int state_artifacts = 1000000;
  int postgres_changes = 200;  // recorded changes timed per PostgreSQL state
};

// Runs the scale part; progress on stderr. Throws BenchError when a plan fails or is
// not a no-op.
ScaleResult RunScale(const ScaleOptions& options);

// A state of ARTIFACTS artifacts named like the synthetic registry's tags (rule
// "bench", endpoints "src" and "dst", the same repository at both), its journal empty;
// artifact K's digest is K, or with REAL_DIGESTS its synthetic manifest's, so that the
// state records what a plan of the scale data observes.
state::State ScaleState(int artifacts, bool real_digests = false);

// crossdock_bench --state-io N DIR: builds a state of N artifacts named like the
// synthetic registry's tags, saves it to DIR/state.json, loads it, saves it again, and
// prints {"artifacts", "file_bytes", "save_s", "load_s", "save_loaded_s"} as one JSON
// line. Returns the exit code.
int StateIoMain(int artifacts, const std::string& dir);

}  // namespace crossdock::bench
