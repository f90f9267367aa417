#include "providers/google/google.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "core/digest.h"
#include "core/encoding.h"
#include "core/names.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

constexpr const char* kDockerPkgDev = "-docker.pkg.dev";
constexpr int kRestPageSize = 1000;  // ListDockerImagesRequest: "Maximum page size is 1,000"

std::vector<std::string> SplitPath(const std::string& repo) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = repo.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(repo.substr(start, slash - start));
  parts.push_back(repo.substr(start));
  return parts;
}

// %XX decoded (Artifact Registry escapes the '/' of an image path in resource names).
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

core::Result<GoogleLogin> ParseGoogleLogin(const Credentials& creds, const std::string& endpoint) {
  GoogleLogin login;
  const std::string& user = creds.username;
  if (user.empty() && creds.password.empty()) return login;
  const std::string accepted =
      "; Google's registries take username \"_json_key\" with a service account's JSON key "
      "file as the password (password = \"file:key.json\"), \"_json_key_base64\" with that file "
      "base64-encoded, or \"oauth2accesstoken\" with an OAuth access token (`gcloud auth "
      "print-access-token`)";
  if (user == "_json_key" || user == "_json_key_base64") {
    std::string text = creds.password;
    if (user == "_json_key_base64") {
      auto decoded = core::Base64Decode(creds.password);
      if (!decoded)
        return core::Status::InvalidArgument(
            "the password of endpoint \"" + endpoint +
            "\" is not base64: with username \"_json_key_base64\" it is the service account's "
            "JSON key file base64-encoded (`base64 -w0 key.json`)");
      text = *decoded;
    }
    auto key = ParseServiceAccountKey(text, endpoint);
    if (!key.ok()) return key.status();
    login.kind = GoogleLogin::Kind::kServiceAccountKey;
    login.key = std::move(*key);
    return login;
  }
  if (user == "oauth2accesstoken") {
    if (creds.password.empty())
      return core::Status::InvalidArgument("endpoint \"" + endpoint +
                                           "\" has username \"oauth2accesstoken\" but no password" +
                                           accepted);
    login.kind = GoogleLogin::Kind::kAccessToken;
    login.access_token = creds.password;
    return login;
  }
  if (user.empty())
    return core::Status::InvalidArgument("endpoint \"" + endpoint + "\" has a password but no username" +
                                         accepted);
  return core::Status::InvalidArgument("username \"" + user + "\" of endpoint \"" + endpoint +
                                       "\" is not one Google's registries take" + accepted);
}

core::Result<GoogleSite> GoogleSiteOf(const std::string& url, const std::string& api_url,
                                      const std::string& endpoint) {
  GoogleSite site;
  const auto origin = ParseOrigin(url);
  const std::string host = origin ? origin->host : "";
  const std::string suffix = "/locations/";
  const size_t at = api_url.rfind(suffix);
  std::string api_location;
  if (at != std::string::npos && at + suffix.size() < api_url.size() &&
      api_url.find('/', at + suffix.size()) == std::string::npos)
    api_location = api_url.substr(at + suffix.size());
  if (host.size() > std::string(kDockerPkgDev).size() && host.ends_with(kDockerPkgDev)) {
    site.artifact_registry = true;
    site.location = host.substr(0, host.size() - std::string(kDockerPkgDev).size());
    site.api = api_url.empty() ? kArtifactRegistryApi
               : api_location.empty() ? api_url
                                      : api_url.substr(0, at);
    if (!api_location.empty() && api_location != site.location)
      return core::Status::InvalidArgument(
          "api_url of endpoint \"" + endpoint + "\" names location \"" + api_location +
          "\" but its url is in \"" + site.location + "\"; leave the location out of api_url");
    return site;
  }
  if (api_url.empty()) return site;
  if (api_location.empty())
    return core::Status::InvalidArgument(
        "api_url of endpoint \"" + endpoint +
        "\" is set, so it is taken for Artifact Registry, whose location must then end it: "
        "api_url = \"" + kArtifactRegistryApi + "/locations/LOCATION\" (for a url that is not "
        "LOCATION-docker.pkg.dev); a GCR endpoint has no api_url");
  site.artifact_registry = true;
  site.location = api_location;
  site.api = api_url.substr(0, at);
  return site;
}

GoogleRegistry::GoogleRegistry(std::unique_ptr<DistributionRegistry> registry, std::string url,
                               GoogleSite site, GoogleLogin login, core::Clock* clock)
    : VendorRegistry(std::move(registry), site.artifact_registry ? site.api : url,
                     site.artifact_registry ? "Artifact Registry" : "GCR"),
      url_(std::move(url)),
      site_(std::move(site)),
      login_(std::move(login)),
      clock_(clock) {}

PathRule GoogleRegistry::path_rule() const {
  if (site_.artifact_registry)
    return {3, 0, "Artifact Registry repositories are PROJECT/REPOSITORY/IMAGE"};
  return PathRuleOf("google-gcr");
}

// ---- the OAuth access token and the REST API ----

core::Result<std::string> GoogleRegistry::AccessToken(bool forget) {
  if (login_.kind == GoogleLogin::Kind::kAccessToken) return login_.access_token;
  if (login_.kind == GoogleLogin::Kind::kAnonymous)
    return core::Status::Unauthenticated(
        Where("the REST API") + " needs credentials: give the endpoint a service account key "
        "(username \"_json_key\") or an access token (username \"oauth2accesstoken\")");
  std::lock_guard<std::mutex> lk(token_mu_);
  if (forget) token_.clear();
  if (!token_.empty() && clock_->Now() < token_refresh_at_) return token_;
  const ServiceAccountKey& key = *login_.key;
  // The assertion's iat is wall-clock time, which Google compares with its own.
  auto assertion = MakeAssertion(key, kCloudPlatformScope, core::UnixNow());
  if (!assertion.ok()) return assertion.status();
  // developers.google.com/identity/protocols/oauth2/service-account: "Making the request".
  HttpRequest req;
  req.method = "POST";
  req.url = key.token_uri;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = "grant_type=" + UrlEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
             "&assertion=" + *assertion;
  req.follow_redirects = false;
  const std::string what = "asking Google's token endpoint " + key.token_uri +
                           " for an access token for service account " + key.client_email +
                           " of endpoint \"" + name() + "\"";
  auto r = registry().SendControlPlane(req);
  if (!r.ok()) return r.status().WithContext(what);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    // OAuth errors: {"error":"invalid_grant","error_description":"Invalid JWT Signature."}.
    const std::string description = ParseOAuthError(r->body).description;
    const std::string detail = ErrorMessageOf(r->body);
    std::string message = what + ": HTTP " + std::to_string(r->status) +
                          (detail.empty() ? "" : ", " + detail);
    // Google's words for an assertion outside its clock's window ("Token must be a
    // short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and
    // exp values in the JWT claim.").
    if (description.find("iat") != std::string::npos || description.find("timeframe") != std::string::npos)
      return core::Status::Unauthenticated(
          message + "; this machine's clock is probably off: Google takes assertions issued "
                    "within minutes of its own time, so set the clock right (NTP)");
    if (r->status == 400 || r->status == 401 || r->status == 403)
      return core::Status::Unauthenticated(
          message + "; check that the key is current (not deleted or disabled in IAM) and "
                    "that the password is the key file Google issued");
    return core::Status::Unavailable(message);
  }
  const nlohmann::json& token = Field(j, "access_token");
  if (!token.is_string() || token.get<std::string>().empty())
    return core::Status::Unavailable(what + ": the answer has no access_token");
  long expires_in = Field(j, "expires_in").is_number_integer() ? Field(j, "expires_in").get<long>() : 3600;
  expires_in = std::max(1L, expires_in);
  // Renewed a minute before it runs out (a fifth of its life when that is shorter).
  const double margin = std::min(60.0, expires_in * 0.2);
  token_ = token.get<std::string>();
  token_refresh_at_ = clock_->Now() + std::chrono::milliseconds(
                                          static_cast<long>((expires_in - margin) * 1000));
  return token_;
}

core::Status GoogleRegistry::GoogleError(const HttpResponse& r, const std::string& what) const {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  const nlohmann::json& e = Field(j, "error");
  std::string detail;
  if (Field(e, "status").is_string()) detail += " " + Field(e, "status").get<std::string>();
  if (Field(e, "message").is_string()) detail += ": " + Field(e, "message").get<std::string>();
  const std::string message = Where(what) + ": HTTP " + std::to_string(r.status) + detail;
  switch (r.status) {
    case 401:
      return core::Status::Unauthenticated(message + "; the access token was refused");
    case 403:
      return core::Status::PermissionDenied(
          message + "; the account lacks the permission (roles/artifactregistry.reader to list, "
                    "writer to push)");
    case 404:
      return core::Status::NotFound(message);
    default:
      if (r.status == 429 || r.status >= 500) return core::Status::Unavailable(message);
      return core::Status::Internal(message);
  }
}

core::Result<HttpResponse> GoogleRegistry::CallRest(const std::string& path_and_query) {
  for (int attempt = 0;; ++attempt) {
    auto token = AccessToken(attempt > 0);
    if (!token.ok()) return token.status();
    auto r = CallApi("GET", path_and_query, {{"Authorization", "Bearer " + *token}});
    // A bought token the API refuses (revoked early) is bought again, once.
    if (r.ok() && r->status == 401 && attempt == 0 &&
        login_.kind == GoogleLogin::Kind::kServiceAccountKey)
      continue;
    return r;
  }
}

std::string GoogleRegistry::RepositoriesPath(const std::string& project) const {
  return "/v1/projects/" + project + "/locations/" + site_.location + "/repositories";
}

core::Result<std::vector<std::string>> GoogleRegistry::ListGarRepositories(const std::string& project) {
  std::vector<std::string> ids;
  const std::string what = "listing the repositories of project \"" + project + "\"";
  std::string page_token;
  for (int page = 0; page < kMaxListPages; ++page) {
    auto r = CallRest(RepositoriesPath(project) + "?pageSize=" + std::to_string(kRestPageSize) +
                      (page_token.empty() ? "" : "&pageToken=" + UrlEncode(page_token)));
    if (!r.ok()) return r.status();
    if (r->status == 404) return ids;  // no such project (or none here)
    if (r->status != 200) return GoogleError(*r, what);
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    if (Field(*j, "repositories").is_array())
      for (const auto& repo : Field(*j, "repositories")) {
        // {"name":"projects/P/locations/L/repositories/R","format":"DOCKER",…}
        if (!Field(repo, "name").is_string()) continue;
        if (Field(repo, "format").is_string() && Field(repo, "format") != "DOCKER") continue;
        const std::string name = Field(repo, "name");
        ids.push_back(name.substr(name.rfind('/') + 1));
      }
    page_token = Field(*j, "nextPageToken").is_string() ? Field(*j, "nextPageToken").get<std::string>() : "";
    if (page_token.empty()) return ids;
  }
  return core::Status::Internal(Where(what) + ": more than " + std::to_string(kMaxListPages) +
                                " pages; stopped");
}

core::Status GoogleRegistry::ListGarImages(const std::string& project, const std::string& repository,
                                           std::vector<std::string>* out) {
  const std::string what = "listing the images of repository \"" + project + "/" + repository + "\"";
  const std::string path = RepositoriesPath(project) + "/" + repository + "/dockerImages";
  std::string page_token;
  for (int page = 0; page < kMaxListPages; ++page) {
    auto r = CallRest(path + "?pageSize=" + std::to_string(kRestPageSize) +
                      (page_token.empty() ? "" : "&pageToken=" + UrlEncode(page_token)));
    if (!r.ok()) return r.status();
    if (r->status == 404) return core::Status::Ok();
    if (r->status != 200) return GoogleError(*r, what);
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    if (Field(*j, "dockerImages").is_array())
      for (const auto& image : Field(*j, "dockerImages")) {
        // "projects/P/locations/L/repositories/R/dockerImages/IMAGE@sha256:…", the image
        // path's '/' escaped as %2F.
        if (!Field(image, "name").is_string()) continue;
        const std::string name = Field(image, "name");
        const size_t at = name.find("/dockerImages/");
        if (at == std::string::npos) continue;
        std::string id = PercentDecode(name.substr(at + 14));
        id = id.substr(0, id.find('@'));
        const std::string full = project + "/" + repository + "/" + id;
        if (!id.empty() && core::IsValidRepositoryName(full)) out->push_back(full);
      }
    page_token = Field(*j, "nextPageToken").is_string() ? Field(*j, "nextPageToken").get<std::string>() : "";
    if (page_token.empty()) return core::Status::Ok();
  }
  return core::Status::Internal(Where(what) + ": more than " + std::to_string(kMaxListPages) +
                                " pages; stopped");
}

// ---- listing ----

core::Result<std::vector<std::string>> GoogleRegistry::ListRepositoriesIn(
    const std::vector<std::string>& named) {
  std::vector<std::string> projects = named;
  if (projects.empty() && login_.key && !login_.key->project_id.empty())
    projects.push_back(login_.key->project_id);
  if (!site_.artifact_registry || login_.kind == GoogleLogin::Kind::kAnonymous || projects.empty())
    return VendorRegistry::ListRepositories();  // _catalog
  std::vector<std::string> out;
  for (const auto& project : projects) {
    if (!core::IsValidRepositoryName(project) || project.find('/') != std::string::npos) continue;
    auto repositories = ListGarRepositories(project);
    if (!repositories.ok()) return repositories.status();
    for (const auto& repository : *repositories) {
      {
        std::lock_guard<std::mutex> lk(repos_mu_);
        gar_repositories_[project + "/" + repository] = true;
      }
      CROSSDOCK_RETURN_IF_ERROR(ListGarImages(project, repository, &out));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

core::Result<GoogleRegistry::ExtendedTagList> GoogleRegistry::ReadTagList(const std::string& repo) {
  if (!core::IsValidRepositoryName(repo))
    return core::Status::NotFound("repository \"" + core::ShowName(repo) +
                                  "\" does not exist at endpoint \"" + name() + "\"");
  ExtendedTagList list;
  const std::string what = "listing tags of \"" + repo + "\"";
  core::Status st = registry().ForEachRegistryPage(
      "/v2/" + repo + "/tags/list?n=1000", {"repository:" + repo + ":pull"}, what,
      [&](const HttpResponse& r) {
        if (r.status == 404)
          return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                        name() + "\"");
        if (r.status != 200) return registry().ErrorFor(r, what);
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (!j.is_object())
          return core::Status::Internal("endpoint \"" + name() + "\" answered the tag list of \"" +
                                        repo + "\" with something that is not a JSON object");
        if (Field(j, "tags").is_array())
          for (const auto& t : Field(j, "tags"))
            if (t.is_string()) list.tags.push_back(t);
        // {"manifest":{"sha256:…":{"tag":["v1"],"mediaType":…,"imageSizeBytes":"…",…}}}
        if (Field(j, "manifest").is_object()) {
          list.has_manifests = true;
          for (const auto& [digest, m] : Field(j, "manifest").items()) {
            auto& tags = list.manifests[digest];
            if (Field(m, "tag").is_array())
              for (const auto& t : Field(m, "tag"))
                if (t.is_string()) tags.push_back(t);
          }
        }
        return core::Status::Ok();
      });
  if (!st.ok()) return st;
  return list;
}

core::Result<TagListing> GoogleRegistry::ListTagsWithDigests(const std::string& repo) {
  auto list = ReadTagList(repo);
  if (!list.ok()) return list.status();
  TagListing listing;
  listing.tags = std::move(list->tags);
  for (const auto& [digest, tags] : list->manifests)
    for (const auto& t : tags)
      if (core::IsValidDigest(digest)) listing.digests[t] = digest;
  return listing;
}

core::Result<std::vector<std::string>> GoogleRegistry::ListTags(const std::string& repo) {
  auto list = ReadTagList(repo);
  if (!list.ok()) return list.status();
  return std::move(list->tags);
}

// ---- deletion ----

core::Status GoogleRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                       const std::string& digest) {
  if (!core::IsValidRepositoryName(repo) || !core::IsValidTag(tag) || !core::IsValidDigest(digest))
    return core::Status::InvalidArgument("deleting " + core::ShowName(repo) + ":" +
                                         core::ShowName(tag) + " at endpoint \"" + name() +
                                         "\": not a valid repository, tag or digest; nothing was sent");
  // The tag first: DELETE of a tag is GCR's untag, which leaves the manifest and its
  // other tags (Harbor's adapter deletes every tag so, then the digest).
  HttpRequest req;
  req.method = "DELETE";
  req.url = url_ + "/v2/" + repo + "/manifests/" + tag;
  auto r = registry().SendToRegistry(req, {"repository:" + repo + ":delete"});
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 202 && r->status != 204 && r->status != 404)
    return registry().ErrorFor(*r, "untagging " + repo + ":" + tag);
  // Then the manifest, once nothing is tagged with it: a digest carrying a tag that is
  // not crossdock's (or one of its tags not deleted yet) stays.
  auto list = ReadTagList(repo);
  if (list.status().code() == core::Code::kNotFound) return core::Status::Ok();
  if (!list.ok()) return list.status();
  auto it = list->manifests.find(digest);
  if (!list->has_manifests || it == list->manifests.end() || !it->second.empty())
    return core::Status::Ok();
  core::Status st = registry().DeleteManifest(repo, digest);
  return st.code() == core::Code::kNotFound ? core::Status::Ok() : st;
}

// ---- Artifact Registry repositories ----

core::Result<Namespace> GoogleRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  if (!site_.artifact_registry) return ns;  // GCR makes what a push needs
  const std::vector<std::string> parts = SplitPath(repo);
  if (parts.size() < 3) return ns;  // the path rule refuses it
  const std::string& project = parts[0];
  const std::string& repository = parts[1];
  ns.name = project + "/" + repository;
  {
    std::lock_guard<std::mutex> lk(repos_mu_);
    if (gar_repositories_.count(ns.name)) return ns;
  }
  if (login_.kind == GoogleLogin::Kind::kAnonymous) return ns;  // cannot tell: the push will say
  auto r = CallRest(RepositoriesPath(project) + "/" + repository);
  if (!r.ok()) return r.status();
  if (r->status == 403) return ns;  // may push without seeing repositories: the push will say
  if (r->status == 200) {
    std::lock_guard<std::mutex> lk(repos_mu_);
    gar_repositories_[ns.name] = true;
    return ns;
  }
  if (r->status != 404)
    return GoogleError(*r, "looking up repository \"" + repository + "\" of project \"" + project + "\"");
  ns.exists = false;
  ns.refusal = "Artifact Registry repository \"" + repository + "\" of project \"" + project +
               "\" does not exist in " + site_.location + ", and crossdock does not create "
               "repositories there: create it first (gcloud artifacts repositories create " +
               repository + " --repository-format=docker --location=" + site_.location +
               " --project=" + project + ")";
  return ns;
}

core::Status GoogleRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  return core::Status::Ok();
}

core::Result<std::string> GoogleRegistry::CheckControlPlane() {
  if (!site_.artifact_registry)
    return std::string("none besides the registry (GCR): tags and digests come from its extended tags/list");
  if (login_.kind == GoogleLogin::Kind::kAnonymous)
    return std::string("Artifact Registry API not used (anonymous): images listed through _catalog");
  if (!login_.key || login_.key->project_id.empty()) {
    auto token = AccessToken();
    if (!token.ok()) return token.status();
    return "Artifact Registry API at " + api_url() + " (location " + site_.location +
           "): not asked, since an access token names no project; it lists the projects a rule names";
  }
  const std::string& project = login_.key->project_id;
  auto repositories = ListGarRepositories(project);
  if (!repositories.ok()) return repositories.status();
  return "Artifact Registry API at " + api_url() + " answered to service account " +
         login_.key->client_email + ": " + std::to_string(repositories->size()) +
         " Docker repositor" + (repositories->size() == 1 ? "y" : "ies") + " in project \"" +
         project + "\" (" + site_.location + ")";
}

}  // namespace crossdock::providers
