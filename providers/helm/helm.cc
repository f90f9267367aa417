#include "providers/helm/helm.h"

#include <cstdlib>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <utility>

#include "core/digest.h"
#include "core/names.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

namespace fs = std::filesystem;

// How long an index.yaml read stays current. A plan reads each repository's index
// once; `crossdock run` and `serve` keep the endpoint for days and read it again.
constexpr auto kIndexLifetime = std::chrono::seconds(30);
// The largest index.yaml read (Bitnami's, among the largest public ones, is ~15 MiB).
constexpr std::int64_t kMaxIndexSize = std::int64_t{256} << 20;
// The largest chart uploaded: ChartMuseum's --max-upload-size defaults to 20 MiB.
constexpr std::int64_t kMaxChartSize = std::int64_t{256} << 20;

std::string StripSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// URL as messages show it: without its query and fragment, which for a chart on object
// storage may hold a signature or token (X-Amz-Signature=…, ?token=…).
std::string ShownUrl(const std::string& url) {
  return url.substr(0, url.find_first_of("?#"));
}

// ChartMuseum's error bodies ({"error": "…"}), as ": …" to append; "" for none.
std::string ChartMuseumError(const std::string& body) {
  const std::string message = ErrorMessageOf(body);
  return message.empty() ? "" : ": " + message;
}

}  // namespace

HelmRepoRegistry::HelmRepoRegistry(std::unique_ptr<DistributionRegistry> transport,
                                   std::string url, core::Clock* clock)
    : transport_(std::move(transport)),
      url_(StripSlash(std::move(url))),
      clock_(clock ? clock : core::Clock::Real()) {
}

HelmRepoRegistry::~HelmRepoRegistry() {
  std::error_code ec;
  if (!staging_.empty()) fs::remove_all(staging_, ec);
}

core::Status HelmRepoRegistry::EnsureStaging() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!staging_.empty()) return core::Status::Ok();
  // mkdtemp: a directory of our own (mode 0700) that nobody else can have prepared.
  std::string dir = (fs::temp_directory_path() / "crossdock-helm-XXXXXX").string();
  if (!mkdtemp(dir.data()))
    return core::Status::Internal("cannot create a temporary directory for charts under " +
                                  fs::temp_directory_path().string());
  staging_ = dir;
  return core::Status::Ok();
}

HelmRepoRegistry::ChartPath HelmRepoRegistry::Split(const std::string& repo) {
  const size_t slash = repo.rfind('/');
  if (slash == std::string::npos) return {"", repo};
  return {"/" + repo.substr(0, slash), repo.substr(slash + 1)};
}

std::string HelmRepoRegistry::RepoUrl(const std::string& tenant) const { return url_ + tenant; }

std::string HelmRepoRegistry::ApiUrl(const std::string& tenant) const {
  auto origin = ParseOrigin(url_);
  const std::string base = origin ? origin->scheme + "://" + origin->host +
                                        (origin->port == (origin->scheme == "https" ? 443 : 80)
                                             ? ""
                                             : ":" + std::to_string(origin->port))
                                  : url_;
  return base + "/api" + StripSlash(std::string(PathAndQuery(url_))) + tenant + "/charts";
}

core::Result<HttpResponse> HelmRepoRegistry::Send(HttpRequest req) {
  auto mine = ParseOrigin(url_);
  auto there = ParseOrigin(req.url);
  const Credentials& creds = transport_->credentials();
  // A chart's absolute URL on another host (a CDN, GitHub releases) gets no credentials.
  if (mine && there && *mine == *there && !creds.username.empty())
    req.headers.push_back({"Authorization", BasicAuthorization(creds)});
  req.follow_redirects = !(mine && there && *mine == *there) || creds.username.empty();
  auto r = transport_->SendControlPlane(req);
  if (!r.ok()) return r.status().WithContext("endpoint \"" + name() + "\" (" + ShownUrl(req.url) + ")");
  // A redirect from the repository (to object storage) is followed without credentials.
  for (int hops = 0; r->status >= 301 && r->status <= 308 && r->status != 304 && hops < 5; ++hops) {
    const std::string next = ResolveReference(req.url, r->Header("location"));
    if (next.empty() || !ParseOrigin(next)) break;
    HttpRequest again = req;
    again.url = next;
    again.headers.erase(std::remove_if(again.headers.begin(), again.headers.end(),
                                       [](const auto& h) { return h.first == "Authorization"; }),
                        again.headers.end());
    again.follow_redirects = true;
    r = transport_->SendControlPlane(again);
    if (!r.ok()) return r.status().WithContext("endpoint \"" + name() + "\" (" + ShownUrl(next) + ")");
  }
  return r;
}

core::Result<std::shared_ptr<const helm::ChartIndex>> HelmRepoRegistry::Index(
    const std::string& tenant) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = indexes_.find(tenant);
    if (it != indexes_.end() && clock_->Now() - it->second.read_at < kIndexLifetime)
      return it->second.index;
  }
  HttpRequest req;
  req.url = RepoUrl(tenant) + "/index.yaml";
  req.max_body_size = kMaxIndexSize;
  auto r = Send(req);
  if (!r.ok()) return r.status();
  const std::string what = "reading " + req.url;
  if (r->body_too_large)
    return core::Status::InvalidArgument(what + " at endpoint \"" + name() + "\": over " +
                                         std::to_string(kMaxIndexSize >> 20) + " MiB; refused");
  if (r->status == 404)
    return core::Status::NotFound(what + " at endpoint \"" + name() +
                                  "\": HTTP 404, no index.yaml there; the endpoint's url must be "
                                  "the chart repository (what `helm repo add` takes)");
  if (r->status != 200) return transport_->ErrorFor(*r, what);
  auto parsed = helm::ParseIndex(r->body, "index.yaml at " + req.url);
  if (!parsed.ok()) return parsed.status();
  auto index = std::make_shared<const helm::ChartIndex>(std::move(*parsed));
  std::lock_guard<std::mutex> lk(mu_);
  indexes_[tenant] = {index, clock_->Now()};
  return std::shared_ptr<const helm::ChartIndex>(index);
}

void HelmRepoRegistry::ForgetIndex(const std::string& tenant) {
  std::lock_guard<std::mutex> lk(mu_);
  indexes_.erase(tenant);
}

core::Status HelmRepoRegistry::Ping() {
  auto index = Index("");
  if (index.ok() || index.status().code() != core::Code::kNotFound) return index.status();
  // A multitenant ChartMuseum (--depth) has no index at its root, only per tenant.
  auto museum = IsChartMuseum("");
  if (museum.ok() && *museum) return core::Status::Ok();
  return index.status();
}

core::Result<std::vector<std::string>> HelmRepoRegistry::ListRepositories() {
  auto index = Index("");
  if (!index.ok()) return index.status();
  std::vector<std::string> out;
  for (const auto& [name, versions] : (*index)->charts) out.push_back(name);
  return out;
}

core::Result<std::vector<std::string>> HelmRepoRegistry::ListTags(const std::string& repo) {
  const ChartPath p = Split(repo);
  auto index = Index(p.tenant);
  if (!index.ok()) {
    // A ChartMuseum tenant that holds nothing yet has no index.
    if (index.status().code() == core::Code::kNotFound && !p.tenant.empty())
      return core::Status::NotFound("chart \"" + repo + "\" does not exist at endpoint \"" +
                                    name() + "\"");
    return index.status();
  }
  auto it = (*index)->charts.find(p.chart);
  if (it == (*index)->charts.end())
    return core::Status::NotFound("chart \"" + repo + "\" does not exist at endpoint \"" + name() +
                                  "\"");
  std::vector<std::string> tags;
  for (const auto& v : it->second) tags.push_back(helm::TagOfVersion(v.version));
  return tags;
}

core::Result<helm::ChartVersion> HelmRepoRegistry::FindVersion(const std::string& repo,
                                                               const std::string& tag) {
  const ChartPath p = Split(repo);
  auto index = Index(p.tenant);
  if (!index.ok()) return index.status();
  auto it = (*index)->charts.find(p.chart);
  if (it != (*index)->charts.end())
    for (const auto& v : it->second)
      if (helm::TagOfVersion(v.version) == tag) return v;
  return core::Status::NotFound("chart " + repo + " version " + tag +
                                " does not exist at endpoint \"" + name() + "\"");
}

core::Result<HelmRepoRegistry::Presented> HelmRepoRegistry::Present(
    const std::string& tenant, const helm::ChartVersion& version) {
  Presented p;
  p.version = version;
  p.chart_url = ResolveReference(RepoUrl(tenant) + "/index.yaml", version.urls.front());
  if (p.chart_url.empty() || !ParseOrigin(p.chart_url))
    return core::Status::InvalidArgument("chart " + version.name + " version " + version.version +
                                         " at endpoint \"" + name() +
                                         "\" has a URL that is not http(s): " +
                                         core::ShowName(version.urls.front()));
  p.config = helm::ConfigJson(version);
  std::optional<std::pair<std::string, std::int64_t>> known;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = blobs_.find(p.chart_url);
    if (it != blobs_.end() && (version.digest.empty() || it->second.first == version.digest))
      known = it->second;
  }
  if (!known) {
    const std::string what = "reading chart " + version.name + " " + version.version + " (" +
                             ShownUrl(p.chart_url) + ")";
    std::int64_t size = -1;
    std::string digest = version.digest;
    if (!digest.empty()) {
      // index.yaml gives the digest; the manifest needs the size too.
      HttpRequest head;
      head.method = "HEAD";
      head.url = p.chart_url;
      auto r = Send(head);
      if (!r.ok()) return r.status();
      if (r->status != 200) return transport_->ErrorFor(*r, what);
      const std::string length = r->Header("content-length");
      if (!length.empty() && length.find_first_not_of("0123456789") == std::string::npos &&
          length.size() < 18)
        size = std::stoll(length);
    }
    if (size < 0) {
      // No digest in the index, or no length in the answer: read the chart once.
      core::Sha256 hash;
      std::int64_t n = 0;
      HttpRequest get;
      get.url = p.chart_url;
      get.body_sink = [&](const char* data, size_t len) {
        hash.Update(data, len);
        n += static_cast<std::int64_t>(len);
        return n <= kMaxChartSize;
      };
      auto r = Send(get);
      if (!r.ok()) return r.status();
      if (r->status != 200) return transport_->ErrorFor(*r, what);
      if (n > kMaxChartSize)
        return core::Status::InvalidArgument(what + " at endpoint \"" + name() + "\": over " +
                                             std::to_string(kMaxChartSize >> 20) + " MiB");
      const std::string got = hash.Finish();
      if (!digest.empty() && got != digest)
        return core::Status::DataLoss(what + " at endpoint \"" + name() + "\": the .tgz has " +
                                      got + " but index.yaml says " + digest +
                                      "; the chart is refused");
      digest = got;
      size = n;
    }
    known = {digest, size};
    std::lock_guard<std::mutex> lk(mu_);
    blobs_[p.chart_url] = *known;
  }
  p.chart_digest = known->first;
  p.chart_size = known->second;
  const std::string bytes = helm::ChartManifest(version, p.config, p.chart_digest, p.chart_size);
  p.manifest = {kOciManifest, core::Sha256Digest(bytes), bytes};
  std::lock_guard<std::mutex> lk(mu_);
  configs_[core::Sha256Digest(p.config)] = p.config;
  charts_[p.chart_digest] = p.chart_url;
  return p;
}

core::Result<std::optional<HelmRepoRegistry::Presented>> HelmRepoRegistry::FindByDigest(
    const std::string& repo, const std::string& digest) {
  const ChartPath path = Split(repo);
  auto index = Index(path.tenant);
  if (!index.ok()) return index.status();
  auto it = (*index)->charts.find(path.chart);
  if (it == (*index)->charts.end()) return std::optional<Presented>();
  for (const auto& v : it->second) {
    auto p = Present(path.tenant, v);
    if (!p.ok()) return p.status();
    if (p->manifest.digest == digest) return std::optional<Presented>(std::move(*p));
  }
  return std::optional<Presented>();
}

core::Result<std::optional<ManifestHead>> HelmRepoRegistry::HeadManifest(const std::string& repo,
                                                                         const std::string& ref) {
  std::optional<Presented> p;
  if (core::IsValidDigest(ref)) {
    auto found = FindByDigest(repo, ref);
    if (!found.ok()) {
      if (found.status().code() == core::Code::kNotFound) return std::optional<ManifestHead>();
      return found.status();
    }
    p = std::move(*found);
  } else {
    auto v = FindVersion(repo, ref);
    if (!v.ok()) {
      if (v.status().code() == core::Code::kNotFound) return std::optional<ManifestHead>();
      return v.status();
    }
    auto presented = Present(Split(repo).tenant, *v);
    if (!presented.ok()) return presented.status();
    p = std::move(*presented);
  }
  if (!p) return std::optional<ManifestHead>();
  return std::optional<ManifestHead>(ManifestHead{
      p->manifest.digest, p->manifest.media_type,
      static_cast<std::int64_t>(p->manifest.bytes.size()), ""});
}

core::Result<Manifest> HelmRepoRegistry::GetManifest(const std::string& repo,
                                                     const std::string& ref) {
  if (core::IsValidDigest(ref)) {
    auto found = FindByDigest(repo, ref);
    if (!found.ok()) return found.status();
    if (!*found)
      return core::Status::NotFound("no version of chart " + repo + " at endpoint \"" + name() +
                                    "\" has manifest " + ref);
    return (*found)->manifest;
  }
  auto v = FindVersion(repo, ref);
  if (!v.ok()) return v.status();
  auto p = Present(Split(repo).tenant, *v);
  if (!p.ok()) return p.status();
  return p->manifest;
}

core::Result<std::optional<std::vector<ManifestHead>>> HelmRepoRegistry::ListReferrers(
    const std::string&, const std::string&) {
  return std::optional<std::vector<ManifestHead>>();  // a chart repository has none
}

core::Status HelmRepoRegistry::GetBlob(const std::string& repo, const std::string& digest,
                                       const BlobSink& sink) {
  std::string config, url;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = configs_.find(digest); it != configs_.end()) config = it->second;
    if (auto it = charts_.find(digest); it != charts_.end()) url = it->second;
  }
  if (config.empty() && url.empty()) {
    // Not presented in this run yet (an apply of a saved plan): present the chart.
    auto tags = ListTags(repo);
    if (!tags.ok()) return tags.status();
    for (const auto& tag : *tags) {
      auto h = HeadManifest(repo, tag);
      if (!h.ok()) return h.status();
      std::lock_guard<std::mutex> lk(mu_);
      if (auto it = configs_.find(digest); it != configs_.end()) config = it->second;
      if (auto it = charts_.find(digest); it != charts_.end()) url = it->second;
      if (!config.empty() || !url.empty()) break;
    }
  }
  if (!config.empty()) {
    if (!sink(config.data(), config.size()))
      return core::Status::Cancelled("reading config " + digest + " was abandoned");
    return core::Status::Ok();
  }
  if (url.empty())
    return core::Status::NotFound("chart " + repo + " at endpoint \"" + name() + "\" has no blob " +
                                  digest);
  // The .tgz must be what index.yaml says (the copier checks the digest too; this
  // says which chart and why).
  core::Sha256 hash;
  HttpRequest get;
  get.url = url;
  get.body_sink = [&](const char* data, size_t n) {
    hash.Update(data, n);
    return sink(data, n);
  };
  auto r = Send(get);
  if (!r.ok()) return r.status();
  if (r->status != 200) return transport_->ErrorFor(*r, "reading chart " + ShownUrl(url));
  const std::string got = hash.Finish();
  // Not worth another try: what the repository serves contradicts its own index.
  if (got != digest)
    return core::Status::InvalidArgument("chart " + ShownUrl(url) + " at endpoint \"" + name() + "\" has " + got +
                                  " but index.yaml says " + digest + "; the chart is refused");
  return core::Status::Ok();
}

std::string HelmRepoRegistry::Staged(const std::string& digest) {
  std::lock_guard<std::mutex> lk(mu_);
  if (staging_.empty()) return "";
  return (staging_ / digest.substr(digest.find(':') + 1)).string();
}

core::Result<std::string> HelmRepoRegistry::ReadStaged(const std::string& digest) {
  const std::string path = Staged(digest);
  std::ifstream in(path, std::ios::binary);
  if (path.empty() || !in) return core::Status::NotFound("blob " + digest + " was not uploaded");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Verified again as it is used: the file checked at upload is what goes out.
  if (core::Sha256Digest(bytes) != digest)
    return core::Status::DataLoss("the staged copy of " + digest + " changed since its upload");
  return bytes;
}

core::Result<bool> HelmRepoRegistry::BlobExists(const std::string&, const std::string& digest) {
  if (!core::IsValidDigest(digest)) return false;
  const std::string path = Staged(digest);
  std::error_code ec;
  return !path.empty() && fs::exists(path, ec);
}

core::Result<bool> HelmRepoRegistry::MountBlob(const std::string&, const std::string&,
                                               const std::string&) {
  return false;
}

core::Status HelmRepoRegistry::PutBlob(const std::string& repo, const std::string& digest,
                                       std::int64_t size, const BlobSource& source) {
  if (!core::IsValidDigest(digest))
    return core::Status::InvalidArgument("blob digest " + core::ShowName(digest) + " is invalid");
  if (size > kMaxChartSize)
    return core::Status::InvalidArgument(
        "blob " + digest + " for chart " + repo + " at endpoint \"" + name() + "\" is " +
        std::to_string(size) + " bytes, more than a chart repository takes (" +
        std::to_string(kMaxChartSize >> 20) + " MiB)");
  std::error_code ec;
  CROSSDOCK_RETURN_IF_ERROR(EnsureStaging());
  const std::string path = Staged(digest);
  // One partial file per upload: two copies of one chart (into two tenants) may stage
  // the same digest at once.
  static std::atomic<long> uploads{0};
  const std::string partial = path + ".partial-" + std::to_string(++uploads);
  core::Sha256 hash;
  std::int64_t n = 0;
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out)
      return core::Status::Internal("cannot write " + partial + " (staging a chart for endpoint \"" +
                                    name() + "\")");
    char buf[64 * 1024];
    for (;;) {
      long got = source(buf, sizeof buf);
      if (got < 0) {
        fs::remove(partial, ec);
        return core::Status::Cancelled("the upload of " + digest + " was abandoned");
      }
      if (got == 0) break;
      hash.Update(buf, static_cast<size_t>(got));
      out.write(buf, got);
      n += got;
      if (n > kMaxChartSize) {
        fs::remove(partial, ec);
        return core::Status::InvalidArgument("blob " + digest + " for chart " + repo +
                                             " is more than a chart repository takes");
      }
    }
    if (!out.flush())
      return core::Status::Internal("cannot write " + partial + " (disk full?)");
  }
  if (hash.Finish() != digest) {
    fs::remove(partial, ec);
    return core::Status::DataLoss("blob for chart " + repo + " does not match its digest " +
                                  digest + "; nothing was pushed");
  }
  fs::rename(partial, path, ec);
  if (ec) return core::Status::Internal("cannot rename " + partial + ": " + ec.message());
  return core::Status::Ok();
}

core::Result<bool> HelmRepoRegistry::IsChartMuseum(const std::string& tenant) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = chartmuseum_.find(tenant); it != chartmuseum_.end()) return it->second;
  }
  HttpRequest req;
  req.url = ApiUrl(tenant) + "?limit=1";
  auto r = Send(req);
  if (!r.ok()) return r.status();
  if (r->status == 401 || r->status == 403 || r->status == 429 || r->status >= 500)
    return transport_->ErrorFor(*r, "GET " + ShownUrl(req.url) + " (ChartMuseum's API)");
  // ChartMuseum answers a JSON map of charts (an empty tenant: 404 with a JSON error);
  // anything else (a web server's 404 page) is a classic repository. Only these
  // definite answers are remembered: a passing 502 must not turn the endpoint read-only.
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  const bool yes = (r->status == 200 && j.is_object()) ||
                   (r->status == 404 && j.is_object() && j.contains("error"));
  std::lock_guard<std::mutex> lk(mu_);
  chartmuseum_[tenant] = yes;
  return yes;
}

core::Result<Namespace> HelmRepoRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  auto yes = IsChartMuseum(Split(repo).tenant);
  if (!yes.ok()) return yes.status();
  if (!*yes)
    ns.refusal = "endpoint \"" + name() + "\" is a classic chart repository (" +
                 RepoUrl(Split(repo).tenant) +
                 " has no ChartMuseum API at " + ApiUrl(Split(repo).tenant) +
                 "): crossdock reads charts from it but cannot push; use a ChartMuseum or an OCI "
                 "registry as the destination";
  return ns;
}

core::Status HelmRepoRegistry::PutManifest(const std::string& repo, const std::string& ref,
                                           const Manifest& manifest) {
  const std::string where = repo + ":" + ref + " at endpoint \"" + name() + "\"";
  auto layers = helm::ChartLayersOf(manifest.bytes);
  if (!layers)
    return core::Status::InvalidArgument(
        where + ": the artifact is not a Helm chart (config " + helm::kChartConfigMediaType +
        " and a chart layer); a chart repository holds only charts: add resource = \"chart\" "
        "to the rule");
  if (core::IsValidDigest(ref))
    return core::Status::InvalidArgument(where + ": a chart repository holds charts by version");
  const ChartPath p = Split(repo);
  // The chart's own metadata names it; the repository and tag must agree with it, or
  // ChartMuseum would file it under another name or version than the plan shows.
  auto config = ReadStaged(layers->config_digest);
  if (!config.ok())
    return core::Status::Internal(where + ": the chart's config (" + layers->config_digest +
                                  ") was not uploaded first: " + config.status().message());
  auto meta = nlohmann::json::parse(*config, nullptr, false);
  auto text = [&](const char* key) {
    return meta.is_object() && meta.contains(key) && meta[key].is_string()
               ? meta[key].get<std::string>()
               : std::string();
  };
  if (text("name") != p.chart || helm::TagOfVersion(text("version")) != ref)
    return core::Status::InvalidArgument(
        where + ": the chart's metadata names it " + core::ShowName(text("name")) + " version " +
        core::ShowName(text("version")) +
        ", and a chart repository files a chart under its own name and version; name the "
        "destination repository after the chart (dest_namespace, flatten) and copy tags that "
        "are its version");
  auto body = ReadStaged(layers->chart_digest);
  if (!body.ok())
    return core::Status::Internal(where + ": the chart's .tgz (" + layers->chart_digest +
                                  ") was not uploaded first: " + body.status().message());
  const std::string api = ApiUrl(p.tenant);
  HttpRequest post;
  post.method = "POST";
  post.url = api;
  post.headers.push_back({"Content-Type", "application/gzip"});
  post.body = std::move(*body);
  auto r = Send(std::move(post));
  if (!r.ok()) return r.status();
  ForgetIndex(p.tenant);
  if (r->status == 200 || r->status == 201) return core::Status::Ok();
  if (r->status == 409) {
    // The version exists: the same .tgz is what the plan wanted (an earlier attempt
    // whose answer was lost); another one is replaced only by a ChartMuseum that
    // allows overwrites (which then answers 201, not 409).
    auto v = FindVersion(repo, ref);
    if (v.ok() && v->digest == layers->chart_digest) return core::Status::Ok();
    return core::Status::Conflict(where + ": the version exists with other content and the "
                                  "repository refuses to overwrite it" +
                                  ChartMuseumError(r->body) +
                                  "; start ChartMuseum with --allow-overwrite to let crossdock "
                                  "replace versions, or delete that version there");
  }
  if (r->status == 404 && !p.tenant.empty())
    return core::Status::NotFound(
        where + ": POST " + api + " answered 404" + ChartMuseumError(r->body) +
        "; ChartMuseum serves tenant " + p.tenant.substr(1) + " only when started with --depth=" +
        std::to_string(std::count(p.tenant.begin(), p.tenant.end(), '/')));
  return transport_->ErrorFor(*r, "uploading chart " + repo + " " + ref);
}

core::Status HelmRepoRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                         const std::string&) {
  auto v = FindVersion(repo, tag);
  if (!v.ok()) return v.status();
  const ChartPath p = Split(repo);
  HttpRequest del;
  del.method = "DELETE";
  del.url = ApiUrl(p.tenant) + "/" + p.chart + "/" + UrlEncode(v->version);
  auto r = Send(del);
  if (!r.ok()) return r.status();
  ForgetIndex(p.tenant);
  if (r->status == 200 || r->status == 202 || r->status == 204) return core::Status::Ok();
  if (r->status == 404)
    return core::Status::NotFound("chart " + repo + " version " + v->version +
                                  " does not exist at endpoint \"" + name() + "\"");
  return transport_->ErrorFor(*r, "deleting chart " + repo + " version " + v->version);
}

core::Status HelmRepoRegistry::DeleteManifest(const std::string& repo, const std::string& digest) {
  auto found = FindByDigest(repo, digest);
  if (!found.ok()) return found.status();
  if (!*found)
    return core::Status::NotFound("no version of chart " + repo + " at endpoint \"" + name() +
                                  "\" has manifest " + digest);
  return DeleteTag(repo, helm::TagOfVersion((*found)->version.version), digest);
}

core::Result<std::string> HelmRepoRegistry::CheckControlPlane() {
  auto index = Index("");
  if (!index.ok()) return index.status();
  size_t versions = 0;
  for (const auto& [chart, vs] : (*index)->charts) versions += vs.size();
  auto museum = IsChartMuseum("");
  if (!museum.ok()) return museum.status();
  return "index.yaml at " + url_ + " lists " + std::to_string((*index)->charts.size()) +
         " charts, " + std::to_string(versions) + " versions; " +
         (*museum ? "ChartMuseum API at " + ApiUrl("") + " answered (charts can be pushed)"
                  : std::string("no ChartMuseum API: a classic repository, read only"));
}

}  // namespace crossdock::providers
