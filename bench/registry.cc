// Implementation of bench/registry.h. The configuration follows
// tests/support/harness.cc (delete enabled, upload purging off, log level error,
// access log off) plus the in-memory blob descriptor cache of distribution's
// example config, as a production registry would run.
#include "bench/registry.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/bench_error.h"

namespace crossdock::bench {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::RunResult;

std::string Join(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string MustRun(const std::vector<std::string>& argv, int timeout_s = 120) {
  RunResult r;
  try {
    r = RunCommand(argv, {}, "", timeout_s);
  } catch (const testing::HarnessError& e) {
    throw BenchError(e.what());
  }
  if (r.exit_code != 0) {
    throw BenchError(Join(argv) + " exited " + std::to_string(r.exit_code) + ":\n" + r.err + r.out);
  }
  return r.out;
}

std::string Quote(const std::string& v) {  // a YAML double-quoted scalar
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Certificates MakeCertificates(const std::string& dir) {
  fs::create_directories(dir + "/ca");
  Certificates c;
  c.ca_path = dir + "/ca/ca.crt";
  c.ca_dir = dir + "/ca";
  c.cert_path = dir + "/server.crt";
  c.key_path = dir + "/server.key";
  std::string params = dir + "/ec.param";
  MustRun({"openssl", "ecparam", "-name", "prime256v1", "-out", params});
  MustRun({"openssl", "req", "-x509", "-newkey", "ec:" + params, "-nodes", "-keyout",
           dir + "/ca.key", "-out", c.ca_path, "-days", "2", "-subj", "/CN=crossdock bench CA",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  MustRun({"openssl", "req", "-newkey", "ec:" + params, "-nodes", "-keyout", c.key_path, "-out",
           dir + "/server.csr", "-subj", "/CN=127.0.0.1"});
  testing::WriteFile(dir + "/server.ext",
                     "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                     "basicConstraints=critical,CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth\n");
  MustRun({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", c.ca_path, "-CAkey",
           dir + "/ca.key", "-CAcreateserial", "-out", c.cert_path, "-days", "2", "-extfile",
           dir + "/server.ext"});
  return c;
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) {
    throw BenchError("cannot read /proc/" + std::to_string(pid) + "/stat");
  }
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After "pid (comm) ", field 3 (state) comes first; utime and stime are 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

BenchRegistry::BenchRegistry(std::string dir, Options options)
    : dir_(std::move(dir)), options_(std::move(options)) {
  if (fs::exists(dir_)) throw BenchError("registry directory " + dir_ + " already exists");
  fs::create_directories(dir_);
  const bool read_only = !options_.read_only_storage.empty();
  storage_ = read_only ? options_.read_only_storage : dir_ + "/storage";
  fs::create_directories(storage_);
  std::string log_path = dir_ + "/registry.log";
  std::ostringstream c;
  c << "version: 0.1\n"
    << "log:\n  level: error\n  accesslog:\n    disabled: true\n"
    << "storage:\n  filesystem:\n    rootdirectory: " << Quote(storage_) << "\n"
    << "  delete:\n    enabled: true\n"
    << "  cache:\n    blobdescriptor: inmemory\n"
    << "  maintenance:\n    uploadpurging:\n      enabled: false\n"
    << "    readonly:\n      enabled: " << (read_only ? "true" : "false") << "\n";
  if (!options_.username.empty()) {
    std::string htpasswd =
        MustRun({"htpasswd", "-Bbn", options_.username, options_.password});
    testing::WriteFile(dir_ + "/htpasswd", htpasswd);
    c << "auth:\n  htpasswd:\n    realm: crossdock-bench\n    path: "
      << Quote(dir_ + "/htpasswd") << "\n";
  }
  // Another process may take the port between FreePort() and the bind: retry.
  for (int attempt = 0;; ++attempt) {
    port_ = testing::FreePort();
    std::ostringstream http;
    http << "http:\n  addr: 127.0.0.1:" << port_ << "\n  secret: crossdock-bench-secret\n";
    if (options_.tls != nullptr) {
      http << "  tls:\n    certificate: " << Quote(options_.tls->cert_path)
           << "\n    key: " << Quote(options_.tls->key_path) << "\n";
    }
    testing::WriteFile(dir_ + "/config.yml", c.str() + http.str());
    fs::remove(log_path);
    try {
      process_ = std::make_unique<testing::Process>(
          std::vector<std::string>{"docker-registry", "serve", dir_ + "/config.yml"}, log_path);
    } catch (const testing::HarnessError& e) {
      throw BenchError(std::string("cannot start docker-registry: ") + e.what() +
                       " (install it with `make deps`)");
    }
    std::vector<std::string> probe = {"curl", "-sS", "--noproxy", "*", "-o", "/dev/null",
                                      "-w", "%{http_code}", "--max-time", "5"};
    if (options_.tls != nullptr) {
      probe.push_back("--cacert");
      probe.push_back(options_.tls->ca_path);
    }
    probe.push_back(url() + "/v2/");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool answering = false, exited = false;
    while (!answering && std::chrono::steady_clock::now() < deadline) {
      if (!process_->Running()) {
        exited = true;
        break;
      }
      RunResult r = RunCommand(probe, {}, "", 10);
      answering = r.out != "000" && !r.out.empty();
      if (!answering) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (answering) return;
    std::string log = testing::ReadFile(log_path);
    process_.reset();
    if (exited && log.find("address already in use") != std::string::npos && attempt < 2) continue;
    throw BenchError("docker-registry on " + host() +
                     (exited ? " exited at start" : " did not answer GET /v2/ within 15 s") +
                     "; config " + dir_ + "/config.yml; its log:\n" + log);
  }
}

BenchRegistry::~BenchRegistry() {
  Stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

double BenchRegistry::CpuSeconds() const { return ProcessCpuSeconds(pid()); }

void BenchRegistry::Stop() {
  if (process_) process_->Stop();
  process_.reset();
}

}  // namespace crossdock::bench
