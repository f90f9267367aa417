// Implementation of bench/synthetic_registry.h. One pre-routing handler answers every
// request (no regular expressions per request): a million-tag plan sends two million
// of them, and the registry's own cost should stay small next to crossdock's.
#include "bench/synthetic_registry.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "bench/bench_error.h"
#include "tests/support/harness.h"

namespace crossdock::bench {
namespace {

// Names as long as real ones: a repository name past 15 characters does not fit in a
// std::string's own bytes, so every copy a tool keeps of it costs an allocation.
constexpr const char* kRepositoryPrefix = "scale/service-";
constexpr int kRepositoryDigits = 5;
constexpr const char* kTagPrefix = "v1.0.";
constexpr int kTagDigits = 3;
constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";

// The number NAME holds after PREFIX, in exactly DIGITS digits, below LIMIT; -1 otherwise.
int IndexIn(std::string_view name, std::string_view prefix, int digits, int limit) {
  if (name.size() != prefix.size() + digits || name.substr(0, prefix.size()) != prefix) return -1;
  int value = 0;
  const char* first = name.data() + prefix.size();
  auto [end, ec] = std::from_chars(first, name.data() + name.size(), value);
  if (ec != std::errc() || end != name.data() + name.size() || value >= limit) return -1;
  return value;
}

// The first of COUNT names (NAME_OF(0) < NAME_OF(1) < …) that sorts after LAST.
template <class NameOf>
int FirstAfter(const std::string& last, int count, NameOf name_of) {
  int lo = 0, hi = count;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (name_of(mid) <= last) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

std::string JsonString(std::string_view s) {
  // The names are generated: letters, digits, '/' only.
  return "\"" + std::string(s) + "\"";
}

// REQ's n as a page size: FALLBACK when absent or not a number; at most 10,000.
int PageSize(const httplib::Request& req, int fallback) {
  if (!req.has_param("n")) return fallback;
  const std::string n = req.get_param_value("n");
  int value = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), value);
  if (ec != std::errc() || end != n.data() + n.size() || value < 0) return fallback;
  return std::min(value, 10000);
}

void Error(httplib::Response& res, int status, const std::string& code,
           const std::string& message) {
  res.status = status;
  res.set_content("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}]}\n",
                  "application/json");
}

// A page of a listing: the names FIRST.. of COUNT, at most N, as the JSON array's
// contents; and the Link header (PATH?last=…&n=N) when more remain.
template <class NameOf>
std::string Page(httplib::Response& res, const std::string& path, int first, int count, int n,
                 NameOf name_of) {
  const int end = std::min(count, first + n);
  std::string items;
  items.reserve(static_cast<size_t>(std::max(0, end - first)) * 16);
  for (int i = first; i < end; ++i) {
    if (i > first) items += ",";
    items += JsonString(name_of(i));
  }
  if (end < count && end > first) {
    // distribution: url.Values{"n", "last"}.Encode(), sorted by key, '/' escaped.
    std::string last = name_of(end - 1);
    std::string escaped;
    for (char c : last) escaped += c == '/' ? std::string("%2F") : std::string(1, c);
    res.set_header("Link",
                   "<" + path + "?last=" + escaped + "&n=" + std::to_string(n) + ">; rel=\"next\"");
  }
  return items;
}

}  // namespace

std::string SyntheticRegistry::RepositoryName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%0*d", kRepositoryPrefix, kRepositoryDigits, i);
  return buf;
}

std::string SyntheticRegistry::TagName(int j) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*d", kTagPrefix, kTagDigits, j);
  return buf;
}

std::string SyntheticRegistry::Manifest(int i, int j) {
  // The config and layer digests name blobs that do not exist: a plan never reads them.
  static const std::string config = testing::Sha256Digest("{}");
  static const std::string layer = testing::Sha256Digest("crossdock bench scale layer");
  return "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kManifestType) +
         "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
         config +
         "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/"
         "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" +
         layer + "\",\"size\":1024}],\"annotations\":{\"org.crossdock.bench.tag\":\"" +
         RepositoryName(i) + ":" + TagName(j) + "\"}}";
}

struct SyntheticRegistry::Handler {
  SyntheticRegistry* r;

  httplib::Server::HandlerResponse operator()(const httplib::Request& req,
                                              httplib::Response& res) const {
    Kind kind = Answer(req, res);
    r->counts_[kind].fetch_add(1, std::memory_order_relaxed);
    return httplib::Server::HandlerResponse::Handled;
  }

  Kind Answer(const httplib::Request& req, httplib::Response& res) const {
    const bool get = req.method == "GET", head = req.method == "HEAD";
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    if (!get && !head) {
      Error(res, 405, "UNSUPPORTED", "the synthetic registry is read-only");
      return kOther;
    }
    const std::string& path = req.path;
    if (path == "/v2/" || path == "/v2") {
      res.set_content("{}", "application/json");
      return get ? kPing : kOther;
    }
    const int repos = r->options_.repositories, tags = r->options_.tags;
    if (path == "/v2/_catalog") {
      const int n = PageSize(req, 100);
      const int first = req.has_param("last")
                            ? FirstAfter(req.get_param_value("last"), repos, RepositoryName)
                            : 0;
      res.set_content(
          "{\"repositories\":[" + Page(res, path, first, repos, n, RepositoryName) + "]}",
          "application/json");
      return get ? kCatalog : kOther;
    }
    std::string_view rest(path);
    if (rest.substr(0, 4) != "/v2/") {
      Error(res, 404, "NOT_FOUND", "not a registry path");
      return kOther;
    }
    rest.remove_prefix(4);
    constexpr std::string_view kTagsList = "/tags/list", kManifests = "/manifests/";
    if (rest.size() > kTagsList.size() &&
        rest.substr(rest.size() - kTagsList.size()) == kTagsList) {
      const std::string_view name = rest.substr(0, rest.size() - kTagsList.size());
      if (IndexIn(name, kRepositoryPrefix, kRepositoryDigits, repos) < 0) {
        Error(res, 404, "NAME_UNKNOWN", "repository name not known to registry");
        return kOther;
      }
      // distribution lists every tag unless asked for a page.
      const int n = PageSize(req, tags);
      const int first =
          req.has_param("last") ? FirstAfter(req.get_param_value("last"), tags, TagName) : 0;
      res.set_content("{\"name\":" + JsonString(name) + ",\"tags\":[" +
                          Page(res, path, first, tags, n, TagName) + "]}",
                      "application/json");
      return get ? kTags : kOther;
    }
    if (rest.find("/referrers/") != std::string_view::npos) {
      // distribution 2.8 has no referrers API: crossdock probes it once.
      Error(res, 404, "NOT_FOUND", "no referrers API");
      return get ? kReferrers : kOther;
    }
    const size_t at = rest.find(kManifests);
    if (at != std::string_view::npos) {
      const int i = IndexIn(rest.substr(0, at), kRepositoryPrefix, kRepositoryDigits, repos);
      const int j = IndexIn(rest.substr(at + kManifests.size()), kTagPrefix, kTagDigits, tags);
      if (i < 0 || j < 0) {
        Error(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
        return kOther;
      }
      const std::string manifest = Manifest(i, j);
      res.set_header("Docker-Content-Digest", testing::Sha256Digest(manifest));
      res.set_content(manifest, kManifestType);
      return get ? kGetManifest : kHeadManifest;
    }
    Error(res, 404, "NOT_FOUND", "not a registry path");
    return kOther;
  }
};

SyntheticRegistry::SyntheticRegistry(const Options& options)
    : options_(options), server_(std::make_unique<httplib::Server>()) {
  if (options_.tags > 1000 || options_.repositories > 100000)
    throw BenchError("the synthetic registry holds at most 100,000 repositories of 1,000 tags");
  const int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_keep_alive_max_count(1000000);
  server_->set_keep_alive_timeout(30);
  server_->set_pre_routing_handler(Handler{this});
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw BenchError("the synthetic registry cannot listen on 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!server_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      server_->stop();
      thread_.join();
      throw BenchError("the synthetic registry did not start within 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

SyntheticRegistry::~SyntheticRegistry() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, std::int64_t> SyntheticRegistry::Counts() const {
  static const char* const kNames[kKinds] = {"GET ping",      "GET catalog",  "GET tags",
                                             "HEAD manifest", "GET manifest", "GET referrers 404",
                                             "other"};
  std::map<std::string, std::int64_t> out;
  for (int k = 0; k < kKinds; ++k) {
    const std::int64_t n = counts_[k].load(std::memory_order_relaxed);
    if (n > 0) out[kNames[k]] = n;
  }
  return out;
}

std::int64_t SyntheticRegistry::Requests() const {
  std::int64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  return total;
}

void SyntheticRegistry::Reset() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

}  // namespace crossdock::bench
