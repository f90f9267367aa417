// A loopback TCP relay in front of one registry that counts what crosses it:
// connections, requests by method, kind and status, and bytes each way. The bench
// (bench/bench_main.cc) puts one in front of every registry so crossdock and skopeo
// are counted by the same yardstick.
//
// It relays bytes and only follows HTTP/1.1 message framing (Content-Length,
// chunked, HEAD, 1xx) to tell requests apart, so 1 GiB bodies stream through a
// 256 KiB buffer. With TLS it terminates the client's TLS with the given
// certificate (real handshakes, HTTP/1.1 only: no ALPN, so no h2) and opens its own
// TLS connection to the upstream. One upstream connection per client connection,
// so the registry sees the client's connection pattern.
//
// Failures to start (socket, certificate) throw BenchError; per-connection
// failures end that connection only, as a network would.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bench/bench_error.h"

namespace crossdock::bench {

// What one relay saw. Bytes are HTTP bytes (start lines, headers, bodies), not TLS
// records.
struct Traffic {
  std::int64_t connections = 0;
  std::int64_t requests = 0;
  std::int64_t bytes_to_registry = 0;    // requests: what the client wrote
  std::int64_t bytes_from_registry = 0;  // answers: what the client read
  // "HEAD manifest 200" -> count: method, kind of path (see KindOfPath), status.
  std::map<std::string, std::int64_t> by_kind{};
};

// "ping", "catalog", "tags", "manifest" (by tag), "manifest@digest", "blob",
// "upload" (POST/PATCH/PUT of an upload session), "mount" (POST with mount=),
// "referrers", or "other". Besides these, by_kind has "TLS-hello to-plain-HTTP"
// (a client trying HTTPS on a plain port, answered 400) and "… (no answer)" for
// requests whose connection closed first.
std::string KindOfPath(const std::string& method, const std::string& target);

class CountingProxy {
 public:
  struct Options {
    int upstream_port = 0;
    bool upstream_tls = false;
    // Serve TLS to clients with this certificate chain and key (PEM); empty: plain.
    std::string cert_path{}, key_path{};
  };
  // Listens on 127.0.0.1 at a free port; throws BenchError on failure.
  explicit CountingProxy(Options options);
  // Stops accepting, ends open connections and waits for their threads.
  ~CountingProxy();
  CountingProxy(const CountingProxy&) = delete;
  CountingProxy& operator=(const CountingProxy&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  bool tls() const { return server_ctx_ != nullptr; }

  // Everything counted since the last Reset(). Thread-safe.
  Traffic Snapshot() const;
  void Reset();

  struct SslCtxFree {  // deleter of the SSL_CTX members, kept out of this header's includes
    void operator()(void* ctx) const;
  };

 private:
  void AcceptLoop();
  void Serve(int client_fd);
  void Add(const std::string& kind, bool request, std::int64_t to_registry,
           std::int64_t from_registry);

  Options options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::unique_ptr<void, SslCtxFree> server_ctx_, client_ctx_;  // SSL_CTX*
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable idle_;
  int active_ = 0;  // connection threads alive (detached)
  Traffic traffic_;
};

}  // namespace crossdock::bench
