// Implementation of tests/support/harness.h: processes (fork/exec into their own
// process group), registries and fakes, hand-written OCI layouts, and the curl and
// skopeo command lines that seed and check registries.
#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

extern char** environ;

namespace crossdock::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// argv[0] resolved against PATH as execvp would, so the child only calls execve.
std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw HarnessError("cannot find program \"" + name + "\" in PATH");
}

// Starts argv with the given descriptors as stdin/stdout/stderr, in a new process
// group, dying with the calling thread. Everything the child needs is prepared
// before fork(): between fork and exec it only makes system calls.
pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& cwd, int in_fd, int out_fd, int err_fd) {
  if (argv.empty()) throw HarnessError("Spawn: empty argv");
  std::string program = ResolveProgram(argv[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> envp;
  for (const std::string& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int report[2];  // the child writes errno here if it cannot exec; closed on exec
  if (pipe2(report, O_CLOEXEC) != 0) throw HarnessError(Errno("pipe2"));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    throw HarnessError(Errno("fork"));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    int err = 0;
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) err = errno;
    if (err == 0 && !cwd.empty() && chdir(cwd.c_str()) != 0) err = errno;
    if (err == 0) {
      execve(program.c_str(), args.data(), envp.data());
      err = errno;
    }
    ssize_t ignored = write(report[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from here, so the group exists before we signal it
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    waitpid(pid, nullptr, 0);
    throw HarnessError("cannot start " + JoinArgv(argv) + (cwd.empty() ? "" : " in " + cwd) + ": " +
                       std::strerror(child_errno));
  }
  return pid;
}

// Waits up to `timeout` (forever if negative) for pid to exit, without reaping it.
// On exit, kills what is left of its process group (the zombie leader keeps the
// group id reserved meanwhile), reaps it and returns the exit code.
std::optional<int> WaitAndReap(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    siginfo_t info{};
    int options = WEXITED | WNOWAIT | (timeout.count() < 0 ? 0 : WNOHANG);
    if (waitid(P_PID, static_cast<id_t>(pid), &info, options) != 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) return -1;  // reaped behind our back: nothing left to wait for
      throw HarnessError(Errno("waitid " + std::to_string(pid)));
    }
    if (info.si_pid == pid) {
      int code = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
      kill(-pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      return code;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

std::string ReadFd(int fd) {
  std::string out;
  if (lseek(fd, 0, SEEK_SET) < 0) throw HarnessError(Errno("lseek"));
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw HarnessError(Errno("read"));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Runs a helper tool (curl, skopeo, openssl…) and throws with its stderr unless
// it exits 0.
std::string MustRun(const std::vector<std::string>& argv, int timeout_s = 120) {
  RunResult r = RunCommand(argv, {}, "", timeout_s);
  if (r.exit_code != 0) {
    throw HarnessError(JoinArgv(argv) + " exited " + std::to_string(r.exit_code) + ":\n" + r.err +
                       r.out);
  }
  return r.out;
}

// A fake's JSON status page.
json GetJson(const std::string& url) {
  return json::parse(MustRun({"curl", "-sS", "--fail", "--noproxy", "*", url}));
}

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// ---- HTTP through the curl CLI ----

const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::vector<std::string> CurlBase(const Endpoint& ep) {
  std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*", "--max-time", "60",
                                   "-H", "Expect:"};
  if (ep.tls()) {
    argv.push_back("--cacert");
    argv.push_back(ep.ca_path());
  }
  return argv;
}

// The token scope the registry asks for on this request (registry-facts.md).
std::string ScopeFor(const std::string& method, const std::string& path) {
  std::string p = path.substr(0, path.find('?'));
  if (p.rfind("/v2/_catalog", 0) == 0) return "registry:catalog:*";
  if (p.rfind("/v2/", 0) != 0) return "";
  size_t end = std::string::npos;
  for (const char* marker : {"/manifests/", "/blobs/", "/tags/"}) {
    size_t at = p.rfind(marker);
    if (at != std::string::npos && at > 4 && (end == std::string::npos || at > end)) end = at;
  }
  if (end == std::string::npos) return "";
  std::string actions = (method == "GET" || method == "HEAD") ? "pull"
                        : method == "DELETE"                  ? "delete"
                                                              : "pull,push";
  return "repository:" + p.substr(4, end - 4) + ":" + actions;
}

// Adds -u or a bearer token for a request needing `scopes`.
void AddAuth(const Endpoint& ep, const std::vector<std::string>& scopes,
             const std::optional<std::string>& credentials, std::vector<std::string>& argv) {
  if (const TokenServer* ts = ep.token_server()) {
    if (auto token = ts->FetchToken(scopes, credentials)) {
      argv.push_back("-H");
      argv.push_back("Authorization: Bearer " + *token);
    }
    return;
  }
  std::string creds =
      credentials.value_or(ep.username().empty() ? "" : ep.username() + ":" + ep.password());
  if (!creds.empty()) {
    argv.push_back("-u");
    argv.push_back(creds);
  }
}

// Splits curl -i output into the final status, headers and body (skipping 1xx).
HttpAnswer ParseCurlOutput(const std::string& out, const std::string& what) {
  HttpAnswer answer;
  size_t pos = 0;
  for (;;) {
    size_t end = out.find("\r\n\r\n", pos);
    if (end == std::string::npos || out.compare(pos, 5, "HTTP/") != 0) {
      throw HarnessError(what + ": unexpected curl output:\n" + out.substr(0, 2000));
    }
    std::stringstream block(out.substr(pos, end - pos));
    std::string line;
    std::getline(block, line);
    std::stringstream status_line(line);
    std::string version;
    status_line >> version >> answer.status;
    pos = end + 4;
    if (answer.status >= 100 && answer.status < 200) continue;
    while (std::getline(block, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      size_t start = line.find_first_not_of(' ', colon + 1);
      answer.headers[name] = start == std::string::npos ? "" : line.substr(start);
    }
    answer.body = out.substr(pos);
    return answer;
  }
}

std::string RepoUrlPath(const std::string& repo, const std::string& kind, const std::string& ref) {
  return "/v2/" + repo + "/" + kind + "/" + ref;
}

// skopeo's flags for reaching `ep`; prefix "dest-" or "src-" for copy, "" for inspect.
std::vector<std::string> SkopeoFlags(const Endpoint& ep, const std::string& prefix) {
  std::vector<std::string> flags;
  if (ep.tls()) {
    flags.push_back("--" + prefix + "cert-dir");
    flags.push_back(ep.cert_dir());
  } else {
    flags.push_back("--" + prefix + "tls-verify=false");
  }
  if (!ep.username().empty()) {
    flags.push_back("--" + prefix + "creds");
    flags.push_back(ep.username() + ":" + ep.password());
  } else {
    flags.push_back("--" + prefix + "no-creds");
  }
  return flags;
}

std::string SkopeoRef(const Endpoint& ep, const std::string& repo, const std::string& ref) {
  bool digest = ref.rfind("sha256:", 0) == 0;
  return "docker://" + ep.host() + "/" + repo + (digest ? "@" : ":") + ref;
}

// ---- OCI layouts ----

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw HarnessError("EVP sha256 init failed");
    }
  }
  void Update(const void* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string Digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static const char* kHex = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::string BlobPath(const std::string& layout, const std::string& digest) {
  return layout + "/blobs/sha256/" + digest.substr(7);
}

// Streams one blob into the layout, hashing as it goes; Commit() names it.
class BlobWriter {
 public:
  explicit BlobWriter(const std::string& layout) : layout_(layout) {
    tmp_path_ = layout + "/blobs/sha256/.tmp-XXXXXX";
    int fd = mkstemp(tmp_path_.data());
    if (fd < 0) throw HarnessError(Errno("mkstemp in " + layout));
    file_ = fdopen(fd, "wb");
    if (file_ == nullptr) throw HarnessError(Errno("fdopen"));
  }
  ~BlobWriter() {
    if (file_ != nullptr) {
      std::fclose(file_);
      std::remove(tmp_path_.c_str());
    }
  }
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  void Write(const void* data, size_t size) {
    if (size == 0) return;
    sha_.Update(data, size);
    size_ += size;
    if (std::fwrite(data, 1, size, file_) != size) throw HarnessError(Errno("write " + tmp_path_));
  }
  uint64_t size() const { return size_; }
  // Returns the digest; the blob is then at blobs/sha256/<hex>.
  std::string Commit() {
    int rc = std::fclose(file_);
    file_ = nullptr;
    std::string digest = sha_.Digest();
    if (rc != 0 || std::rename(tmp_path_.c_str(), BlobPath(layout_, digest).c_str()) != 0) {
      throw HarnessError(Errno("write blob " + digest + " in " + layout_));
    }
    return digest;
  }

 private:
  std::string layout_, tmp_path_;
  FILE* file_ = nullptr;
  Sha256 sha_;
  uint64_t size_ = 0;
};

struct Descriptor {
  std::string media_type, digest;
  uint64_t size = 0;
  json ToJson() const { return {{"mediaType", media_type}, {"digest", digest}, {"size", size}}; }
};

Descriptor WriteJsonBlob(const std::string& layout, const std::string& media_type, const json& doc) {
  std::string bytes = doc.dump();
  BlobWriter w(layout);
  w.Write(bytes.data(), bytes.size());
  Descriptor d{media_type, "", w.size()};
  d.digest = w.Commit();
  return d;
}

constexpr std::array<uint32_t, 256> Crc32Table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}

// gzip with stored (uncompressed) deflate blocks (RFC 1951 3.2.4, RFC 1952): a
// valid gzip stream without zlib, byte-for-byte deterministic.
class StoredGzip {
 public:
  explicit StoredGzip(BlobWriter& out) : out_(out) {
    static const unsigned char kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    out_.Write(kHeader, sizeof kHeader);
  }
  void Write(const char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      crc_ = kTable[(crc_ ^ static_cast<unsigned char>(data[i])) & 0xff] ^ (crc_ >> 8);
    }
    total_ += size;
    while (size > 0) {
      size_t take = std::min(size, kBlock - buffer_.size());
      buffer_.append(data, take);
      data += take;
      size -= take;
      if (buffer_.size() == kBlock) Flush(false);
    }
  }
  void Finish() {
    Flush(true);
    uint32_t crc = ~crc_;
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc >> (8 * i));
    for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));
    out_.Write(trailer, sizeof trailer);
  }

 private:
  static constexpr size_t kBlock = 65535;
  static constexpr std::array<uint32_t, 256> kTable = Crc32Table();

  void Flush(bool final) {
    uint16_t len = static_cast<uint16_t>(buffer_.size());
    uint16_t nlen = static_cast<uint16_t>(~len);
    unsigned char head[5] = {static_cast<unsigned char>(final ? 1 : 0),
                             static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8),
                             static_cast<unsigned char>(nlen & 0xff), static_cast<unsigned char>(nlen >> 8)};
    out_.Write(head, sizeof head);
    out_.Write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  BlobWriter& out_;
  std::string buffer_;
  uint32_t crc_ = 0xffffffffu;
  uint64_t total_ = 0;
};

// splitmix64: the layer's file content, a pure function of its seed.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// A ustar header for one regular file, mtime 0, owned by root.
std::string TarHeader(const std::string& name, uint64_t size) {
  std::string h(512, '\0');
  auto put = [&](size_t offset, size_t width, const std::string& value) {
    std::memcpy(h.data() + offset, value.data(), std::min(width, value.size()));
  };
  auto octal = [](uint64_t v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", digits, static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  put(0, 100, name);
  put(100, 8, octal(0644, 7));
  put(108, 8, octal(0, 7));
  put(116, 8, octal(0, 7));
  put(124, 12, octal(size, 11));
  put(136, 12, octal(0, 11));
  put(148, 8, "        ");
  h[156] = '0';
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put(148, 8, octal(sum, 6) + std::string("\0 ", 2));
  return h;
}

struct Layer {
  Descriptor descriptor;
  std::string diff_id;
};

Layer WriteLayer(const std::string& layout, const LayerSpec& spec, bool docker) {
  bool gzip = spec.gzip || docker;
  BlobWriter blob(layout);
  std::optional<StoredGzip> gz;
  if (gzip) gz.emplace(blob);
  Sha256 diff;
  auto emit = [&](const char* data, size_t size) {
    diff.Update(data, size);
    if (gz) {
      gz->Write(data, size);
    } else {
      blob.Write(data, size);
    }
  };
  std::string header = TarHeader("seed-" + std::to_string(spec.seed) + ".bin", spec.size);
  emit(header.data(), header.size());
  Prng prng(spec.seed);
  std::vector<char> chunk(1 << 16);
  for (uint64_t left = spec.size; left > 0;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
    for (size_t i = 0; i < n; i += 8) {
      uint64_t r = prng.Next();
      std::memcpy(chunk.data() + i, &r, std::min<size_t>(8, n - i));
    }
    emit(chunk.data(), n);
    left -= n;
  }
  std::string padding((512 - spec.size % 512) % 512 + 1024, '\0');  // + end-of-archive
  emit(padding.data(), padding.size());
  if (gz) gz->Finish();
  Layer layer;
  layer.diff_id = diff.Digest();
  layer.descriptor.media_type = docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                                : gzip ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                       : "application/vnd.oci.image.layer.v1.tar";
  layer.descriptor.size = blob.size();
  layer.descriptor.digest = blob.Commit();
  return layer;
}

void InitLayout(const std::string& layout) {
  std::error_code ec;
  std::filesystem::create_directories(layout + "/blobs/sha256", ec);
  if (ec) throw HarnessError("cannot create " + layout + ": " + ec.message());
  WriteFile(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

// skopeo's oci: transport ignores index.json entries whose media type is not an
// OCI one, so an image with Docker media types is also laid out for its dir:
// transport, where Push finds it: layout/docker/<ref_name>/ holds `version`,
// manifest.json, each blob by hex digest (hard links into blobs/) and each child
// of a manifest list as <hex>.manifest.json.
std::string DockerDir(const std::string& layout, const std::string& ref_name) {
  return layout + "/docker/" + ref_name;
}

void WriteDockerDir(const std::string& layout, const std::string& ref_name, const BuiltImage& image) {
  std::string dir = DockerDir(layout, ref_name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  WriteFile(dir + "/version", "Directory Transport Version: 1.1\n");
  std::filesystem::copy_file(BlobPath(layout, image.digest), dir + "/manifest.json");
  for (const BuiltImage& child : image.manifests) {
    std::filesystem::copy_file(BlobPath(layout, child.digest),
                               dir + "/" + child.digest.substr(7) + ".manifest.json");
  }
  for (const std::string& blob : image.blobs) {
    std::string target = dir + "/" + blob.substr(7);
    if (std::filesystem::exists(target)) continue;
    std::error_code ec;
    std::filesystem::create_hard_link(BlobPath(layout, blob), target, ec);
    if (ec) std::filesystem::copy_file(BlobPath(layout, blob), target);
  }
}

// Points ref_name in the layout's index.json at `d`, replacing an older entry.
void TagInLayout(const std::string& layout, const std::string& ref_name, const Descriptor& d) {
  std::filesystem::remove_all(DockerDir(layout, ref_name));
  const std::string path = layout + "/index.json";
  json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
  if (std::filesystem::exists(path)) index = json::parse(ReadFile(path));
  json kept = json::array();
  for (const json& m : index["manifests"]) {
    if (m.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "") !=
        ref_name) {
      kept.push_back(m);
    }
  }
  json entry = d.ToJson();
  entry["annotations"] = {{"org.opencontainers.image.ref.name", ref_name}};
  kept.push_back(entry);
  index["manifests"] = kept;
  WriteFile(path + ".tmp", index.dump());
  std::filesystem::rename(path + ".tmp", path);
}

BuiltImage WriteImage(const std::string& layout, const ImageSpec& spec) {
  BuiltImage built;
  json layers = json::array();
  json diff_ids = json::array();
  for (const LayerSpec& ls : spec.layers) {
    Layer layer = WriteLayer(layout, ls, spec.docker);
    layers.push_back(layer.descriptor.ToJson());
    diff_ids.push_back(layer.diff_id);
    built.blobs.push_back(layer.descriptor.digest);
  }
  json config = {{"architecture", spec.architecture},
                 {"os", spec.os},
                 {"created", "2024-01-01T00:00:00Z"},
                 {"config", {{"Labels", spec.labels}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  if (!spec.variant.empty()) config["variant"] = spec.variant;
  std::string config_type = spec.docker ? "application/vnd.docker.container.image.v1+json"
                                        : "application/vnd.oci.image.config.v1+json";
  if (!spec.config_media_type.empty()) {
    config_type = spec.config_media_type;
    config = json::parse(spec.config_json.empty() ? "{}" : spec.config_json);
  }
  Descriptor cfg = WriteJsonBlob(layout, config_type, config);
  built.config_digest = cfg.digest;
  built.blobs.insert(built.blobs.begin(), cfg.digest);
  built.media_type = spec.docker ? "application/vnd.docker.distribution.manifest.v2+json"
                                 : "application/vnd.oci.image.manifest.v1+json";
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", built.media_type},
                   {"config", cfg.ToJson()},
                   {"layers", layers}};
  if (!spec.annotations.empty()) manifest["annotations"] = spec.annotations;
  if (!spec.subject_digest.empty()) {
    manifest["subject"] = {{"mediaType", spec.subject_media_type},
                           {"digest", spec.subject_digest},
                           {"size", spec.subject_size}};
  }
  Descriptor m = WriteJsonBlob(layout, built.media_type, manifest);
  built.digest = m.digest;
  built.size = m.size;
  return built;
}

}  // namespace

// ---- files, directories, ports ----

TempDir::TempDir(const std::string& prefix) {
  std::string templ = TempRoot() + "/" + prefix + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw HarnessError(Errno("mkdtemp " + templ));
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    if (env.count(entry.substr(0, entry.find('='))) == 0) out.push_back(entry);
  }
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

int FreePort() {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw HarnessError(Errno("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw HarnessError(Errno("bind 127.0.0.1:0"));
  }
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw HarnessError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw HarnessError("cannot write " + path);
}

std::string Sha256Digest(const std::string& bytes) {
  Sha256 sha;
  sha.Update(bytes.data(), bytes.size());
  return sha.Digest();
}

// ---- processes ----

Process::Process(std::vector<std::string> argv, std::string log_path,
                 std::map<std::string, std::string> env, std::string cwd)
    : log_path_(std::move(log_path)) {
  Fd log(open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log.get() < 0) throw HarnessError(Errno("open " + log_path_));
  Fd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  pid_ = Spawn(argv, env, cwd, null.get(), log.get(), log.get());
}

Process::~Process() {
  try {
    Stop();
  } catch (const HarnessError&) {
    kill(-pid_, SIGKILL);  // a destructor must not throw; make sure nothing lingers
  }
}

bool Process::Running() {
  if (exit_code_) return false;
  exit_code_ = WaitAndReap(pid_, std::chrono::milliseconds(0));
  return !exit_code_.has_value();
}

int Process::Stop() {
  if (exit_code_) return *exit_code_;
  kill(-pid_, SIGTERM);
  exit_code_ = WaitAndReap(pid_, std::chrono::seconds(5));
  if (!exit_code_) Kill9();
  return *exit_code_;
}

void Process::Kill9() {
  if (exit_code_) return;
  kill(-pid_, SIGKILL);
  exit_code_ = WaitAndReap(pid_, std::chrono::milliseconds(-1));
}

int Process::Wait() {
  if (!exit_code_) exit_code_ = WaitAndReap(pid_, std::chrono::milliseconds(-1));
  return *exit_code_;
}

std::optional<int> Process::WaitFor(std::chrono::milliseconds timeout) {
  if (!exit_code_) exit_code_ = WaitAndReap(pid_, timeout);
  return exit_code_;
}

bool Process::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    bool running = Running();
    if (log().find(needle) != std::string::npos) return true;
    if (!running || Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RunResult RunCommand(std::vector<std::string> argv, std::map<std::string, std::string> env,
                     std::string cwd, int timeout_s) {
  Fd out(memfd_create("stdout", MFD_CLOEXEC));
  Fd err(memfd_create("stderr", MFD_CLOEXEC));
  Fd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (out.get() < 0 || err.get() < 0 || null.get() < 0) throw HarnessError(Errno("memfd_create"));
  pid_t pid = Spawn(argv, env, cwd, null.get(), out.get(), err.get());
  RunResult result;
  std::optional<int> code = WaitAndReap(pid, std::chrono::seconds(timeout_s));
  if (!code) {
    kill(-pid, SIGKILL);
    WaitAndReap(pid, std::chrono::milliseconds(-1));
  }
  result.out = ReadFd(out.get());
  result.err = ReadFd(err.get());
  if (!code) {
    throw HarnessError(JoinArgv(argv) + " did not finish within " + std::to_string(timeout_s) +
                       " s and was killed.\nstdout:\n" + result.out + "\nstderr:\n" + result.err);
  }
  result.exit_code = *code;
  return result;
}

std::string CrossdockBin() {
  const char* bin = std::getenv("CROSSDOCK_BIN");
  if (bin == nullptr || *bin == '\0') {
    throw HarnessError(
        "CROSSDOCK_BIN is not set: run the end-to-end tests with `make test`, or set it to the "
        "crossdock binary to test (e.g. build/asan/crossdock)");
  }
  return bin;
}

RunResult RunCrossdock(std::vector<std::string> args, std::map<std::string, std::string> env,
                       std::string cwd, int timeout_s) {
  args.insert(args.begin(), CrossdockBin());
  return RunCommand(std::move(args), std::move(env), std::move(cwd), timeout_s);
}

std::string FakePath(const std::string& name) {
  const char* dir = std::getenv("CROSSDOCK_FAKES");
  if (dir == nullptr || *dir == '\0') {
    throw HarnessError(
        "CROSSDOCK_FAKES is not set: run the end-to-end tests with `make test`, or set it to the "
        "directory of the built fakes (e.g. build/asan/fakes)");
  }
  std::string path = std::string(dir) + "/" + name;
  if (access(path.c_str(), X_OK) != 0) {
    throw HarnessError("fake " + path + " is missing: build it (make " + path + ")");
  }
  return path;
}

FakeProcess::FakeProcess(const std::string& name, std::vector<std::string> args,
                         const std::string& log_path) {
  args.insert(args.begin(), {FakePath(name), "--port", "0"});
  process_ = std::make_unique<Process>(args, log_path);
  if (!process_->WaitForLog("ready\n")) {
    std::string log = process_->log();
    process_->Stop();
    throw HarnessError(name + " did not become ready; its log:\n" + log);
  }
  std::string log = process_->log();
  const std::string marker = "listening on 127.0.0.1:";
  size_t at = log.find(marker);
  if (at != std::string::npos) port_ = std::atoi(log.c_str() + at + marker.size());
  if (port_ <= 0) throw HarnessError(name + " printed no port; its log:\n" + log);
}

// ---- token server ----

TokenServer::TokenServer(Options options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("crossdock-token")) {
  cert_path_ = dir_->Sub("token-signer.crt");
  std::vector<std::string> args = {"--cert-out",   cert_path_,
                                   "--issuer",     options_.issuer,
                                   "--service",    options_.service,
                                   "--expires-in", std::to_string(options_.expires_in)};
  if (options_.lifetime) {
    args.push_back("--lifetime");
    args.push_back(std::to_string(*options_.lifetime));
  }
  if (!options_.username.empty()) {
    args.push_back("--user");
    args.push_back(options_.username + ":" + options_.password);
  }
  fake_ = std::make_unique<FakeProcess>("token_server", args, dir_->Sub("token_server.log"));
}

void TokenServer::SetLifetime(int lifetime_s, int expires_in_s) {
  MustRun({"curl", "-sS", "--fail", "--noproxy", "*", "-X", "POST", "--data", "",
           url() + "/settings?lifetime=" + std::to_string(lifetime_s) +
               "&expires_in=" + std::to_string(expires_in_s)});
  options_.lifetime = lifetime_s;
  options_.expires_in = expires_in_s;
}

TokenServer::Stats TokenServer::GetStats() const {
  json j = GetJson(url() + "/stats");
  Stats stats;
  stats.tokens_issued = j.at("tokens_issued").get<int>();
  stats.harness_tokens_issued = j.at("harness_tokens_issued").get<int>();
  stats.unauthorized = j.at("unauthorized").get<int>();
  stats.scopes = j.at("scopes").get<std::vector<std::string>>();
  return stats;
}

std::optional<std::string> TokenServer::FetchToken(const std::vector<std::string>& scopes,
                                                   std::optional<std::string> credentials) const {
  std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*", "-G",
                                   "-H", "X-Crossdock-Harness: 1", "-w", "\n%{http_code}",
                                   "--data-urlencode", "service=" + options_.service};
  for (const std::string& scope : scopes) {
    if (scope.empty()) continue;
    argv.push_back("--data-urlencode");
    argv.push_back("scope=" + scope);
  }
  std::string creds = credentials.value_or(
      options_.username.empty() ? "" : options_.username + ":" + options_.password);
  if (!creds.empty()) {
    argv.push_back("-u");
    argv.push_back(creds);
  }
  argv.push_back(realm());
  std::string out = MustRun(argv);
  size_t nl = out.rfind('\n');
  std::string status = out.substr(nl + 1);
  std::string body = out.substr(0, nl);
  if (status == "401") return std::nullopt;
  if (status != "200") throw HarnessError("token server answered " + status + ": " + body);
  return json::parse(body).at("token").get<std::string>();
}

// ---- registry ----

Registry::Registry(Options options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("crossdock-registry")) {
  config_path_ = dir_->Sub("config.yml");
  storage_dir_ = dir_->Sub("data");
  log_path_ = dir_->Sub("registry.log");
  if (!options_.htpasswd_user.empty() && options_.token_server != nullptr) {
    throw HarnessError("Registry: choose htpasswd or token auth, not both");
  }
  tls_ = options_.tls;
  if (tls_) GenerateCertificates();
  if (!options_.htpasswd_user.empty()) {
    std::string line =
        MustRun({"htpasswd", "-Bbn", options_.htpasswd_user, options_.htpasswd_password});
    WriteFile(dir_->Sub("htpasswd"), line.substr(0, line.find_last_not_of("\r\n") + 1) + "\n");
    username_ = options_.htpasswd_user;
    password_ = options_.htpasswd_password;
  }
  if (options_.token_server != nullptr) {
    token_server_ = options_.token_server;
    username_ = token_server_->options().username;
    password_ = token_server_->options().password;
  }
  // Another process may take the port between FreePort() and the registry's bind:
  // then try another one.
  for (int attempt = 0;; ++attempt) {
    port_ = FreePort();
    try {
      Start();
      return;
    } catch (const HarnessError&) {
      bool port_taken = log().find("address already in use") != std::string::npos;
      process_.reset();
      if (!port_taken || attempt == 2) throw;
      std::filesystem::remove(log_path_);
    }
  }
}

Registry::~Registry() = default;

std::string Registry::log() const {
  std::error_code ec;
  return std::filesystem::exists(log_path_, ec) ? ReadFile(log_path_) : "";
}

void Registry::GenerateCertificates() {
  std::string certs = dir_->Sub("certs");
  std::filesystem::create_directories(certs);
  ca_path_ = certs + "/ca.crt";  // also the name skopeo's --cert-dir looks for
  cert_dir_ = certs;
  std::string key_opts = "ec:" + certs + "/ec.param";
  MustRun({"openssl", "ecparam", "-name", "prime256v1", "-out", certs + "/ec.param"});
  MustRun({"openssl", "req", "-x509", "-newkey", key_opts, "-nodes", "-keyout",
           dir_->Sub("ca.key"), "-out", ca_path_, "-days", "2", "-subj",
           "/CN=crossdock test CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  MustRun({"openssl", "req", "-newkey", key_opts, "-nodes", "-keyout", dir_->Sub("server.key"),
           "-out", dir_->Sub("server.csr"), "-subj", "/CN=127.0.0.1"});
  WriteFile(dir_->Sub("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n");
  MustRun({"openssl", "x509", "-req", "-in", dir_->Sub("server.csr"), "-CA", ca_path_, "-CAkey",
           dir_->Sub("ca.key"), "-CAcreateserial", "-out", dir_->Sub("server.crt"), "-days", "2",
           "-extfile", dir_->Sub("server.ext")});
}

void Registry::WriteConfig() const {
  auto q = [](const std::string& v) { return json(v).dump(); };  // a JSON string is valid YAML
  std::ostringstream c;
  c << "version: 0.1\n"
    << "log:\n  level: error\n  accesslog:\n    disabled: " << (options_.access_log ? "false" : "true")
    << "\n"
    << "storage:\n  filesystem:\n    rootdirectory: " << q(storage_dir_) << "\n"
    << "  delete:\n    enabled: true\n"
    << "  maintenance:\n    uploadpurging:\n      enabled: false\n"
    << "http:\n  addr: 127.0.0.1:" << port_ << "\n"
    << "  secret: crossdock-e2e-fixed-secret\n";  // fixed: uploads survive a restart
  if (tls_) {
    c << "  tls:\n    certificate: " << q(dir_->Sub("server.crt")) << "\n"
      << "    key: " << q(dir_->Sub("server.key")) << "\n";
  }
  if (!options_.htpasswd_user.empty()) {
    c << "auth:\n  htpasswd:\n    realm: crossdock-e2e\n    path: " << q(dir_->Sub("htpasswd")) << "\n";
  } else if (const TokenServer* ts = options_.token_server) {
    c << "auth:\n  token:\n    realm: " << q(ts->realm()) << "\n"
      << "    service: " << q(ts->options().service) << "\n"
      << "    issuer: " << q(ts->options().issuer) << "\n"
      << "    rootcertbundle: " << q(ts->cert_path()) << "\n";
  }
  if (!options_.notifications.empty()) {
    c << "notifications:\n  endpoints:\n";
    int n = 0;
    for (const Notification& e : options_.notifications) {
      c << "    - name: e2e-" << n++ << "\n"
        << "      url: " << q(e.url) << "\n"
        << "      timeout: " << e.timeout << "\n"
        << "      threshold: " << e.threshold << "\n"
        << "      backoff: " << e.backoff << "\n";
      if (!e.headers.empty()) {
        c << "      headers:\n";
        for (const auto& [name, value] : e.headers) {
          c << "        " << name << ": [" << q(value) << "]\n";
        }
      }
    }
  }
  WriteFile(config_path_, c.str());
}

void Registry::Start() {
  if (process_) return;
  WriteConfig();
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"docker-registry", "serve", config_path_}, log_path_);
  WaitUntilAnswering();
}

void Registry::Stop() {
  if (process_) process_->Stop();
  process_.reset();
}

void Registry::WaitUntilAnswering() {
  auto deadline = Clock::now() + std::chrono::seconds(15);
  std::vector<std::string> probe = CurlBase(*this);
  probe.insert(probe.end(), {"-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                             url() + "/v2/"});
  for (;;) {
    if (!process_->Running()) {
      throw HarnessError("docker-registry on " + host() + " exited with code " +
                         std::to_string(process_->Wait()) + "; its log:\n" + log());
    }
    if (CanConnect(port_)) {
      RunResult r = RunCommand(probe, {}, "", 10);
      if (r.out != "000" && !r.out.empty()) return;
    }
    if (Clock::now() >= deadline) {
      throw HarnessError("docker-registry on " + host() + " did not answer GET /v2/ within 15 s; "
                         "its log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---- corrupt proxy ----

CorruptProxy::CorruptProxy(const Registry& upstream, Options options)
    : dir_(std::make_unique<TempDir>("crossdock-proxy")) {
  std::vector<std::string> args = {"--upstream", upstream.url()};
  if (upstream.tls()) {
    args.push_back("--upstream-ca");
    args.push_back(upstream.ca_path());
  }
  if (options.corrupt_blobs && options.only_digests.empty()) args.push_back("--corrupt-blobs");
  if (options.referrers) args.push_back("--referrers");
  if (options.delay_ms > 0) {
    args.push_back("--delay-ms");
    args.push_back(std::to_string(options.delay_ms));
  }
  if (options.fail_429 > 0) {
    args.push_back("--fail-429");
    args.push_back(std::to_string(options.fail_429));
  }
  if (options.bytes_per_second > 0) {
    args.push_back("--bytes-per-second");
    args.push_back(std::to_string(options.bytes_per_second));
  }
  if (options.pull_limit > 0) {
    args.push_back("--pull-limit");
    args.push_back(std::to_string(options.pull_limit));
  }
  for (const std::string& d : options.only_digests) {
    args.push_back("--corrupt-digest");
    args.push_back(d);
  }
  fake_ = std::make_unique<FakeProcess>("corrupt_proxy", args, dir_->Sub("corrupt_proxy.log"));
  port_ = fake_->port();
  username_ = upstream.username();
  password_ = upstream.password();
  token_server_ = upstream.token_server();
}

CorruptProxy::Stats CorruptProxy::GetStats() const {
  json j = GetJson(url() + "/__stats");
  Stats stats;
  stats.requests = j.at("requests").get<int>();
  stats.blob_gets = j.at("blob_gets").get<int>();
  stats.corrupted = j.at("corrupted").get<int>();
  stats.by_method = j.at("by_method").get<std::map<std::string, int>>();
  stats.paced_bytes = j.at("paced_bytes").get<std::int64_t>();
  stats.paced_cut_short = j.at("paced_cut_short").get<int>();
  return stats;
}

// ---- images ----

BuiltImage BuildImage(const std::string& layout_dir, const std::string& ref_name,
                      const ImageSpec& spec) {
  InitLayout(layout_dir);
  BuiltImage built = WriteImage(layout_dir, spec);
  TagInLayout(layout_dir, ref_name, {built.media_type, built.digest, built.size});
  if (spec.docker) WriteDockerDir(layout_dir, ref_name, built);
  return built;
}

BuiltImage BuildIndex(const std::string& layout_dir, const std::string& ref_name,
                      const std::vector<ImageSpec>& platforms) {
  if (platforms.empty()) throw HarnessError("BuildIndex: no platforms");
  InitLayout(layout_dir);
  BuiltImage index;
  bool docker = platforms.front().docker;
  index.media_type = docker ? "application/vnd.docker.distribution.manifest.list.v2+json"
                            : "application/vnd.oci.image.index.v1+json";
  json manifests = json::array();
  for (const ImageSpec& spec : platforms) {
    BuiltImage child = WriteImage(layout_dir, spec);
    json entry = Descriptor{child.media_type, child.digest, child.size}.ToJson();
    entry["platform"] = {{"architecture", spec.architecture}, {"os", spec.os}};
    if (!spec.variant.empty()) entry["platform"]["variant"] = spec.variant;
    manifests.push_back(entry);
    index.blobs.insert(index.blobs.end(), child.blobs.begin(), child.blobs.end());
    index.manifests.push_back(std::move(child));
  }
  json doc = {{"schemaVersion", 2}, {"mediaType", index.media_type}, {"manifests", manifests}};
  Descriptor d = WriteJsonBlob(layout_dir, index.media_type, doc);
  index.digest = d.digest;
  index.size = d.size;
  TagInLayout(layout_dir, ref_name, d);
  if (docker) WriteDockerDir(layout_dir, ref_name, index);
  return index;
}

// ---- seeding and verification ----

void Push(const std::string& layout_dir, const std::string& ref_name, const Endpoint& registry,
          const std::string& repo, const std::string& tag, bool all) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--quiet",
                                   "--preserve-digests"};
  if (all) argv.push_back("--all");
  for (const std::string& f : SkopeoFlags(registry, "dest-")) argv.push_back(f);
  std::string docker_dir = DockerDir(layout_dir, ref_name);
  bool docker = std::filesystem::exists(docker_dir + "/manifest.json");
  argv.push_back(docker ? "dir:" + docker_dir : "oci:" + layout_dir + ":" + ref_name);
  argv.push_back(SkopeoRef(registry, repo, tag));
  MustRun(argv, 300);
}

HttpAnswer CurlRequest(const Endpoint& registry, const std::string& method, const std::string& path,
                       const std::vector<std::string>& extra_curl_args,
                       const std::vector<std::string>& scopes,
                       std::optional<std::string> credentials) {
  std::vector<std::string> argv = CurlBase(registry);
  if (method == "HEAD") {
    argv.push_back("--head");
  } else {
    argv.push_back("-i");
    argv.push_back("-X");
    argv.push_back(method);
  }
  bool own_authorization = false;
  for (const std::string& arg : extra_curl_args) {
    own_authorization |= strncasecmp(arg.c_str(), "Authorization:", 14) == 0;
  }
  if (!own_authorization) {
    std::vector<std::string> wanted = scopes;
    if (wanted.empty()) wanted.push_back(ScopeFor(method, path));
    AddAuth(registry, wanted, credentials, argv);
  }
  argv.insert(argv.end(), extra_curl_args.begin(), extra_curl_args.end());
  argv.push_back(registry.url() + path);
  return ParseCurlOutput(MustRun(argv), method + " " + registry.url() + path);
}

void PushManifestUnderTag(const Endpoint& registry, const std::string& repo,
                          const std::string& existing, const std::string& new_tag) {
  PushManifestUnderTags(registry, repo, existing, {new_tag});
}

void PushManifestUnderTags(const Endpoint& registry, const std::string& repo,
                           const std::string& existing, const std::vector<std::string>& new_tags) {
  if (new_tags.empty()) return;
  HttpAnswer got = CurlRequest(registry, "GET", RepoUrlPath(repo, "manifests", existing),
                               {"-H", kManifestAccept});
  if (got.status != 200) {
    throw HarnessError("GET manifest " + repo + ":" + existing + " answered " +
                       std::to_string(got.status) + ": " + got.body);
  }
  TempDir tmp("crossdock-put");
  WriteFile(tmp.Sub("manifest"), got.body);
  // One curl for all tags (one connection, one token): URLs come from a config file.
  std::string config;
  for (const std::string& tag : new_tags) {
    config += "url = " + json(registry.url() + RepoUrlPath(repo, "manifests", tag)).dump() +
              "\noutput = \"/dev/null\"\n";
  }
  WriteFile(tmp.Sub("urls"), config);
  std::vector<std::string> argv = CurlBase(registry);
  AddAuth(registry, {"repository:" + repo + ":pull,push"}, std::nullopt, argv);
  argv.insert(argv.end(), {"-X", "PUT", "-H", "Content-Type: " + got.headers["content-type"],
                           "--data-binary", "@" + tmp.Sub("manifest"), "-w",
                           "%{http_code}\n", "-K", tmp.Sub("urls")});
  std::stringstream codes(MustRun(argv, 600));
  size_t i = 0;
  for (std::string code; std::getline(codes, code); ++i) {
    if (code != "201") {
      throw HarnessError("PUT manifest " + repo + ":" + (i < new_tags.size() ? new_tags[i] : "?") +
                         " answered " + code);
    }
  }
  if (i != new_tags.size()) throw HarnessError("PUT manifests: curl answered for " +
                                               std::to_string(i) + " of " +
                                               std::to_string(new_tags.size()) + " tags");
}

void DeleteTag(const Endpoint& registry, const std::string& repo, const std::string& tag) {
  std::optional<std::string> digest = HeadDigest(registry, repo, tag);
  if (!digest) throw HarnessError("DeleteTag: " + repo + ":" + tag + " does not exist");
  HttpAnswer a = CurlRequest(registry, "DELETE", RepoUrlPath(repo, "manifests", *digest));
  if (a.status != 202) {
    throw HarnessError("DELETE " + repo + "@" + *digest + " answered " + std::to_string(a.status) +
                       ": " + a.body);
  }
}

std::optional<std::string> HeadDigest(const Endpoint& registry, const std::string& repo,
                                      const std::string& ref) {
  HttpAnswer a =
      CurlRequest(registry, "HEAD", RepoUrlPath(repo, "manifests", ref), {"-H", kManifestAccept});
  if (a.status == 404) return std::nullopt;
  if (a.status != 200 || a.headers.count("docker-content-digest") == 0) {
    throw HarnessError("HEAD " + registry.url() + RepoUrlPath(repo, "manifests", ref) +
                       " answered " + std::to_string(a.status) + " without a digest");
  }
  return a.headers["docker-content-digest"];
}

std::string SkopeoInspectRaw(const Endpoint& registry, const std::string& repo,
                             const std::string& ref) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "inspect", "--raw"};
  for (const std::string& f : SkopeoFlags(registry, "")) argv.push_back(f);
  argv.push_back(SkopeoRef(registry, repo, ref));
  return MustRun(argv);
}

std::vector<std::string> ListTags(const Endpoint& registry, const std::string& repo) {
  HttpAnswer a = CurlRequest(registry, "GET", "/v2/" + repo + "/tags/list");
  if (a.status == 404) return {};
  if (a.status != 200) {
    throw HarnessError("GET tags of " + repo + " answered " + std::to_string(a.status) + ": " +
                       a.body);
  }
  json j = json::parse(a.body);
  std::vector<std::string> tags;
  if (j.contains("tags") && j["tags"].is_array()) tags = j["tags"].get<std::vector<std::string>>();
  std::sort(tags.begin(), tags.end());
  return tags;
}

bool BlobExists(const Endpoint& registry, const std::string& repo, const std::string& digest) {
  HttpAnswer a = CurlRequest(registry, "HEAD", RepoUrlPath(repo, "blobs", digest));
  if (a.status == 200) return true;
  if (a.status == 404) return false;
  throw HarnessError("HEAD blob " + repo + "@" + digest + " answered " + std::to_string(a.status));
}

// ---- fault proxy ----

FaultProxy::FaultProxy(const Registry& upstream, Options options)
    : dir_(std::make_unique<TempDir>("crossdock-fault-proxy")) {
  if (upstream.tls()) throw HarnessError("FaultProxy: the upstream must be plain HTTP");
  std::vector<std::string> args = {"--upstream", upstream.url(), "--seed",
                                    std::to_string(options.seed), "--delay-ms",
                                    std::to_string(options.delay_ms), "--retry-after",
                                    std::to_string(options.retry_after)};
  if (upstream.token_server()) {
    args.push_back("--token-upstream");
    args.push_back(upstream.token_server()->url());
  }
  for (const std::string& f : options.faults) {
    args.push_back("--fault");
    args.push_back(f);
  }
  fake_ = std::make_unique<FakeProcess>("fault_proxy", args, dir_->Sub("fault_proxy.log"));
  port_ = fake_->port();
  username_ = upstream.username();
  password_ = upstream.password();
  token_server_ = upstream.token_server();
}

FaultProxy::Stats FaultProxy::GetStats() const {
  json j = GetJson(url() + "/__stats");
  Stats stats;
  stats.requests = j.at("requests").get<int>();
  stats.injected = j.at("injected").get<int>();
  stats.by_kind = j.at("by_kind").get<std::map<std::string, int>>();
  stats.faults = j.at("faults").get<std::map<std::string, int>>();
  return stats;
}

// ---- hostile registry ----

HostileRegistry::HostileRegistry(Options options)
    : dir_(std::make_unique<TempDir>("crossdock-hostile")) {
  std::vector<std::string> args = options.args;
  if (!options.username.empty()) {
    args.push_back("--user");
    args.push_back(options.username + ":" + options.password);
  }
  fake_ = std::make_unique<FakeProcess>("hostile_registry", args, dir_->Sub("hostile_registry.log"));
  port_ = fake_->port();
  username_ = options.username;
  password_ = options.password;
}

HostileRegistry::Stats HostileRegistry::GetStats() const {
  json j = GetJson(url() + "/__stats");
  Stats stats;
  stats.requests = j.at("requests").get<int>();
  stats.authorized = j.at("authorized").get<int>();
  stats.pings = j.at("pings").get<int>();
  stats.catalog = j.at("catalog").get<int>();
  stats.tag_lists = j.at("tag_lists").get<int>();
  stats.manifest_gets = j.at("manifest_gets").get<int>();
  stats.manifest_heads = j.at("manifest_heads").get<int>();
  stats.blob_gets = j.at("blob_gets").get<int>();
  stats.uploads = j.at("uploads").get<int>();
  stats.suspicious = j.at("suspicious").get<int>();
  stats.manifest_bytes_sent = j.at("manifest_bytes_sent").get<std::int64_t>();
  stats.paths = j.at("paths").get<std::vector<std::string>>();
  return stats;
}

}  // namespace crossdock::testing
