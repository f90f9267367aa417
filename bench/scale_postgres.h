// The PostgreSQL part of the scale bench (issue #15: "recording one change costs O(1),
// not a rewrite"): a real PostgreSQL 15 server (tests/support/postgres.h) holding one
// state of 10,000 and one of 1,000,000 artifacts, each in a database of its own, and a
// helper process of crossdock_bench (--pg-changes) that loads both through crossdock's
// own state::PostgresBackend and records single changes into them, alternating. Run by
// bench/scale.cc; printed by bench/report.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crossdock::bench {

// One state in the database: its bulk load, a whole read, and single recorded changes.
struct PostgresStateRun {
  int artifacts = 0;
  double replace_s = 0;           // Backend::Replace, what `crossdock state migrate` does
  double read_s = 0;              // Backend::Read of the whole state, what every run does at start
  std::vector<double> change_ms;  // per recorded change: State::Upsert + Backend::Persist
  std::int64_t table_bytes = 0;   // pg_total_relation_size('crossdock_artifacts')
};

struct PostgresResult {
  std::vector<PostgresStateRun> states;  // 10k, then 1M
  int warmup_changes = 0;                // per state, recorded before the timed ones
  double helper_cpu_s = 0;
  std::int64_t helper_max_rss_bytes = 0;
};

// Starts a PostgreSQL server, runs the helper under GNU time in WORK_DIR (created), and
// measures each database's size. Throws BenchError when anything fails.
PostgresResult RunPostgresChanges(const std::string& bench, const std::string& work_dir,
                                  const std::vector<int>& sizes, int changes);

// crossdock_bench --pg-changes CHANGES N1 URL1 [N2 URL2 ...]: for each (N, URL), a
// ScaleState(N) stored with Replace and read back whole; then CHANGES rounds, each
// recording one changed artifact (a new digest, a random one of the N) into every
// state in turn, so that drift on a shared machine hits the sizes alike. PGPASSWORD
// comes from the environment. Prints one JSON line; returns the exit code.
int PostgresChangesMain(int argc, char** argv);

}  // namespace crossdock::bench
