// GitLabRegistry: the `gitlab` endpoint type (GitLab's container registry). The data
// plane is the generic distribution client (username + personal access token at the
// JWT realm); the control plane is GitLab's REST API v4 (doc/api/container_registry.md,
// doc/api/projects.md), with the token in PRIVATE-TOKEN, on the GitLab host found from
// the registry's token realm unless api_url names it (as Harbor's adapter does:
// src/pkg/reg/adapter/gitlab/):
// - repositories from projects and their registry repositories (X-Next-Page paging);
// - no digests in GitLab's tag lists: a HEAD per tag, as for a plain registry;
// - a tag deleted through the API (the tag alone; protected tags refuse);
// - no namespace creation: a push needs its project to exist, and may go at most two
//   path levels below it (GitLab MR !102063); both are plan errors per repository.
// Constructed by providers/factory.cc.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "providers/vendor.h"

namespace crossdock::providers {

class GitLabRegistry : public VendorRegistry {
 public:
  // REGISTRY_URL: the endpoint's url; API_URL "" : the GitLab host is found from the
  // registry's token realm on first use.
  GitLabRegistry(std::unique_ptr<DistributionRegistry> registry, std::string registry_url,
                 std::string api_url);

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // Projects of the groups NAMESPACES (and their subgroups); all the account's
  // projects when empty.
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& namespaces) override;
  // The registry refuses (401/403) paths no project holds, or too deep below one: the
  // tag is absent there, and the plan's namespace check says why.
  core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                         const std::string& ref) override;
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return true; }
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  struct Project {
    long id = 0;
    std::string path;  // "group/sub/app"
  };
  std::vector<std::pair<std::string, std::string>> Auth() const;
  // The API's base ("https://gitlab.example.com/api/v4"), found once.
  core::Result<std::string> Api();
  // GETs PATH_AND_QUERY (with per_page=100) and every X-Next-Page after it, handing
  // each page's JSON array to PAGE.
  core::Status ForEachPage(const std::string& path_and_query, const std::string& what,
                           const std::function<core::Status(const nlohmann::json&)>& page);
  // The project REPO lives in: its longest prefix that is a project; nullopt if none.
  core::Result<std::optional<Project>> ProjectOf(const std::string& repo);
  // The registry repositories of PROJECT: path -> id.
  core::Result<std::map<std::string, long>> RegistryRepositories(const Project& project);

  std::string registry_url_;
  std::mutex mu_;  // guards below
  std::string api_;  // "" until found
  std::map<std::string, std::optional<Project>> projects_;  // by repository path
};

}  // namespace crossdock::providers
