// Implementation of bench/scale_postgres.h.
#include "bench/scale_postgres.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "bench/bench_error.h"
#include "bench/scale.h"
#include "bench/tools.h"
#include "state/backend.h"
#include "tests/support/postgres.h"

namespace crossdock::bench {
namespace {

constexpr int kWarmupChanges = 10;
constexpr int kHelperTimeoutS = 1800;

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string DatabaseFor(int artifacts) { return "scale_" + std::to_string(artifacts); }

// One state the helper holds: the backend with its lock, and the state as recorded.
struct Held {
  std::unique_ptr<state::Backend> backend;
  std::unique_ptr<state::BackendLock> lock;
  state::State state;
  double replace_s = 0, read_s = 0;
  std::vector<double> change_ms;
};

int Fail(const std::string& what, const core::Status& st) {
  std::cerr << "crossdock_bench --pg-changes: " << what << ": " << st.message() << "\n";
  return 1;
}

}  // namespace

int PostgresChangesMain(int argc, char** argv) {
  // argv: crossdock_bench --pg-changes CHANGES N1 URL1 [N2 URL2 ...]
  if (argc < 5 || (argc - 3) % 2 != 0) {
    std::cerr << "usage: crossdock_bench --pg-changes CHANGES N1 URL1 [N2 URL2 ...]\n";
    return 1;
  }
  const int changes = std::atoi(argv[2]);
  std::vector<Held> held;
  for (int a = 3; a + 1 < argc; a += 2) {
    Held h;
    const int artifacts = std::atoi(argv[a]);
    auto backend = state::OpenBackend(argv[a + 1]);
    if (!backend.ok()) return Fail("open", backend.status());
    h.backend = std::move(*backend);
    auto lock = h.backend->LockScope(state::kWholeStateScope, 60);
    if (!lock.ok()) return Fail("lock", lock.status());
    h.lock = std::move(*lock);
    h.state = ScaleState(artifacts);
    auto start = std::chrono::steady_clock::now();
    if (core::Status st = h.backend->Replace(h.state); !st.ok()) return Fail("replace", st);
    h.replace_s = Since(start);
    start = std::chrono::steady_clock::now();
    {
      auto read = h.backend->Read();
      if (!read.ok()) return Fail("read", read.status());
      h.read_s = Since(start);
      if (read->artifacts.size() != h.state.artifacts.size()) {
        std::cerr << "crossdock_bench --pg-changes: read back " << read->artifacts.size()
                  << " artifacts of " << artifacts << "\n";
        return 1;
      }
      h.state.serial = read->serial;
    }
    std::cerr << "pg-changes: " << artifacts << " artifacts: replace " << h.replace_s << " s, read "
              << h.read_s << " s\n";
    held.push_back(std::move(h));
  }
  // The same sequence of changes in every run; each picks an artifact anywhere in the
  // state, as an apply's changes fall anywhere in a fleet.
  std::mt19937_64 random(15);
  char digest[80];
  for (int round = 0; round < kWarmupChanges + changes; ++round) {
    // Each state goes first in as many rounds as it goes last.
    for (size_t k = 0; k < held.size(); ++k) {
      Held& h = held[round % 2 == 0 ? k : held.size() - 1 - k];
      std::uniform_int_distribution<std::size_t> pick(0, h.state.artifacts.size() - 1);
      state::Artifact changed = h.state.artifacts[pick(random)];
      std::snprintf(digest, sizeof digest, "sha256:%064x", 0x10000000 + round);
      changed.source_digest = changed.destination_digest = digest;
      changed.replicated_at = "2024-05-02T12:00:00Z";
      const auto start = std::chrono::steady_clock::now();
      h.state.Upsert(changed);
      if (core::Status st = h.backend->Persist(&h.state); !st.ok()) return Fail("persist", st);
      h.state.journal.Clear();
      if (round >= kWarmupChanges) h.change_ms.push_back(Since(start) * 1e3);
    }
  }
  nlohmann::json states = nlohmann::json::array();
  for (const Held& h : held) {
    states.push_back({{"artifacts", h.state.artifacts.size()},
                      {"replace_s", h.replace_s},
                      {"read_s", h.read_s},
                      {"change_ms", h.change_ms}});
  }
  std::cout << nlohmann::json{{"warmup", kWarmupChanges}, {"states", states}}.dump() << std::endl;
  return 0;
}

PostgresResult RunPostgresChanges(const std::string& bench, const std::string& work_dir,
                                  const std::vector<int>& sizes, int changes) {
  std::filesystem::create_directories(work_dir);
  PostgresResult result;
  try {
    testing::PostgresServer pg;
    std::vector<std::string> argv = {bench, "--pg-changes", std::to_string(changes)};
    for (int n : sizes) {
      pg.Sql("CREATE DATABASE " + DatabaseFor(n) + " OWNER " + pg.options().user, "postgres");
      argv.push_back(std::to_string(n));
      argv.push_back(pg.UrlFor(pg.options().user, DatabaseFor(n)));
    }
    const std::string log = work_dir + "/pg-changes.log", err = work_dir + "/pg-changes.err";
    ToolRun run = RunTool(argv, pg.env(), work_dir, log, kHelperTimeoutS, err);
    if (run.exit_code != 0) {
      throw BenchError("crossdock_bench --pg-changes exited " + std::to_string(run.exit_code) +
                       "\n  last lines of " + err + ":\n" + Tail(err) + "\n  the server's log:\n" +
                       pg.log());
    }
    nlohmann::json j = nlohmann::json::parse(LastLine(log), nullptr, false);
    if (j.is_discarded() || !j.contains("states") || j["states"].size() != sizes.size())
      throw BenchError("crossdock_bench --pg-changes printed no figures; see " + log);
    result.warmup_changes = j.value("warmup", 0);
    result.helper_cpu_s = run.cpu_s;
    result.helper_max_rss_bytes = run.max_rss_bytes;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const nlohmann::json& s = j["states"][i];
      PostgresStateRun r;
      r.artifacts = s.value("artifacts", 0);
      r.replace_s = s.value("replace_s", 0.0);
      r.read_s = s.value("read_s", 0.0);
      r.change_ms = s.value("change_ms", std::vector<double>{});
      r.table_bytes = std::stoll(
          pg.Sql("SELECT pg_total_relation_size('crossdock_artifacts')", DatabaseFor(sizes[i])));
      std::cerr << "bench: PostgreSQL state of " << r.artifacts << " artifacts: replace "
                << r.replace_s << " s, read " << r.read_s << " s, " << r.table_bytes / (1024 * 1024)
                << " MiB\n";
      result.states.push_back(std::move(r));
    }
  } catch (const testing::HarnessError& e) {
    throw BenchError(std::string("the PostgreSQL part: ") + e.what());
  }
  return result;
}

}  // namespace crossdock::bench
