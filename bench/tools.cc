// Implementation of bench/tools.h.
#include "bench/tools.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench/bench_error.h"
#include "tests/support/harness.h"

extern char** environ;

namespace crossdock::bench {
namespace {

const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::string FindInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string TomlString(const std::string& v) { return nlohmann::json(v).dump(); }

}  // namespace

void RequireProgram(const std::string& program, const std::string& hint) {
  if (FindInPath(program).empty()) {
    throw BenchError("\"" + program + "\" is not installed or not in PATH; " + hint);
  }
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += "    " + l + "\n";
  return out;
}

std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string last;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last;
}

ToolRun RunTool(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const std::string& cwd, const std::string& log_path, int timeout_s,
                const std::string& err_path) {
  if (argv.empty() || FindInPath(argv[0]).empty()) {
    throw BenchError("cannot find program \"" + argv.at(0) + "\" in PATH");
  }
  std::string program = FindInPath("time");
  if (program.empty()) throw BenchError("GNU time is missing; `make bench` installs it");
  const std::string rusage_path = log_path + ".rusage";
  std::vector<std::string> timed = {program, "-q", "-f", "%M %U %S", "-o", rusage_path};
  timed.insert(timed.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (const std::string& a : timed) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = testing::ChildEnvironment(env);
  std::vector<char*> envp;
  for (const std::string& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = err_path.empty() ? log : open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || err < 0 || null < 0) {
    throw BenchError("cannot open " + log_path + ": " + std::strerror(errno));
  }

  ToolRun run;
  run.log_path = log_path;
  auto started = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {  // only async-signal-safe calls from here on
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(err, 2) < 0) _exit(127);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
    execve(program.c_str(), args.data(), envp.data());
    const char msg[] = "bench: exec failed\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  close(log);
  if (err != log) close(err);
  close(null);
  if (pid < 0) throw BenchError(std::string("fork: ") + std::strerror(errno));
  setpgid(pid, pid);

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(timeout_s), [&] { return done; })) {
      run.timed_out = true;
      kill(-pid, SIGKILL);
    }
  });
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto ended = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  kill(-pid, SIGKILL);  // anything the tool left behind in its group
  run.wall_s = std::chrono::duration<double>(ended - started).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // GNU time passes the tool's exit code on (128 + N for a signal) and writes
  // "MAXRSS_KIB USER_S SYS_S" as the file's last line.
  std::ifstream rusage(rusage_path);
  std::string line, last;
  while (std::getline(rusage, line)) {
    if (!line.empty()) last = line;
  }
  std::istringstream fields(last);
  std::int64_t rss_kib = -1;
  double user = 0, sys = 0;
  if (!(fields >> rss_kib >> user >> sys) && run.exit_code == 0) {
    throw BenchError("GNU time wrote no usage for " + argv[0] + " into " + rusage_path);
  }
  run.cpu_s = user + sys;
  run.max_rss_bytes = rss_kib * 1024;
  return run;
}

std::string DestinationName(const CopySpec& spec, const std::string& repository) {
  if (spec.dest_namespace.empty()) return repository;
  return spec.dest_namespace + "/" + repository.substr(repository.rfind('/') + 1);
}

std::string CrossdockConfig(const Target& src, const Target& dst, const CopySpec& spec) {
  std::ostringstream c;
  c << "# Generated by the crossdock bench (bench/tools.cc).\n";
  auto endpoint = [&](const std::string& name, const Target& t, const char* password_env) {
    c << "\n[endpoints." << name << "]\ntype = "
      << TomlString(t.type.empty() ? "docker-registry" : t.type) << "\nurl = " << TomlString(t.url())
      << "\n";
    if (!t.api_url.empty()) c << "api_url = " << TomlString(t.api_url) << "\n";
    if (t.tls) c << "ca_cert = " << TomlString(t.ca_path) << "\n";
    if (!t.username.empty()) {
      c << "username = " << TomlString(t.username) << "\npassword = \"env:" << password_env
        << "\"\n";
    }
  };
  endpoint("src", src, kSourcePasswordEnv);
  endpoint("dst", dst, kPasswordEnv);
  c << "\n[rules.bench]\nsource = \"src\"\ndestination = \"dst\"\n";
  if (!spec.all_repositories) {
    c << "repositories = [";
    for (size_t i = 0; i < spec.repositories.size(); ++i) {
      c << (i ? ", " : "") << TomlString(spec.repositories[i]);
    }
    c << "]\n";
  }
  if (!spec.dest_namespace.empty()) {
    c << "dest_namespace = " << TomlString(spec.dest_namespace) << "\nflatten = -1\n";
  }
  if (!spec.immutable_tags.empty()) {
    c << "immutable_tags = [";
    for (size_t i = 0; i < spec.immutable_tags.size(); ++i) {
      c << (i ? ", " : "") << TomlString(spec.immutable_tags[i]);
    }
    c << "]\n";
  }
  return c.str();
}

std::string SkopeoYaml(const Target& src, const CopySpec& spec) {
  // skopeo-sync(1): a registry, then its images; an empty tag list means every tag.
  std::ostringstream y;
  y << TomlString(src.host) << ":\n  tls-verify: " << (src.tls ? "true" : "false") << "\n";
  if (src.tls) y << "  cert-dir: " << TomlString(src.ca_dir) << "\n";
  y << "  images:\n";
  for (const std::string& repo : spec.repositories) y << "    " << TomlString(repo) << ": []\n";
  return y.str();
}

std::vector<std::string> SkopeoSyncArgv(const std::string& yaml_path, const Target& dst,
                                        const CopySpec& spec) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "sync", "--all",
                                   "--preserve-digests", "--src", "yaml", "--dest", "docker"};
  if (dst.tls) {
    argv.insert(argv.end(), {"--dest-cert-dir", dst.ca_dir});
  } else {
    argv.push_back("--dest-tls-verify=false");
  }
  if (!dst.username.empty()) {
    argv.insert(argv.end(), {"--dest-creds", dst.username + ":" + dst.password});
  }
  argv.push_back(yaml_path);
  argv.push_back(dst.host + (spec.dest_namespace.empty() ? "" : "/" + spec.dest_namespace));
  return argv;
}

std::vector<std::string> CurlHeadArgv(const std::vector<std::string>& urls, const Target& target,
                                      const std::string& config_path, int parallel) {
  std::string config;
  for (const std::string& url : urls) {
    config += "url = " + TomlString(url) + "\noutput = \"/dev/null\"\n";
  }
  testing::WriteFile(config_path, config);
  std::vector<std::string> argv = {"curl", "-sS", "--no-progress-meter", "--noproxy", "*", "--head", "-H",
                                   kManifestAccept, "--parallel", "--parallel-max",
                                   std::to_string(parallel), "-w",
                                   "%{http_code} %header{docker-content-digest} %{url}\\n"};
  if (target.tls) argv.insert(argv.end(), {"--cacert", target.ca_path});
  if (!target.username.empty()) argv.insert(argv.end(), {"-u", target.username + ":" + target.password});
  argv.insert(argv.end(), {"-K", config_path});
  return argv;
}

void VerifyCopy(const Target& dst, const CopySpec& spec, const std::vector<TaggedImage>& expected,
                const std::string& scratch_dir, const std::string& who) {
  std::map<std::string, std::string> want;  // URL -> digest
  std::vector<std::string> urls;
  for (const TaggedImage& i : expected) {
    std::string url = dst.url() + "/v2/" + DestinationName(spec, i.repository) + "/manifests/" + i.tag;
    want[url] = i.digest;
    urls.push_back(url);
  }
  std::string log = scratch_dir + "/verify.out";
  ToolRun r = RunTool(CurlHeadArgv(urls, dst, scratch_dir + "/verify.curl", 8), {}, "", log, 300,
                      scratch_dir + "/verify.err");
  std::ifstream in(log);
  std::string problems;
  int seen = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string code, digest, url;
    fields >> code >> digest >> url;
    if (url.empty()) {  // no digest header: "CODE  URL"
      url = digest;
      digest = "";
    }
    auto it = want.find(url);
    if (it == want.end()) continue;
    ++seen;
    if (code != "200" || digest != it->second) {
      if (problems.size() < 2000) {
        problems += "    " + url + ": HTTP " + code + ", digest " +
                    (digest.empty() ? "none" : digest) + ", expected " + it->second + "\n";
      }
    }
  }
  if (r.exit_code != 0 || seen != static_cast<int>(want.size()) || !problems.empty()) {
    throw BenchError("the copy by " + who + " is wrong: " + std::to_string(seen) + " of " +
                     std::to_string(want.size()) + " checked tags answered (curl exit " +
                     std::to_string(r.exit_code) + "); tags without the source digest:\n" +
                     problems + "  end of " + log + ":\n" + Tail(log, 5));
  }
}

}  // namespace crossdock::bench
