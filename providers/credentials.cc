#include "providers/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/file.h"
#include "core/secret.h"
#include "providers/auth_files.h"

extern char** environ;

namespace crossdock::providers {

namespace {

using Clock = std::chrono::steady_clock;

// The most a helper may print: its answer is three short strings.
constexpr size_t kMaxHelperOutput = 64 * 1024;

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Writes DATA to FD with SIGPIPE held off this thread: a helper that exits without
// reading its stdin must not kill crossdock. Returns false when the write failed.
bool WriteWithoutSigpipe(int fd, const std::string& data) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  bool ok = true;
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!ok) {  // take the SIGPIPE this write raised, if any, before unblocking
    const timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

// PROGRAM_NAME found in the directories of PATH, or "".
std::string FindProgram(const std::string& program_name, const char* path) {
  if (!path) return "";
  std::string dirs = path;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + program_name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return "";
}

// What a helper is asked for HOST: Docker Hub's credentials live under its v1
// address (docker/cli registry.IndexServer); every other registry under its host.
std::string HelperServer(const std::string& host) {
  for (const char* hub : {"docker.io", "index.docker.io", "registry-1.docker.io"})
    if (host == hub) return "https://index.docker.io/v1/";
  return host;
}

// aws-ecr signs its API requests with an access key, which no auth file holds (their
// ECR entries are 12-hour registry logins): the endpoint's username (access key id)
// and password (secret access key), else the environment's AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, the first place the AWS CLI and SDKs look. The factory takes
// AWS_SESSION_TOKEN along with keys from the environment (providers/factory.cc).
core::Result<Credentials> FindAwsKeys(const core::Endpoint& endpoint,
                                      const CredentialLookup& lookup) {
  const std::string what = "endpoint \"" + endpoint.name + "\" (aws-ecr)";
  if (!endpoint.auth_file.empty())
    return core::Status::InvalidArgument(
        what + " signs with an AWS access key, which no auth file holds; remove auth_file and "
               "set username (the access key id) and password (the secret access key), or "
               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
  Credentials c;
  if (!endpoint.username.empty() || !endpoint.password.empty()) {
    if (endpoint.password.empty())
      return core::Status::InvalidArgument(
          what + " has a username (the access key id) but no password (the secret access key)");
    auto secret = core::ResolveSecret(endpoint.password);
    if (!secret.ok())
      return secret.status().WithContext("password of endpoint \"" + endpoint.name + "\"");
    c.username = endpoint.username;
    c.password = *secret;
    c.source = "the endpoint's username and password";
    return c;
  }
  auto get = [&](const char* name) {
    const char* v = lookup.getenv(name);
    return std::string(v ? v : "");
  };
  c.username = get("AWS_ACCESS_KEY_ID");
  c.password = get("AWS_SECRET_ACCESS_KEY");
  if (c.username.empty() || c.password.empty()) {
    const std::string missing = c.username.empty() && c.password.empty()
                                    ? "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are"
                                : c.username.empty() ? "AWS_ACCESS_KEY_ID is"
                                                     : "AWS_SECRET_ACCESS_KEY is";
    return core::Status::Unauthenticated(
        what + " has no username and password, and " + missing +
        " not set in the environment; set the endpoint's username (the access key id) and "
        "password (the secret access key, e.g. password = \"env:NAME\"), or export "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  c.source = get("AWS_SESSION_TOKEN").empty()
                 ? "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
                 : "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)";
  return c;
}

}  // namespace

CredentialLookup DefaultCredentialLookup() {
  return {[](const char* name) -> const char* { return std::getenv(name); },
          std::chrono::milliseconds(10000)};
}

core::Result<std::optional<Credentials>> RunCredentialHelper(const std::string& program,
                                                             const std::string& server,
                                                             std::chrono::milliseconds timeout) {
  const std::string what = "credential helper " + program;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return core::Status::Unavailable(what + ": pipe failed");
  Fd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return core::Status::Unavailable(what + ": pipe failed");
  Fd out_read(out[0]), out_write(out[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group: killed whole
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), const_cast<char*>("get"), nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0)
    return core::Status::Unavailable(what + " could not be started: " + std::strerror(spawned));
  in_read.Close();
  out_write.Close();
  WriteWithoutSigpipe(in_write.get(), server);  // a helper that never reads fails below
  in_write.Close();

  const auto deadline = Clock::now() + timeout;
  std::string output;
  bool timed_out = false, too_long = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out_read.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out_read.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the helper closed its stdout
    output.append(buf, static_cast<size_t>(n));
    if (output.size() > kMaxHelperOutput) {
      too_long = true;
      break;
    }
  }
  int status = 0;
  bool exited = false;
  while (!timed_out && !too_long) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      exited = true;
      break;
    }
    if (w < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    ::usleep(10000);
  }
  if (!exited) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  const std::string run_it = "; run `printf %s " + server + " | " + program + " get` to see why";
  if (timed_out)
    return core::Status::Unavailable(
        what + " did not answer within " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
        " s and was stopped" + run_it);
  if (too_long)
    return core::Status::Unavailable(what + " printed more than " +
                                     std::to_string(kMaxHelperOutput / 1024) +
                                     " KiB, which is no credential" + run_it);
  const bool success = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!success) {
    // docker-credential-helpers credentials/error.go: the one "not found" answer.
    if (output.find("credentials not found in native keychain") != std::string::npos)
      return std::optional<Credentials>();
    return core::Status::Unavailable(
        what + " failed (" +
        (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                           : "killed by signal " + std::to_string(WTERMSIG(status))) +
        ") for " + server + run_it);
  }
  auto j = nlohmann::json::parse(output, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("Secret") || !j["Secret"].is_string() ||
      (j.contains("Username") && !j["Username"].is_string()))
    return core::Status::Unavailable(what + " answered something other than "
                                            "{\"ServerURL\",\"Username\",\"Secret\"} for " +
                                     server + run_it);
  Credentials c;
  c.username = j.value("Username", "");
  c.password = j["Secret"].get<std::string>();
  return std::optional<Credentials>(c);
}

core::Result<Credentials> FindCredentials(const core::Endpoint& endpoint,
                                          const CredentialLookup& lookup) {
  if (endpoint.type == "aws-ecr") return FindAwsKeys(endpoint, lookup);
  const std::string host = endpoint.host();
  if (!endpoint.username.empty() || !endpoint.password.empty()) {
    Credentials c;
    c.username = endpoint.username;
    if (!endpoint.password.empty()) {
      auto secret = core::ResolveSecret(endpoint.password);
      if (!secret.ok())
        return secret.status().WithContext("password of endpoint \"" + endpoint.name + "\"");
      c.password = *secret;
    }
    c.source = "the endpoint's username and password";
    return c;
  }
  const std::vector<std::string> files =
      endpoint.auth_file.empty() ? AuthFilePaths(lookup.getenv)
                                 : std::vector<std::string>{endpoint.auth_file};
  for (const auto& file : files) {
    struct stat st;
    if (endpoint.auth_file.empty() && ::stat(file.c_str(), &st) != 0) continue;  // not there
    auto text = core::ReadFile(file, file);
    if (!text.ok())
      return text.status().WithContext("credentials for endpoint \"" + endpoint.name + "\"");
    auto entry = LookupAuthEntry(*text, host, file);
    if (!entry.ok())
      return entry.status().WithContext("credentials for endpoint \"" + endpoint.name + "\"");
    if (!*entry) continue;
    if ((*entry)->helper.empty()) {
      Credentials c = (*entry)->credentials;
      c.source = (*entry)->how + " in " + file;
      return c;
    }
    const std::string& helper = (*entry)->helper;
    const std::string program = FindProgram(helper, lookup.getenv("PATH"));
    if (program.empty())
      return core::Status::Unavailable(
          "credentials for endpoint \"" + endpoint.name + "\": " + file + " names the credential "
          "helper " + helper + " (" + (*entry)->how + ") for " + host +
          ", which is not installed (not found in PATH); install it, or set the endpoint's "
          "username and password");
    auto found = RunCredentialHelper(program, HelperServer(host), lookup.helper_timeout);
    if (!found.ok())
      return found.status().WithContext("credentials for endpoint \"" + endpoint.name + "\" (" +
                                        (*entry)->how + " in " + file + ")");
    Credentials c;
    if (*found) c = **found;
    c.source = *found ? helper + " (" + (*entry)->how + " in " + file + ")"
                      : "anonymous (" + helper + " has no credentials for " + host + ")";
    return c;
  }
  Credentials c;
  c.source = endpoint.auth_file.empty()
                 ? "anonymous (no username/password, and no auth file has an entry for " + host + ")"
                 : "anonymous (" + endpoint.auth_file + " has no entry for " + host + ")";
  return c;
}

}  // namespace crossdock::providers
