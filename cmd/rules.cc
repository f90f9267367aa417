// crossdock rules: each rule with its endpoints, trigger and a one-line summary of
// its filters, as Harbor's replication rule list shows them.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <chrono>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/cron.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

// "repositories lib/** except lib/tmp/**; tags v* except *-rc*; semver >=1 <2; …"
std::string FilterSummary(const core::Rule& r) {
  std::vector<std::string> parts;
  auto filter = [&](const char* what, const std::vector<std::string>& in,
                    const std::vector<std::string>& out) {
    if (in.empty() && out.empty()) return;
    std::string s = std::string(what) + " " + (in.empty() ? "all" : Join(in));
    if (!out.empty()) s += " except " + Join(out);
    parts.push_back(s);
  };
  filter("repositories", r.repositories, r.exclude_repositories);
  filter("tags", r.tags, r.exclude_tags);
  filter("labels", r.labels, r.exclude_labels);
  if (!r.semver.empty()) parts.push_back("semver " + r.semver);
  if (r.keep_latest > 0) parts.push_back(fmt::format("latest {}", r.keep_latest));
  if (!r.resource.empty()) parts.push_back("resource " + r.resource);
  if (parts.empty()) return "everything";
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
  return out;
}

// "manual", "schedule 0 0 3 * * * (Europe/Berlin)", "events", or both.
std::string Trigger(const core::Rule& r) {
  std::vector<std::string> parts;
  if (!r.schedule.empty())
    parts.push_back("schedule " + r.schedule + (r.timezone.empty() ? "" : " (" + r.timezone + ")"));
  if (r.events) parts.push_back("events");
  return parts.empty() ? "manual" : Join(parts);
}

// The next COUNT fire times of R's schedule, in RFC 3339 in the rule's time zone.
std::vector<std::string> NextFires(const core::Rule& r, int count) {
  std::vector<std::string> out;
  auto s = core::Schedule::Parse(r.schedule, r.timezone);
  if (!s.ok()) return out;
  auto t = std::chrono::system_clock::now();
  for (int i = 0; i < count; ++i) {
    auto next = s->Next(t);
    if (!next) break;
    out.push_back(s->FormatLocal(*next));
    t = *next;
  }
  return out;
}

std::string Naming(const core::Rule& r) {
  if (r.dest_namespace.empty()) return "same path";
  std::string flatten = r.flatten < 0 ? "all" : r.flatten == 0 ? "none" : std::to_string(r.flatten);
  return "into " + r.dest_namespace + "/, flatten " + flatten;
}

}  // namespace

int RunRules(const Args& args) {
  po::options_description desc("Options");
  AddConfigOptions(&desc);
  desc.add_options()("json", "Print JSON")("next", "Show the next three fire times of scheduled rules");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {}, "Usage: crossdock rules [options]", &vm)) return *rc;
  auto config = LoadConfigOrReport(vm["config"].as<std::string>());
  if (!config) return kExitError;
  if (vm.count("json")) {
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& r : config->rules) {
      arr.push_back({{"name", r.name},
                     {"enabled", r.enabled},
                     {"source", r.source},
                     {"destinations", r.destinations},
                     {"trigger", Trigger(r)},
                     {"next", vm.count("next") && !r.schedule.empty() ? NextFires(r, 3)
                                                                      : std::vector<std::string>{}},
                     {"filters", FilterSummary(r)},
                     {"naming", Naming(r)},
                     {"override", r.override_tags},
                     {"delete", r.delete_missing}});
    }
    fmt::print("{}\n", arr.dump());
    return kExitOk;
  }
  for (const auto& r : config->rules) {
    fmt::print("{}{}\n  {} -> {}  trigger: {}  {}{}{}\n  {}\n", r.name,
               r.enabled ? "" : "  (disabled)", r.source, Join(r.destinations), Trigger(r),
               Naming(r), r.override_tags ? "" : ", no override",
               r.delete_missing ? ", deletes" : "", FilterSummary(r));
    if (vm.count("next") && !r.schedule.empty())
      fmt::print("  next: {}\n", Join(NextFires(r, 3)));
  }
  return kExitOk;
}

}  // namespace crossdock::cmd
