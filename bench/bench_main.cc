// crossdock_bench: `make bench`. Measures crossdock against `skopeo sync` on the
// data sets of issue #6, crossdock's no-op plan through vendor APIs against the same
// by HEADs (issue #12), with real docker-registry processes on loopback, and plans of up
// to a million tags from synthetic registries (issue #15), and prints Markdown tables
// (or, with --json, one JSON document). See bench/README.md.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "bench/bench_error.h"
#include "bench/report.h"
#include "bench/scale.h"
#include "bench/scale_postgres.h"
#include "bench/scenarios.h"
#include "bench/tools.h"
#include "tests/support/harness.h"

namespace po = boost::program_options;
using namespace crossdock::bench;

namespace {

std::vector<std::string> SplitParts(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    if (part == "all") return AllParts();
    if (std::find(AllParts().begin(), AllParts().end(), part) == AllParts().end()) {
      std::string known;
      for (const std::string& k : AllParts()) known += (known.empty() ? "" : ", ") + k;
      throw BenchError("unknown data set \"" + part + "\" in --datasets; known: " + known + ", all");
    }
    parts.push_back(part);
  }
  return parts;
}

int Main(int argc, char** argv) {
  // The scale part's helper (bench/scale.h), run by the bench itself under GNU time.
  if (argc == 4 && std::string(argv[1]) == "--state-io") return StateIoMain(std::atoi(argv[2]), argv[3]);
  if (argc >= 2 && std::string(argv[1]) == "--pg-changes") return PostgresChangesMain(argc, argv);
  std::string crossdock, cache, work, datasets;
  int reps = 0, scale_max = 100000;
  po::options_description flags(
      "Usage: crossdock_bench [options]\n\n"
      "Runs crossdock and skopeo sync on the same copies between real docker-registry\n"
      "processes on 127.0.0.1 and prints the medians and their ratios. Options");
  flags.add_options()("help,h", "print this help")(
      "crossdock", po::value(&crossdock)->default_value("build/crossdock"), "the binary to measure")(
      "reps", po::value(&reps), "runs per tool and data set, alternating (default 3; 1 with --quick)")(
      "datasets", po::value(&datasets),
      "comma-separated subset of: fleet, no-op, big, many-tags, plan, fleet-tls, immutable, "
      "vendor-noop, scale (default: all; all but big with --quick)")(
      "scale-max", po::value(&scale_max),
      "scale: the largest plan, 10000, 100000 (default) or 1000000 tags (about 2 minutes a run)")(
      "quick", "development mode: 1 run each, many-tags on 1k tags, plan at 1k and 5k tags, no big")(
      "json", "print one JSON document on stdout instead of the Markdown tables")(
      "cache", po::value(&cache)->default_value("build/bench-cache"),
      "where generated data sets are kept between runs")(
      "work", po::value(&work)->default_value("build/bench-work"),
      "scratch directory (same file system as --cache); removed after a successful run");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, flags), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "crossdock_bench: " << e.what() << "\n" << flags << "\n";
    return 1;
  }
  if (vm.count("help")) {
    std::cout << flags << "\n";
    return 0;
  }
  BenchOptions options;
  options.quick = vm.count("quick") > 0;
  options.reps = vm.count("reps") ? reps : (options.quick ? 1 : 3);
  if (options.reps < 1) throw BenchError("--reps must be at least 1");
  if (vm.count("datasets")) {
    options.parts = SplitParts(datasets);
  } else {
    for (const std::string& p : AllParts()) {
      if (!(options.quick && p == "big")) options.parts.push_back(p);
    }
  }
  if (scale_max != 10000 && scale_max != 100000 && scale_max != 1000000)
    throw BenchError("--scale-max must be 10000, 100000 or 1000000");
  options.scale_max = scale_max;
  options.bench = std::filesystem::canonical("/proc/self/exe").string();
  options.crossdock = std::filesystem::absolute(crossdock).string();
  options.cache_dir = std::filesystem::absolute(cache).string();
  options.work_dir = std::filesystem::absolute(work).string();

  if (access(options.crossdock.c_str(), X_OK) != 0) {
    throw BenchError("crossdock binary " + options.crossdock + " is missing; build it with `make`");
  }
  for (const char* program : {"docker-registry", "skopeo", "curl", "openssl", "htpasswd"}) {
    RequireProgram(program, "run `make deps` (as root) to install it");
  }
  RequireProgram("time", "`make bench` installs GNU time (Debian package \"time\")");
  // The vendor fakes of tests/fakes/ that vendor-noop starts: the release builds `make
  // bench` makes, unless CROSSDOCK_FAKES names others.
  const char* fakes = std::getenv("CROSSDOCK_FAKES");
  if (fakes == nullptr || *fakes == '\0') {
    setenv("CROSSDOCK_FAKES", std::filesystem::absolute("build/bench/fakes").c_str(), 1);
  }
  if (std::find(options.parts.begin(), options.parts.end(), "vendor-noop") != options.parts.end()) {
    for (const char* fake : {"harbor", "dockerhub"}) {
      const std::string path = std::string(std::getenv("CROSSDOCK_FAKES")) + "/" + fake;
      if (access(path.c_str(), X_OK) != 0) {
        throw BenchError("the " + std::string(fake) + " fake " + path +
                         " is missing; `make bench` builds it (or set CROSSDOCK_FAKES)");
      }
    }
  }

  MachineInfo machine = DescribeMachine(options.crossdock);
  std::cerr << "bench: " << options.reps << " run(s) per tool; parts:";
  for (const std::string& p : options.parts) std::cerr << " " << p;
  std::cerr << "\n";
  Results results = RunBench(options);
  if (vm.count("json")) {
    std::cout << ToJson(results, machine).dump(1) << "\n";
  } else {
    PrintMarkdown(results, machine, std::cout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "crossdock_bench: error: " << e.what()
              << "\nNo results printed: a figure that was not measured is never reported. "
                 "Logs of the runs stay under the --work directory.\n";
    return 1;
  }
}
