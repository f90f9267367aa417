// Real `docker-registry` processes for the bench: plain or TLS with htpasswd,
// started on an empty storage or read-only on a cached data set, with the pid
// exposed so their CPU time can be read from /proc. Used by bench/scenarios.cc.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "tests/support/harness.h"

namespace crossdock::bench {

// A throw-away CA and a server certificate for IP:127.0.0.1 (ECDSA P-256), shared
// by the TLS registries and counting proxies of one bench run.
struct Certificates {
  std::string ca_path;    // the CA certificate (PEM)
  std::string ca_dir;     // a directory holding only ca.crt (skopeo --*-cert-dir)
  std::string cert_path;  // server certificate and key
  std::string key_path;
};
// Writes them under dir (created); throws BenchError if openssl fails.
Certificates MakeCertificates(const std::string& dir);

class BenchRegistry {
 public:
  struct Options {
    // Serve this existing storage tree (a data set in the cache) in distribution's
    // read-only mode, which refuses every write, so the cache cannot change and
    // nothing needs copying (the many-tags tree has 18,000 tag directories).
    // Empty: a fresh, empty storage under dir.
    std::string read_only_storage{};
    const Certificates* tls = nullptr;  // serve HTTPS with these
    std::string username{}, password{};  // htpasswd basic auth when set
  };
  // Creates dir (which must not exist), starts the registry on a free port and waits until GET /v2/ answers. Throws BenchError with the
  // registry's log if it cannot start.
  BenchRegistry(std::string dir, Options options);
  // Stops the registry and removes dir.
  ~BenchRegistry();
  BenchRegistry(const BenchRegistry&) = delete;
  BenchRegistry& operator=(const BenchRegistry&) = delete;

  int port() const { return port_; }
  bool tls() const { return options_.tls != nullptr; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return (tls() ? "https://" : "http://") + host(); }
  const Options& options() const { return options_; }
  pid_t pid() const { return process_->pid(); }
  const std::string& storage_dir() const { return storage_; }
  // user + system CPU seconds the registry has used so far (/proc/PID/stat).
  double CpuSeconds() const;
  // Stops the process; the directory stays until destruction.
  void Stop();

 private:
  std::string dir_, storage_;
  Options options_;
  int port_ = 0;
  std::unique_ptr<testing::Process> process_;
};

// user + system CPU seconds of a live process, from /proc/PID/stat.
double ProcessCpuSeconds(pid_t pid);

}  // namespace crossdock::bench
