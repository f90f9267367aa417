#include "providers/jfrog/jfrog.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace crossdock::providers {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

JFrogRegistry::JFrogRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url)
    : VendorRegistry(std::move(registry), std::move(api_url), "Artifactory") {}

std::vector<std::pair<std::string, std::string>> JFrogRegistry::Auth() const {
  if (credentials().username.empty()) return {};
  return {{"Authorization", BasicAuthorization(credentials())}};
}

core::Result<std::vector<std::string>> JFrogRegistry::ListRepositoriesIn(
    const std::vector<std::string>& namespaces) {
  std::vector<std::string> keys = namespaces;
  if (keys.empty()) {
    const std::string what = "listing repositories";
    auto r = CallApi("GET", "/api/repositories", Auth());
    if (!r.ok()) return r.status();
    if (r->status != 200) return registry().ErrorFor(*r, Where(what));
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    if (!j->is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
    for (const auto& repo : *j) {
      const std::string type =
          Field(repo, "packageType").is_string() ? Lower(Field(repo, "packageType")) : "";
      // Harbor's adapter tries docker and oci repositories (JFROG_SUPPORTED_REPOSITORY_TYPES).
      if ((type == "docker" || type == "oci") && Field(repo, "key").is_string())
        keys.push_back(Field(repo, "key"));
    }
  }
  std::vector<std::string> out;
  for (const auto& key : keys) {
    const std::string what = "listing the images of repository \"" + key + "\"";
    core::Status st = ForEachApiPage(
        "/api/docker/" + key + "/v2/_catalog?n=1000", Auth(), what, [&](const nlohmann::json& j) {
          const auto& names = Field(j, "repositories");
          if (!names.is_array()) return core::Status::Ok();
          for (const auto& n : names) {
            if (!n.is_string()) continue;
            const std::string image = n;
            out.push_back(image.starts_with(key + "/") ? image : key + "/" + image);
          }
          return core::Status::Ok();
        });
    if (st.code() == core::Code::kNotFound) continue;  // no such key: nothing in it
    if (!st.ok()) return st;
  }
  return out;
}

core::Result<Namespace> JFrogRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = repo.substr(0, repo.find('/'));
  std::string rclass;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = keys_.find(ns.name); it != keys_.end()) rclass = it->second;
  }
  if (rclass.empty()) {
    const std::string what = "looking up repository \"" + ns.name + "\"";
    auto r = CallApi("GET", "/api/repositories/" + ns.name, Auth());
    if (!r.ok()) return r.status();
    if (r->status == 400 || r->status == 404) {
      ns.exists = false;
      return ns;
    }
    if (r->status != 200) return registry().ErrorFor(*r, Where(what));
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    rclass = Field(*j, "rclass").is_string() ? Lower(Field(*j, "rclass")) : "local";
    std::lock_guard<std::mutex> lk(mu_);
    keys_[ns.name] = rclass;
  }
  if (rclass == "remote")
    ns.refusal = "repository \"" + ns.name + "\" at endpoint \"" + name() +
                 "\" is a remote (proxy) repository, which takes no pushes; set the rule's "
                 "dest_namespace to a local or virtual Docker repository";
  return ns;
}

core::Status JFrogRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  if (ns->exists) return core::Status::Ok();
  // Harbor's adapter creates the same local repository (jfrog/adapter.go, PrepareForPush).
  nlohmann::json body = {{"key", ns->name},
                         {"rclass", "local"},
                         {"packageType", "docker"},
                         {"repoLayoutRef", "simple-default"}};
  const std::string what = "creating repository \"" + ns->name + "\"";
  auto r = CallApi("PUT", "/api/repositories/" + ns->name, Auth(), body.dump());
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 201) {
    core::Status st = registry().ErrorFor(*r, Where(what));
    if (r->status == 401 || r->status == 403)
      return core::Status::PermissionDenied(
          st.message() + "; only Artifactory administrators create repositories: create the "
                         "local Docker repository \"" + ns->name + "\" first");
    return st;
  }
  std::lock_guard<std::mutex> lk(mu_);
  keys_[ns->name] = "local";
  return core::Status::Ok();
}

core::Result<std::string> JFrogRegistry::CheckControlPlane() {
  auto r = CallApi("GET", "/api/repositories", Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return registry().ErrorFor(*r, Where("GET /api/repositories"));
  auto j = ParseJson(*r, "GET /api/repositories");
  if (!j.ok()) return j.status();
  size_t docker = 0;
  if (j->is_array())
    for (const auto& repo : *j) {
      const std::string type =
          Field(repo, "packageType").is_string() ? Lower(Field(repo, "packageType")) : "";
      docker += type == "docker" || type == "oci";
    }
  return "Artifactory API at " + api_url() + " answered; " + std::to_string(docker) +
         " Docker/OCI repositories visible";
}

}  // namespace crossdock::providers
