// JFrogRegistry: the `jfrog-artifactory` endpoint type, with Artifactory's "repository
// path" access method (`<host>/v2/<repository key>/<image>`). The data plane is the
// generic distribution client; the control plane is Artifactory's REST API
// (jfrog.com/help REST API; Harbor's adapter: src/pkg/reg/adapter/jfrog/), with Basic
// credentials:
// - repositories: the Docker and OCI repository keys (/api/repositories), then each
//   key's catalog (/api/docker/KEY/v2/_catalog), which needs a privileged user;
// - no digests in the listings: a HEAD per tag, as for a plain registry;
// - the first path component is the repository key: a missing local Docker
//   repository is created when the user is an administrator (else the plan says to
//   create it), a remote one is never pushed to;
// - deletion by digest through the registry API, as Harbor does.
// Constructed by providers/factory.cc.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "providers/vendor.h"

namespace crossdock::providers {

class JFrogRegistry : public VendorRegistry {
 public:
  // API_URL: Artifactory's base, "https://host/artifactory".
  JFrogRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url);

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // The images of the repository keys NAMESPACES (every Docker/OCI key when empty).
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& namespaces) override;
  PathRule path_rule() const override { return PathRuleOf("jfrog-artifactory"); }
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  std::vector<std::pair<std::string, std::string>> Auth() const;

  std::mutex mu_;
  std::map<std::string, std::string> keys_;  // known key -> rclass ("local", "remote"…)
};

}  // namespace crossdock::providers
