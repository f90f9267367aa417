// fault_proxy: a loopback HTTP reverse proxy in front of a registry that injects the
// faults of a bad network or a misbehaving middlebox, each at a rate, for end-to-end
// tests of retries and integrity checks; started by tests/support/harness.cc (FaultProxy).
//
// Every request goes to --upstream and the answer comes back as it was (a Location
// pointing at the upstream rewritten to point at the proxy, so upload sessions keep
// going through it), except for the faults a --fault rule injects:
//
//   --fault KIND[,KIND…]:FAULT:RATE[:DIRECTION][@TEXT]   (repeatable)
//
// KIND is what the request is: ping (GET /v2/), token (through --token-upstream),
// catalog, tags, manifest_get, manifest_head, manifest_put, manifest_delete,
// blob_get, blob_head, upload_post (POST …/blobs/uploads/), mount (the same with
// ?mount=), upload_patch, upload_put, upload_delete, referrers, other; or * for all.
// FAULT is one of
//   5xx | 500 | 502 | 503 | 504  that status (5xx: one of the four), with a
//                   distribution error body;
//   429             Too Many Requests with "Retry-After: --retry-after" (default 1);
//   reset           the body cut off in the middle and the connection closed (the
//                   length announced is the whole one);
//   truncate        the body cut to its first half, delivered as if complete;
//   corrupt         one bit of the body's middle byte inverted, length unchanged;
//   delay           --delay-ms (default 200) of silence first;
//   alter           a manifest changed but still valid JSON: 1-8 spaces inserted
//                   after its first '{' (so it gets another digest);
// RATE the probability (0..1) that a request of that kind gets it. DIRECTION is
// request (the fault hits what goes to the upstream: an answer before forwarding
// for 5xx/429, a damaged or cut request body) or response (the upstream did the
// work; its answer is replaced or damaged); the default is the direction that
// carries the body: request for uploads and manifest PUTs, response for the rest,
// and request for 5xx, 429 and delay. @TEXT limits the rule to requests whose
// path contains TEXT (e.g. a blob's digest) or, for a manifest PUT, whose body does
// (e.g. the digest of the config it names). The first rule that fires wins; one
// fault per request.
//
// Deterministic: whether a rule fires is a hash of --seed (default 1), the rule's
// position, the request's identity (method and path, upload session ids left out)
// and how many requests of that identity came before, so the same copy meets the
// same faults whatever the interleaving of concurrent requests.
//
// Memory stays flat: blob GET answers are streamed (the headers from an upstream
// HEAD, the body from a GET, copied as it arrives), upload bodies are spooled to a
// temporary file; only manifests and JSON answers are held whole.
//
//   GET /__stats  {"requests":N,"by_kind":{"blob_get":N,…},"injected":N,
//                  "faults":{"blob_get:corrupt":N,…}}  (not counted itself)
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:X, --token-upstream URL (its
// realm in WWW-Authenticate answers is rewritten to /__token on the proxy, so token
// requests go through it too), --seed N, --delay-ms MS, --retry-after S, --fault
// RULE. Prints "listening on 127.0.0.1:P" then "ready" once it accepts connections.

// Debian builds libcpp-httplib with these three; the header's class layouts depend
// on them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class Fault { kStatus, k429, kReset, kTruncate, kCorrupt, kDelay, kAlter };
enum class Direction { kRequest, kResponse };

struct Rule {
  std::vector<std::string> kinds;  // "*" matches every kind
  Fault fault = Fault::kStatus;
  std::string fault_name;  // as given, for the stats
  int status = 0;          // kStatus: 500…504, or 0 for "5xx"
  double rate = 0;
  std::optional<Direction> direction;  // unset: the default for the kind
  std::string match;                   // substring of the path; empty: any
};

struct Flags {
  int port = 0;
  std::string upstream;
  std::string token_upstream;
  std::uint64_t seed = 1;
  int delay_ms = 200;
  int retry_after = 1;
  std::vector<Rule> rules;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fault_proxy: %s\n", message.c_str());
  std::exit(2);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

Rule ParseRule(const std::string& spec) {
  Rule rule;
  std::string body = spec;
  if (size_t at = body.find('@'); at != std::string::npos) {
    rule.match = body.substr(at + 1);
    body = body.substr(0, at);
  }
  std::vector<std::string> parts = Split(body, ':');
  if (parts.size() < 3 || parts.size() > 4) Die("--fault " + spec + ": want KIND:FAULT:RATE[:DIRECTION][@TEXT]");
  rule.kinds = Split(parts[0], ',');
  rule.fault_name = parts[1];
  const std::string& f = parts[1];
  if (f == "5xx") {
    rule.fault = Fault::kStatus;
  } else if (f == "500" || f == "502" || f == "503" || f == "504") {
    rule.fault = Fault::kStatus;
    rule.status = std::atoi(f.c_str());
  } else if (f == "429") {
    rule.fault = Fault::k429;
  } else if (f == "reset") {
    rule.fault = Fault::kReset;
  } else if (f == "truncate") {
    rule.fault = Fault::kTruncate;
  } else if (f == "corrupt") {
    rule.fault = Fault::kCorrupt;
  } else if (f == "delay") {
    rule.fault = Fault::kDelay;
  } else if (f == "alter") {
    rule.fault = Fault::kAlter;
  } else {
    Die("--fault " + spec + ": unknown fault " + f);
  }
  char* end = nullptr;
  rule.rate = std::strtod(parts[2].c_str(), &end);
  if (end == parts[2].c_str() || *end != '\0' || rule.rate < 0 || rule.rate > 1)
    Die("--fault " + spec + ": the rate must be a number from 0 to 1");
  if (parts.size() == 4) {
    if (parts[3] == "request") {
      rule.direction = Direction::kRequest;
    } else if (parts[3] == "response") {
      rule.direction = Direction::kResponse;
    } else {
      Die("--fault " + spec + ": the direction is request or response");
    }
  }
  return rule;
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
    } else if (arg == "--token-upstream") {
      flags.token_upstream = value();
      while (!flags.token_upstream.empty() && flags.token_upstream.back() == '/')
        flags.token_upstream.pop_back();
    } else if (arg == "--seed") {
      flags.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--delay-ms") {
      flags.delay_ms = std::atoi(value().c_str());
    } else if (arg == "--retry-after") {
      flags.retry_after = std::atoi(value().c_str());
    } else if (arg == "--fault") {
      flags.rules.push_back(ParseRule(value()));
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

// What a request is, and its identity for the seeded draws: method and path, with
// the session id of an upload left out (it differs from run to run) and, of the
// query, only what names the content (digest, mount source, page).
struct Kind {
  std::string name;
  std::string identity;
};

std::string QueryParam(const httplib::Request& req, const char* key) {
  return req.has_param(key) ? req.get_param_value(key) : "";
}

Kind Classify(const httplib::Request& req) {
  const std::string& p = req.path;
  const std::string& m = req.method;
  auto kind = [&](std::string name, std::string identity) {
    return Kind{std::move(name), m + " " + identity};
  };
  if (p.rfind("/__token", 0) == 0) return kind("token", p + "?scope=" + QueryParam(req, "scope"));
  if (p == "/v2/" || p == "/v2") return kind("ping", p);
  if (p.rfind("/v2/", 0) != 0) return kind("other", p);
  if (p.rfind("/v2/_catalog", 0) == 0) return kind("catalog", p + "?last=" + QueryParam(req, "last"));
  auto has = [&](const char* s) { return p.find(s) != std::string::npos; };
  if (has("/tags/list")) return kind("tags", p + "?last=" + QueryParam(req, "last"));
  if (has("/referrers/")) return kind("referrers", p);
  if (has("/manifests/")) {
    if (m == "GET") return kind("manifest_get", p);
    if (m == "HEAD") return kind("manifest_head", p);
    if (m == "PUT") return kind("manifest_put", p);
    if (m == "DELETE") return kind("manifest_delete", p);
    return kind("other", p);
  }
  if (size_t at = p.find("/blobs/uploads/"); at != std::string::npos) {
    std::string base = p.substr(0, at + 15);
    if (m == "POST") {
      if (req.has_param("mount"))
        return kind("mount", base + "?mount=" + QueryParam(req, "mount") + "&from=" +
                                 QueryParam(req, "from"));
      return kind("upload_post", base);
    }
    if (m == "PATCH") return kind("upload_patch", base + "*");
    if (m == "PUT") return kind("upload_put", base + "*?digest=" + QueryParam(req, "digest"));
    if (m == "DELETE") return kind("upload_delete", base + "*");
    return kind("other", base + "*");
  }
  if (has("/blobs/")) {
    if (m == "GET") return kind("blob_get", p);
    if (m == "HEAD") return kind("blob_head", p);
  }
  return kind("other", p);
}

// Whether REQ announces a body. httplib's reader would wait for the connection to
// close on a request with neither a length nor chunks (curl -X POST sends such).
bool AnnouncesBody(const httplib::Request& req) {
  return req.has_header("Content-Length") ||
         req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}

bool CarriesRequestBody(const std::string& kind) {
  return kind == "manifest_put" || kind == "upload_patch" || kind == "upload_put" ||
         kind == "upload_post";
}

// splitmix64 over the bytes of TEXT, from SEED: the source of every draw.
std::uint64_t Hash(std::uint64_t seed, const std::string& text) {
  std::uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  for (unsigned char c : text) h = mix(h + c + 0x9e3779b97f4a7c15ULL);
  return mix(h);
}

// The fault chosen for one request.
struct Decision {
  const Rule* rule = nullptr;
  Direction direction = Direction::kResponse;
  std::uint64_t draw = 0;  // further choices (the 5xx status, how many spaces)
  int Status() const {
    static const int kStatuses[] = {500, 502, 503, 504};
    return rule->status ? rule->status : kStatuses[draw % 4];
  }
};

// 1-8 spaces after the first '{' of BODY: still the same JSON, another digest.
void Alter(std::string* body, std::uint64_t draw) {
  size_t at = body->find('{');
  if (at == std::string::npos) {
    body->insert(0, " ");
    return;
  }
  body->insert(at + 1, std::string(1 + draw % 8, ' '));
}

// A temporary file holding an upload's body while it is forwarded.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

class Proxy {
 public:
  explicit Proxy(Flags flags) : flags_(std::move(flags)) {}

  void set_self(std::string self) { self_ = std::move(self); }

  // Every request but /__stats. READER is set for methods that may carry a body,
  // which is then read here (httplib has not read it).
  void Handle(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader* reader) {
    const Kind kind = Classify(req);
    // A manifest is small: its PUT's body is read first, for rules matching it.
    std::optional<std::string> manifest;
    if (reader && kind.name == "manifest_put") {
      manifest.emplace();
      (*reader)([&](const char* data, size_t n) {
        manifest->append(data, n);
        return true;
      });
    }
    std::optional<Decision> fault = Decide(kind, req.path, manifest ? &*manifest : nullptr);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_;
      ++by_kind_[kind.name];
    }
    // httplib's server would apply a Range header a second time to the partial
    // answer and gzip JSON answers itself: the upstream already did the one and we
    // don't want the other. The request object is ours (httplib passes its own
    // non-const local as const), so clearing these is safe.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    mutable_req.ranges.clear();
    mutable_req.headers.erase("Accept-Encoding");

    const bool before = fault && fault->direction == Direction::kRequest;
    if (before && fault->rule->fault == Fault::kDelay) {
      Count(kind, *fault);
      std::this_thread::sleep_for(std::chrono::milliseconds(flags_.delay_ms));
      fault.reset();
    }
    if (before && (fault->rule->fault == Fault::kStatus || fault->rule->fault == Fault::k429)) {
      Count(kind, *fault);
      if (reader && !manifest) (*reader)([](const char*, size_t) { return true; });  // drain it
      Refuse(*fault, res);
      return;
    }

    httplib::Request out;
    out.method = req.method;
    out.path = req.target;  // raw, as the client sent it (query included)
    bool token = kind.name == "token";
    if (token) out.path = out.path.substr(std::string("/__token").size());
    for (const auto& [name, value] : req.headers) {
      if (Forwardable(name) && !(reader && IEquals(name, "Content-Type"))) out.headers.emplace(name, value);
    }
    const std::string upstream = token ? flags_.token_upstream : flags_.upstream;
    if (upstream.empty()) {
      res.status = 502;
      res.set_content("fault_proxy: no --token-upstream\n", "text/plain");
      return;
    }

    if (kind.name == "blob_get" && !req.has_header("Range") &&
        ForwardStreamed(kind, upstream, out, fault, res)) {
      return;
    }

    if (before && fault->rule->fault == Fault::kReset && !reader) {
      Count(kind, *fault);  // no body to cut: the request never reaches the upstream
      Abort(res);
      return;
    }
    httplib::Client client(upstream);
    Configure(client);
    std::optional<httplib::Result> result;
    if (reader) {
      result = ForwardBody(kind, req, *reader, manifest, client, out, fault);
      if (!result) {  // reset in the request's direction: the connection goes too
        Abort(res);
        return;
      }
    } else {
      result.emplace(client.send(out));
    }
    if (!*result) {
      res.status = 502;
      res.set_content("fault_proxy: upstream " + upstream + ": " +
                          httplib::to_string(result->error()) + "\n",
                      "text/plain");
      return;
    }
    Answer(kind, **result, fault, res);
  }

  void Stats(httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    long injected = 0;
    for (const auto& [k, n] : faults_) injected += n;
    nlohmann::json body = {{"requests", requests_},
                           {"by_kind", by_kind_},
                           {"injected", injected},
                           {"faults", faults_}};
    res.set_content(body.dump(), "application/json");
  }

 private:
  // The first rule that fires for this request (whose BODY, when not null, was read),
  // if any.
  std::optional<Decision> Decide(const Kind& kind, const std::string& path,
                                 const std::string* body) {
    long n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = seen_[kind.identity]++;
    }
    for (size_t i = 0; i < flags_.rules.size(); ++i) {
      const Rule& r = flags_.rules[i];
      bool kind_matches = false;
      for (const auto& k : r.kinds) kind_matches = kind_matches || k == "*" || k == kind.name;
      if (!kind_matches) continue;
      if (!r.match.empty() && path.find(r.match) == std::string::npos &&
          !(body && body->find(r.match) != std::string::npos)) {
        continue;
      }
      std::uint64_t draw =
          Hash(flags_.seed, std::to_string(i) + "\n" + kind.identity + "\n" + std::to_string(n));
      if (static_cast<double>(draw >> 11) * 0x1.0p-53 >= r.rate) continue;
      Decision d;
      d.rule = &r;
      d.draw = Hash(draw, "choice");
      if (r.direction) {
        d.direction = *r.direction;
      } else if (r.fault == Fault::kStatus || r.fault == Fault::k429 || r.fault == Fault::kDelay) {
        d.direction = Direction::kRequest;
      } else {
        d.direction = CarriesRequestBody(kind.name) ? Direction::kRequest : Direction::kResponse;
      }
      return d;
    }
    return std::nullopt;
  }

  void Count(const Kind& kind, const Decision& d) {
    std::lock_guard<std::mutex> lock(mu_);
    ++faults_[kind.name + ":" + d.rule->fault_name];
  }

  // The answer of an injected 5xx or 429, in distribution's error format.
  void Refuse(const Decision& d, httplib::Response& res) {
    if (d.rule->fault == Fault::k429) {
      res.status = 429;
      res.set_header("Retry-After", std::to_string(flags_.retry_after));
      res.set_content(
          "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"fault_proxy: injected 429\"}]}\n",
          "application/json");
      return;
    }
    res.status = d.Status();
    res.set_content("{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"fault_proxy: injected " +
                        std::to_string(res.status) + "\"}]}\n",
                    "application/json");
  }

  // Sends the status line and headers, then closes the connection without the body
  // they announce: a connection reset for the client.
  static void Abort(httplib::Response& res) {
    res.status = 502;
    res.set_content_provider(
        1024, "text/plain", [](size_t, size_t, httplib::DataSink&) { return false; });
  }

  // Reads the request body (spooled to a file for uploads, which may be large; READ,
  // when set, is the body read already), damages it as a request-direction FAULT
  // says, and sends it upstream. nullopt when the fault is a reset: the upstream got
  // part of the body and a closed connection, and the client's connection must be
  // closed too.
  std::optional<httplib::Result> ForwardBody(const Kind& kind, const httplib::Request& req,
                                             const httplib::ContentReader& reader,
                                             const std::optional<std::string>& read,
                                             httplib::Client& client, const httplib::Request& out,
                                             const std::optional<Decision>& fault) {
    const bool hit = fault && fault->direction == Direction::kRequest;
    const Fault f = hit ? fault->rule->fault : Fault::kDelay;
    const std::string content_type = req.get_header_value("Content-Type");
    const size_t announced =
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    // A reset stops reading the client's body halfway (after its first piece when the
    // length is not announced).
    const size_t cut = announced > 0 ? announced / 2 : 1;
    File file;
    std::string body;
    size_t length = 0;
    const bool spool = kind.name == "upload_patch" || kind.name == "upload_put";
    if (spool) {
      file.reset(std::tmpfile());
      if (!file) Die("cannot create a temporary file");
    }
    auto receive = [&](const char* data, size_t n) {
      if (hit && f == Fault::kReset && length >= cut) return false;
      if (spool) {
        if (std::fwrite(data, 1, n, file.get()) != n) Die("cannot write a temporary file");
      } else {
        body.append(data, n);
      }
      length += n;
      return true;
    };
    if (read) {
      body = *read;
      length = body.size();
    } else {
      reader(receive);
    }
    if (hit) {
      Count(kind, *fault);
      if (f == Fault::kAlter && !spool) {
        Alter(&body, fault->draw);
        length = body.size();
      } else if (f == Fault::kCorrupt && length > 0) {
        if (spool) {
          std::fseek(file.get(), static_cast<long>(length / 2), SEEK_SET);
          int c = std::fgetc(file.get());
          std::fseek(file.get(), static_cast<long>(length / 2), SEEK_SET);
          std::fputc(~c & 0xff, file.get());
        } else {
          body[length / 2] = static_cast<char>(~body[length / 2]);
        }
      } else if (f == Fault::kTruncate) {
        length /= 2;
        if (!spool) body.resize(length);
      }
    }
    const bool reset = hit && f == Fault::kReset;
    // A reset announces the whole length upstream and stops halfway.
    const size_t send_length = reset ? std::max(announced, length) : length;
    const size_t stop_at = reset ? length / 2 : length;
    if (file) std::fflush(file.get());
    std::string buf(64 << 10, '\0');  // one buffer for every piece: memory stays flat
    auto provider = [&](size_t offset, size_t, httplib::DataSink& sink) -> bool {
      if (offset >= stop_at) return false;
      size_t n = std::min(buf.size(), stop_at - offset);
      if (!spool) return sink.write(body.data() + offset, n);
      std::fseek(file.get(), static_cast<long>(offset), SEEK_SET);
      if (std::fread(buf.data(), 1, n, file.get()) != n) return false;
      return sink.write(buf.data(), n);
    };
    if (send_length == 0 && reset) return std::nullopt;
    auto send = [&]() -> httplib::Result {
      if (send_length > 0 && req.method == "PUT")
        return client.Put(out.path, out.headers, send_length, provider, content_type);
      if (send_length > 0 && req.method == "PATCH")
        return client.Patch(out.path, out.headers, send_length, provider, content_type);
      if (send_length > 0 && req.method == "POST")
        return client.Post(out.path, out.headers, send_length, provider, content_type);
      httplib::Request whole = out;
      whole.body = body;
      if (!content_type.empty()) whole.headers.emplace("Content-Type", content_type);
      return client.send(whole);
    };
    httplib::Result result = send();
    if (reset) return std::nullopt;
    return std::optional<httplib::Result>(std::move(result));
  }

  // The upstream's answer UP to the client, damaged as a response-direction FAULT
  // says, its Location and token realm pointing at the proxy.
  void Answer(const Kind& kind, const httplib::Response& up, const std::optional<Decision>& fault,
              httplib::Response& res) {
    const bool hit = fault && fault->direction == Direction::kResponse;
    CopyHeaders(up.headers, up.body.empty(), res);
    res.status = up.status;
    std::string body = up.body;
    if (!hit) {
      res.body = std::move(body);
      return;
    }
    Count(kind, *fault);
    switch (fault->rule->fault) {
      case Fault::kStatus:
      case Fault::k429:
        res.headers.clear();
        Refuse(*fault, res);
        return;
      case Fault::kDelay:
        std::this_thread::sleep_for(std::chrono::milliseconds(flags_.delay_ms));
        break;
      case Fault::kAlter:
        Alter(&body, fault->draw);
        break;
      case Fault::kCorrupt:
        if (!body.empty()) body[body.size() / 2] = static_cast<char>(~body[body.size() / 2]);
        break;
      case Fault::kTruncate:
        body.resize(body.size() / 2);
        break;
      case Fault::kReset: {
        const std::string type = up.get_header_value("Content-Type");
        res.headers.erase("Content-Type");
        auto half = std::make_shared<std::string>(body.substr(0, body.size() / 2));
        res.set_content_provider(std::max<size_t>(body.size(), 1), type,
                                 [half](size_t offset, size_t, httplib::DataSink& sink) {
                                   if (offset == 0 && !half->empty()) sink.write(half->data(), half->size());
                                   return false;
                                 });
        return;
      }
    }
    res.body = std::move(body);
  }

  // A blob GET, streamed: the status and headers of an upstream HEAD, then the body
  // of an upstream GET copied as it arrives, damaged as FAULT says. False, with RES
  // untouched, when the HEAD does not answer 200 with a length: the caller forwards
  // the request as usual then (an error answer is small).
  bool ForwardStreamed(const Kind& kind, const std::string& upstream, const httplib::Request& out,
                       const std::optional<Decision>& fault, httplib::Response& res) {
    httplib::Client head_client(upstream);
    Configure(head_client);
    httplib::Result head = head_client.Head(out.path.c_str(), out.headers);
    if (!head || head->status != 200 || !head->has_header("Content-Length")) return false;
    const size_t length = std::strtoull(head->get_header_value("Content-Length").c_str(), nullptr, 10);
    std::optional<Decision> hit;
    if (fault && fault->direction == Direction::kResponse) hit = fault;
    if (hit && (hit->rule->fault == Fault::kStatus || hit->rule->fault == Fault::k429)) {
      Count(kind, *hit);
      Refuse(*hit, res);
      return true;
    }
    for (const auto& [name, value] : head->headers) {
      if (Forwardable(name) && !IEquals(name, "Content-Type")) res.headers.emplace(name, value);
    }
    res.status = 200;
    if (hit) Count(kind, *hit);
    const Fault f = hit ? hit->rule->fault : Fault::kAlter;  // kAlter: no effect on a blob
    // Truncated: announced and delivered as half. Reset: announced whole, cut at half.
    const size_t announced = hit && f == Fault::kTruncate ? length / 2 : length;
    const size_t stop_at = hit && (f == Fault::kTruncate || f == Fault::kReset) ? length / 2 : length;
    const bool corrupt = hit && f == Fault::kCorrupt;
    const int delay_ms = hit && f == Fault::kDelay ? flags_.delay_ms : 0;
    const std::string target = out.path;
    const httplib::Headers headers = out.headers;
    res.set_content_provider(
        announced, head->get_header_value("Content-Type"),
        [this, upstream, target, headers, length, announced, stop_at, corrupt, delay_ms](
            size_t offset, size_t, httplib::DataSink& sink) {
          if (offset != 0) return false;  // everything is written in the first call
          if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
          return Stream(upstream, target, headers, length, announced, stop_at, corrupt, sink);
        });
    return true;
  }

  // Copies the first STOP_AT bytes of the upstream GET of TARGET (LENGTH bytes in all)
  // into SINK, the middle byte inverted when CORRUPT. True once what was ANNOUNCED
  // went out; false (the connection is closed) when the answer stops short of it.
  static bool Stream(const std::string& upstream, const std::string& target,
                     const httplib::Headers& headers, size_t length, size_t announced,
                     size_t stop_at, bool corrupt, httplib::DataSink& sink) {
    size_t sent = 0;
    std::string piece;
    httplib::Client client(upstream);
    Configure(client);
    httplib::Result got = client.Get(
        target.c_str(), headers, [](const httplib::Response& r) { return r.status == 200; },
        [&](const char* data, size_t n) {
          size_t take = std::min(n, stop_at - std::min(stop_at, sent));
          if (take == 0) return false;
          piece.assign(data, take);
          if (corrupt && sent <= length / 2 && length / 2 < sent + take) {
            piece[length / 2 - sent] = static_cast<char>(~piece[length / 2 - sent]);
          }
          if (!sink.is_writable() || !sink.write(piece.data(), piece.size())) return false;
          sent += take;
          return sent < stop_at;
        });
    (void)got;  // stopping at STOP_AT cancels the upstream GET on purpose
    return sent == stop_at && stop_at == announced;
  }

  void CopyHeaders(const httplib::Headers& from, bool empty_body, httplib::Response& res) {
    for (const auto& [name, value] : from) {
      if (!Forwardable(name) && !(IEquals(name, "Content-Length") && empty_body)) continue;
      if (IEquals(name, "Location") && value.rfind(flags_.upstream, 0) == 0) {
        res.headers.emplace(name, self_ + value.substr(flags_.upstream.size()));
      } else if (IEquals(name, "WWW-Authenticate") && !flags_.token_upstream.empty() &&
                 value.find(flags_.token_upstream) != std::string::npos) {
        std::string v = value;
        v.replace(v.find(flags_.token_upstream), flags_.token_upstream.size(), self_ + "/__token");
        res.headers.emplace(name, v);
      } else {
        res.headers.emplace(name, value);
      }
    }
  }

  // Every upstream client: no decompression, the target as the client sent it, no
  // redirects followed, one connection per request.
  static void Configure(httplib::Client& client) {
    client.set_decompress(false);
    client.set_url_encode(false);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    client.set_connection_timeout(10);
    client.set_read_timeout(120);
    client.set_write_timeout(120);
  }

  const Flags flags_;
  std::string self_;  // "http://127.0.0.1:P", set before serving
  std::mutex mu_;
  long requests_ = 0;                     // guarded by mu_
  std::map<std::string, long> by_kind_;   // guarded by mu_
  std::map<std::string, long> faults_;    // "kind:fault" -> injected; guarded by mu_
  std::map<std::string, long> seen_;      // identity -> requests so far; guarded by mu_
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
  auto plain = [&](const httplib::Request& req, httplib::Response& res) {
    proxy.Handle(req, res, nullptr);
  };
  auto with_body = [&](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
    proxy.Handle(req, res, AnnouncesBody(req) ? &reader : nullptr);
  };
  server.Get(".*", plain);  // GET and HEAD
  server.Delete(".*", plain);
  server.Options(".*", plain);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.Patch(".*", with_body);

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
