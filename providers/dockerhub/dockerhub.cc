#include "providers/dockerhub/dockerhub.h"

#include <set>
#include <utility>

#include "providers/url.h"

namespace crossdock::providers {

namespace {

// The Hub API's tokens last ten minutes (AuthCreateAccessToken); renewed after nine,
// as Harbor's adapter does, and at once after a 401.
constexpr std::chrono::minutes kTokenRenewal{9};
constexpr int kPageSize = 100;  // the Hub API's largest page_size

}  // namespace

DockerHubRegistry::DockerHubRegistry(std::unique_ptr<DistributionRegistry> registry,
                                     std::string api_url)
    : VendorRegistry(std::move(registry), std::move(api_url), "Docker Hub") {}

core::Result<std::vector<std::pair<std::string, std::string>>> DockerHubRegistry::Auth(
    const std::string& rejected) {
  if (credentials().username.empty()) return std::vector<std::pair<std::string, std::string>>{};
  std::lock_guard<std::mutex> lk(token_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (token_.empty() || token_ == rejected || now - token_at_ >= kTokenRenewal) {
    nlohmann::json body = {{"identifier", credentials().username},
                           {"secret", credentials().password}};
    auto r = CallApi("POST", "/v2/auth/token", {}, body.dump());
    if (!r.ok()) return r.status();
    if (r->status == 401 || r->status == 403)
      return core::Status::Unauthenticated(
          Where("POST /v2/auth/token") + ": HTTP " + std::to_string(r->status) +
          ", the Hub refused the username and secret; check the endpoint's username and "
          "password (a personal or organisation access token)");
    if (r->status != 200) return registry().ErrorFor(*r, Where("POST /v2/auth/token"));
    auto j = ParseJson(*r, "POST /v2/auth/token");
    if (!j.ok()) return j.status();
    if (!j->is_object() || !Field(*j, "access_token").is_string() ||
        Field(*j, "access_token").get<std::string>().empty())
      return core::Status::Internal(Where("POST /v2/auth/token") + ": the answer has no access_token");
    token_ = Field(*j, "access_token");
    token_at_ = now;
  }
  return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + token_}};
}

core::Result<HttpResponse> DockerHubRegistry::Call(const std::string& method,
                                                   const std::string& path_and_query,
                                                   const std::string& body) {
  std::string rejected;
  for (int attempt = 0;; ++attempt) {
    auto auth = Auth(rejected);
    if (!auth.ok()) return auth.status();
    auto r = CallApi(method, path_and_query, *auth, body);
    if (!r.ok() || r->status != 401 || auth->empty() || attempt == 1) return r;
    rejected = auth->front().second.substr(7);  // the token after "Bearer "
  }
}

core::Status DockerHubRegistry::ForEachResultsPage(
    const std::string& first, const std::string& what,
    const std::function<core::Status(const nlohmann::json&)>& page) {
  const auto api_origin = ParseOrigin(api_url());
  std::string url = api_url() + first;
  std::set<std::string> seen;
  for (int n = 0;; ++n) {
    if (n >= kMaxListPages || !seen.insert(url).second)
      return core::Status::Internal(Where(what) + ": the API's next pages go round in circles or past " +
                                    std::to_string(kMaxListPages) + " pages; stopped");
    auto r = Call("GET", url);
    if (!r.ok()) return r.status();
    if (r->status != 200) return registry().ErrorFor(*r, Where(what));
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    if (!j->is_object() || !Field(*j, "results").is_array())
      return core::Status::Internal(Where(what) + ": the answer has no \"results\" list");
    CROSSDOCK_RETURN_IF_ERROR(page(Field(*j, "results")));
    if (!Field(*j, "next").is_string() || Field(*j, "next").get<std::string>().empty())
      return core::Status::Ok();
    url = ResolveReference(url, Field(*j, "next").get<std::string>());
    if (url.empty() || !api_origin || ParseOrigin(url) != api_origin)
      return core::Status::PermissionDenied(Where(what) +
                                            ": the API's next page leads off its own origin; "
                                            "nothing was sent there");
  }
}

core::Result<std::vector<std::string>> DockerHubRegistry::ListRepositoriesIn(
    const std::vector<std::string>& namespaces) {
  if (namespaces.empty())
    return core::Status::InvalidArgument(
        "endpoint \"" + name() +
        "\" is Docker Hub, which cannot list every repository: start each of the rule's "
        "repositories patterns with a namespace (\"library/*\", \"myorg/**\") or name them "
        "literally");
  std::vector<std::string> out;
  for (const auto& ns : namespaces) {
    const std::string what = "listing the repositories of namespace \"" + ns + "\"";
    core::Status st = ForEachResultsPage(
        "/v2/namespaces/" + UrlEncode(ns) + "/repositories?page_size=" + std::to_string(kPageSize),
        what, [&](const nlohmann::json& results) {
          for (const auto& r : results)
            if (r.is_object() && Field(r, "name").is_string()) out.push_back(ns + "/" + Field(r, "name").get<std::string>());
          return core::Status::Ok();
        });
    if (st.code() == core::Code::kNotFound) continue;  // no such namespace: nothing in it
    if (!st.ok()) return st;
  }
  return out;
}

core::Result<std::string> DockerHubRegistry::RepositoryPath(const std::string& repo) const {
  const size_t slash = repo.find('/');
  if (slash == std::string::npos || repo.find('/', slash + 1) != std::string::npos)
    return core::Status::InvalidArgument(
        "repository \"" + repo + "\" at endpoint \"" + name() +
        "\": Docker Hub repositories are NAMESPACE/NAME (official images library/NAME)");
  return "/v2/namespaces/" + repo.substr(0, slash) + "/repositories/" + repo.substr(slash + 1);
}

core::Result<TagListing> DockerHubRegistry::ListTagsWithDigests(const std::string& repo) {
  auto path = RepositoryPath(repo);
  if (!path.ok()) return path.status();
  TagListing listing;
  const std::string what = "listing the tags of \"" + repo + "\"";
  core::Status st = ForEachResultsPage(
      *path + "/tags?page_size=" + std::to_string(kPageSize), what,
      [&](const nlohmann::json& results) {
        for (const auto& t : results) {
          if (!t.is_object() || !Field(t, "name").is_string()) continue;
          const std::string tag = Field(t, "name");
          listing.tags.push_back(tag);
          // A tag listed without a digest (Docker Hub leaves it out for some old
          // images) is looked up with a HEAD by the planner.
          if (Field(t, "digest").is_string() && !Field(t, "digest").get<std::string>().empty())
            listing.digests[tag] = Field(t, "digest");
        }
        return core::Status::Ok();
      });
  if (st.code() == core::Code::kNotFound)
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                  name() + "\"");
  if (!st.ok()) return st;
  if (!listing.tags.empty()) {
    std::lock_guard<std::mutex> lk(mu_);
    if (budget_repo_.empty()) {
      budget_repo_ = repo;
      budget_tag_ = listing.tags.front();
    }
  }
  return listing;
}

std::optional<long> DockerHubRegistry::rate_limit_remaining() const {
  std::string repo, tag;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!budget_asked_ && !budget_repo_.empty() && !VendorRegistry::rate_limit_remaining()) {
      budget_asked_ = true;
      repo = budget_repo_;
      tag = budget_tag_;
    }
  }
  // docs.docker.com/docker-hub/usage/pulls/: a HEAD does not count; a failure here
  // only leaves the budget unknown.
  if (!repo.empty()) (void)data_plane()->HeadManifest(repo, tag);
  return VendorRegistry::rate_limit_remaining();
}

core::Result<std::vector<std::string>> DockerHubRegistry::ListTags(const std::string& repo) {
  auto listing = ListTagsWithDigests(repo);
  if (!listing.ok()) return listing.status();
  return std::move(listing->tags);
}

core::Status DockerHubRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                          const std::string& digest) {
  (void)digest;
  auto path = RepositoryPath(repo);
  if (!path.ok()) return path.status();
  const std::string what = "deleting tag " + repo + ":" + tag;
  // The Hub API call Harbor's adapter uses (dockerhub/adapter.go, DeleteManifest):
  // the documented API has no tag deletion.
  auto r = Call("DELETE", "/v2/repositories/" + repo + "/tags/" + tag + "/");
  if (!r.ok()) return r.status();
  if (r->status == 200 || r->status == 202 || r->status == 204) return core::Status::Ok();
  return registry().ErrorFor(*r, Where(what));
}

core::Result<Namespace> DockerHubRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = repo;  // a Docker Hub repository is what must exist before a push
  auto path = RepositoryPath(repo);
  if (!path.ok()) {
    ns.refusal = path.status().message();
    return ns;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (repositories_.count(repo)) return ns;
  }
  auto r = Call("GET", *path);
  if (!r.ok()) return r.status();
  if (r->status == 404) {
    ns.exists = false;
    if (credentials().username.empty())
      ns.refusal = "repository \"" + repo + "\" does not exist at endpoint \"" + name() +
                   "\" and crossdock has no credentials to create it; set the endpoint's "
                   "username and password";
    return ns;
  }
  if (r->status != 200)
    return registry().ErrorFor(*r, Where("looking up repository \"" + repo + "\""));
  std::lock_guard<std::mutex> lk(mu_);
  repositories_[repo] = true;
  return ns;
}

core::Status DockerHubRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  if (ns->exists) return core::Status::Ok();
  const size_t slash = repo.find('/');
  const std::string space = repo.substr(0, slash), short_name = repo.substr(slash + 1);
  // Private, so that nothing is published by accident (docs: CreateRepository).
  nlohmann::json body = {{"name", short_name},
                         {"namespace", space},
                         {"description", "replicated by crossdock"},
                         {"is_private", true}};
  const std::string what = "creating repository \"" + repo + "\"";
  auto r = Call("POST", "/v2/namespaces/" + space + "/repositories", body.dump());
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 201 && r->status != 409) {
    core::Status st = registry().ErrorFor(*r, Where(what));
    if (r->status == 403)
      return core::Status::PermissionDenied(
          st.message() + "; the account may not create repositories in namespace \"" + space +
          "\": create \"" + repo + "\" on Docker Hub first or use a token of that namespace");
    return st;
  }
  std::lock_guard<std::mutex> lk(mu_);
  repositories_[repo] = true;
  return core::Status::Ok();
}

core::Result<std::string> DockerHubRegistry::CheckControlPlane() {
  const bool anonymous = credentials().username.empty();
  if (!anonymous) {
    auto auth = Auth("");
    if (!auth.ok()) return auth.status();
  }
  const std::string ns = anonymous ? "library" : credentials().username;
  const std::string what = "listing the repositories of namespace \"" + ns + "\"";
  auto r = Call("GET", "/v2/namespaces/" + ns + "/repositories?page_size=1");
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 404) return registry().ErrorFor(*r, Where(what));
  return "Hub API at " + api_url() + " answered" +
         (anonymous ? std::string(" anonymously") : " to a token for \"" + credentials().username + "\"");
}

}  // namespace crossdock::providers
