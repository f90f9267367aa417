// hostile_registry: a loopback registry that misbehaves on purpose, for end-to-end
// tests of what crossdock does with answers it must not trust; started by
// tests/support/harness.cc (HostileRegistry).
//
// It serves one repository, "r", holding one small OCI image (a config and a layer,
// generated at start) under every tag it lists, plus whatever is pushed to it
// (uploads are accepted without storing their bytes; pushed manifests are kept, so a
// destination role works too; with --empty it starts without "r" and its blobs). By default tags are "v1"; with --tags N they are
// "<prefix>000000"… (--tag-prefix, default "t"). Everything but /__stats answers 401
// (Basic challenge) without the --user credentials when those are set.
//
// Misbehaviours, each off unless its flag is given:
//   --tags-link URL | self      every tag list page also carries
//   --catalog-link URL | self     `Link: <URL>; rel="next"` (self: the page just asked
//                               for, a loop), whether or not more pages remain
//   --page-size N               tag and catalog pages of at most N entries (the
//                               client's n is honoured up to N) with next-page links;
//                               0 (default): everything in one page, n ignored
//   --manifest-size BYTES       the image manifest padded to BYTES with an annotation,
//                               streamed from a generator (never held in memory); its
//                               digest is computed at start the same way
//   --no-content-length         manifest GETs are sent chunked and HEADs carry no
//                               Content-Length, so only reading tells the size
//   --deep DEPTH --deep-in W    W = manifest | tags | catalog: that document nests
//                               DEPTH arrays ([[[…]]]) inside it (tags: the tag list
//                               is one nested array; the manifest: an extra field)
//   --invalid-names             the catalog adds repositories and the tag list tags
//                               that break the distribution grammar ("lib/../other",
//                               "../../../other/victim/manifests/pwned"…)
//   --upload-location URL       POST /v2/<name>/blobs/uploads/ answers 202 with
//                               Location: URL (another origin)
//   --redirect-blobs URL        blob GETs answer 307 to URL + the same path
//   --fail-pings N              the first N GET /v2/ answer 500, then 429 with
//                               Retry-After: 1, alternately
//
// GET /__stats (never counted, never refused):
//   {"requests":N, "authorized":N (requests carrying an Authorization header),
//    "pings":N, "catalog":N, "tag_lists":N, "manifest_gets":N, "manifest_heads":N,
//    "blob_gets":N, "uploads":N, "manifest_bytes_sent":N (manifest body bytes the
//    socket accepted), "suspicious":N (requests whose path names a repository or tag
//    that --invalid-names lists, or holds "..", "%" or "//"), "paths":[the first 200
//    request lines]}
//
// Flags: --port P (0: any; the port is printed), --user NAME:PASS, --empty, and the
// above.
// Prints "listening on 127.0.0.1:P" then "ready" on stdout once it accepts
// connections.

// Debian builds libcpp-httplib with these three; the header's class layouts depend
// on them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Flags {
  int port = 0;
  std::optional<std::string> user;  // "NAME:PASS"
  long tags = 0;                    // 0: the one tag "v1"
  std::string tag_prefix = "t";
  long page_size = 0;
  std::string tags_link, catalog_link;
  std::int64_t manifest_size = 0;  // 0: the natural size
  bool no_content_length = false;
  long deep = 0;
  std::string deep_in;
  bool invalid_names = false;
  std::string upload_location;
  std::string redirect_blobs;
  int fail_pings = 0;
  bool empty = false;  // no image, no repository: a destination
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "hostile_registry: %s\n", message.c_str());
  std::exit(2);
}

long ParseLong(const std::string& flag, const std::string& value) {
  try {
    size_t used = 0;
    long v = std::stol(value, &used);
    if (used == value.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  Die(flag + " wants a non-negative integer, got \"" + value + "\"");
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--port") {
      f.port = static_cast<int>(ParseLong(arg, value()));
    } else if (arg == "--user") {
      f.user = value();
    } else if (arg == "--tags") {
      f.tags = ParseLong(arg, value());
    } else if (arg == "--tag-prefix") {
      f.tag_prefix = value();
    } else if (arg == "--page-size") {
      f.page_size = ParseLong(arg, value());
    } else if (arg == "--tags-link") {
      f.tags_link = value();
    } else if (arg == "--catalog-link") {
      f.catalog_link = value();
    } else if (arg == "--manifest-size") {
      f.manifest_size = ParseLong(arg, value());
    } else if (arg == "--no-content-length") {
      f.no_content_length = true;
    } else if (arg == "--deep") {
      f.deep = ParseLong(arg, value());
    } else if (arg == "--deep-in") {
      f.deep_in = value();
      if (f.deep_in != "manifest" && f.deep_in != "tags" && f.deep_in != "catalog")
        Die("--deep-in wants manifest, tags or catalog");
    } else if (arg == "--invalid-names") {
      f.invalid_names = true;
    } else if (arg == "--upload-location") {
      f.upload_location = value();
    } else if (arg == "--redirect-blobs") {
      f.redirect_blobs = value();
    } else if (arg == "--empty") {
      f.empty = true;
    } else if (arg == "--fail-pings") {
      f.fail_pings = static_cast<int>(ParseLong(arg, value()));
    } else {
      Die("unknown flag " + arg);
    }
  }
  return f;
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Incremental sha256, as "sha256:<hex>".
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void Update(const char* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string Finish() {
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

std::string Digest(const std::string& bytes) {
  Sha256 h;
  h.Update(bytes.data(), bytes.size());
  return h.Finish();
}

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";

// The image manifest as three parts: HEAD, PAD_SIZE bytes of 'x', TAIL. Generated
// piece by piece, so a 100 MiB manifest costs no memory.
struct ManifestText {
  std::string head, tail;
  std::int64_t pad = 0;
  std::int64_t size() const {
    return static_cast<std::int64_t>(head.size() + tail.size()) + pad;
  }
  // Up to N bytes from OFFSET into OUT.
  void Read(std::int64_t offset, size_t n, std::string* out) const {
    out->clear();
    std::int64_t end = std::min<std::int64_t>(offset + static_cast<std::int64_t>(n), size());
    const auto head_size = static_cast<std::int64_t>(head.size());
    for (std::int64_t at = offset; at < end;) {
      if (at < head_size) {
        std::int64_t take = std::min(end, head_size) - at;
        out->append(head, static_cast<size_t>(at), static_cast<size_t>(take));
        at += take;
      } else if (at < head_size + pad) {
        std::int64_t take = std::min(end, head_size + pad) - at;
        out->append(static_cast<size_t>(take), 'x');
        at += take;
      } else {
        std::int64_t t = at - head_size - pad;
        std::int64_t take = end - at;
        out->append(tail, static_cast<size_t>(t), static_cast<size_t>(take));
        at += take;
      }
    }
  }
};

// S as a JSON string literal.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// {"KEY":[NAMES…]} plus FIELDS before it, built by hand: 200,000 names through
// nlohmann::json take most of a second in a sanitizer build.
std::string ListDocument(const std::string& fields, const std::string& key,
                         const std::vector<std::string>& names) {
  std::string out = "{" + fields + Quote(key) + ":[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + Quote(names[i]);
  return out + "]}";
}

std::string Nested(long depth, const std::string& inside) {
  return std::string(static_cast<size_t>(depth), '[') + inside +
         std::string(static_cast<size_t>(depth), ']');
}

class HostileRegistry {
 public:
  explicit HostileRegistry(Flags flags) : flags_(std::move(flags)) {
    config_ = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    layer_ = std::string(1024, 'L');
    if (!flags_.empty) {
      blobs_[Digest(config_)] = config_;
      blobs_[Digest(layer_)] = layer_;
    }
    json m = {{"schemaVersion", 2},
              {"mediaType", kOciManifest},
              {"config",
               {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                {"digest", Digest(config_)},
                {"size", config_.size()}}},
              {"layers",
               json::array({{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                             {"digest", Digest(layer_)},
                             {"size", layer_.size()}}})}};
    std::string text = m.dump();
    text.pop_back();  // the closing brace: extra fields follow
    manifest_.head = text;
    manifest_.tail = "}";
    if (flags_.deep > 0 && flags_.deep_in == "manifest")
      manifest_.head += ",\"deep\":" + Nested(flags_.deep, "");
    if (flags_.manifest_size > 0) {
      manifest_.head += ",\"annotations\":{\"pad\":\"";
      manifest_.tail = "\"}}";
      manifest_.pad = std::max<std::int64_t>(
          0, flags_.manifest_size - static_cast<std::int64_t>(manifest_.head.size() +
                                                             manifest_.tail.size()));
    }
    Sha256 h;
    std::string chunk;
    for (std::int64_t at = 0; at < manifest_.size(); at += kSlice) {
      manifest_.Read(at, kSlice, &chunk);
      h.Update(chunk.data(), chunk.size());
    }
    manifest_digest_ = h.Finish();
    tags_ = Tags();
  }

  // Counts REQ; false (with the answer set) when it must go no further.
  bool Admit(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
    if (req.has_header("Authorization")) ++authorized_;
    if (Suspicious(req.target)) ++suspicious_;
    if (paths_.size() < 200) paths_.push_back(req.method + " " + req.target);
    if (flags_.user && req.get_header_value("Authorization") != "Basic " + Base64(*flags_.user)) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"hostile\"");
      res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                      "application/json");
      return false;
    }
    return true;
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    static const std::regex kTags("^/v2/(.+)/tags/list$");
    static const std::regex kManifest("^/v2/(.+)/manifests/([^/]+)$");
    static const std::regex kUpload("^/v2/(.+)/blobs/uploads/?([^/]*)$");
    static const std::regex kBlob("^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$");
    std::smatch m;
    const std::string& path = req.path;
    if (path == "/v2/" || path == "/v2") return Ping(res);
    if (path == "/v2/_catalog") return Catalog(req, res);
    if (std::regex_match(path, m, kTags)) return TagList(req, m[1], res);
    if (std::regex_match(path, m, kManifest)) return ManifestRequest(req, m[1], m[2], res);
    if (std::regex_match(path, m, kUpload)) return Upload(req, m[1], m[2], res);
    if (std::regex_match(path, m, kBlob)) return Blob(req, m[2], res);
    Error(res, 404, "NAME_UNKNOWN", "no such path");
  }

  void Stats(httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    json body = {{"requests", requests_},       {"authorized", authorized_},
                 {"pings", pings_},             {"catalog", catalog_},
                 {"tag_lists", tag_lists_},     {"manifest_gets", manifest_gets_},
                 {"manifest_heads", manifest_heads_}, {"blob_gets", blob_gets_},
                 {"uploads", uploads_},         {"manifest_bytes_sent", manifest_bytes_sent_.load()},
                 {"suspicious", suspicious_},   {"paths", paths_}};
    res.set_content(body.dump(), "application/json");
  }

 private:
  static constexpr size_t kSlice = 64 << 10;

  // Names --invalid-names hands out, and what they become once a client's URL
  // parser removes dot segments.
  static bool Suspicious(const std::string& target) {
    for (const char* bad : {"..", "%", "other", "victim", "pwned", "etc/", "UPPER", "hidden",
                            "bad", "\x1b"})
      if (target.find(bad) != std::string::npos) return true;
    return target.size() > 4 && target.find("//", 4) != std::string::npos;
  }

  static void Error(httplib::Response& res, int status, const std::string& code,
                    const std::string& message) {
    res.status = status;
    res.set_content(json{{"errors", json::array({{{"code", code}, {"message", message}}})}}.dump(),
                    "application/json");
  }

  void Ping(httplib::Response& res) {
    int n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = ++pings_;
    }
    if (n <= flags_.fail_pings) {
      if (n % 2 == 1) return Error(res, 500, "UNKNOWN", "ping failed on purpose");
      res.set_header("Retry-After", "1");
      return Error(res, 429, "TOOMANYREQUESTS", "slow down");
    }
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    res.set_content("{}", "application/json");
  }

  // Entries [start, start + page) of ALL after the one named LAST (the distribution
  // spec's "last" and "n"), and the query of the next page ("" when none).
  std::pair<std::vector<std::string>, std::string> Page(const httplib::Request& req,
                                                        const std::vector<std::string>& all) {
    size_t start = 0;
    if (req.has_param("last")) {
      auto it = std::upper_bound(all.begin(), all.end(), req.get_param_value("last"));
      start = static_cast<size_t>(it - all.begin());
    }
    size_t page = all.size();
    if (flags_.page_size > 0) {
      page = static_cast<size_t>(flags_.page_size);
      if (req.has_param("n")) {
        long n = std::atol(req.get_param_value("n").c_str());
        if (n > 0) page = std::min(page, static_cast<size_t>(n));
      }
    }
    size_t end = std::min(all.size(), start + page);
    std::vector<std::string> out(all.begin() + static_cast<long>(std::min(start, all.size())),
                                 all.begin() + static_cast<long>(end));
    std::string next;
    if (end < all.size()) next = "last=" + all[end - 1] + "&n=" + std::to_string(page);
    return {out, next};
  }

  void SetLink(const httplib::Request& req, const std::string& forced, const std::string& next,
               httplib::Response& res) {
    if (forced == "self") {
      res.set_header("Link", "<" + req.target + ">; rel=\"next\"");
    } else if (!forced.empty()) {
      res.set_header("Link", "<" + forced + ">; rel=\"next\"");
    } else if (!next.empty()) {
      res.set_header("Link", "<" + req.path + "?" + next + ">; rel=\"next\"");
    }
  }

  void Catalog(const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++catalog_;
    }
    if (flags_.deep > 0 && flags_.deep_in == "catalog") {
      res.set_content("{\"repositories\":" + Nested(flags_.deep, "\"r\"") + "}", "application/json");
      return;
    }
    std::vector<std::string> all;
    if (!flags_.empty) all.push_back("r");
    if (flags_.invalid_names) {
      for (const char* bad : {"lib/../other/secret", "UPPER/case", "../../etc", "a//b", "x\x1b[31m"})
        all.push_back(bad);
    }
    std::sort(all.begin(), all.end());
    auto [page, next] = Page(req, all);
    SetLink(req, flags_.catalog_link, next, res);
    res.set_content(ListDocument("", "repositories", page), "application/json");
  }

  std::vector<std::string> Tags() const {
    std::vector<std::string> all;
    if (flags_.tags == 0) {
      all.push_back("v1");
    } else {
      char buf[32];
      for (long i = 0; i < flags_.tags; ++i) {
        std::snprintf(buf, sizeof buf, "%06ld", i);
        all.push_back(flags_.tag_prefix + buf);
      }
    }
    if (flags_.invalid_names) {
      for (const char* bad : {"../../../other/victim/manifests/pwned", "bad tag", ".hidden"})
        all.push_back(bad);
    }
    std::sort(all.begin(), all.end());
    return all;
  }

  bool KnownTag(const std::string& ref) const {
    if (flags_.tags == 0) return ref == "v1";
    if (ref.rfind(flags_.tag_prefix, 0) != 0) return false;
    std::string n = ref.substr(flags_.tag_prefix.size());
    if (n.size() != 6 || n.find_first_not_of("0123456789") != std::string::npos) return false;
    return std::atol(n.c_str()) < flags_.tags;
  }

  void TagList(const httplib::Request& req, const std::string& name, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++tag_lists_;
    }
    if (name != "r" || flags_.empty)
      return Error(res, 404, "NAME_UNKNOWN", "repository name not known to registry");
    if (flags_.deep > 0 && flags_.deep_in == "tags") {
      res.set_content("{\"name\":\"r\",\"tags\":" + Nested(flags_.deep, "\"v1\"") + "}",
                      "application/json");
      return;
    }
    auto [page, next] = Page(req, tags_);
    SetLink(req, flags_.tags_link, next, res);
    res.set_content(ListDocument(Quote("name") + ":" + Quote(name) + ",", "tags", page),
                    "application/json");
  }

  void ManifestRequest(const httplib::Request& req, const std::string& name, const std::string& ref,
                       httplib::Response& res) {
    const bool head = req.method == "HEAD";
    if (req.method == "PUT") {
      std::string digest = Digest(req.body);
      std::lock_guard<std::mutex> lock(mu_);
      pushed_[name + ":" + ref] = {req.get_header_value("Content-Type"), req.body};
      pushed_[name + "@" + digest] = {req.get_header_value("Content-Type"), req.body};
      res.status = 201;
      res.set_header("Docker-Content-Digest", digest);
      res.set_header("Location", "/v2/" + name + "/manifests/" + digest);
      return;
    }
    if (req.method == "DELETE") return Error(res, 405, "UNSUPPORTED", "deletion is disabled");
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++(head ? manifest_heads_ : manifest_gets_);
      auto it = pushed_.find(name + (ref.rfind("sha256:", 0) == 0 ? "@" : ":") + ref);
      if (it != pushed_.end()) {
        res.set_header("Docker-Content-Digest", Digest(it->second.second));
        res.set_content(it->second.second, it->second.first);
        return;
      }
    }
    if (name != "r" || flags_.empty || (!KnownTag(ref) && ref != manifest_digest_))
      return Error(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
    res.set_header("Docker-Content-Digest", manifest_digest_);
    const std::int64_t size = manifest_.size();
    auto provide = [this](size_t offset, size_t length, httplib::DataSink& sink) {
      std::string chunk;
      manifest_.Read(static_cast<std::int64_t>(offset), std::min(length, kSlice), &chunk);
      if (!sink.write(chunk.data(), chunk.size())) return false;
      manifest_bytes_sent_ += static_cast<std::int64_t>(chunk.size());
      return true;
    };
    if (!flags_.no_content_length) {
      res.set_content_provider(static_cast<size_t>(size), kOciManifest, provide);
      return;
    }
    res.set_chunked_content_provider(kOciManifest, [this, size, provide](size_t offset,
                                                                         httplib::DataSink& sink) {
      if (static_cast<std::int64_t>(offset) >= size) {
        sink.done();
        return true;
      }
      return provide(offset, kSlice, sink);
    });
  }

  void Upload(const httplib::Request& req, const std::string& name, const std::string& id,
              httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++uploads_;
    }
    if (req.method == "POST") {
      if (req.has_param("mount")) {
        std::lock_guard<std::mutex> lock(mu_);
        if (blobs_.count(req.get_param_value("mount"))) {
          res.status = 201;
          return;
        }
      }
      res.status = 202;
      res.set_header("Location", flags_.upload_location.empty()
                                     ? "/v2/" + name + "/blobs/uploads/u" + std::to_string(++ids_)
                                     : flags_.upload_location);
      res.set_header("Range", "0-0");
      return;
    }
    if (req.method == "PATCH") {
      res.status = 202;
      res.set_header("Location", "/v2/" + name + "/blobs/uploads/" + id);
      return;
    }
    if (req.method == "PUT") {
      std::string digest = req.get_param_value("digest");
      std::lock_guard<std::mutex> lock(mu_);
      blobs_[digest] = "";  // known, bytes not kept
      res.status = 201;
      res.set_header("Docker-Content-Digest", digest);
      return;
    }
    if (req.method == "DELETE") {
      res.status = 204;
      return;
    }
    Error(res, 405, "UNSUPPORTED", "method not allowed");
  }

  void Blob(const httplib::Request& req, const std::string& digest, httplib::Response& res) {
    if (req.method == "GET") {
      std::lock_guard<std::mutex> lock(mu_);
      ++blob_gets_;
    }
    std::string bytes;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = blobs_.find(digest);
      if (it == blobs_.end()) return Error(res, 404, "BLOB_UNKNOWN", "blob unknown to registry");
      bytes = it->second;
    }
    if (req.method == "GET" && !flags_.redirect_blobs.empty()) {
      res.status = 307;
      res.set_header("Location", flags_.redirect_blobs + req.path);
      return;
    }
    res.set_header("Docker-Content-Digest", digest);
    res.set_content(bytes, "application/octet-stream");
  }

  const Flags flags_;
  std::string config_, layer_;
  ManifestText manifest_;
  std::string manifest_digest_;
  std::vector<std::string> tags_;  // sorted, as listed
  std::atomic<std::int64_t> manifest_bytes_sent_{0};
  std::mutex mu_;  // guards everything below
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::pair<std::string, std::string>> pushed_;  // ref: type, bytes
  long requests_ = 0, authorized_ = 0, pings_ = 0, catalog_ = 0, tag_lists_ = 0;
  long manifest_gets_ = 0, manifest_heads_ = 0, blob_gets_ = 0, uploads_ = 0, suspicious_ = 0;
  long ids_ = 0;
  std::vector<std::string> paths_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  HostileRegistry registry(flags);
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(1000);
  server.set_payload_max_length(64 << 20);
  // Headers and body go out in separate writes: without this, Nagle's algorithm and
  // the client's delayed ACK add 40 ms to every answer (200 pages: 8 s).
  server.set_tcp_nodelay(true);
  server.Get("/__stats", [&](const httplib::Request&, httplib::Response& res) { registry.Stats(res); });
  auto serve = [&](const httplib::Request& req, httplib::Response& res) { registry.Serve(req, res); };
  server.Get(".*", serve);  // GET and HEAD
  server.Post(".*", serve);
  server.Put(".*", serve);
  server.Patch(".*", serve);
  server.Delete(".*", serve);

  int port = flags.port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) Die("cannot listen on 127.0.0.1:" + std::to_string(flags.port));
  std::printf("listening on 127.0.0.1:%d\nready\n", port);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
