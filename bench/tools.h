// The programs under measurement and how they are told what to do: running one
// with wait4 (wall time, peak RSS, CPU), the crossdock.toml and skopeo sync YAML
// for the same copy, and the independent check (curl HEAD) that a copy arrived
// with the source digests. Used by bench/scenarios.cc.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/datasets.h"

namespace crossdock::bench {

struct ToolRun {
  int exit_code = -1;  // 128 + signal when killed; timed_out says when by us
  bool timed_out = false;
  double wall_s = 0;  // from fork to reap
  double cpu_s = 0;   // user + system, the process and the children it waited for
  std::int64_t max_rss_bytes = 0;
  std::string log_path;
};
// Runs argv (argv[0] searched in PATH) with stdin from /dev/null and stdout and
// stderr into log_path (stderr into err_path instead when given), in its own
// process group, killed after timeout_s. Throws BenchError only when it cannot
// start it.
//
// The tool runs under GNU time (`time -f "%M %U %S"`), which reports its wait4
// rusage. Not wait4 on a child of the bench itself: Linux keeps the largest RSS a
// process had before execve in ru_maxrss (fs/exec.c, exec_mmap), and a child forked
// from the bench starts as a copy of the bench's 30-40 MiB. Forked from GNU time it
// starts at about 1 MiB, which is then the floor of the figure.
ToolRun RunTool(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const std::string& cwd, const std::string& log_path, int timeout_s,
                const std::string& err_path = "");
// The last `lines` lines of a file, for error messages.
std::string Tail(const std::string& path, int lines = 15);
// The last line of a file that is not blank ("" when none), e.g. a plan's summary.
std::string LastLine(const std::string& path);
// Throws BenchError unless `program` is in PATH.
void RequireProgram(const std::string& program, const std::string& hint);

// How a tool reaches one registry (through its counting proxy, or a vendor fake).
struct Target {
  std::string host;  // 127.0.0.1:PORT
  bool tls = false;
  std::string ca_path{}, ca_dir{};      // TLS: the CA (PEM), and a directory with only ca.crt
  std::string username{}, password{};  // basic auth when set
  // crossdock only: the endpoint type ("" is docker-registry) and, for a vendor type, its
  // api_url (here the same origin as the registry).
  std::string type{}, api_url{};
  std::string url() const { return (tls ? "https://" : "http://") + host; }
};

// One copy both tools make: the same repositories, all tags, the same names.
struct CopySpec {
  // Listed for skopeo; for crossdock too unless all_repositories (then the rule
  // has no `repositories` and crossdock lists the catalog, the natural config for
  // "everything").
  std::vector<std::string> repositories;
  bool all_repositories = false;
  // "" keeps the source path; otherwise NS/<last path component>, which is what
  // `skopeo sync` (not --scoped) does with DEST/NS (crossdock: dest_namespace =
  // NS, flatten = -1).
  std::string dest_namespace;
  std::vector<std::string> immutable_tags{};  // crossdock only
};
std::string DestinationName(const CopySpec& spec, const std::string& repository);

// Environment variables holding the destination's and the source's password for
// crossdock.
inline constexpr const char* kPasswordEnv = "BENCH_DST_PASSWORD";
inline constexpr const char* kSourcePasswordEnv = "BENCH_SRC_PASSWORD";
std::string CrossdockConfig(const Target& src, const Target& dst, const CopySpec& spec);
std::string SkopeoYaml(const Target& src, const CopySpec& spec);
// skopeo sync --all --preserve-digests --src yaml --dest docker YAML DST[/NS].
std::vector<std::string> SkopeoSyncArgv(const std::string& yaml_path, const Target& dst,
                                        const CopySpec& spec);

// A curl command HEADing each URL (manifests, with the four media types in
// Accept) with --parallel --parallel-max `parallel`, printing "CODE DIGEST URL"
// per answer; the URL list goes to config_path.
std::vector<std::string> CurlHeadArgv(const std::vector<std::string>& urls, const Target& target,
                                      const std::string& config_path, int parallel);

// HEADs `expected` (source repository names) at dst (under DestinationName)
// straight at the registry, and throws BenchError naming `who` and what differs
// unless every digest matches.
void VerifyCopy(const Target& dst, const CopySpec& spec, const std::vector<TaggedImage>& expected,
                const std::string& scratch_dir, const std::string& who);

}  // namespace crossdock::bench
