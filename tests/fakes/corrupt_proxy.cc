// corrupt_proxy: a loopback HTTP reverse proxy that damages blobs in transit, for
// end-to-end tests of digest checking; started by tests/support/harness.cc (CorruptProxy).
//
// Every request (any method, headers, body) goes to --upstream and the answer
// comes back as it was (status, headers, body), except:
//   - a Location pointing at the upstream is rewritten to point at the proxy, so
//     upload sessions keep going through it;
//   - with --corrupt-blobs, the body of a successful GET whose path matches
//     /v2/<name>/blobs/sha256:<64 hex> has its middle byte inverted (length
//     unchanged), so only a client that checks the sha256 notices. With one or
//     more --corrupt-digest sha256:… only those blobs are damaged.
// Manifests, HEAD requests and everything else pass untouched.
//   - with --fail-429 N, the first N requests to a blob (/v2/<name>/blobs/<digest>)
//     or manifest path are answered 429 with "Retry-After: 1" and a distribution
//     TOOMANYREQUESTS error body, without reaching the upstream (Docker Hub's
//     answer once its pull budget is spent).
//   - with --bytes-per-second N, the body of a GET of a blob without a Range header
//     is paced to N bytes per second (a slow link): once a HEAD of the blob upstream
//     answers 200, the answer carries that HEAD's headers and a body streamed from
//     an upstream GET in slices of N/20 bytes, so memory stays flat whatever the
//     size. A client that goes away ends the upstream GET too. Corruption applies
//     as above.
//   - with --pull-limit N, manifest answers carry Docker Hub's rate-limit headers
//     (docs.docker.com/docker-hub/usage/pulls/): "RateLimit-Limit: N;w=21600" and
//     "RateLimit-Remaining: R;w=21600", where R is N less the manifest GETs so far
//     (a HEAD is not a pull).
//   GET /__stats  {"requests":N,"blob_gets":N,"corrupted":N,"throttled":N,
//                  "paced_bytes":N,"paced_cut_short":N,"min_gap_ms":X,
//                  "by_method":{"GET":N,…}}  (requests to /__stats are not counted;
//     paced_bytes counts the paced body bytes sent so far, paced_cut_short the paced
//     bodies that ended early (client gone, upstream failed); min_gap_ms is the
//     shortest time between two requests arriving, null before the second, to see
//     a client's pacing).
//
// Other bodies are buffered whole (test blobs are a few MiB). Each request opens its
// own upstream connection. Flags: --port P (0: any; the port is printed), --upstream
// http(s)://127.0.0.1:X, --upstream-ca PATH (for an https upstream),
// --corrupt-blobs, --corrupt-digest D (repeatable), --delay-ms MS, --referrers,
// --fail-429 N, --bytes-per-second N, --pull-limit N. Prints "listening on
// 127.0.0.1:P" then "ready" on stdout once it accepts connections.

// Debian builds libcpp-httplib with these three; the header's class layouts depend
// on them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <thread>
#include <chrono>
#include <strings.h>

namespace {

struct Flags {
  int port = 0;
  std::string upstream;
  std::string upstream_ca;
  bool corrupt_blobs = false;
  std::set<std::string> corrupt_digests;  // empty: every blob
  int delay_ms = 0;                        // added before forwarding each request
  int pull_limit = 0;                      // > 0: Docker Hub's RateLimit headers
  bool referrers = false;                  // serve the OCI 1.1 referrers API
  int fail_429 = 0;                        // answer this many blob/manifest requests 429
  std::int64_t bytes_per_second = 0;       // pace blob GET bodies; 0: as fast as possible
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "corrupt_proxy: %s\n", message.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--port") {
      flags.port = std::atoi(value().c_str());
    } else if (arg == "--upstream") {
      flags.upstream = value();
      while (!flags.upstream.empty() && flags.upstream.back() == '/') flags.upstream.pop_back();
    } else if (arg == "--upstream-ca") {
      flags.upstream_ca = value();
    } else if (arg == "--corrupt-blobs") {
      flags.corrupt_blobs = true;
    } else if (arg == "--referrers") {
      flags.referrers = true;
    } else if (arg == "--fail-429") {
      flags.fail_429 = std::atoi(value().c_str());
    } else if (arg == "--bytes-per-second") {
      flags.bytes_per_second = std::atoll(value().c_str());
      if (flags.bytes_per_second < 0) Die("--bytes-per-second must not be negative");
    } else if (arg == "--pull-limit") {
      flags.pull_limit = std::atoi(value().c_str());
    } else if (arg == "--delay-ms") {
      flags.delay_ms = std::atoi(value().c_str());
    } else if (arg == "--corrupt-digest") {
      flags.corrupt_blobs = true;
      flags.corrupt_digests.insert(value());
    } else {
      Die("unknown flag " + arg);
    }
  }
  if (flags.upstream.empty()) Die("--upstream is required");
  return flags;
}

bool IEquals(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

// Hop-by-hop headers, and those httplib computes itself or adds to the request
// (REMOTE_ADDR…), are not forwarded.
bool Forwardable(const std::string& name) {
  for (const char* skip : {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
                           "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                           "Host", "Content-Length", "Expect", "REMOTE_ADDR", "REMOTE_PORT",
                           "LOCAL_ADDR", "LOCAL_PORT"}) {
    if (IEquals(name, skip)) return false;
  }
  return true;
}

// The digest in a path matching ^/v2/.+/blobs/sha256:[0-9a-f]{64}$ (no std::regex:
// GCC 12 warns inside <regex> at -O1 with the sanitizers).
std::optional<std::string> BlobDigest(const std::string& path) {
  static const std::string kMarker = "/blobs/sha256:";
  size_t at = path.rfind(kMarker);
  if (path.rfind("/v2/", 0) != 0 || at == std::string::npos || at < 5) return std::nullopt;
  std::string hex = path.substr(at + kMarker.size());
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return std::nullopt;
  }
  return "sha256:" + hex;
}

// "/v2/<name>/<what>/<ref>" split into name and ref, for what = "manifests" or
// "referrers"; nullopt for other paths.
std::optional<std::pair<std::string, std::string>> SplitPath(const std::string& path,
                                                             const std::string& what) {
  std::string marker = "/" + what + "/";
  size_t at = path.rfind(marker);
  if (path.rfind("/v2/", 0) != 0 || at == std::string::npos || at <= 4) return std::nullopt;
  return std::make_pair(path.substr(4, at - 4), path.substr(at + marker.size()));
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

class Proxy {
 public:
  explicit Proxy(Flags flags) : flags_(std::move(flags)) {}

  void set_self(std::string self) { self_ = std::move(self); }

  void Forward(const httplib::Request& req, httplib::Response& res) {
    if (flags_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(flags_.delay_ms));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_;
      ++by_method_[req.method];
      auto now = std::chrono::steady_clock::now();
      if (last_arrival_) {
        double gap = std::chrono::duration<double, std::milli>(now - *last_arrival_).count();
        if (!min_gap_ms_ || gap < *min_gap_ms_) min_gap_ms_ = gap;
      }
      last_arrival_ = now;
    }
    if (Throttle(req.path)) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content(
          "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"corrupt_proxy: too many "
          "requests\"}]}\n",
          "application/json");
      return;
    }
    if (flags_.referrers && req.method == "GET") {
      if (auto rp = SplitPath(req.path, "referrers")) {
        ServeReferrers(rp->first, rp->second, res);
        return;
      }
    }
    httplib::Request out;
    out.method = req.method;
    out.path = req.target;  // raw, as the client sent it (query included)
    for (const auto& [name, value] : req.headers) {
      if (Forwardable(name)) out.headers.emplace(name, value);
    }
    out.body = req.body;
    if (flags_.bytes_per_second > 0 && req.method == "GET" && BlobDigest(req.path) &&
        !req.has_header("Range") && ForwardPaced(req, out, res)) {
      return;
    }

    // httplib's server would apply a Range header a second time to the partial
    // answer and gzip JSON answers itself: the upstream already did the one and we
    // don't want the other. The request object is ours (httplib passes its own
    // non-const local as const), so clearing these is safe.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    mutable_req.ranges.clear();
    mutable_req.headers.erase("Accept-Encoding");

    httplib::Client client(flags_.upstream);
    Configure(client);
    httplib::Result result = client.send(out);
    if (!result) {
      res.status = 502;
      res.set_content("corrupt_proxy: upstream " + flags_.upstream + ": " +
                          httplib::to_string(result.error()) + "\n",
                      "text/plain");
      return;
    }
    const httplib::Response& up = *result;
    res.status = up.status;
    for (const auto& [name, value] : up.headers) {
      if (!Forwardable(name) && !(IEquals(name, "Content-Length") && up.body.empty())) continue;
      if (IEquals(name, "Location") && value.rfind(flags_.upstream, 0) == 0) {
        res.headers.emplace(name, self_ + value.substr(flags_.upstream.size()));
      } else {
        res.headers.emplace(name, value);
      }
    }
    res.body = up.body;
    if (flags_.pull_limit > 0 && SplitPath(req.path, "manifests")) {
      int pulls = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (req.method == "GET") ++manifest_gets_;
        pulls = manifest_gets_;
      }
      const std::string window = ";w=21600";
      res.set_header("RateLimit-Limit", std::to_string(flags_.pull_limit) + window);
      res.set_header("RateLimit-Remaining",
                     std::to_string(std::max(0, flags_.pull_limit - pulls)) + window);
    }
    if (flags_.referrers && req.method == "PUT" && up.status == 201) RecordReferrer(req);
    if (req.method == "GET" && (up.status == 200 || up.status == 206) && ShouldCorrupt(req.path) &&
        !res.body.empty()) {
      res.body[res.body.size() / 2] = static_cast<char>(~res.body[res.body.size() / 2]);
      std::lock_guard<std::mutex> lock(mu_);
      ++corrupted_;
    }
  }

  // --bytes-per-second: answers the blob GET OUT (headers already filtered) with the
  // headers of an upstream HEAD and a paced body from a second, upstream GET made
  // by the content provider. False, with RES untouched, when the HEAD does not
  // answer 200: the caller forwards the request as usual then.
  bool ForwardPaced(const httplib::Request& req, const httplib::Request& out,
                    httplib::Response& res) {
    httplib::Client head_client(flags_.upstream);
    Configure(head_client);
    httplib::Result head = head_client.Head(out.path.c_str(), out.headers);
    if (!head || head->status != 200 || !head->has_header("Content-Length")) return false;
    const size_t length =
        std::strtoull(head->get_header_value("Content-Length").c_str(), nullptr, 10);
    for (const auto& [name, value] : head->headers) {
      if (Forwardable(name) && !IEquals(name, "Content-Type")) res.headers.emplace(name, value);
    }
    res.status = 200;
    const bool corrupt = ShouldCorrupt(req.path);
    const std::string target = out.path;
    const httplib::Headers headers = out.headers;
    res.set_content_provider(
        length, head->get_header_value("Content-Type", 0),
        [this, target, headers, length, corrupt](size_t offset, size_t, httplib::DataSink& sink) {
          if (offset != 0) return false;  // everything is written in the first call
          return StreamPaced(target, headers, length, corrupt, sink);
        });
    return true;
  }

  // Copies the upstream GET of TARGET into SINK at --bytes-per-second, in slices of
  // a twentieth of a second. True once all LENGTH bytes went out.
  bool StreamPaced(const std::string& target, const httplib::Headers& headers, size_t length,
                   bool corrupt, httplib::DataSink& sink) {
    const auto rate = static_cast<double>(flags_.bytes_per_second);
    const size_t slice = std::max<size_t>(1, static_cast<size_t>(flags_.bytes_per_second / 20));
    const auto start = std::chrono::steady_clock::now();
    size_t sent = 0;
    std::string piece;
    httplib::Client client(flags_.upstream);
    Configure(client);
    httplib::Result got = client.Get(
        target.c_str(), headers, [](const httplib::Response& r) { return r.status == 200; },
        [&](const char* data, size_t n) {
          while (n > 0) {
            size_t take = std::min({n, slice, length - std::min(length, sent)});
            if (take == 0) return false;  // longer than the HEAD said
            std::this_thread::sleep_until(
                start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(sent) / rate)));
            piece.assign(data, take);
            if (corrupt && sent <= length / 2 && length / 2 < sent + take) {
              piece[length / 2 - sent] = static_cast<char>(~piece[length / 2 - sent]);
              std::lock_guard<std::mutex> lock(mu_);
              ++corrupted_;
            }
            if (!sink.is_writable() || !sink.write(piece.data(), piece.size())) return false;
            sent += take;
            data += take;
            n -= take;
            std::lock_guard<std::mutex> lock(mu_);
            paced_bytes_ += static_cast<std::int64_t>(take);
          }
          return true;
        });
    if (got && got->status == 200 && sent == length) return true;
    std::lock_guard<std::mutex> lock(mu_);
    ++paced_cut_short_;
    return false;
  }

  // OCI distribution spec 1.1, "Listing Referrers": an image index of the
  // descriptors of every manifest pushed (through this proxy) with that subject.
  void ServeReferrers(const std::string& name, const std::string& digest, httplib::Response& res) {
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests", nlohmann::json::array()}};
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& d : referrers_[name + "@" + digest]) index["manifests"].push_back(d);
    }
    res.status = 200;
    res.set_content(index.dump(), "application/vnd.oci.image.index.v1+json");
  }

  void RecordReferrer(const httplib::Request& req) {
    auto mp = SplitPath(req.path, "manifests");
    if (!mp) return;
    auto m = nlohmann::json::parse(req.body, nullptr, false);
    if (!m.is_object() || !m.contains("subject") || !m["subject"].is_object()) return;
    std::string subject = m["subject"].value("digest", "");
    nlohmann::json d = {{"mediaType", m.value("mediaType", req.get_header_value("Content-Type"))},
                        {"digest", "sha256:" + Sha256Hex(req.body)},
                        {"size", req.body.size()}};
    std::string type = m.value("artifactType", "");
    if (type.empty() && m.contains("config") && m["config"].is_object())
      type = m["config"].value("mediaType", "");
    if (!type.empty()) d["artifactType"] = type;
    if (m.contains("annotations")) d["annotations"] = m["annotations"];
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = referrers_[mp->first + "@" + subject];
    for (const auto& e : list)
      if (e["digest"] == d["digest"]) return;
    list.push_back(d);
  }

  void Stats(httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    nlohmann::json body = {{"requests", requests_},
                           {"blob_gets", blob_gets_},
                           {"corrupted", corrupted_},
                           {"throttled", throttled_},
                           {"paced_bytes", paced_bytes_},
                           {"paced_cut_short", paced_cut_short_},
                           {"min_gap_ms", min_gap_ms_ ? nlohmann::json(*min_gap_ms_) : nullptr},
                           {"by_method", by_method_}};
    res.set_content(body.dump(), "application/json");
  }

 private:
  // True for the first --fail-429 requests to blob or manifest paths.
  bool Throttle(const std::string& path) {
    if (!BlobDigest(path) && !SplitPath(path, "manifests")) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (throttled_ >= flags_.fail_429) return false;
    ++throttled_;
    return true;
  }

  // Every upstream client: no decompression, the target as the client sent it, no
  // redirects followed, one connection per request.
  void Configure(httplib::Client& client) const {
    client.set_decompress(false);
    client.set_url_encode(false);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    client.set_connection_timeout(10);
    client.set_read_timeout(120);
    client.set_write_timeout(120);
    if (!flags_.upstream_ca.empty()) client.set_ca_cert_path(flags_.upstream_ca.c_str());
  }

  bool ShouldCorrupt(const std::string& path) {
    std::optional<std::string> digest = BlobDigest(path);
    if (!digest) return false;
    std::lock_guard<std::mutex> lock(mu_);
    ++blob_gets_;
    if (!flags_.corrupt_blobs) return false;
    return flags_.corrupt_digests.empty() || flags_.corrupt_digests.count(*digest) > 0;
  }

  const Flags flags_;
  std::string self_;  // "http://127.0.0.1:P", set before serving
  std::mutex mu_;
  long requests_ = 0;   // guarded by mu_
  long blob_gets_ = 0;  // guarded by mu_
  long corrupted_ = 0;  // guarded by mu_
  long throttled_ = 0;  // guarded by mu_
  int manifest_gets_ = 0;  // guarded by mu_; with --pull-limit
  std::int64_t paced_bytes_ = 0;  // guarded by mu_
  long paced_cut_short_ = 0;      // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> last_arrival_;  // guarded by mu_
  std::optional<double> min_gap_ms_;                                   // guarded by mu_
  std::map<std::string, long> by_method_;  // guarded by mu_
  std::map<std::string, std::vector<nlohmann::json>> referrers_;  // "name@subject"; mu_
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  Proxy proxy(flags);
  httplib::Server server;
  // A client that keeps connections open holds a worker each: allow plenty.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(1000);
  server.set_read_timeout(120);
  server.set_write_timeout(120);
  server.Get("/__stats", [&](const httplib::Request&, httplib::Response& res) { proxy.Stats(res); });
  auto forward = [&](const httplib::Request& req, httplib::Response& res) { proxy.Forward(req, res); };
  server.Get(".*", forward);  // GET and HEAD
  server.Post(".*", forward);
  server.Put(".*", forward);
  server.Patch(".*", forward);
  server.Delete(".*", forward);
  server.Options(".*", forward);

  int port = flags.port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) Die("cannot listen on 127.0.0.1:" + std::to_string(flags.port));
  proxy.set_self("http://127.0.0.1:" + std::to_string(port));
  std::printf("listening on 127.0.0.1:%d\nready\n", port);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
