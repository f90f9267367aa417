// HarborRegistry: the `harbor` endpoint type. The data plane is the generic
// distribution client; the control plane is Harbor's REST API v2.0 (Harbor 2.0 and
// later), as Harbor's own replication adapter uses it
// (goharbor/harbor src/pkg/reg/adapter/harbor/, api/v2.0/swagger.yaml):
// - Basic credentials on every API call (Harbor's API sends no challenge);
// - repositories from projects and their repositories, proxy-cache projects skipped;
// - tags with their digests and Harbor's labels from the artifacts list (100 a page);
// - projects created when missing (409 means another client created it first);
// - a tag deleted through the tag API, which leaves other tags on the artifact alone;
// - repository names "PROJECT/NAME…" (at least two components).
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

class HarborRegistry : public VendorRegistry {
 public:
  HarborRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url);

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // Only the projects named (proxy caches and missing ones list nothing).
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& projects) override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  bool ListingHasDigests() const override { return true; }
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return true; }
  PathRule path_rule() const override { return PathRuleOf("harbor"); }
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  struct Project {
    bool exists = false;
    bool proxy_cache = false;  // registry_id > 0: Harbor refuses pushes
  };
  // Asks GET /api/version once: Harbor 1.x (404 there) is refused clearly.
  core::Status CheckVersion();
  std::vector<std::pair<std::string, std::string>> Auth() const;
  // What the API says about project NAME; remembered once it exists.
  core::Result<Project> FindProject(const std::string& name);
  // "/api/v2.0/projects/P/repositories/REST" with REST escaped twice (Harbor's
  // router decodes once; src/lib/encode/repository). NotFound for a name without
  // a project component.
  core::Result<std::string> RepositoryPath(const std::string& repo) const;
  // Every project that can be a source: proxy caches left out.
  core::Result<std::vector<std::string>> SourceProjects();

  std::mutex version_mu_;  // held by the one caller asking
  std::optional<core::Status> version_;
  std::mutex mu_;  // guards projects_
  std::map<std::string, Project> projects_;
};

}  // namespace crossdock::providers
