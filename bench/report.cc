// Implementation of bench/report.h. Every figure printed is a median over the
// measured runs of that tool (each metric on its own); nothing is estimated.
#include "bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>

#include "tests/support/harness.h"

namespace crossdock::bench {
namespace {

using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;
const std::vector<std::string> kTools = {"crossdock", "skopeo"};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Medians of one tool's runs.
struct Summary {
  std::vector<double> walls;
  double wall = 0, rss = 0, tool_cpu = 0, registry_cpu = 0;
  double src_requests = 0, src_bytes = 0, dst_requests = 0, dst_bytes = 0, connections = 0;
  std::map<std::string, double> by_kind;  // "src GET blob 200" -> median count
};

template <class F>
double MedianOf(const std::vector<Measurement>& runs, F field) {
  std::vector<double> v;
  for (const Measurement& m : runs) v.push_back(static_cast<double>(field(m)));
  return Median(v);
}

Summary Summarize(const std::vector<Measurement>& runs) {
  Summary s;
  for (const Measurement& m : runs) s.walls.push_back(m.wall_s);
  s.wall = Median(s.walls);
  s.rss = MedianOf(runs, [](const Measurement& m) { return m.max_rss_bytes; });
  s.tool_cpu = MedianOf(runs, [](const Measurement& m) { return m.tool_cpu_s; });
  s.registry_cpu = MedianOf(runs, [](const Measurement& m) { return m.registry_cpu_s; });
  s.src_requests = MedianOf(runs, [](const Measurement& m) { return m.src.requests; });
  s.src_bytes = MedianOf(runs, [](const Measurement& m) { return m.src.bytes_from_registry; });
  s.dst_requests = MedianOf(runs, [](const Measurement& m) { return m.dst.requests; });
  s.dst_bytes = MedianOf(runs, [](const Measurement& m) { return m.dst.bytes_to_registry; });
  s.connections =
      MedianOf(runs, [](const Measurement& m) { return m.src.connections + m.dst.connections; });
  std::set<std::string> keys;
  for (const Measurement& m : runs) {
    for (const auto& [k, n] : m.src.by_kind) keys.insert("src " + k);
    for (const auto& [k, n] : m.dst.by_kind) keys.insert("dst " + k);
  }
  for (const std::string& key : keys) {
    const bool src = key.rfind("src ", 0) == 0;
    const std::string kind = key.substr(4);
    s.by_kind[key] = MedianOf(runs, [&](const Measurement& m) {
      const auto& map = src ? m.src.by_kind : m.dst.by_kind;
      auto it = map.find(kind);
      return it == map.end() ? 0 : it->second;
    });
  }
  return s;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
std::string Seconds(double s) { return Fmt(s < 10 ? "%.2f s" : "%.1f s", s); }
std::string Bytes(double b) {
  if (b < 10 * 1024) return Fmt("%.0f B", b);
  if (b < kMiB) return Fmt("%.1f KiB", b / 1024);
  return Fmt(b < 100 * kMiB ? "%.1f MiB" : "%.0f MiB", b / kMiB);
}
std::string Count(double n) { return Fmt(n == static_cast<long long>(n) ? "%.0f" : "%.1f", n); }
std::string Ratio(double a, double b) { return b > 0 ? Fmt("%.2fx", a / b) : "n/a"; }

const DatasetResult* Find(const Results& r, const std::string& name) {
  for (const DatasetResult& d : r.datasets) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

struct TargetRow {
  std::string goal, measured, status;  // status: met, missed, not measured
};

std::vector<TargetRow> Targets(const Results& r) {
  std::vector<TargetRow> rows;
  auto wall_ratio = [&](const std::string& name, double limit, const std::string& goal) {
    const DatasetResult* d = Find(r, name);
    if (d == nullptr || !d->runs.count("crossdock") || !d->runs.count("skopeo")) {
      rows.push_back({goal, "-", "not measured"});
      return;
    }
    double ratio = Summarize(d->runs.at("crossdock")).wall / Summarize(d->runs.at("skopeo")).wall;
    rows.push_back({goal, Fmt("%.2fx", ratio), ratio <= limit ? "met" : "missed"});
  };
  wall_ratio("fleet", 0.4, "fleet: wall <= 0.4x skopeo");
  wall_ratio("no-op", 0.2, "no-op (fleet): wall <= 0.2x skopeo");
  wall_ratio("many-tags no-op", 0.2, "no-op (many-tags): wall <= 0.2x skopeo");
  wall_ratio("many-tags", 0.3, "many-tags first copy: wall <= 0.3x skopeo");
  wall_ratio("big", 1.0, "big: wall <= 1.0x skopeo");
  if (const DatasetResult* big = Find(r, "big"); big != nullptr && big->runs.count("crossdock")) {
    double rss = Summarize(big->runs.at("crossdock")).rss;
    rows.push_back({"big: crossdock peak RSS <= 64 MiB", Bytes(rss), rss <= 64 * kMiB ? "met" : "missed"});
  } else {
    rows.push_back({"big: crossdock peak RSS <= 64 MiB", "-", "not measured"});
  }
  if (r.plans.empty()) {
    rows.push_back({"plan: <= 1.3x the curl floor at each size", "-", "not measured"});
    rows.push_back({"plan: linear in tags", "-", "not measured"});
  } else {
    std::string measured;
    bool met = true;
    for (const PlanResult& p : r.plans) {
      double ratio = Median(p.crossdock_s) / Median(p.floor_s);
      measured += (measured.empty() ? "" : ", ") + Fmt("%.2fx", ratio) + " at " + std::to_string(p.tags);
      met = met && ratio <= 1.3;
    }
    rows.push_back({"plan: <= 1.3x the curl floor at each size", measured, met ? "met" : "missed"});
    const PlanResult& small = r.plans.front();
    const PlanResult& large = r.plans.back();
    if (r.plans.size() < 2) {
      rows.push_back({"plan: linear in tags", "-", "not measured"});
    } else {
      double growth = (Median(large.crossdock_s) / large.tags) / (Median(small.crossdock_s) / small.tags);
      rows.push_back({"plan: linear in tags (time per tag at " + std::to_string(large.tags) +
                          " <= 1.25x that at " + std::to_string(small.tags) + ")",
                      Fmt("%.2fx", growth), growth <= 1.25 ? "met" : "missed"});
    }
  }
  for (const std::string vendor : {"harbor", "docker-hub"}) {
    const VendorNoopResult* v = nullptr;
    for (const VendorNoopResult& x : r.vendor_noop) {
      if (x.vendor == vendor) v = &x;
    }
    const std::string requests_goal = "vendor no-op (" + vendor + "): <= 30 requests per side";
    const std::string wall_goal = "vendor no-op (" + vendor + "): wall <= 0.1x the HEAD path";
    if (v == nullptr || v->api.empty() || v->heads.empty()) {
      rows.push_back({requests_goal, "-", "not measured"});
      rows.push_back({wall_goal, "-", "not measured"});
      continue;
    }
    Summary api = Summarize(v->api), heads = Summarize(v->heads);
    // A listing that stopped short would make a small count and "No changes" prove
    // nothing: the target needs every page read at both sides.
    const bool complete = v->src_pages >= v->pages_needed && v->dst_pages >= v->pages_needed;
    std::string measured = Count(api.src_requests) + " src, " + Count(api.dst_requests) + " dst";
    if (!complete) {
      measured += "; listing pages read " + std::to_string(v->src_pages) + " src, " +
                  std::to_string(v->dst_pages) + " dst of " + std::to_string(v->pages_needed);
    }
    const bool few = std::max(api.src_requests, api.dst_requests) <= 30;
    rows.push_back({requests_goal, measured, few && complete ? "met" : "missed"});
    const double ratio = api.wall / heads.wall;
    rows.push_back({wall_goal, Fmt("%.2fx", ratio), ratio <= 0.1 ? "met" : "missed"});
  }
  return rows;
}

std::string ReadFirstLine(const std::vector<std::string>& argv) {
  try {
    testing::RunResult r = testing::RunCommand(argv, {}, "", 30);
    std::string out = r.out.empty() ? r.err : r.out;
    return out.substr(0, out.find('\n'));
  } catch (const std::exception&) {
    return "unknown";
  }
}

// A table row: NAME, A and B each through FMT, and A/B.
void RatioRow(std::ostream& out, const std::string& name, double a, double b,
              std::string (*fmt)(double)) {
  out << "| " << name << " | " << fmt(a) << " | " << fmt(b) << " | " << Ratio(a, b) << " |\n";
}

// Each run's wall time in seconds with FORMAT, comma-separated.
std::string EachRun(const Summary& s, const char* format) {
  std::string text;
  for (double w : s.walls) text += (text.empty() ? "" : ", ") + Fmt(format, w);
  return text;
}

void DatasetMarkdown(const DatasetResult& d, int reps, std::ostream& out) {
  Summary c = d.runs.count("crossdock") ? Summarize(d.runs.at("crossdock")) : Summary{};
  Summary s = d.runs.count("skopeo") ? Summarize(d.runs.at("skopeo")) : Summary{};
  out << "\n### " << d.name << "\n\n" << d.title << ". ";
  if (d.unique_blob_bytes > 0) out << Bytes(static_cast<double>(d.unique_blob_bytes)) << " of unique blobs, ";
  out << d.tags << " tags; medians (runs per tool: " << reps << ", alternating).\n\n";
  out << "| | crossdock | skopeo | crossdock/skopeo |\n|---|--:|--:|--:|\n";
  auto row = [&](const std::string& name, double a, double b, std::string (*fmt)(double)) {
    RatioRow(out, name, a, b, fmt);
  };
  auto runs = [](const Summary& x) { return EachRun(x, "%.2f"); };
  row("wall time", c.wall, s.wall, Seconds);
  out << "| wall time, each run (s) | " << runs(c) << " | " << runs(s) << " | |\n";
  row("peak RSS", c.rss, s.rss, Bytes);
  row("tool CPU (user+sys)", c.tool_cpu, s.tool_cpu, Seconds);
  row("source requests", c.src_requests, s.src_requests, Count);
  row("source bytes read", c.src_bytes, s.src_bytes, Bytes);
  row("destination requests", c.dst_requests, s.dst_requests, Count);
  row("destination bytes written", c.dst_bytes, s.dst_bytes, Bytes);
  row("TCP connections (src+dst)", c.connections, s.connections, Count);
  row("registry CPU (src+dst)", c.registry_cpu, s.registry_cpu, Seconds);
  std::set<std::string> keys;
  for (const auto& [k, v] : c.by_kind) keys.insert(k);
  for (const auto& [k, v] : s.by_kind) keys.insert(k);
  out << "\nRequests by kind (median per run; side, method, kind, status):\n\n"
      << "| request | crossdock | skopeo |\n|---|--:|--:|\n";
  for (const std::string& k : keys) {
    out << "| " << k << " | " << Count(c.by_kind.count(k) ? c.by_kind.at(k) : 0) << " | "
        << Count(s.by_kind.count(k) ? s.by_kind.at(k) : 0) << " |\n";
  }
}

json SummaryJson(const Summary& s) {
  return {{"wall_s", s.wall},
          {"wall_s_each_run", s.walls},
          {"peak_rss_bytes", s.rss},
          {"tool_cpu_s", s.tool_cpu},
          {"registry_cpu_s", s.registry_cpu},
          {"src_requests", s.src_requests},
          {"src_bytes_read", s.src_bytes},
          {"dst_requests", s.dst_requests},
          {"dst_bytes_written", s.dst_bytes},
          {"connections", s.connections},
          {"requests_by_kind", s.by_kind}};
}

json TrafficJson(const Traffic& t) {
  return {{"connections", t.connections},
          {"requests", t.requests},
          {"bytes_to_registry", t.bytes_to_registry},
          {"bytes_from_registry", t.bytes_from_registry},
          {"by_kind", t.by_kind}};
}

json RunJson(const Measurement& m) {
  return {{"wall_s", m.wall_s},
          {"tool_cpu_s", m.tool_cpu_s},
          {"registry_cpu_s", m.registry_cpu_s},
          {"peak_rss_bytes", m.max_rss_bytes},
          {"src", TrafficJson(m.src)},
          {"dst", TrafficJson(m.dst)}};
}

// A fake's request lines with the page number left out ("page=*"), each with how many
// times it came: a listing of 20 pages is one line.
std::vector<std::pair<std::string, int>> CollapsePages(const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string, int>> out;
  for (std::string line : paths) {
    for (const char* key : {"?page=", "&page="}) {
      size_t at = line.find(key);
      if (at == std::string::npos) continue;
      at += std::string(key).size();
      size_t end = at;
      while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
      if (end > at) line.replace(at, end - at, "*");
    }
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == line; });
    if (it == out.end()) {
      out.emplace_back(line, 1);
    } else {
      ++it->second;
    }
  }
  return out;
}

void VendorNoopMarkdown(const VendorNoopResult& v, int reps, std::ostream& out) {
  const Summary api = Summarize(v.api), heads = Summarize(v.heads);
  const std::string fake = v.vendor == "harbor" ? "harbor" : "dockerhub";
  out << "\n### vendor no-op (" << v.vendor << ")\n\n`crossdock plan` of one repository of "
      << v.tags << " artifacts (one tag each), destination converged (two registries serving "
      << "the same storage), with both endpoints `type = \"" << v.vendor << "\"` (tags and "
      << "digests from the vendor's listing; tests/fakes/" << fake << " in front of each "
      << "registry, counting everything it is sent) and with the same registries as "
      << "`docker-registry` endpoints (a HEAD per tag; counted by the proxies). Medians (runs "
      << "each: " << reps << ", alternating).\n\n"
      << "| | crossdock on the " << v.vendor << " API | crossdock on HEADs | API/HEADs |\n"
      << "|---|--:|--:|--:|\n";
  auto row = [&](const std::string& name, double a, double b, std::string (*fmt)(double)) {
    RatioRow(out, name, a, b, fmt);
  };
  auto runs = [](const Summary& x) { return EachRun(x, "%.3f"); };
  row("wall time", api.wall, heads.wall, [](double s) { return Fmt("%.3f s", s); });
  out << "| wall time, each run (s) | " << runs(api) << " | " << runs(heads) << " | |\n";
  row("source requests", api.src_requests, heads.src_requests, Count);
  row("destination requests", api.dst_requests, heads.dst_requests, Count);
  row("tool CPU (user+sys)", api.tool_cpu, heads.tool_cpu, Seconds);
  row("registry CPU (src+dst)", api.registry_cpu, heads.registry_cpu, Seconds);
  std::vector<double> fake_cpu;
  for (const Measurement& m : v.api) fake_cpu.push_back(m.fake_cpu_s);
  out << "| vendor fakes' CPU (src+dst) | " << Seconds(Median(fake_cpu)) << " | - | |\n"
      << "| listing pages read (src, dst; last run) | " << v.src_pages << ", " << v.dst_pages
      << " of " << v.pages_needed << " each | - | |\n"
      << "| plan's last line | " << v.api_summary << " | " << v.heads_summary << " | |\n";
  std::set<std::string> keys;
  for (const auto& [k, n] : api.by_kind) keys.insert(k);
  for (const auto& [k, n] : heads.by_kind) keys.insert(k);
  out << "\nRequests by kind (median per run; side, then the fake's category or the proxy's "
         "method, kind, status):\n\n| request | on the API | on HEADs |\n|---|--:|--:|\n";
  for (const std::string& k : keys) {
    out << "| " << k << " | " << Count(api.by_kind.count(k) ? api.by_kind.at(k) : 0) << " | "
        << Count(heads.by_kind.count(k) ? heads.by_kind.at(k) : 0) << " |\n";
  }
  out << "\nWhat each " << v.vendor << " fake was sent in the last run on the API, in order "
      << "(page numbers as `*`):\n\n| side | request | times |\n|---|---|--:|\n";
  for (const auto& [side, paths] :
       {std::pair{"src", &v.src_paths}, std::pair{"dst", &v.dst_paths}}) {
    for (const auto& [line, n] : CollapsePages(*paths)) {
      out << "| " << side << " | `" << line << "` | " << n << " |\n";
    }
  }
}

json VendorNoopJson(const VendorNoopResult& v) {
  json api_runs = json::array(), head_runs = json::array();
  for (const Measurement& m : v.api) {
    json j = RunJson(m);
    j["fake_cpu_s"] = m.fake_cpu_s;
    api_runs.push_back(j);
  }
  for (const Measurement& m : v.heads) head_runs.push_back(RunJson(m));
  const Summary api = Summarize(v.api), heads = Summarize(v.heads);
  auto ratio = [](double a, double b) { return b > 0 ? json(a / b) : json(nullptr); };
  return {{"vendor", v.vendor},
          {"tags", v.tags},
          {"destination", "converged"},
          {"api",
           {{"median", SummaryJson(api)},
            {"runs", api_runs},
            {"plan_last_line", v.api_summary},
            {"listing_pages",
             {{"src", v.src_pages}, {"dst", v.dst_pages}, {"needed", v.pages_needed}}},
            {"src_paths", v.src_paths},
            {"dst_paths", v.dst_paths}}},
          {"heads",
           {{"median", SummaryJson(heads)},
            {"runs", head_runs},
            {"plan_last_line", v.heads_summary}}},
          {"ratio_api_to_heads",
           {{"wall_s", ratio(api.wall, heads.wall)},
            {"src_requests", ratio(api.src_requests, heads.src_requests)},
            {"dst_requests", ratio(api.dst_requests, heads.dst_requests)}}}};
}

}  // namespace

MachineInfo DescribeMachine(const std::string& crossdock) {
  MachineInfo m;
  m.nproc = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      m.cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream debian("/etc/debian_version");
  std::string version;
  std::getline(debian, version);
  m.os = version.empty() ? "unknown" : "Debian " + version;
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  m.skopeo = ReadFirstLine({"skopeo", "--version"});
  m.registry = ReadFirstLine({"docker-registry", "--version"});
  m.curl = ReadFirstLine({"curl", "--version"});
  m.crossdock = ReadFirstLine({crossdock, "version"});
  // The binary is built from the working tree, which may hold uncommitted work.
  std::string commit = ReadFirstLine({"git", "rev-parse", "--short", "HEAD"});
  testing::RunResult dirty = testing::RunCommand(
      {"git", "status", "--porcelain", "--", "cmd", "core", "planner", "applier", "providers",
       "state"},
      {}, "", 30);
  m.source = dirty.exit_code != 0 ? "not a git checkout"
             : "commit " + commit + (dirty.out.empty() ? "" : " with uncommitted changes to crossdock's sources");
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  m.date = date;
  return m;
}

void PrintMarkdown(const Results& r, const MachineInfo& m, std::ostream& out) {
  out << "## crossdock bench, " << m.date << "\n\n"
      << "Machine: " << m.nproc << " CPUs (" << m.cpu << "), " << m.os << ", " << m.kernel
      << ".\nTools: " << m.crossdock << "; " << m.skopeo << "; " << m.registry << "; "
      << m.curl.substr(0, m.curl.find(" (")) << ".\nCheckout: " << m.source << ".\n";
  std::vector<TargetRow> targets = Targets(r);
  out << "\n### Targets (issues #6 and #12)\n\n| target | measured | status |\n|---|--:|---|\n";
  for (const TargetRow& t : targets) out << "| " << t.goal << " | " << t.measured << " | " << t.status << " |\n";
  if (!r.datasets.empty()) {
    out << "\n### Summary\n\nMedians (runs per tool: " << r.reps
        << "); requests = source + destination; ratios crossdock/skopeo.\n\n"
        << "| data set | crossdock | skopeo | wall | crossdock RSS | skopeo RSS | crossdock "
           "requests | skopeo requests | requests | registry CPU |\n"
        << "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const DatasetResult& d : r.datasets) {
      if (!d.runs.count("crossdock") || !d.runs.count("skopeo")) continue;
      Summary c = Summarize(d.runs.at("crossdock")), s = Summarize(d.runs.at("skopeo"));
      out << "| " << d.name << " | " << Seconds(c.wall) << " | " << Seconds(s.wall) << " | "
          << Ratio(c.wall, s.wall) << " | " << Bytes(c.rss) << " | " << Bytes(s.rss) << " | "
          << Count(c.src_requests + c.dst_requests) << " | " << Count(s.src_requests + s.dst_requests)
          << " | " << Ratio(c.src_requests + c.dst_requests, s.src_requests + s.dst_requests) << " | "
          << Ratio(c.registry_cpu, s.registry_cpu) << " |\n";
    }
  }
  for (const DatasetResult& d : r.datasets) DatasetMarkdown(d, r.reps, out);
  if (!r.plans.empty()) {
    out << "\n### plan\n\n`crossdock plan` over one repository of N tags (4 distinct images), "
           "destination converged (a second registry serving the source's storage, so the plan is empty), "
           "against the floor: one `curl --parallel --parallel-max 16` HEADing every tag's manifest "
           "at the source and at the destination through the same proxies. Medians (runs each: "
        << r.reps << ").\n\n"
        << "| tags | crossdock plan | curl floor | plan/floor | plan requests src + dst | floor "
           "requests | plan's last line |\n|--:|--:|--:|--:|--:|--:|---|\n";
    for (const PlanResult& p : r.plans) {
      double c = Median(p.crossdock_s), f = Median(p.floor_s);
      out << "| " << p.tags << " | " << Seconds(c) << " | " << Seconds(f) << " | " << Ratio(c, f)
          << " | " << p.crossdock_src.requests << " + " << p.crossdock_dst.requests << " | "
          << p.floor_requests << " | " << p.plan_summary << " |\n";
    }
  }
  if (r.immutable) {
    const ImmutableResult& i = *r.immutable;
    Summary without = Summarize(i.without);
    out << "\n### immutable_tags\n\nA no-op crossdock run over fleet (state from the converging "
           "run), without and with `immutable_tags = [\"*\"]` on the rule.\n\n"
        << "| | without | with immutable_tags = [\"*\"] |\n|---|--:|--:|\n";
    Summary with = Summarize(i.with);
    out << "| source requests | " << Count(without.src_requests) << " | " << Count(with.src_requests) << " |\n"
        << "| destination requests | " << Count(without.dst_requests) << " | " << Count(with.dst_requests) << " |\n"
        << "| wall time | " << Seconds(without.wall) << " | " << Seconds(with.wall) << " |\n";
  }
  for (const VendorNoopResult& v : r.vendor_noop) VendorNoopMarkdown(v, r.reps, out);
}

json ToJson(const Results& r, const MachineInfo& m) {
  json doc;
  doc["machine"] = {{"nproc", m.nproc}, {"cpu", m.cpu}, {"os", m.os}, {"kernel", m.kernel},
                    {"skopeo", m.skopeo}, {"docker_registry", m.registry}, {"curl", m.curl},
                    {"crossdock", m.crossdock}, {"crossdock_source", m.source}, {"date", m.date}};
  doc["reps"] = r.reps;
  json targets = json::array();
  for (const TargetRow& t : Targets(r)) {
    targets.push_back({{"target", t.goal}, {"measured", t.measured}, {"status", t.status}});
  }
  doc["targets"] = targets;
  json datasets = json::array();
  for (const DatasetResult& d : r.datasets) {
    json j = {{"name", d.name}, {"title", d.title}, {"tags", d.tags},
              {"unique_blob_bytes", d.unique_blob_bytes}};
    std::map<std::string, Summary> sums;
    for (const auto& [tool, runs] : d.runs) {
      sums[tool] = Summarize(runs);
      json all = json::array();
      for (const Measurement& x : runs) all.push_back(RunJson(x));
      j["tools"][tool] = {{"median", SummaryJson(sums[tool])}, {"runs", all}};
    }
    if (sums.count("crossdock") && sums.count("skopeo")) {
      const Summary& c = sums["crossdock"];
      const Summary& s = sums["skopeo"];
      auto ratio = [](double a, double b) { return b > 0 ? json(a / b) : json(nullptr); };
      j["ratio_crossdock_to_skopeo"] = {{"wall_s", ratio(c.wall, s.wall)},
                                        {"peak_rss_bytes", ratio(c.rss, s.rss)},
                                        {"tool_cpu_s", ratio(c.tool_cpu, s.tool_cpu)},
                                        {"src_requests", ratio(c.src_requests, s.src_requests)},
                                        {"src_bytes_read", ratio(c.src_bytes, s.src_bytes)},
                                        {"dst_requests", ratio(c.dst_requests, s.dst_requests)},
                                        {"dst_bytes_written", ratio(c.dst_bytes, s.dst_bytes)},
                                        {"registry_cpu_s", ratio(c.registry_cpu, s.registry_cpu)}};
    }
    datasets.push_back(j);
  }
  doc["datasets"] = datasets;
  json plans = json::array();
  for (const PlanResult& p : r.plans) {
    plans.push_back({{"tags", p.tags},
                     {"destination", "converged"},
                     {"crossdock_s", Median(p.crossdock_s)},
                     {"crossdock_s_each_run", p.crossdock_s},
                     {"floor_s", Median(p.floor_s)},
                     {"floor_s_each_run", p.floor_s},
                     {"crossdock_src", TrafficJson(p.crossdock_src)},
                     {"crossdock_dst", TrafficJson(p.crossdock_dst)},
                     {"floor_requests", p.floor_requests},
                     {"plan_last_line", p.plan_summary}});
  }
  doc["plan"] = plans;
  if (r.immutable) {
    const ImmutableResult& i = *r.immutable;
    json runs_without = json::array(), runs_with = json::array();
    for (const Measurement& x : i.without) runs_without.push_back(RunJson(x));
    for (const Measurement& x : i.with) runs_with.push_back(RunJson(x));
    doc["immutable_tags"] = {
        {"without", {{"median", SummaryJson(Summarize(i.without))}, {"runs", runs_without}}},
        {"with", {{"median", SummaryJson(Summarize(i.with))}, {"runs", runs_with}}}};
  } else {
    doc["immutable_tags"] = nullptr;
  }
  json vendors = json::array();
  for (const VendorNoopResult& v : r.vendor_noop) vendors.push_back(VendorNoopJson(v));
  doc["vendor_noop"] = vendors;
  return doc;
}

}  // namespace crossdock::bench
