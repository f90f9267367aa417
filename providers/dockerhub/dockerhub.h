// DockerHubRegistry: the `docker-hub` endpoint type. The data plane is the generic
// distribution client against registry-1.docker.io (its token realm auth.docker.io
// found from the challenge); the control plane is the Hub API (hub.docker.com),
// documented at docs.docker.com/reference/api/hub/latest/:
// - a Hub API token from POST /v2/auth/token (identifier + secret: a password, a
//   personal access token, or an organisation access token), renewed before its ten
//   minutes run out and after a 401; anonymous callers read public repositories;
// - repositories per namespace and tags with their digests (100 a page, `next` URLs);
// - a missing repository created (private) through the documented create call;
// - a tag deleted through the Hub API (the tag alone), as Harbor's adapter does
//   (src/pkg/reg/adapter/dockerhub/adapter.go);
// - repository names NAMESPACE/NAME, exactly two components; official images are
//   library/NAME;
// - the pull budget (RateLimit-Remaining) read from one manifest HEAD, which does not
//   count against it.
// Constructed by providers/factory.cc.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "providers/vendor.h"

namespace crossdock::providers {

class DockerHubRegistry : public VendorRegistry {
 public:
  DockerHubRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url);

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // NAMESPACES must not be empty: Docker Hub has no catalog.
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& namespaces) override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  bool ListingHasDigests() const override { return true; }
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return true; }
  PathRule path_rule() const override { return PathRuleOf("docker-hub"); }
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;
  // The pull budget; learnt, the first time a source is asked, from one manifest HEAD
  // of a tag it listed (a HEAD does not count against the budget and states it).
  std::optional<long> rate_limit_remaining() const override;

 private:
  // The Authorization header for the Hub API: none for anonymous callers, else a
  // Bearer token, fetched when missing, older than kTokenRenewal or REJECTED.
  core::Result<std::vector<std::pair<std::string, std::string>>> Auth(const std::string& rejected);
  // CallApi with Auth, once more with a new token after a 401.
  core::Result<HttpResponse> Call(const std::string& method, const std::string& path_and_query,
                                  const std::string& body = "");
  // GETs FIRST and every `next` page after it, handing each page's "results" to PAGE.
  core::Status ForEachResultsPage(const std::string& first, const std::string& what,
                                  const std::function<core::Status(const nlohmann::json&)>& page);
  // "/v2/namespaces/NS/repositories/NAME", or InvalidArgument unless REPO is NS/NAME.
  core::Result<std::string> RepositoryPath(const std::string& repo) const;

  std::mutex token_mu_;  // held while a token is fetched
  std::string token_;
  std::chrono::steady_clock::time_point token_at_{};
  mutable std::mutex mu_;  // guards below
  std::map<std::string, bool> repositories_;  // existence learnt or created
  std::string budget_repo_, budget_tag_;  // a tag listed, for the budget's HEAD
  mutable bool budget_asked_ = false;
};

}  // namespace crossdock::providers
