// Implementation of bench/scenarios.h. Every tool run goes through counting proxies in
// front of both registries (vendor-noop's runs on a vendor's API go through vendor fakes
// instead, which count themselves); the source registry serves the cached data set
// read-only for a whole part, the destination is new and empty for every run (for plan
// and vendor-noop, which need it converged and only read, it serves the cache too).
#include "bench/scenarios.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "bench/bench_error.h"
#include "bench/datasets.h"
#include "bench/registry.h"
#include "bench/tools.h"
#include "bench/vendor_front.h"
#include "tests/support/harness.h"

namespace crossdock::bench {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUser = "bench";
constexpr const char* kPassword = "bench-secret";
constexpr int kToolTimeoutS = 1800;
constexpr const char* kNoChanges = "No changes. Destinations match the desired state.";

// A registry and the counting proxy in front of it.
struct Endpoint {
  std::unique_ptr<BenchRegistry> registry;
  std::unique_ptr<CountingProxy> proxy;
  Target via_proxy, direct;
};

// Every n-th image of `all` plus the last one: enough to catch a wrong copy
// without HEADing thousands of tags.
std::vector<TaggedImage> Sample(const std::vector<TaggedImage>& all, size_t n) {
  std::vector<TaggedImage> out;
  for (size_t i = 0; i < all.size(); i += n) out.push_back(all[i]);
  if (!all.empty() && (all.size() - 1) % n != 0) out.push_back(all.back());
  return out;
}

// A vendor fake's count as a run's Traffic: requests, and by_kind its categories.
Traffic FakeTraffic(const testing::FakeStats& stats) {
  Traffic t;
  t.requests = stats.requests;
  if (stats.api > 0) t.by_kind["vendor API"] = stats.api;
  if (stats.v2 > 0) t.by_kind["registry /v2/"] = stats.v2;
  if (stats.token > 0) t.by_kind["token service"] = stats.token;
  if (int other = stats.requests - stats.api - stats.v2 - stats.token; other > 0) {
    t.by_kind["other"] = other;
  }
  return t;
}

// The listing pages among a vendor fake's request lines: Harbor's artifacts and Docker
// Hub's tags lists (.../artifacts?…, .../tags?… or .../tags/?…), not the registry's
// /v2/…/tags/list.
int ListingPages(const std::vector<std::string>& paths) {
  int pages = 0;
  for (const std::string& line : paths) {
    std::string path = line.substr(line.find(' ') + 1);
    path = path.substr(0, path.find('?'));
    if (!path.empty() && path.back() == '/') path.pop_back();
    const bool artifacts =
        path.size() > 10 && path.compare(path.size() - 10, 10, "/artifacts") == 0;
    const bool tags = path.size() > 5 && path.compare(path.size() - 5, 5, "/tags") == 0;
    pages += (artifacts || tags) ? 1 : 0;
  }
  return pages;
}

// Vendor fakes in front of a run's registries: they reach the registries directly, so
// their counts replace the proxies'.
struct Fronts {
  const VendorFront* src = nullptr;
  const VendorFront* dst = nullptr;
};

class Runner {
 public:
  explicit Runner(BenchOptions options) : o_(std::move(options)) {}

  Results Run() {
    fs::remove_all(o_.work_dir);
    fs::create_directories(o_.work_dir);
    certs_ = MakeCertificates(o_.work_dir + "/certs");
    results_.reps = o_.reps;
    for (const std::string& part : AllParts()) {
      if (std::find(o_.parts.begin(), o_.parts.end(), part) == o_.parts.end()) continue;
      if (part == "many-tags") {
        ManyTags();
      } else if (part == "plan") {
        Plan();
      } else if (part == "immutable") {
        Immutable();
      } else if (part == "vendor-noop") {
        VendorNoop();
      } else if (part == "scale") {
        results_.scale = RunScale({.crossdock = o_.crossdock, .bench = o_.bench,
                                   .work_dir = NewDir("scale"), .reps = o_.reps,
                                   .max_tags = o_.scale_max});
      } else {
        CopyPart(part);
      }
    }
    fs::remove_all(o_.work_dir);
    return results_;
  }

 private:
  const Dataset& Data(const std::string& name) {
    auto it = data_.find(name);
    if (it == data_.end()) it = data_.emplace(name, LoadDataset(o_.cache_dir, name, o_.work_dir)).first;
    return it->second;
  }

  std::string NewDir(const std::string& what) {
    std::string dir = o_.work_dir + "/" + std::to_string(++dirs_) + "-" + what;
    fs::create_directories(dir);
    return dir;
  }

  // A registry (TLS + basic auth when secure), serving `data` read-only when not
  // empty, behind a counting proxy (terminating TLS with the same CA when secure).
  Endpoint Start(const std::string& what, const std::string& data, bool secure) {
    Endpoint e;
    BenchRegistry::Options ro;
    ro.read_only_storage = data;
    if (secure) {
      ro.tls = &certs_;
      ro.username = kUser;
      ro.password = kPassword;
    }
    e.registry = std::make_unique<BenchRegistry>(NewDir(what) + "/registry", ro);
    CountingProxy::Options po;
    po.upstream_port = e.registry->port();
    po.upstream_tls = secure;
    if (secure) {
      po.cert_path = certs_.cert_path;
      po.key_path = certs_.key_path;
    }
    e.proxy = std::make_unique<CountingProxy>(po);
    Target t;
    t.tls = secure;
    if (secure) {
      t.ca_path = certs_.ca_path;
      t.ca_dir = certs_.ca_dir;
      t.username = kUser;
      t.password = kPassword;
    }
    e.via_proxy = t;
    e.via_proxy.host = e.proxy->host();
    e.direct = t;
    e.direct.host = e.registry->host();
    return e;
  }

  // Runs `tool` ("crossdock" or "skopeo") copying spec from src to dst; the
  // crossdock state is dir/state.json, so a second call with the same dir is a
  // re-run against that state. Throws unless it exits 0.
  Measurement Copy(const std::string& tool, Endpoint& src, Endpoint& dst, const CopySpec& spec,
                   const std::string& dir, const std::string& label) {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;
    if (tool == "crossdock") {
      testing::WriteFile(dir + "/crossdock.toml", CrossdockConfig(src.via_proxy, dst.via_proxy, spec));
      argv = {o_.crossdock, "apply", "--auto-approve", "--no-color", "-c", dir + "/crossdock.toml",
              "--state", dir + "/state.json"};
      env[kPasswordEnv] = kPassword;
    } else {
      testing::WriteFile(dir + "/skopeo.yaml", SkopeoYaml(src.via_proxy, spec));
      argv = SkopeoSyncArgv(dir + "/skopeo.yaml", dst.via_proxy, spec);
    }
    return Measure(tool, src, dst, argv, env, dir, label);
  }

  Measurement Measure(const std::string& tool, Endpoint& src, Endpoint& dst,
                      const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& dir,
                      const std::string& label, const Fronts& fronts = {}) {
    src.proxy->Reset();
    dst.proxy->Reset();
    double fake_cpu_before = 0;
    if (fronts.src != nullptr) {
      fronts.src->ResetStats();
      fronts.dst->ResetStats();
      fake_cpu_before = fronts.src->CpuSeconds() + fronts.dst->CpuSeconds();
    }
    double cpu_before = src.registry->CpuSeconds() + dst.registry->CpuSeconds();
    std::string log = dir + "/" + tool + "-" + std::to_string(++logs_) + ".log";
    // curl's stdout is parsed (one line per answer): keep its stderr apart.
    ToolRun run = RunTool(argv, env, dir, log, kToolTimeoutS, tool == "curl" ? log + ".err" : "");
    Measurement m;
    m.registry_cpu_s = src.registry->CpuSeconds() + dst.registry->CpuSeconds() - cpu_before;
    m.src = src.proxy->Snapshot();
    m.dst = dst.proxy->Snapshot();
    if (fronts.src != nullptr) {
      m.fake_cpu_s = fronts.src->CpuSeconds() + fronts.dst->CpuSeconds() - fake_cpu_before;
      m.src = FakeTraffic(fronts.src->Stats());
      m.dst = FakeTraffic(fronts.dst->Stats());
    }
    m.wall_s = run.wall_s;
    m.tool_cpu_s = run.cpu_s;
    m.max_rss_bytes = run.max_rss_bytes;
    if (run.exit_code != 0) {
      std::string cmd;
      for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
      throw BenchError(label + ": " + tool + (run.timed_out ? " timed out after " +
                                                                  std::to_string(kToolTimeoutS) + " s"
                                                            : " exited " + std::to_string(run.exit_code)) +
                       "\n  command: " + cmd + "\n  last lines of " + log + ":\n" + Tail(log));
    }
    std::cerr << "bench: " << label << " " << tool << ": " << run.wall_s << " s, "
              << m.src.requests + m.dst.requests << " requests\n";
    return m;
  }

  static std::vector<std::string> Order(int rep) {
    if (rep % 2 == 0) return {"crossdock", "skopeo"};
    return {"skopeo", "crossdock"};
  }

  // fleet, no-op, fleet-tls, big: a full copy (after a converging run for no-op)
  // into a new destination per run.
  void CopyPart(const std::string& part) {
    const Dataset& ds = Data(part == "big" ? "big" : "fleet");
    bool secure = part == "fleet-tls";
    bool noop = part == "no-op";
    CopySpec spec{ds.repositories, true, "mirror"};
    DatasetResult result;
    result.name = part;
    result.unique_blob_bytes = ds.unique_blob_bytes;
    result.tags = static_cast<int>(ds.images.size());
    result.title = ds.description + (noop ? "; the second run into a converged destination"
                                     : secure ? "; into HTTPS (self-signed CA) with basic auth"
                                              : "; into an empty registry");
    Endpoint src = Start(part + "-src", ds.storage, false);
    for (int rep = 0; rep < o_.reps; ++rep) {
      for (const std::string& tool : Order(rep)) {
        std::string label = part + " " + std::to_string(rep + 1) + "/" + std::to_string(o_.reps);
        Endpoint dst = Start(part + "-dst", "", secure);
        std::string dir = NewDir(part + "-" + tool);
        if (noop) {
          Copy(tool, src, dst, spec, dir, label + " (converging, not measured)");
          VerifyCopy(dst.direct, spec, ds.images, dir, tool);
        }
        result.runs[tool].push_back(Copy(tool, src, dst, spec, dir, label));
        VerifyCopy(dst.direct, spec, ds.images, dir, tool);
      }
    }
    results_.datasets.push_back(std::move(result));
  }

  // The first copy of one repository of many tags, then the same again (no-op).
  void ManyTags() {
    const Dataset& ds = Data("many-tags");
    std::string repo = o_.quick ? "many/tags-1k" : "many/tags-2k";
    std::vector<TaggedImage> images = ds.ImagesOf(repo);
    std::vector<TaggedImage> sample = Sample(images, 20);
    CopySpec spec{{repo}, false, "mirror"};
    DatasetResult first, again;
    first.name = "many-tags";
    again.name = "many-tags no-op";
    first.tags = again.tags = static_cast<int>(images.size());
    first.title = "one repository, " + std::to_string(images.size()) +
                  " tags over 4 small images; first copy into an empty registry";
    again.title = "the same, second run into the converged destination";
    Endpoint src = Start("many-src", ds.storage, false);
    for (int rep = 0; rep < o_.reps; ++rep) {
      for (const std::string& tool : Order(rep)) {
        std::string label = "many-tags " + std::to_string(rep + 1) + "/" + std::to_string(o_.reps);
        Endpoint dst = Start("many-dst", "", false);
        std::string dir = NewDir("many-" + tool);
        first.runs[tool].push_back(Copy(tool, src, dst, spec, dir, label));
        VerifyCopy(dst.direct, spec, sample, dir, tool);
        again.runs[tool].push_back(Copy(tool, src, dst, spec, dir, label + " no-op"));
        VerifyCopy(dst.direct, spec, sample, dir, tool);
      }
    }
    results_.datasets.push_back(std::move(first));
    results_.datasets.push_back(std::move(again));
  }

  // crossdock plan on 1k, 5k, 10k tags, destination converged (a second registry
  // serving the source's own storage), against curl HEADing the same manifests on
  // both sides.
  void Plan() {
    const Dataset& ds = Data("many-tags");
    Endpoint src = Start("plan-src", ds.storage, false);
    Endpoint dst = Start("plan-dst", ds.storage, false);
    std::vector<int> sizes = o_.quick ? std::vector<int>{1000, 5000} : std::vector<int>{1000, 5000, 10000};
    for (int n : sizes) {
      std::string repo = "many/tags-" + std::to_string(n / 1000) + "k";
      std::vector<TaggedImage> images = ds.ImagesOf(repo);
      CopySpec spec{{repo}, false, ""};
      PlanResult result;
      result.tags = static_cast<int>(images.size());
      std::vector<std::string> urls;
      for (const TaggedImage& i : images) {
        urls.push_back(src.via_proxy.url() + "/v2/" + repo + "/manifests/" + i.tag);
        urls.push_back(dst.via_proxy.url() + "/v2/" + repo + "/manifests/" + i.tag);
      }
      for (int rep = 0; rep < o_.reps; ++rep) {
        std::string label = "plan " + std::to_string(n) + " tags " + std::to_string(rep + 1) + "/" +
                            std::to_string(o_.reps);
        for (const std::string& who : Order(rep)) {
          std::string dir = NewDir("plan-" + who);
          if (who == "crossdock") {
            testing::WriteFile(dir + "/crossdock.toml",
                               CrossdockConfig(src.via_proxy, dst.via_proxy, spec));
            Measurement m = Measure("crossdock", src, dst,
                                    {o_.crossdock, "plan", "--no-color", "-c", dir + "/crossdock.toml",
                                     "--state", dir + "/state.json"},
                                    {}, dir, label);
            result.crossdock_s.push_back(m.wall_s);
            result.crossdock_src = m.src;
            result.crossdock_dst = m.dst;
            result.plan_summary = LastLine(dir + "/crossdock-" + std::to_string(logs_) + ".log");
          } else {
            Measurement m = Measure("curl", src, dst, CurlHeadArgv(urls, src.via_proxy, dir + "/urls", 16),
                                    {}, dir, label + " floor");
            std::string out = dir + "/curl-" + std::to_string(logs_) + ".log";
            std::ifstream in(out);
            int ok = 0;
            for (std::string line; std::getline(in, line);) ok += line.rfind("200 sha256:", 0) == 0;
            if (ok != static_cast<int>(urls.size())) {
              throw BenchError(label + ": curl floor got " + std::to_string(ok) + " good answers of " +
                               std::to_string(urls.size()) + "; see " + out);
            }
            result.floor_s.push_back(m.wall_s);
            result.floor_requests = m.src.requests + m.dst.requests;
          }
        }
      }
      results_.plans.push_back(std::move(result));
    }
  }

  // Request counts of a no-op crossdock run over fleet, with and without
  // immutable_tags = ["*"], both on the state of one converging run.
  void Immutable() {
    const Dataset& ds = Data("fleet");
    CopySpec plain{ds.repositories, true, "mirror"};
    CopySpec immutable = plain;
    immutable.immutable_tags = {"*"};
    ImmutableResult result;
    Endpoint src = Start("immutable-src", ds.storage, false);
    for (int rep = 0; rep < o_.reps; ++rep) {
      std::string label = "immutable " + std::to_string(rep + 1) + "/" + std::to_string(o_.reps);
      Endpoint dst = Start("immutable-dst", "", false);
      std::string dir = NewDir("immutable");
      Copy("crossdock", src, dst, plain, dir, label + " (converging, not measured)");
      bool with_first = rep % 2 == 1;
      for (bool with : {with_first, !with_first}) {
        Measurement m = Copy("crossdock", src, dst, with ? immutable : plain, dir,
                             label + (with ? " with immutable_tags" : " without immutable_tags"));
        (with ? result.with : result.without).push_back(m);
        VerifyCopy(dst.direct, plain, ds.images, dir, "crossdock");
      }
    }
    results_.immutable = std::move(result);
  }

  // A no-op `crossdock plan` of bench/artifacts (2,000 artifacts, one tag each), the
  // destination converged (both registries serve the data set's storage), for each
  // vendor: through the vendor's API (a fake of it in front of each registry, both
  // endpoints of that type) and by HEADs (the same registries as docker-registry
  // endpoints, through the counting proxies), alternating which goes first.
  void VendorNoop() {
    const Dataset& ds = Data("artifacts-2k");
    const std::string repo = ds.repositories.at(0);
    const CopySpec spec{{repo}, false, ""};
    Endpoint src = Start("vendor-src", ds.storage, false);
    Endpoint dst = Start("vendor-dst", ds.storage, false);
    for (Vendor vendor : {Vendor::kHarbor, Vendor::kDockerHub}) {
      const std::string type = EndpointType(vendor);
      VendorFront src_front(vendor, *src.registry, NewDir(type + "-src"));
      VendorFront dst_front(vendor, *dst.registry, NewDir(type + "-dst"));
      // Not measured: each fake reads the 2,000 manifests once (and keeps what they say),
      // which a real vendor has in its database; otherwise the first run would time that.
      src_front.WarmListing(repo);
      dst_front.WarmListing(repo);
      auto via = [&](const VendorFront& front) {
        Target t;
        t.host = front.url().substr(std::string("http://").size());
        t.username = front.username();
        t.password = front.password();
        t.type = type;
        t.api_url = front.url();
        return t;
      };
      VendorNoopResult result;
      result.vendor = type;
      result.tags = static_cast<int>(ds.ImagesOf(repo).size());
      result.pages_needed = (result.tags + 99) / 100;
      for (int rep = 0; rep < o_.reps; ++rep) {
        const std::string label =
            "vendor-noop " + type + " " + std::to_string(rep + 1) + "/" + std::to_string(o_.reps);
        const bool api_first = rep % 2 == 0;
        for (bool api : {api_first, !api_first}) {
          const std::string dir = NewDir("vendor-" + type + (api ? "-api" : "-heads"));
          testing::WriteFile(dir + "/crossdock.toml",
                             api ? CrossdockConfig(via(src_front), via(dst_front), spec)
                                 : CrossdockConfig(src.via_proxy, dst.via_proxy, spec));
          std::map<std::string, std::string> env;
          if (api) {
            env = {{kSourcePasswordEnv, src_front.password()}, {kPasswordEnv, dst_front.password()}};
          }
          Measurement m = Measure("crossdock", src, dst,
                                  {o_.crossdock, "plan", "--no-color", "-c", dir + "/crossdock.toml",
                                   "--state", dir + "/state.json"},
                                  env, dir, label + (api ? " on the " + type + " API" : " by HEADs"),
                                  api ? Fronts{&src_front, &dst_front} : Fronts{});
          const std::string log = dir + "/crossdock-" + std::to_string(logs_) + ".log";
          const std::string last = LastLine(log);
          if (last != kNoChanges) {
            throw BenchError(label + ": the plan " + (api ? "on the " + type + " API" : "by HEADs") +
                             " is not a no-op; its last line is \"" + last + "\", expected \"" +
                             kNoChanges + "\"\n  last lines of " + log + ":\n" + Tail(log));
          }
          if (api) {
            result.src_paths = src_front.Stats().paths;
            result.dst_paths = dst_front.Stats().paths;
            result.src_pages = ListingPages(result.src_paths);
            result.dst_pages = ListingPages(result.dst_paths);
            result.api_summary = last;
            result.api.push_back(m);
          } else {
            result.heads_summary = last;
            result.heads.push_back(m);
          }
        }
      }
      results_.vendor_noop.push_back(std::move(result));
    }
  }

  BenchOptions o_;
  Certificates certs_;
  std::map<std::string, Dataset> data_;
  Results results_;
  int dirs_ = 0;
  int logs_ = 0;
};

}  // namespace

const std::vector<std::string>& AllParts() {
  static const std::vector<std::string> kParts = {"fleet",     "no-op",     "big",
                                                  "many-tags", "plan",      "fleet-tls",
                                                  "immutable", "vendor-noop", "scale"};
  return kParts;
}

Results RunBench(const BenchOptions& options) { return Runner(options).Run(); }

}  // namespace crossdock::bench
