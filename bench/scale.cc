// Implementation of bench/scale.h.
#include "bench/scale.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_error.h"
#include "bench/synthetic_registry.h"
#include "bench/tools.h"
#include "state/store.h"
#include "tests/support/harness.h"

namespace crossdock::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kToolTimeoutS = 1800;
constexpr const char* kNoChanges = "No changes. Destinations match the desired state.";

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

class ScaleRunner {
 public:
  explicit ScaleRunner(ScaleOptions o) : o_(std::move(o)) {}

  ScaleResult Run() {
    fs::create_directories(o_.work_dir);
    std::vector<int> sizes = {10000, 100000, 1000000};
    for (int n : sizes) {
      if (n > o_.max_tags) break;
      result_.sizes.push_back(Plans(n, false));
      result_.harbor_sizes.push_back(Plans(n, true));
    }
    if (!result_.sizes.empty()) FullState(result_.sizes.back().tags);
    Shards();
    for (int rep = 0; rep < o_.reps; ++rep) result_.state_file.push_back(StateFile(rep));
    result_.postgres = RunPostgresChanges(o_.bench, NewDir("postgres"),
                                          {10000, o_.state_artifacts}, o_.postgres_changes);
    return result_;
  }

 private:
  std::string NewDir(const std::string& what) {
    std::string dir = o_.work_dir + "/" + std::to_string(++dirs_) + "-" + what;
    fs::create_directories(dir);
    return dir;
  }

  static SyntheticRegistry::Options Data(int tags, bool harbor = false) {
    SyntheticRegistry::Options so;
    so.harbor = harbor;
    so.repositories = tags / kScaleTagsPerRepository;
    so.tags = kScaleTagsPerRepository;
    return so;
  }

  // One `crossdock plan` (with EXTRA arguments) of every repository of SRC into DST,
  // both endpoints of TYPE ("" docker-registry; "harbor" through Harbor's API at the
  // same origin), with a fresh state; throws unless it exits 0 and, when NO_OP, ends
  // with kNoChanges (a shard's plan may word its last line otherwise: it is only shown).
  ScaleRun Plan(SyntheticRegistry& src, SyntheticRegistry& dst, const std::string& label,
                const std::vector<std::string>& extra, bool no_op, std::string* summary,
                const std::string& type = "", const std::string& state_from = "") {
    const std::string dir = NewDir("scale");
    if (!state_from.empty()) fs::copy_file(state_from, dir + "/state.json");
    Target s, d;
    s.host = src.host();
    d.host = dst.host();
    if (!type.empty()) {
      s.type = d.type = type;
      s.api_url = s.url();
      d.api_url = d.url();
    }
    CopySpec spec;
    spec.all_repositories = true;
    testing::WriteFile(dir + "/crossdock.toml", CrossdockConfig(s, d, spec));
    std::vector<std::string> argv = {
        o_.crossdock,       "plan", "--no-color", "-c", dir + "/crossdock.toml", "--state",
        dir + "/state.json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    src.Reset();
    dst.Reset();
    const double cpu_before = ProcessCpuSeconds();
    const std::string log = dir + "/crossdock.log";
    ToolRun run = RunTool(argv, {}, dir, log, kToolTimeoutS);
    ScaleRun r;
    r.registries_cpu_s = ProcessCpuSeconds() - cpu_before;
    r.wall_s = run.wall_s;
    r.tool_cpu_s = run.cpu_s;
    r.max_rss_bytes = run.max_rss_bytes;
    r.src_by_kind = src.Counts();
    r.dst_by_kind = dst.Counts();
    r.src_requests = src.Requests();
    r.dst_requests = dst.Requests();
    std::string cmd;
    for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    if (run.exit_code != 0) {
      throw BenchError(label + ": crossdock " +
                       (run.timed_out ? "timed out after " + std::to_string(kToolTimeoutS) + " s"
                                      : "exited " + std::to_string(run.exit_code)) +
                       "\n  command: " + cmd + "\n  last lines of " + log + ":\n" + Tail(log));
    }
    *summary = LastLine(log);
    if (no_op && *summary != kNoChanges) {
      throw BenchError(label + ": the plan is not a no-op; its last line is \"" + *summary +
                       "\", expected \"" + kNoChanges + "\"\n  command: " + cmd +
                       "\n  last lines of " + log + ":\n" + Tail(log));
    }
    std::cerr << "bench: " << label << ": " << run.wall_s << " s, "
              << r.src_requests + r.dst_requests << " requests, peak RSS "
              << run.max_rss_bytes / (1024 * 1024) << " MiB\n";
    return r;
  }

  // The plans at TAGS tags; with HARBOR both endpoints are "harbor" (listings with
  // digests).
  ScaleSize Plans(int tags, bool harbor) {
    ScaleSize size;
    size.tags = tags;
    size.repositories = tags / kScaleTagsPerRepository;
    SyntheticRegistry src(Data(tags, harbor)), dst(Data(tags, harbor));
    for (int rep = 0; rep < o_.reps; ++rep) {
      const std::string label = std::string("scale plan ") + (harbor ? "harbor " : "") +
                                std::to_string(tags) + " tags " + std::to_string(rep + 1) + "/" +
                                std::to_string(o_.reps);
      size.runs.push_back(
          Plan(src, dst, label, {}, true, &size.plan_summary, harbor ? "harbor" : ""));
    }
    return size;
  }

  // The plans at TAGS with a state file recording every tag, as every plan after the
  // first would have: plain, through Harbor's API, and the plain plan's shard 0/16 (a
  // shard reads the whole state too).
  void FullState(int tags) {
    const std::string dir = NewDir("full-state"), state = dir + "/state.json";
    {
      state::State s = ScaleState(tags, true);
      if (core::Status st = state::WriteState(state, &s); !st.ok())
        throw BenchError("cannot write the state of " + std::to_string(tags) + " artifacts: " +
                         st.message());
    }
    auto run = [&](bool harbor, const std::vector<std::string>& extra) {
      ScaleSize size;
      size.tags = tags;
      size.repositories = tags / kScaleTagsPerRepository;
      SyntheticRegistry src(Data(tags, harbor)), dst(Data(tags, harbor));
      std::string label = std::string("scale plan ") + (harbor ? "harbor " : "") +
                          std::to_string(tags) + " tags, a state of every tag";
      for (const std::string& e : extra) label += " " + e;
      size.runs.push_back(Plan(src, dst, label, extra, extra.empty(), &size.plan_summary,
                               harbor ? "harbor" : "", state));
      return size;
    };
    result_.full_state = run(false, {});
    result_.full_state_harbor = run(true, {});
    result_.full_state_shard = run(false, {"--shard", "0/16"});
    fs::remove_all(dir);
  }

  // At the largest size, every shard of 4 and of 16, with plain endpoints and through
  // Harbor's API; the unsharded plan stands for one.
  void Shards() {
    testing::RunResult help = testing::RunCommand({o_.crossdock, "plan", "--help"}, {}, "", 60);
    const bool supported = (help.out + help.err).find("--shard") != std::string::npos;
    result_.shards.supported = result_.harbor_shards.supported = supported;
    if (!supported || result_.sizes.empty() || result_.harbor_sizes.empty()) return;
    ShardsOf(result_.sizes.back(), "", &result_.shards);
    ShardsOf(result_.harbor_sizes.back(), "harbor", &result_.harbor_shards);
  }

  void ShardsOf(const ScaleSize& size, const std::string& type, ShardRun* s) {
    s->type = type;
    s->tags = size.tags;
    s->unsharded = size.runs.back();
    SyntheticRegistry src(Data(s->tags, !type.empty())), dst(Data(s->tags, !type.empty()));
    for (int count : {4, 16}) {
      ShardSet set;
      set.count = count;
      for (int i = 0; i < count; ++i) {
        const std::string shard = std::to_string(i) + "/" + std::to_string(count);
        std::string summary;
        set.runs.push_back(Plan(src, dst,
                                "scale plan " + (type.empty() ? "" : type + " ") +
                                    std::to_string(s->tags) + " tags --shard " + shard,
                                {"--shard", shard}, false, &summary, type));
        set.summaries.push_back(summary);
      }
      s->sets.push_back(std::move(set));
    }
  }

  StateFileRun StateFile(int rep) {
    const std::string dir = NewDir("state-io");
    const std::string log = dir + "/state-io.log";
    ToolRun run = RunTool({o_.bench, "--state-io", std::to_string(o_.state_artifacts), dir}, {},
                          dir, log, kToolTimeoutS, dir + "/state-io.err");
    if (run.exit_code != 0) {
      throw BenchError("state file " + std::to_string(rep + 1) +
                       ": crossdock_bench --state-io exited " + std::to_string(run.exit_code) +
                       "\n  last lines of " + dir + "/state-io.err:\n" +
                       Tail(dir + "/state-io.err"));
    }
    nlohmann::json j = nlohmann::json::parse(LastLine(log), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("load_s"))
      throw BenchError("crossdock_bench --state-io printed no figures; see " + log);
    StateFileRun r;
    r.artifacts = j.value("artifacts", 0);
    r.file_bytes = j.value("file_bytes", std::int64_t{0});
    r.save_s = j.value("save_s", 0.0);
    r.load_s = j.value("load_s", 0.0);
    r.save_loaded_s = j.value("save_loaded_s", 0.0);
    r.cpu_s = run.cpu_s;
    r.max_rss_bytes = run.max_rss_bytes;
    std::cerr << "bench: state file " << r.artifacts << " artifacts " << rep + 1 << "/" << o_.reps
              << ": save " << r.save_s << " s, load " << r.load_s << " s, save after load "
              << r.save_loaded_s << " s\n";
    fs::remove_all(dir);
    return r;
  }

  ScaleOptions o_;
  ScaleResult result_;
  int dirs_ = 0;
};

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ScaleResult RunScale(const ScaleOptions& options) { return ScaleRunner(options).Run(); }

state::State ScaleState(int artifacts, bool real_digests) {
  state::State s;
  s.lineage = "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8";
  s.artifacts.reserve(static_cast<size_t>(artifacts));
  char digest[80];
  for (int k = 0; k < artifacts; ++k) {
    const std::string repo = SyntheticRegistry::RepositoryName(k / kScaleTagsPerRepository);
    std::snprintf(digest, sizeof digest, "sha256:%064x", k);
    if (real_digests) {
      const std::string d = testing::Sha256Digest(SyntheticRegistry::Manifest(
          k / kScaleTagsPerRepository, k % kScaleTagsPerRepository));
      std::snprintf(digest, sizeof digest, "%s", d.c_str());
    }
    s.artifacts.push_back({"bench", "src", repo, digest, "dst", repo,
                           SyntheticRegistry::TagName(k % kScaleTagsPerRepository), digest,
                           "2024-05-01T12:00:00Z"});
  }
  return s;
}

int StateIoMain(int artifacts, const std::string& dir) {
  state::State s = ScaleState(artifacts);
  const std::string path = dir + "/state.json";
  auto start = std::chrono::steady_clock::now();
  if (core::Status st = state::WriteState(path, &s); !st.ok()) {
    std::cerr << "crossdock_bench --state-io: " << st.message() << "\n";
    return 1;
  }
  const double save_s = Since(start);
  s = state::State();  // what a new process would hold: nothing
  start = std::chrono::steady_clock::now();
  auto loaded = state::ReadState(path);
  const double load_s = Since(start);
  if (!loaded.ok() || static_cast<int>(loaded->artifacts.size()) != artifacts) {
    std::cerr << "crossdock_bench --state-io: "
              << (loaded.ok()
                      ? "read back " + std::to_string(loaded->artifacts.size()) + " artifacts"
                      : loaded.status().message())
              << "\n";
    return 1;
  }
  start = std::chrono::steady_clock::now();
  if (core::Status st = state::WriteState(path, &*loaded); !st.ok()) {
    std::cerr << "crossdock_bench --state-io: " << st.message() << "\n";
    return 1;
  }
  const double save_loaded_s = Since(start);
  std::cout << nlohmann::json{{"artifacts", artifacts},
                              {"file_bytes", static_cast<std::int64_t>(fs::file_size(path))},
                              {"save_s", save_s},
                              {"load_s", load_s},
                              {"save_loaded_s", save_loaded_s}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace crossdock::bench
