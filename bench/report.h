// Turns bench results into what people read: Markdown tables (medians, ratios
// crossdock/skopeo, requests by kind, the targets) and one JSON document
// with the same figures plus every run. Used by bench/bench_main.cc.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "bench/scenarios.h"

namespace crossdock::bench {

struct MachineInfo {
  int nproc = 0;
  std::string cpu, os, kernel, skopeo, registry, curl, crossdock, date;
  std::string source;  // the checkout's commit, and whether crossdock's sources differ from it
};
// Reads /proc/cpuinfo, /etc/debian_version and the tools' versions.
MachineInfo DescribeMachine(const std::string& crossdock);

void PrintMarkdown(const Results& results, const MachineInfo& machine, std::ostream& out);
nlohmann::json ToJson(const Results& results, const MachineInfo& machine);

}  // namespace crossdock::bench
