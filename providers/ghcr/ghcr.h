// GhcrRegistry: the `github-ghcr` endpoint type (GitHub Container Registry). The data
// plane is the generic distribution client against ghcr.io (username + classic personal
// access token at its token realm); GHCR has no catalog, so the control plane is
// GitHub's REST API for packages (docs.github.com/rest/packages), with the token as
// Bearer:
// - repositories: the container packages of each owner (user or organisation) a rule's
//   patterns start with; without a token only literal names work (Harbor's adapter
//   has the same limit: src/pkg/reg/adapter/githubcr/);
// - tags with their digests from the package versions (100 a page);
// - deletion: GitHub deletes package versions, that is digests with every tag on them,
//   so a tag is deleted only when no other tag shares its digest (as for a plain
//   registry); the registry API's DELETE is not offered by ghcr.io;
// - a push creates the package; repository names are OWNER/NAME… (two or more).
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

class GhcrRegistry : public VendorRegistry {
 public:
  GhcrRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url);

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // The packages of the owners NAMESPACES (the token's own user when empty).
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& namespaces) override;
  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  bool ListingHasDigests() const override { return !credentials().password.empty(); }
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override;
  PathRule path_rule() const override { return PathRuleOf("github-ghcr"); }
  core::Result<std::string> CheckControlPlane() override;

 private:
  std::vector<std::pair<std::string, std::string>> Auth() const;
  // "/orgs/OWNER" or "/users/OWNER", whichever GitHub knows OWNER as (asked once).
  core::Result<std::string> OwnerPath(const std::string& owner);
  // OWNER/NAME… -> (owner path, URL-encoded package name).
  core::Result<std::pair<std::string, std::string>> Package(const std::string& repo);
  // The versions of REPO's package: digest -> (version id, tags).
  struct Version {
    long id = 0;
    std::vector<std::string> tags;
  };
  core::Result<std::map<std::string, Version>> Versions(const std::string& repo);

  std::mutex mu_;
  std::map<std::string, std::string> owners_;  // owner -> "/orgs/x" or "/users/x"
};

}  // namespace crossdock::providers
