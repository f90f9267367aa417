// What the vendor fakes (tests/fakes/harbor.cc, tests/fakes/dockerhub.cc) share: a front
// that forwards /v2/ to a plain docker-registry with blob bodies streamed both ways, reads
// of that registry (catalog) and of its storage directory (tags, the digest each names,
// manifests: what the fakes' listings are made of), Basic credentials, opaque bearer
// tokens, request counting and serving. Header-only, because
// every .cc in tests/fakes/ is a binary of its own (see the Makefile).
//
// Streaming (memory stays flat whatever the blob size, as tests/fakes/fault_proxy.cc does
// it, minus its temporary file): a request body is copied from the client's connection to
// the upstream's as it arrives, in the one call the upstream client makes to our content
// provider; a blob GET answers with the status and headers of an upstream HEAD and a body
// copied from an upstream GET piece by piece. Everything else (manifests, JSON, errors) is
// small and buffered.
#pragma once

// Debian builds libcpp-httplib with these three; the header's class layouts depend on
// them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crossdock::fakes {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;

[[noreturn]] inline void Die(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), message.c_str());
  std::exit(2);
}

// The answer of a flag that wants an integer; dies naming the flag otherwise.
inline long FlagInt(const std::string& program, const std::string& flag, const std::string& value) {
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0') Die(program, flag + " wants an integer, got \"" + value + "\"");
  return v;
}

// The flags every vendor fake takes: --port P (0: any), --upstream URL, --storage DIR,
// --user NAME:PASS (repeatable).
struct FrontFlags {
  int port = 0;
  std::string upstream, storage;
  std::vector<std::string> users;
};

// A fake's own flags: given a flag and a way to take its value (which dies when there is
// none), stores it and returns true; false for a flag it does not know.
using ExtraFlag = std::function<bool(const std::string& flag, const std::function<std::string()>& value)>;

// Parses ARGV into FRONT and through EXTRA; dies on an unknown flag or a missing
// --upstream or --storage.
inline void ParseFrontFlags(const std::string& program, int argc, char** argv, FrontFlags* front,
                            const ExtraFlag& extra) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::function<std::string()> value = [&]() -> std::string {
      if (i + 1 >= argc) Die(program, arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--port") {
      front->port = static_cast<int>(FlagInt(program, arg, value()));
    } else if (arg == "--upstream") {
      front->upstream = value();
    } else if (arg == "--storage") {
      front->storage = value();
    } else if (arg == "--user") {
      front->users.push_back(value());
    } else if (!extra(arg, value)) {
      Die(program, "unknown flag " + arg);
    }
  }
  if (front->upstream.empty() || front->storage.empty()) Die(program, "--upstream and --storage are required");
}

// ---- strings, paths and queries ----

inline bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

inline std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

inline std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

// Percent-decoding as Go's url.QueryUnescape (PLUS_AS_SPACE) or url.PathUnescape;
// nullopt on a malformed escape, as both refuse one.
inline std::optional<std::string> Unescape(std::string_view s, bool plus_as_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// Go's url.QueryEscape, which is also Python's urllib.parse.quote_plus: letters, digits
// and "-_.~" stay, a space becomes '+', everything else %XX.
inline std::string QueryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A query string's parameters in order, decoded as Go's url.ParseQuery and Python's
// parse_qs(keep_blank_values=True) do ('+' is a space; a pair with a malformed escape is
// dropped).
class Query {
 public:
  Query() = default;
  explicit Query(std::string_view raw) {
    for (const std::string& pair : Split(raw, '&')) {
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      auto key = Unescape(std::string_view(pair).substr(0, eq), true);
      auto value = Unescape(eq == std::string::npos ? "" : std::string_view(pair).substr(eq + 1), true);
      if (key && value) items_.emplace_back(*key, *value);
    }
  }
  bool Has(const std::string& key) const { return Get(key).has_value(); }
  std::optional<std::string> Get(const std::string& key) const {
    for (const auto& [k, v] : items_) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
  std::vector<std::string> GetAll(const std::string& key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_) {
      if (k == key) out.push_back(v);
    }
    return out;
  }
  void Set(const std::string& key, const std::string& value) {
    Erase(key);
    items_.emplace_back(key, value);
  }
  void Erase(const std::string& key) {
    items_.erase(std::remove_if(items_.begin(), items_.end(),
                                [&](const auto& kv) { return kv.first == key; }),
                 items_.end());
  }
  // Sorted by key, each value escaped: Go's url.Values.Encode and Python's
  // urlencode(sorted(parse_qs(...).items()), doseq=True) give the same string.
  std::string EncodeSorted() const {
    std::vector<std::pair<std::string, std::string>> sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& [k, v] : sorted) {
      if (!out.empty()) out += '&';
      out += QueryEscape(k) + "=" + QueryEscape(v);
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// The request's path and query as the client sent them (httplib's req.path is decoded).
inline std::string RawPath(const httplib::Request& req) {
  return req.target.substr(0, req.target.find('?'));
}
inline std::string RawQuery(const httplib::Request& req) {
  size_t q = req.target.find('?');
  return q == std::string::npos ? "" : req.target.substr(q + 1);
}

// "2024-01-02T03:04:05Z", with DIGITS (0, 3 or 6) fractional digits before the Z.
inline std::string Timestamp(Clock::time_point t, int digits) {
  auto since = t.time_since_epoch();
  std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  long micros = static_cast<long>(
      std::chrono::duration_cast<std::chrono::microseconds>(since).count() % 1000000);
  if (micros < 0) micros = 0;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (digits == 3) {
    std::snprintf(buf, sizeof buf, ".%03ld", micros / 1000);
    out += buf;
  } else if (digits == 6) {
    std::snprintf(buf, sizeof buf, ".%06ld", micros);
    out += buf;
  }
  return out + "Z";
}

// ---- names ----

// distribution's repository name grammar (reference/regexp.go): lower-case components
// separated by '/', each alphanumeric runs joined by one '.', one '_', "__" or any number
// of '-': [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/…)*. Also what keeps a name from
// escaping the storage directory. Matched by hand, not with std::regex: listings check
// thousands of names a page, and a std::regex match costs microseconds.
inline bool ValidRepositoryName(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  const size_t n = name.size();
  if (n == 0 || n > 255) return false;
  size_t i = 0;
  for (;;) {  // one component: an alphanumeric run, then (separator, run)*
    if (i >= n || !alnum(name[i])) return false;
    while (i < n && alnum(name[i])) ++i;
    while (i < n && name[i] != '/') {
      if (name[i] == '.') {
        ++i;
      } else if (name[i] == '_') {
        i += (i + 1 < n && name[i + 1] == '_') ? 2 : 1;
      } else if (name[i] == '-') {
        while (i < n && name[i] == '-') ++i;
      } else {
        return false;
      }
      if (i >= n || !alnum(name[i])) return false;
      while (i < n && alnum(name[i])) ++i;
    }
    if (i == n) return true;
    ++i;  // the '/' before the next component
  }
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (distribution reference/regexp.go), by hand.
inline bool ValidTag(std::string_view tag) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (tag.empty() || tag.size() > 128 || !word(tag[0])) return false;
  return std::all_of(tag.begin() + 1, tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

// sha256:[a-f0-9]{64}, by hand.
inline bool IsDigest(std::string_view ref) {
  if (ref.size() != 71 || ref.substr(0, 7) != "sha256:") return false;
  return std::all_of(ref.begin() + 7, ref.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ---- credentials and tokens ----

struct Credentials {
  std::string user, password;
};

// The Basic credentials of the request's Authorization header, if it has them.
inline std::optional<Credentials> ParseBasic(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  if (header.size() < 6 || !IEquals(std::string_view(header).substr(0, 6), "Basic ")) {
    return std::nullopt;
  }
  std::string in = header.substr(6);
  while (!in.empty() && in.front() == ' ') in.erase(0, 1);
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t size = static_cast<size_t>(n);
  if (in.back() == '=') --size;
  if (in[in.size() - 2] == '=') --size;
  out.resize(size);
  size_t colon = out.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return Credentials{out.substr(0, colon), out.substr(colon + 1)};
}

// The token of "Authorization: Bearer T" (the scheme is case-insensitive, RFC 6750).
inline std::optional<std::string> ParseBearer(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  if (header.size() < 7 || !IEquals(std::string_view(header).substr(0, 7), "Bearer ")) {
    return std::nullopt;
  }
  return header.substr(7);
}

// The accounts of --user NAME:PASS.
class Accounts {
 public:
  void Add(const std::string& program, const std::string& spec) {
    size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0) Die(program, "--user wants NAME:PASS, got " + spec);
    passwords_[spec.substr(0, colon)] = spec.substr(colon + 1);
  }
  bool Check(const Credentials& c) const {
    auto it = passwords_.find(c.user);
    return it != passwords_.end() && it->second == c.password;
  }
  bool Has(const std::string& user) const { return passwords_.count(user) > 0; }

 private:
  std::map<std::string, std::string> passwords_;
};

// One scope of the token protocol, "repository:team/app:pull,push"
// (https://distribution.github.io/distribution/spec/auth/scope/).
struct Scope {
  std::string type, name;
  std::vector<std::string> actions;

  bool Allows(const std::string& action) const {
    return std::find(actions.begin(), actions.end(), action) != actions.end() ||
           std::find(actions.begin(), actions.end(), "*") != actions.end();
  }
  std::string ToString() const { return type + ":" + name + ":" + Join(actions, ","); }
};

// The type is before the first ':', the actions after the last (a name may hold a port).
inline std::optional<Scope> ParseScope(const std::string& s) {
  size_t first = s.find(':'), last = s.rfind(':');
  if (first == std::string::npos || first == last) return std::nullopt;
  Scope scope{s.substr(0, first), s.substr(first + 1, last - first - 1), {}};
  for (const std::string& a : Split(s.substr(last + 1), ',')) {
    if (!a.empty()) scope.actions.push_back(a);
  }
  return scope;
}

// Every scope= parameter, each of which may hold several scopes separated by spaces.
inline std::vector<Scope> RequestedScopes(const Query& query) {
  std::vector<Scope> out;
  for (const std::string& value : query.GetAll("scope")) {
    for (const std::string& s : Split(value, ' ')) {
      if (auto scope = ParseScope(s)) out.push_back(*scope);
    }
  }
  return out;
}

// What a bearer token grants: who it was issued to ("" for anonymous) and its scopes.
struct Grant {
  std::string subject;
  std::vector<Scope> access;
  Clock::time_point issued{}, expires{};
};

// Opaque random tokens and what they grant; kept until the process ends. Thread-safe.
class TokenStore {
 public:
  enum class State { kValid, kExpired, kUnknown };

  std::string Issue(const Grant& grant) {
    unsigned char bytes[24];
    if (RAND_bytes(bytes, sizeof bytes) != 1) Die("token store", "RAND_bytes failed");
    static const char* kHex = "0123456789abcdef";
    std::string token;
    for (unsigned char b : bytes) {
      token += kHex[b >> 4];
      token += kHex[b & 15];
    }
    std::lock_guard<std::mutex> lock(mu_);
    grants_[token] = grant;
    return token;
  }

  // The grant of TOKEN and whether it is still valid.
  std::pair<State, Grant> Look(const std::string& token) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = grants_.find(token);
    if (it == grants_.end()) return {State::kUnknown, Grant{}};
    return {Clock::now() < it->second.expires ? State::kValid : State::kExpired, it->second};
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Grant> grants_;  // guarded by mu_
};

// The distribution token-endpoint answer ({"token","access_token","expires_in","issued_at"});
// ACCESS_TOKEN is what the "access_token" member holds.
inline Json TokenAnswer(const std::string& token, const std::string& access_token,
                        const Grant& grant) {
  auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(grant.expires - grant.issued);
  return {{"token", token},
          {"access_token", access_token},
          {"expires_in", lifetime.count()},
          {"issued_at", Timestamp(grant.issued, 0)}};
}

// ---- counting ----

// What GET /fake/stats reports: every request but /fake/* ones, by category (api, v2,
// token) and by first path segment, and the first 500 request lines. Thread-safe.
class RequestStats {
 public:
  void Count(const httplib::Request& req, const std::string& category) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
    if (category == "api") ++api_;
    if (category == "v2") ++v2_;
    if (category == "token") ++token_;
    std::vector<std::string> segments = Split(req.path, '/');
    ++by_path_[segments.size() > 1 ? segments[1] : ""];
    if (paths_.size() < 500) paths_.push_back(req.method + " " + req.target);
  }
  Json ToJson() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {{"requests", requests_}, {"api", api_},         {"v2", v2_},
            {"token", token_},       {"by_path", by_path_}, {"paths", paths_}};
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_ = api_ = v2_ = token_ = 0;
    by_path_.clear();
    paths_.clear();
  }

 private:
  mutable std::mutex mu_;
  long requests_ = 0, api_ = 0, v2_ = 0, token_ = 0;  // guarded by mu_
  std::map<std::string, long> by_path_;               // guarded by mu_
  std::vector<std::string> paths_;                    // guarded by mu_
};

// ---- the registry's routes ----

// What a /v2/ request is to distribution (registry/api/v2/routes.go), by its decoded path.
struct RegistryPath {
  enum class Kind { kBase, kCatalog, kTags, kManifest, kBlob, kUploadStart, kUpload, kReferrers, kOther };
  Kind kind = Kind::kOther;
  std::string name;       // the repository
  std::string reference;  // tag or digest, upload session, referred digest
};

inline RegistryPath ParseRegistryPath(const std::string& path) {
  using Kind = RegistryPath::Kind;
  if (path == "/v2/") return {Kind::kBase, "", ""};
  if (path == "/v2/_catalog") return {Kind::kCatalog, "", ""};
  static const std::vector<std::pair<std::regex, Kind>> kRoutes = {
      {std::regex("^/v2/(.+)/tags/list$"), Kind::kTags},
      {std::regex("^/v2/(.+)/manifests/([^/]+)$"), Kind::kManifest},
      {std::regex("^/v2/(.+)/blobs/uploads/?()$"), Kind::kUploadStart},
      {std::regex("^/v2/(.+)/blobs/uploads/([^/]+)$"), Kind::kUpload},
      {std::regex("^/v2/(.+)/blobs/([^/]+)$"), Kind::kBlob},
      {std::regex("^/v2/(.+)/referrers/([^/]+)$"), Kind::kReferrers},
  };
  for (const auto& [re, kind] : kRoutes) {
    std::smatch m;
    if (!std::regex_match(path, m, re)) continue;
    if (!ValidRepositoryName(m[1].str())) return {};
    return {kind, m[1].str(), m.size() > 2 ? m[2].str() : ""};
  }
  return {};
}

// The token action a request needs: pull to read, push to write, delete to delete.
inline std::string ActionFor(const std::string& method) {
  if (method == "GET" || method == "HEAD") return "pull";
  if (method == "DELETE") return "delete";
  return "push";
}

// ---- the upstream registry ----

// The upstream could not be asked (down, or an answer we cannot read): a 502.
class UpstreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// Hop-by-hop headers, those httplib computes itself or adds to the request
// (REMOTE_ADDR…), and the client's credentials (for the fake, not the upstream) are not
// forwarded.
inline bool Forwardable(const std::string& name) {
  for (const char* skip : {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
                           "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                           "Host", "Content-Length", "Expect", "Authorization", "REMOTE_ADDR",
                           "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"}) {
    if (IEquals(name, skip)) return false;
  }
  return true;
}

// Whether REQ announces a body. httplib's reader would wait for the connection to close
// on a request with neither a length nor chunks (curl -X POST sends such).
inline bool AnnouncesBody(const httplib::Request& req) {
  return req.has_header("Content-Length") ||
         req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}

// The whole (small) body of an API request; "" when it announces none.
inline std::string ReadBody(const httplib::ContentReader* reader, size_t limit = 1 << 20) {
  std::string body;
  if (reader == nullptr) return body;
  (*reader)([&](const char* data, size_t n) {
    body.append(data, std::min(n, limit - std::min(limit, body.size())));
    return true;
  });
  return body;
}

struct ManifestHead {
  int status = 0;  // 200, or what the upstream answered (404: absent)
  std::string digest, media_type;
  std::uint64_t size = 0;
};

// A plain-HTTP docker-registry without auth at ORIGIN ("http://127.0.0.1:N"). Each call
// opens its own connection, so one Upstream serves every thread.
class Upstream {
 public:
  explicit Upstream(std::string origin) : origin_(std::move(origin)) {
    while (!origin_.empty() && origin_.back() == '/') origin_.pop_back();
  }
  const std::string& origin() const { return origin_; }

  // Sends REQ (any method; its body through READER when not null) upstream and puts the
  // answer in RES, a Location at the upstream rewritten to SELF ("http://127.0.0.1:P"),
  // so that upload sessions keep going through the fake. Blob bodies are streamed both
  // ways. An unreachable upstream is a 502.
  void Forward(const httplib::Request& req, const httplib::ContentReader* reader,
               const std::string& self, httplib::Response& res) const {
    // httplib's server would apply a Range header a second time to the partial answer
    // and gzip JSON answers itself: the upstream did the one and we don't want the
    // other. The request object is ours (httplib passes its own non-const local as
    // const), so clearing these is safe.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    mutable_req.ranges.clear();
    mutable_req.headers.erase("Accept-Encoding");

    httplib::Headers headers;
    for (const auto& [name, value] : req.headers) {
      if (Forwardable(name) && !(reader && IEquals(name, "Content-Type"))) headers.emplace(name, value);
    }
    const std::string target = req.target;  // raw, as the client sent it
    if (req.method == "GET" && reader == nullptr && target.find("/blobs/sha256:") != std::string::npos &&
        StreamBlob(target, headers, res)) {
      return;
    }
    httplib::Client client(origin_);
    Configure(client);
    httplib::Result result = reader ? SendBody(client, req, *reader, target, headers)
                                    : client.send(Plain(req.method, target, headers));
    if (!result) {
      res.status = 502;
      res.set_content("upstream " + origin_ + ": " + httplib::to_string(result.error()) + "\n",
                      "text/plain");
      return;
    }
    CopyHeaders(result->headers, result->body.empty(), self, res);
    res.status = result->status;
    res.body = std::move(result->body);
  }

  // Every repository name (GET /v2/_catalog, following Link).
  std::vector<std::string> Catalog() const {
    std::vector<std::string> names;
    std::string next = "/v2/_catalog?n=1000";
    while (!next.empty()) {
      httplib::Result r = Get(next, {});
      if (!r || r->status != 200) throw UpstreamError("GET " + next + " failed");
      Json j = Json::parse(r->body, nullptr, false);
      if (j.is_discarded()) throw UpstreamError("GET " + next + ": not JSON");
      if (j.contains("repositories") && j["repositories"].is_array()) {
        for (const auto& n : j["repositories"]) names.push_back(n.get<std::string>());
      }
      next = NextLink(r->get_header_value("Link"));
    }
    return names;
  }

  // The tags of REPO (GET /v2/REPO/tags/list, following Link); nullopt when the registry
  // does not know REPO.
  std::optional<std::vector<std::string>> Tags(const std::string& repo) const {
    std::vector<std::string> tags;
    std::string next = "/v2/" + repo + "/tags/list?n=1000";
    while (!next.empty()) {
      httplib::Result r = Get(next, {});
      if (!r) throw UpstreamError("GET " + next + " failed");
      if (r->status == 404) return std::nullopt;
      if (r->status != 200) throw UpstreamError("GET " + next + " answered " + std::to_string(r->status));
      Json j = Json::parse(r->body, nullptr, false);
      if (j.is_discarded()) throw UpstreamError("GET " + next + ": not JSON");
      if (j.contains("tags") && j["tags"].is_array()) {
        for (const auto& t : j["tags"]) tags.push_back(t.get<std::string>());
      }
      next = NextLink(r->get_header_value("Link"));
    }
    return tags;
  }

  // HEAD /v2/REPO/manifests/REF accepting the four manifest media types.
  ManifestHead HeadManifest(const std::string& repo, const std::string& ref) const {
    httplib::Client client(origin_);
    Configure(client);
    httplib::Result r = client.Head(("/v2/" + repo + "/manifests/" + ref).c_str(),
                                    httplib::Headers{{"Accept", kManifestAccept}});
    if (!r) throw UpstreamError("HEAD manifest " + repo + ":" + ref + " failed");
    ManifestHead head;
    head.status = r->status;
    if (r->status == 200) {
      head.digest = r->get_header_value("Docker-Content-Digest");
      head.media_type = r->get_header_value("Content-Type");
      head.size = std::strtoull(r->get_header_value("Content-Length").c_str(), nullptr, 10);
    }
    return head;
  }

  // The manifest at REPO@REF as stored; nullopt when absent.
  std::optional<std::string> GetManifest(const std::string& repo, const std::string& ref) const {
    httplib::Result r = Get("/v2/" + repo + "/manifests/" + ref, {{"Accept", kManifestAccept}});
    if (!r) throw UpstreamError("GET manifest " + repo + ":" + ref + " failed");
    if (r->status != 200) return std::nullopt;
    return r->body;
  }

  // A small blob (an image config) whole; nullopt when absent.
  std::optional<std::string> GetSmallBlob(const std::string& repo, const std::string& digest) const {
    httplib::Result r = Get("/v2/" + repo + "/blobs/" + digest, {});
    if (!r) throw UpstreamError("GET blob " + repo + "@" + digest + " failed");
    if (r->status != 200) return std::nullopt;
    return r->body;
  }

 private:
  // Every upstream client: no decompression, the target as the client sent it, no
  // redirects followed, one connection per request.
  static void Configure(httplib::Client& client) {
    client.set_decompress(false);
    client.set_url_encode(false);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    client.set_connection_timeout(10);
    client.set_read_timeout(300);
    client.set_write_timeout(300);
  }

  static httplib::Request Plain(const std::string& method, const std::string& target,
                                const httplib::Headers& headers) {
    httplib::Request out;
    out.method = method;
    out.path = target;
    out.headers = headers;
    return out;
  }

  httplib::Result Get(const std::string& target, const httplib::Headers& headers) const {
    httplib::Client client(origin_);
    Configure(client);
    return client.Get(target.c_str(), headers);
  }

  // The path of a Link header's rel="next" URL, "" when there is none.
  std::string NextLink(const std::string& link) const {
    if (link.find("rel=\"next\"") == std::string::npos) return "";
    size_t open = link.find('<'), close = link.find('>');
    if (open == std::string::npos || close == std::string::npos || close < open) return "";
    std::string url = link.substr(open + 1, close - open - 1);
    if (StartsWith(url, origin_)) url = url.substr(origin_.size());
    return url;
  }

  // Sends the request body straight from the client's connection to the upstream's:
  // httplib's client calls the provider once per write window and we hand it everything
  // the reader yields in that one call (a second call means the client's body ended
  // short of what it announced, and the send fails).
  httplib::Result SendBody(httplib::Client& client, const httplib::Request& req,
                           const httplib::ContentReader& reader, const std::string& target,
                           const httplib::Headers& headers) const {
    const std::string content_type = req.get_header_value("Content-Type");
    const bool sized = req.has_header("Content-Length");
    const size_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (sized && length == 0) {
      reader([](const char*, size_t) { return true; });
      httplib::Request out = Plain(req.method, target, headers);
      if (!content_type.empty()) out.headers.emplace("Content-Type", content_type);
      return client.send(out);
    }
    bool called = false;
    auto copy = [&](httplib::DataSink& sink) {
      if (called) return false;
      called = true;
      return reader([&](const char* data, size_t n) { return sink.write(data, n); });
    };
    if (sized) {
      httplib::ContentProvider provider = [&](size_t, size_t, httplib::DataSink& sink) {
        return copy(sink);
      };
      if (req.method == "PUT") return client.Put(target, headers, length, provider, content_type);
      if (req.method == "PATCH") return client.Patch(target, headers, length, provider, content_type);
      return client.Post(target, headers, length, provider, content_type);
    }
    httplib::ContentProviderWithoutLength chunks = [&](size_t, httplib::DataSink& sink) {
      bool ok = copy(sink);
      if (ok) sink.done();
      return ok;
    };
    if (req.method == "PUT") return client.Put(target, headers, chunks, content_type);
    if (req.method == "PATCH") return client.Patch(target, headers, chunks, content_type);
    return client.Post(target, headers, chunks, content_type);
  }

  // A blob GET streamed: the status and headers of an upstream HEAD, then the body of an
  // upstream GET copied as it arrives. False, with RES untouched, when the HEAD does not
  // answer 200 or 206 with a length: the caller forwards as usual then (an error is small).
  bool StreamBlob(const std::string& target, const httplib::Headers& headers,
                  httplib::Response& res) const {
    httplib::Client head_client(origin_);
    Configure(head_client);
    httplib::Result head = head_client.Head(target.c_str(), headers);
    if (!head || (head->status != 200 && head->status != 206) || !head->has_header("Content-Length")) {
      return false;
    }
    const size_t length = std::strtoull(head->get_header_value("Content-Length").c_str(), nullptr, 10);
    if (length == 0) return false;
    for (const auto& [name, value] : head->headers) {
      if (Forwardable(name) && !IEquals(name, "Content-Type")) res.headers.emplace(name, value);
    }
    res.status = head->status;
    const int status = head->status;
    const std::string origin = origin_;
    res.set_content_provider(
        length, head->get_header_value("Content-Type"),
        [origin, target, headers, status, length](size_t offset, size_t, httplib::DataSink& sink) {
          if (offset != 0) return false;  // everything is written in the first call
          size_t sent = 0;
          httplib::Client client(origin);
          Configure(client);
          httplib::Result got = client.Get(
              target.c_str(), headers, [&](const httplib::Response& r) { return r.status == status; },
              [&](const char* data, size_t n) {
                size_t take = std::min(n, length - sent);
                if (take == 0 || !sink.is_writable() || !sink.write(data, take)) return false;
                sent += take;
                return sent < length;
              });
          (void)got;  // stopping at LENGTH cancels the upstream GET on purpose
          return sent == length;
        });
    return true;
  }

  void CopyHeaders(const httplib::Headers& from, bool empty_body, const std::string& self,
                   httplib::Response& res) const {
    for (const auto& [name, value] : from) {
      if (!Forwardable(name) && !(IEquals(name, "Content-Length") && empty_body)) continue;
      if (IEquals(name, "Location") && StartsWith(value, origin_)) {
        res.headers.emplace(name, self + value.substr(origin_.size()));
      } else {
        res.headers.emplace(name, value);
      }
    }
  }

  std::string origin_;
};

// ---- the registry's storage directory ----

// A tag as the storage records it: the manifest digest its current link names and when
// that link was written (the tag's last push).
struct StoredTag {
  std::string digest;
  Clock::time_point pushed{};
};

// A manifest as the registry would serve it: its bytes, its digest and the media type
// distribution answers with.
struct StoredManifest {
  std::string digest, media_type, body;
};

// The media type distribution 2.8 serves a stored manifest with
// (registry/storage/manifeststore.go Get, then each handler's Payload): the mediaType
// member when set; without one, an OCI index if it has "manifests", else an OCI image
// manifest. Schema 1 keeps its signed type. "" for what is not a manifest.
inline std::string StoredMediaType(const Json& m) {
  if (!m.is_object()) return "";
  if (m.value("schemaVersion", 0) == 1) return "application/vnd.docker.distribution.manifest.v1+prettyjws";
  if (m.contains("mediaType") && m["mediaType"].is_string() && !m["mediaType"].get<std::string>().empty()) {
    return m["mediaType"].get<std::string>();
  }
  if (m.contains("manifests") && m["manifests"].is_array()) return "application/vnd.oci.image.index.v1+json";
  return "application/vnd.oci.image.manifest.v1+json";
}

// The filesystem storage of the upstream docker-registry (the harness's Registry keeps
// no cache, so what changes here is what the registry serves next). The vendor fakes
// list from here (tags, the digest each names, the manifests) rather than with a HEAD
// and a GET per tag at the upstream: a listing of 2,000 tags is then a few thousand
// small file reads instead of 4,000 requests, and reading needs no write access, so a
// read-only registry (the bench's) works the same. Listings open each file relative to
// its directory (a path of 2 or 3 components instead of 15). The layout is
// distribution's (registry/storage/paths.go):
//   docker/registry/v2/repositories/REPO/_manifests/tags/TAG/current/link    "sha256:…"
//   docker/registry/v2/repositories/REPO/_manifests/revisions/sha256/HEX/link
//   docker/registry/v2/repositories/REPO/_layers/sha256/HEX/link
//   docker/registry/v2/blobs/sha256/HE/HEX/data                              the bytes
class Storage {
 public:
  explicit Storage(std::string root) : root_(std::move(root)) {}

  // Whether the registry's catalog lists REPO: it lists every directory holding _layers
  // (registry/storage/catalog.go handleRepository).
  bool HasRepository(const std::string& repo) const {
    if (!ValidRepositoryName(repo)) return false;
    struct stat st {};
    return stat((RepoDir(repo) + "/_layers").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  // Removes REPO's TAG the way `docker-registry` would if it had a tag-delete API: the
  // tag's directory goes, the manifest it named stays. False when there was no such tag.
  // REQUIRES: a valid repository name and tag (they become a path).
  bool DeleteTag(const std::string& repo, const std::string& tag) const {
    if (!ValidRepositoryName(repo) || !ValidTag(tag)) return false;
    std::error_code ec;
    std::filesystem::path dir = TagDir(repo, tag);
    if (!std::filesystem::exists(dir / "current" / "link", ec)) return false;
    return std::filesystem::remove_all(dir, ec) > 0 && !ec;
  }

  // REPO's tags, sorted by name: the entries of its tags directory, which is what
  // distribution's tag list is (registry/storage/tagstore.go All); nullopt when REPO has
  // none, where the registry answers 404 NAME_UNKNOWN.
  std::optional<std::vector<std::string>> Tags(const std::string& repo) const {
    if (!ValidRepositoryName(repo)) return std::nullopt;
    return Entries(RepoDir(repo) + "/_manifests/tags", nullptr);
  }

  // Tags() with the digest each names and when it was pushed, each current link opened
  // relative to the tags directory; a tag without a readable link (deleted meanwhile) is
  // left out.
  std::optional<std::vector<std::pair<std::string, StoredTag>>> TagLinks(const std::string& repo) const {
    if (!ValidRepositoryName(repo)) return std::nullopt;
    int dir_fd = -1;
    std::optional<std::vector<std::string>> names = Entries(RepoDir(repo) + "/_manifests/tags", &dir_fd);
    if (!names) return std::nullopt;
    std::vector<std::pair<std::string, StoredTag>> tags;
    tags.reserve(names->size());
    for (std::string& name : *names) {
      StoredTag tag;
      std::optional<std::string> link = ReadSmall(dir_fd, (name + "/current/link").c_str(), 256, &tag.pushed);
      if (!link || !IsDigest(*link)) continue;
      tag.digest = std::move(*link);
      tags.emplace_back(std::move(name), std::move(tag));
    }
    close(dir_fd);
    return tags;
  }

  // The digest REPO's TAG names and when it was pushed; nullopt when there is no such tag.
  std::optional<StoredTag> Tag(const std::string& repo, const std::string& tag) const {
    if (!ValidRepositoryName(repo) || !ValidTag(tag)) return std::nullopt;
    Clock::time_point mtime;
    std::optional<std::string> link =
        ReadSmall(AT_FDCWD, (TagDir(repo, tag) + "/current/link").c_str(), 256, &mtime);
    if (!link || !IsDigest(*link)) return std::nullopt;
    return StoredTag{*link, mtime};
  }

  // When TAG was last pushed (the mtime of its current link).
  std::optional<Clock::time_point> TagTime(const std::string& repo, const std::string& tag) const {
    if (!ValidRepositoryName(repo) || !ValidTag(tag)) return std::nullopt;
    return MTime(AT_FDCWD, (TagDir(repo, tag) + "/current/link").c_str());
  }

  // When the manifest DIGEST was first pushed to REPO (the mtime of its revision link);
  // nullopt when REPO does not have it (never pushed there, or deleted).
  std::optional<Clock::time_point> RevisionTime(const std::string& repo, const std::string& digest) const {
    if (!ValidRepositoryName(repo) || !IsDigest(digest)) return std::nullopt;
    return MTime(AT_FDCWD, (RepoDir(repo) + "/_manifests/revisions/sha256/" + digest.substr(7) + "/link").c_str());
  }

  // RevisionTime() of every manifest REPO holds, by digest, in one pass (a deleted
  // manifest's directory stays without its link, and is left out).
  std::map<std::string, Clock::time_point> Revisions(const std::string& repo) const {
    std::map<std::string, Clock::time_point> out;
    if (!ValidRepositoryName(repo)) return out;
    int dir_fd = -1;
    std::optional<std::vector<std::string>> hexes =
        Entries(RepoDir(repo) + "/_manifests/revisions/sha256", &dir_fd);
    if (!hexes) return out;
    for (const std::string& hex : *hexes) {
      std::string digest = "sha256:" + hex;
      if (!IsDigest(digest)) continue;
      if (std::optional<Clock::time_point> when = MTime(dir_fd, (hex + "/link").c_str())) {
        out.emplace_hint(out.end(), std::move(digest), *when);
      }
    }
    close(dir_fd);
    return out;
  }

  // The manifest REF (a tag or a digest) of REPO as GET /v2/REPO/manifests/REF would
  // answer it; nullopt when REPO has no such manifest or the blob is not one.
  std::optional<StoredManifest> Manifest(const std::string& repo, const std::string& ref) const {
    std::string digest = ref;
    if (!IsDigest(ref)) {
      std::optional<StoredTag> tag = Tag(repo, ref);
      if (!tag) return std::nullopt;
      digest = tag->digest;
    }
    if (!RevisionTime(repo, digest)) return std::nullopt;
    // distribution refuses manifests over 4 MiB (registry/handlers/manifests.go maxManifestBodySize).
    std::optional<std::string> body = ReadSmall(AT_FDCWD, BlobData(digest).c_str(), 4 << 20, nullptr);
    if (!body) return std::nullopt;
    std::string media_type = StoredMediaType(Json::parse(*body, nullptr, false));
    if (media_type.empty()) return std::nullopt;
    return StoredManifest{digest, media_type, std::move(*body)};
  }

  // A small blob of REPO (an image config) whole; nullopt when REPO has no such blob or it
  // is larger than LIMIT bytes.
  std::optional<std::string> SmallBlob(const std::string& repo, const std::string& digest,
                                       size_t limit = 1 << 20) const {
    if (!ValidRepositoryName(repo) || !IsDigest(digest)) return std::nullopt;
    if (!MTime(AT_FDCWD, (RepoDir(repo) + "/_layers/sha256/" + digest.substr(7) + "/link").c_str())) {
      return std::nullopt;
    }
    return ReadSmall(AT_FDCWD, BlobData(digest).c_str(), limit, nullptr);
  }

 private:
  std::string RepoDir(const std::string& repo) const {
    return root_ + "/docker/registry/v2/repositories/" + repo;
  }
  std::string TagDir(const std::string& repo, const std::string& tag) const {
    return RepoDir(repo) + "/_manifests/tags/" + tag;
  }
  // REQUIRES: IsDigest(digest).
  std::string BlobData(const std::string& digest) const {
    return root_ + "/docker/registry/v2/blobs/sha256/" + digest.substr(7, 2) + "/" + digest.substr(7) + "/data";
  }
  static Clock::time_point ToTime(const struct stat& st) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  }
  static std::optional<Clock::time_point> MTime(int dir_fd, const char* path) {
    struct stat st {};
    if (fstatat(dir_fd, path, &st, 0) != 0) return std::nullopt;
    return ToTime(st);
  }
  // The names in directory DIR, sorted ("." and ".." left out); nullopt when it cannot be
  // read. With DIR_FD set, leaves it open on DIR for the caller to close.
  static std::optional<std::vector<std::string>> Entries(const std::string& dir, int* dir_fd) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    DIR* d = fdopendir(dup(fd));
    if (d == nullptr) {
      close(fd);
      return std::nullopt;
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    if (dir_fd != nullptr) {
      *dir_fd = fd;
    } else {
      close(fd);
    }
    return names;
  }
  // The whole file at PATH (relative to DIR_FD, or AT_FDCWD) and (when MTIME is set) its
  // mtime, with one open, fstat and read; nullopt when it is missing, not a regular file
  // or larger than LIMIT.
  static std::optional<std::string> ReadSmall(int dir_fd, const char* path, size_t limit,
                                              Clock::time_point* mtime) {
    int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    std::optional<std::string> out;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= limit) {
      std::string bytes(static_cast<size_t>(st.st_size), '\0');
      size_t got = 0;
      while (got < bytes.size()) {
        ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      if (got == bytes.size()) {
        out = std::move(bytes);
        if (mtime != nullptr) *mtime = ToTime(st);
      }
    }
    close(fd);
    return out;
  }

  std::string root_;
};

// ---- paging ----

// Paging through a listing without reading it again for every page: a client asks for
// page 1, 2, … within moments, and a listing of 2,000 tags costs milliseconds of storage
// reads each time. The first page of a listing is always read fresh and kept; a later
// page is cut from that snapshot while it is at most kMaxAge old and no write through the
// fake touched the repository since (Forget), and is read fresh otherwise. So a write
// that bypasses the fake (straight at the upstream) shows from the next first page on.
// Keys are repository names. Thread-safe.
template <typename Item>
class ListingSnapshots {
 public:
  static constexpr std::chrono::seconds kMaxAge{10};

  // The listing of KEY: READ's result, or the snapshot (see above) when not FIRST_PAGE.
  std::shared_ptr<const std::vector<Item>> Get(const std::string& key, bool first_page,
                                               const std::function<std::vector<Item>()>& read) {
    const auto now = std::chrono::steady_clock::now();
    if (!first_page) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = snapshots_.find(key);
      if (it != snapshots_.end() && now - it->second.first <= kMaxAge) return it->second.second;
    }
    auto fresh = std::make_shared<const std::vector<Item>>(read());
    std::lock_guard<std::mutex> lock(mu_);
    snapshots_[key] = {now, fresh};
    return fresh;
  }

  // KEY changed: its next page is read fresh.
  void Forget(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshots_.erase(key);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point,
                                  std::shared_ptr<const std::vector<Item>>>>
      snapshots_;  // guarded by mu_
};

// ---- serving ----

// The test hooks every fake has: GET /fake/stats and POST /fake/reset-stats. False when
// PATH is another one (the fake's own).
inline bool AnswerStatsHooks(const httplib::Request& req, httplib::Response& res, RequestStats& stats) {
  if (req.path == "/fake/stats" && req.method == "GET") {
    res.set_content(stats.ToJson().dump(), "application/json");
    return true;
  }
  if (req.path == "/fake/reset-stats" && req.method == "POST") {
    stats.Reset();
    res.set_content("{}", "application/json");
    return true;
  }
  return false;
}

inline void SendJson(httplib::Response& res, int status, const Json& body,
                     const char* content_type = "application/json") {
  res.status = status;
  res.set_content(body.dump(), content_type);
}

// Routes every method to HANDLE (READER is set when the request announces a body, which
// is then unread; what HANDLE leaves unread is drained after it), logs one line per answer ("METHOD TARGET STATUS") on stdout, binds
// 127.0.0.1:PORT (0: any), calls ON_BOUND with the port, prints "listening on
// 127.0.0.1:P" and "ready", and serves until killed. Returns the exit code.
inline int Serve(
    const std::string& program, int port,
    const std::function<void(const httplib::Request&, httplib::Response&, const httplib::ContentReader*)>& handle,
    const std::function<void(int)>& on_bound) {
  httplib::Server server;
  // A client that keeps connections open holds a worker each: allow plenty.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(1000);
  // httplib writes an answer's headers and body apart; with Nagle's algorithm on, the
  // body then waits for the client's delayed ACK of the headers, 40 ms on Linux, on
  // every answer after the first few of a keep-alive connection. The servers these fakes
  // stand for (Go's net/http, nginx) set TCP_NODELAY.
  server.set_tcp_nodelay(true);
  server.set_read_timeout(300);
  server.set_write_timeout(300);
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::printf("%s %s %d\n", req.method.c_str(), req.target.c_str(), res.status);
    std::fflush(stdout);
  });
  auto plain = [&](const httplib::Request& req, httplib::Response& res) { handle(req, res, nullptr); };
  // A body the handler leaves unread (a refused upload) is drained afterwards, or httplib
  // would read it as the connection's next request.
  auto with_body = [&](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
    if (!AnnouncesBody(req)) return handle(req, res, nullptr);
    bool used = false;
    httplib::ContentReader tracked(
        [&](httplib::ContentReceiver receiver) {
          used = true;
          return reader(std::move(receiver));
        },
        [&](httplib::MultipartContentHeader header, httplib::ContentReceiver receiver) {
          used = true;
          return reader(std::move(header), std::move(receiver));
        });
    handle(req, res, &tracked);
    if (!used) reader([](const char*, size_t) { return true; });
  };
  server.Get(".*", plain);  // GET and HEAD
  server.Delete(".*", plain);
  server.Options(".*", plain);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.Patch(".*", with_body);

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    bound = -1;
  }
  if (bound <= 0) Die(program, "cannot listen on 127.0.0.1:" + std::to_string(port));
  on_bound(bound);
  std::printf("listening on 127.0.0.1:%d\nready\n", bound);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}

// Serve() for a FAKE that has Handle(req, res, reader) and set_self("http://127.0.0.1:P").
template <typename Fake>
int ServeFake(const std::string& program, int port, Fake& fake) {
  return Serve(
      program, port,
      [&](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
        fake.Handle(req, res, reader);
      },
      [&](int bound) { fake.set_self("http://127.0.0.1:" + std::to_string(bound)); });
}

}  // namespace crossdock::fakes
