#include "providers/ghcr/ghcr.h"

#include <utility>

namespace crossdock::providers {

namespace {

constexpr int kPerPage = 100;  // the REST API's largest per_page

}  // namespace

GhcrRegistry::GhcrRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url)
    : VendorRegistry(std::move(registry), std::move(api_url), "GitHub") {}

std::vector<std::pair<std::string, std::string>> GhcrRegistry::Auth() const {
  std::vector<std::pair<std::string, std::string>> h = {
      {"X-GitHub-Api-Version", "2022-11-28"}};
  if (!credentials().password.empty())
    h.push_back({"Authorization", "Bearer " + credentials().password});
  return h;
}

core::Result<std::string> GhcrRegistry::OwnerPath(const std::string& owner) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = owners_.find(owner); it != owners_.end()) return it->second;
  }
  std::string path = "/users/" + owner;
  auto r = CallApi("GET", "/orgs/" + owner, Auth());
  if (!r.ok()) return r.status();
  if (r->status == 200) path = "/orgs/" + owner;
  else if (r->status != 404) return registry().ErrorFor(*r, Where("looking up owner \"" + owner + "\""));
  std::lock_guard<std::mutex> lk(mu_);
  owners_[owner] = path;
  return path;
}

core::Result<std::vector<std::string>> GhcrRegistry::ListRepositoriesIn(
    const std::vector<std::string>& namespaces) {
  if (credentials().password.empty())
    return core::Status::InvalidArgument(
        "endpoint \"" + name() +
        "\" is GHCR, which has no catalog, and lists packages only with a token: set the "
        "endpoint's username and a classic personal access token (read:packages), or name the "
        "rule's repositories literally");
  std::vector<std::string> owners = namespaces;
  if (owners.empty()) owners.push_back(credentials().username);
  std::vector<std::string> out;
  for (const auto& owner : owners) {
    auto path = OwnerPath(owner);
    if (!path.ok()) return path.status();
    const std::string what = "listing the container packages of \"" + owner + "\"";
    core::Status st = ForEachApiPage(
        *path + "/packages?package_type=container&per_page=" + std::to_string(kPerPage), Auth(),
        what, [&](const nlohmann::json& j) {
          if (!j.is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
          for (const auto& p : j)
            if (Field(p, "name").is_string()) out.push_back(owner + "/" + Field(p, "name").get<std::string>());
          return core::Status::Ok();
        });
    if (st.code() == core::Code::kPermissionDenied || st.code() == core::Code::kUnauthenticated)
      return st.WithContext("the token needs the read:packages scope to list packages");
    if (!st.ok()) return st;
  }
  return out;
}

core::Result<std::pair<std::string, std::string>> GhcrRegistry::Package(const std::string& repo) {
  const size_t slash = repo.find('/');
  if (slash == std::string::npos)
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                  name() + "\" (GHCR repositories are OWNER/NAME)");
  auto owner = OwnerPath(repo.substr(0, slash));
  if (!owner.ok()) return owner.status();
  return std::make_pair(*owner, UrlEncode(repo.substr(slash + 1)));
}

core::Result<std::map<std::string, GhcrRegistry::Version>> GhcrRegistry::Versions(
    const std::string& repo) {
  auto package = Package(repo);
  if (!package.ok()) return package.status();
  std::map<std::string, Version> out;
  const std::string what = "listing the versions of package \"" + repo + "\"";
  core::Status st = ForEachApiPage(
      package->first + "/packages/container/" + package->second + "/versions?per_page=" +
          std::to_string(kPerPage),
      Auth(), what, [&](const nlohmann::json& j) {
        if (!j.is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
        for (const auto& v : j) {
          if (!Field(v, "name").is_string() || !Field(v, "id").is_number_integer()) continue;
          Version version;
          version.id = Field(v, "id").get<long>();
          const auto& tags = Field(Field(Field(v, "metadata"), "container"), "tags");
          if (tags.is_array())
            for (const auto& t : tags)
              if (t.is_string()) version.tags.push_back(t);
          out[Field(v, "name").get<std::string>()] = std::move(version);
        }
        return core::Status::Ok();
      });
  if (st.code() == core::Code::kNotFound)
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                  name() + "\"");
  if (!st.ok()) return st;
  return out;
}

core::Result<TagListing> GhcrRegistry::ListTagsWithDigests(const std::string& repo) {
  if (credentials().password.empty()) return VendorRegistry::ListTagsWithDigests(repo);
  auto versions = Versions(repo);
  if (!versions.ok()) return versions.status();
  TagListing listing;
  for (const auto& [digest, v] : *versions)
    for (const auto& t : v.tags) {
      listing.tags.push_back(t);
      listing.digests[t] = digest;
    }
  return listing;
}

core::Status GhcrRegistry::DeleteManifest(const std::string& repo, const std::string& digest) {
  const std::string what = "deleting " + repo + "@" + digest;
  auto versions = Versions(repo);
  if (!versions.ok()) return versions.status();
  auto it = versions->find(digest);
  if (it == versions->end())
    return core::Status::NotFound(Where(what) + ": no package version holds it");
  auto package = Package(repo);
  if (!package.ok()) return package.status();
  auto r = CallApi("DELETE",
                   package->first + "/packages/container/" + package->second + "/versions/" +
                       std::to_string(it->second.id),
                   Auth());
  if (!r.ok()) return r.status();
  if (r->status == 204 || r->status == 200) return core::Status::Ok();
  core::Status st = registry().ErrorFor(*r, Where(what));
  if (r->status == 403)
    return core::Status::PermissionDenied(st.message() + " (the token needs delete:packages)");
  return st;
}

core::Result<std::string> GhcrRegistry::CheckControlPlane() {
  if (credentials().password.empty())
    return std::string("GitHub's REST API not used: no token, so only literal repository names "
                       "work and tags are listed through the registry");
  auto r = CallApi("GET", "/user", Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return registry().ErrorFor(*r, Where("GET /user (the token)"));
  // Classic tokens list their scopes in X-OAuth-Scopes.
  const std::string scopes = r->Header("x-oauth-scopes");
  if (!scopes.empty() && scopes.find("read:packages") == std::string::npos &&
      scopes.find("write:packages") == std::string::npos)
    return core::Status::PermissionDenied(
        Where("GET /user") + ": the token lacks the read:packages scope that listing packages "
                             "needs (it has: " + scopes + ")");
  auto j = ParseJson(*r, "GET /user");
  if (!j.ok()) return j.status();
  return "GitHub API at " + api_url() + " answered to the token of \"" +
         (Field(*j, "login").is_string() ? Field(*j, "login").get<std::string>() : "?") + "\"";
}

}  // namespace crossdock::providers
