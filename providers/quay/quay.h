// QuayRegistry: the `quay` endpoint type (quay.io and Red Hat Quay). The data plane is
// the generic distribution client, logged in with the json_file secret's account_name
// and docker_cli_password (Harbor's adapter does the same: src/pkg/reg/adapter/quay/);
// the control plane is Quay's REST API v1 (quay/quay endpoints/api/), reached with the
// secret's oauth2_token when it has one:
// - tags with their digests through the REST API (100 a page) when there is a token;
//   without one, the registry's tag list and a HEAD per tag;
// - organisations (the first path component) created with the token when missing;
//   quay.io asks a captcha of anyone creating one through the API, so there crossdock
//   asks the user to create it instead;
// - a tag deleted through the REST API (the tag alone) with a token, else by digest;
// - a manifest PUT answered 202 is a success (Harbor's adapter notes the same quirk).
// Constructed by providers/factory.cc.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "providers/vendor.h"

namespace crossdock::providers {

// The json_file secret Quay hands out for robot or user logins, as Harbor's UI takes it
// (goharbor/website#92): {"account_name","docker_cli_password","oauth2_token"?}.
struct QuaySecret {
  std::string account_name;
  std::string docker_cli_password;
  std::string oauth2_token;  // "" when absent
};

// Parses TEXT, the endpoint's password. InvalidArgument naming ENDPOINT and, for text
// that is not JSON, the line and column (never the text itself: it is a secret).
core::Result<QuaySecret> ParseQuaySecret(const std::string& text, const std::string& endpoint);

class QuayRegistry : public VendorRegistry {
 public:
  // REGISTRY logs in with SECRET's account_name and docker_cli_password already.
  QuayRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url,
               QuaySecret secret);

  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  // Quay refuses (401/403) what lies in an organisation that does not exist: absent.
  core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                         const std::string& ref) override;
  bool ListingHasDigests() const override { return !secret_.oauth2_token.empty(); }
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return !secret_.oauth2_token.empty(); }
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  std::vector<std::pair<std::string, std::string>> Auth() const;
  // True when ST (a refusal to read REPO) comes from REPO's organisation not existing.
  bool InMissingOrganisation(const core::Status& st, const std::string& repo);
  // quay.io itself (the default url): organisations cannot be created through its API.
  bool IsQuayIo() const;

  QuaySecret secret_;
  std::mutex mu_;
  std::map<std::string, bool> orgs_;  // organisations known to exist
};

}  // namespace crossdock::providers
