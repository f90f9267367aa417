// EcrRegistry: the `aws-ecr` endpoint type (Amazon Elastic Container Registry). Its
// control plane is ECR's JSON 1.1 API (POST / with X-Amz-Target
// AmazonEC2ContainerRegistry_V20150921.<Op>, signed with SigV4 for service "ecr":
// providers/aws/sigv4.h); its registry is the generic distribution client, logged in
// with Basic AWS:<password> from GetAuthorizationToken, renewed shortly before the
// token's expiresAt (12 hours at AWS) and whenever the registry refuses it:
// - repositories listed with DescribeRepositories, tags with their digests with
//   ListImages (1,000 a page, ECR's largest), so a plan needs no HEAD per tag;
// - ECR has no create-on-push: each destination repository is a "namespace" of its own,
//   looked up with DescribeRepositories and created with CreateRepository before the
//   first push (RepositoryAlreadyExistsException is success);
// - tags deleted with BatchDeleteImage by imageTag (the tag alone; ECR removes the
//   image with its last tag), manifests by imageDigest, its failures[] read;
// - API errors show AWS's own code (the answer's __type) and say what to do: the IAM
//   permission ecr:<Op> for AccessDeniedException, the machine's clock for an expired
//   signature.
// What Harbor's awsecr adapter does, except that Harbor lists through the registry API
// and HEADs each tag. Constructed by providers/factory.cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "providers/aws/sigv4.h"
#include "providers/vendor.h"

namespace crossdock::providers {

// The registry login of an authorizationToken (base64 "AWS:<password>"), or
// Internal when it is not one. Never puts the token in a message.
core::Result<Credentials> DecodeEcrAuthorizationToken(const std::string& token);

class EcrRegistry : public VendorRegistry {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;
  struct Options {
    std::string region;       // "us-east-1"
    std::string registry_id;  // the account in the url; "": the access key's own
    AwsCredentials keys;
    std::string keys_source;  // where the keys came from, for messages
    WallClock now;            // signing time and token expiry; null: the system clock
  };
  // REGISTRY's own credentials are replaced by GetAuthorizationToken's login.
  EcrRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url,
              Options options);

  core::Result<std::vector<std::string>> ListRepositories() override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  bool ListingHasDigests() const override { return true; }
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override;
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return true; }
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  // The registry login, GetAuthorizationToken's answer, reused until renew_at.
  struct Login {
    Credentials creds;
    std::chrono::system_clock::time_point expires_at{}, renew_at{};
  };

  // One API call: OP (e.g. "ListImages") with BODY, signed. The answer's JSON on 200;
  // else the error ApiError makes of it, with AWS's code in ERROR_TYPE when not null.
  // SUBJECT (a repository, "" for none) is for messages.
  core::Result<nlohmann::json> Call(const std::string& op, const nlohmann::json& body,
                                    const std::string& subject = "",
                                    std::string* error_type = nullptr);
  // Calls OP with BODY, then again with each nextToken the answers give, handing every
  // answer to PAGE; the first error as Call gives it.
  core::Status ForEachPage(const std::string& op, nlohmann::json body, const std::string& subject,
                           const std::function<void(const nlohmann::json&)>& page);
  // The Status for a refused call: AWS's code and message, and what to do.
  core::Status ApiError(const std::string& op, const std::string& subject, const HttpResponse& r,
                        std::time_t signed_at) const;
  // The AWS error code of a refusal ("AccessDeniedException"), "" when it names none.
  static std::string ErrorType(const HttpResponse& r);
  // OP's body with registryId (the url's account) when there is one.
  nlohmann::json WithRegistryId(nlohmann::json body) const;
  // The DistributionRegistry's login source: the cached login unless REJECTED is it
  // or it is due for renewal; one caller asks GetAuthorizationToken, others wait.
  core::Result<Credentials> RegistryLogin(const std::string& rejected);
  core::Result<Login> FetchLogin();
  // InvalidArgument unless REPO is a repository name crossdock would send.
  core::Status CheckRepository(const std::string& op, const std::string& repo) const;
  // BatchDeleteImage of IMAGE_ID ({"imageTag"} or {"imageDigest"}) in REPO.
  core::Status BatchDelete(const std::string& repo, const nlohmann::json& image_id,
                           const std::string& shown);
  void Known(const std::string& repo);
  std::chrono::system_clock::time_point Now() const;

  Options options_;
  std::mutex login_fetch_mu_;  // held by the one caller asking for a login
  std::mutex mu_;              // guards everything below
  Login login_;                // creds.password "" until fetched
  long login_fetches_ = 0;     // finished, successful or not
  core::Status login_error_;   // of the last fetch
  std::set<std::string> repositories_;  // known to exist
};

}  // namespace crossdock::providers
