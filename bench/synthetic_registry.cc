// Implementation of bench/synthetic_registry.h. One pre-routing handler answers every
// request (no regular expressions per request): a million-tag plan sends two million
// of them, and the registry's own cost should stay small next to crossdock's.
#include "bench/synthetic_registry.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
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
// Harbor's times (Options::harbor): one push time for everything, and Go's zero time.
constexpr const char* kPushTime = "2024-05-01T12:00:00.000Z";
constexpr const char* kZeroTime = "0001-01-01T00:00:00.000Z";

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
    if (r->options_.harbor && get && path.rfind("/api/", 0) == 0) return Harbor(req, res);
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

  // Harbor's API (Options::harbor): the project "scale" and what it holds.
  Kind Harbor(const httplib::Request& req, httplib::Response& res) const {
    const std::string& path = req.path;
    const int repos = r->options_.repositories, tags = r->options_.tags;
    if (path == "/api/version") {
      res.set_content("{\"version\":\"v2.0\"}", "application/json");
      return kApiVersion;
    }
    constexpr std::string_view kProjects = "/api/v2.0/projects";
    const std::string project = "/api/v2.0/projects/" + ProjectName();
    if (path == kProjects) {
      HarborPage(req, res, 1, [&](int) { return ProjectJson(); });
      return kApiProjects;
    }
    if (path == project) {
      res.set_content(ProjectJson(), "application/json");
      return kApiProjects;
    }
    if (path == project + "/repositories") {
      HarborPage(req, res, repos, [&](int i) {
        return "{\"id\":" + std::to_string(i + 1) + ",\"project_id\":1,\"name\":" +
               JsonString(RepositoryName(i)) + ",\"artifact_count\":" + std::to_string(tags) +
               ",\"pull_count\":0}";
      });
      return kApiRepositories;
    }
    // .../repositories/{r}/artifacts, {r} without the project (no '/' in these names).
    constexpr std::string_view kArtifacts = "/artifacts";
    const std::string prefix = project + "/repositories/";
    std::string_view rest(path);
    if (rest.substr(0, prefix.size()) == prefix && rest.size() > prefix.size() + kArtifacts.size() &&
        rest.substr(rest.size() - kArtifacts.size()) == kArtifacts) {
      const std::string name = ProjectName() + "/" +
          std::string(rest.substr(prefix.size(), rest.size() - prefix.size() - kArtifacts.size()));
      const int i = IndexIn(name, kRepositoryPrefix, kRepositoryDigits, repos);
      if (i < 0) {
        // Harbor lists an unknown repository's artifacts as none (handler/artifact.go).
        HarborPage(req, res, 0, [&](int) { return std::string(); });
        return kApiArtifacts;
      }
      const bool with_tag = req.get_param_value("with_tag") == "true";
      HarborPage(req, res, tags, [&](int j) {
        const std::string manifest = Manifest(i, j), id = std::to_string(i * 1000 + j + 1);
        std::string tag_list = "null";
        if (with_tag) {
          tag_list = "[{\"id\":" + id + ",\"repository_id\":" + std::to_string(i + 1) +
                     ",\"artifact_id\":" + id + ",\"name\":" + JsonString(TagName(j)) +
                     ",\"push_time\":\"" + kPushTime + "\",\"pull_time\":\"" + kZeroTime +
                     "\",\"immutable\":false}]";
        }
        return "{\"id\":" + id +
               ",\"type\":\"IMAGE\",\"media_type\":\"application/"
               "vnd.oci.image.config.v1+json\",\"manifest_media_type\":\"" + kManifestType +
               "\",\"project_id\":1,\"repository_id\":" + std::to_string(i + 1) +
               ",\"repository_name\":" + JsonString(name) + ",\"digest\":\"" +
               testing::Sha256Digest(manifest) + "\",\"size\":" + std::to_string(manifest.size()) +
               ",\"push_time\":\"" + kPushTime + "\",\"pull_time\":\"" + kZeroTime +
               "\",\"tags\":" + tag_list + ",\"labels\":null,\"references\":null}";
      });
      return kApiArtifacts;
    }
    res.status = 404;
    res.set_content("{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"path " + path +
                        " was not found\"}]}",
                    "application/json");
    return kOther;
  }

  static std::string ProjectName() {
    return std::string(kRepositoryPrefix).substr(0, std::string_view(kRepositoryPrefix).find('/'));
  }
  static std::string ProjectJson() {
    return "{\"project_id\":1,\"name\":" + JsonString(ProjectName()) +
           ",\"metadata\":{\"public\":\"true\"},\"creation_time\":\"" + kPushTime + "\"}";
  }

  // A page of COUNT items, ITEM(i) the JSON of the i-th, as Harbor pages its lists
  // (tests/fakes/harbor.cc, handler/base.go Links): page from 1, page_size default 10
  // and at most 100, X-Total-Count, and a relative Link to the next page whose query is
  // the request's, sorted by key, with page and page_size set.
  template <class Item>
  static void HarborPage(const httplib::Request& req, httplib::Response& res, int count,
                         Item item) {
    int page = 1, size = 10;
    if (req.has_param("page")) page = std::max(1, std::atoi(req.get_param_value("page").c_str()));
    if (req.has_param("page_size")) size = std::atoi(req.get_param_value("page_size").c_str());
    if (size < 1 || size > 100) {
      res.status = 422;
      res.set_content("{\"errors\":[{\"code\":\"UNPROCESSABLE_ENTITY\",\"message\":"
                      "\"page_size in query should be between 1 and 100\"}]}",
                      "application/json");
      return;
    }
    const std::int64_t first = static_cast<std::int64_t>(page - 1) * size;
    const std::int64_t end = std::min<std::int64_t>(count, first + size);
    std::string body = "[";
    for (std::int64_t i = first; i < end; ++i) {
      if (i > first) body += ",";
      body += item(static_cast<int>(i));
    }
    body += "]";
    res.set_header("X-Total-Count", std::to_string(count));
    if (end < count) {
      std::map<std::string, std::string> query;  // sorted by key, as Harbor encodes it
      for (const auto& [k, v] : req.params) query[k] = v;
      query["page"] = std::to_string(page + 1);
      query["page_size"] = std::to_string(size);
      std::string link;
      for (const auto& [k, v] : query) link += (link.empty() ? "" : "&") + k + "=" + v;
      res.set_header("Link", "<" + req.path + "?" + link + ">; rel=\"next\"");
    }
    res.set_content(body, "application/json");
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
  // Without it an answer written in two segments (the headers, then a body: a tag list,
  // a page of Harbor's artifacts) waits for the client's delayed ACK, 40 ms a request
  // (Nagle's algorithm). Registries written in Go (distribution, Harbor) set it, as
  // net/http does on every connection.
  server_->set_tcp_nodelay(true);
  server_->set_pre_routing_handler(Handler{this});
  // cpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into
  // Debian's library): a tool opening its connections at once while the bench process
  // is busy overflows it, and the kernel drops the SYN, which the client sends again
  // only after a second (TcpExtListenOverflows): whole seconds of wall time that are
  // nobody's cost. So listen again on the same socket with the kernel's largest
  // backlog; Linux lets a listening socket change its backlog so.
  int listener = -1;
  server_->set_socket_options([&listener](int sock) {
    httplib::default_socket_options(sock);
    listener = sock;
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  server_->set_socket_options(httplib::default_socket_options);  // LISTENER is ours alone
  if (port_ <= 0) throw BenchError("the synthetic registry cannot listen on 127.0.0.1");
  if (listener < 0 || ::listen(listener, SOMAXCONN) != 0)
    throw BenchError("the synthetic registry cannot widen its listen backlog");
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
  static const char* const kNames[kKinds] = {
      "GET ping",        "GET catalog",     "GET tags",
      "HEAD manifest",   "GET manifest",    "GET referrers 404",
      "GET api version", "GET api projects", "GET api repositories",
      "GET api artifacts", "other"};
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
