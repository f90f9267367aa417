// AzureRegistry: the `azure-acr` endpoint type, Azure Container Registry (NAME.azurecr.io).
// Sources: Azure/acr docs/AAD-OAuth.md, Harbor's azurecr adapter
// (src/pkg/reg/adapter/azurecr/); ../shared/reference/vendors.md §5.
// - The admin user (username = the registry's name), a service principal (appId and
//   secret) or a repository-scoped token (its name and password) log in with Basic at the
//   registry's token realm (GET /oauth2/token), which the generic client does.
// - Username 00000000-0000-0000-0000-000000000000 marks the password as an Azure AD
//   access token (`az account get-access-token`): it is exchanged once at POST
//   /oauth2/exchange for an ACR refresh token, which then buys access tokens at POST
//   /oauth2/token (grant_type=refresh_token). A password that is no AAD token is taken
//   for an ACR refresh token already (what `az acr login --expose-token` prints).
// - Repositories come from _catalog (its Link carries ACR's empty orderby=); no namespaces
//   (a push creates the repository); any path depth; deletion by digest (ACR answers 202).
// Constructed by providers/factory.cc.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "providers/vendor.h"

namespace crossdock::providers {

// The username `docker login` takes for an ACR refresh token (AAD-OAuth.md).
inline constexpr const char* kAcrNullGuid = "00000000-0000-0000-0000-000000000000";

// What a bearer token says of itself in its (unverified) JWT claims.
struct TokenClaims {
  bool aad = false;    // issued by Azure AD (iss sts.windows.net or login.microsoftonline.com)
  std::string tenant;  // "tid" ("" when absent)
  long long expires = 0;  // "exp", seconds since the Unix epoch; 0 when absent
};
// TOKEN's claims; all defaults when TOKEN is not a JWT.
TokenClaims ReadTokenClaims(const std::string& token);

class AzureRegistry : public VendorRegistry {
 public:
  // REGISTRY logs in with the endpoint's credentials; URL is its base URL ("https://r.azurecr.io").
  // CLOCK (never null) times the exchanged refresh token.
  AzureRegistry(std::unique_ptr<DistributionRegistry> registry, std::string url,
                core::Clock* clock = core::Clock::Real());

  core::Result<std::string> CheckControlPlane() override;

 private:
  bool uses_aad() const;
  // What the token realm is shown with the null GUID: the ACR refresh token (exchanged
  // from the AAD token when the password is one) as an identity token.
  core::Result<Credentials> RefreshTokenCredentials();
  // POST /oauth2/exchange of the AAD access token.
  core::Result<std::string> Exchange(const TokenClaims& aad);

  std::string url_;
  core::Clock* clock_;
  std::mutex mu_;             // held by the one caller exchanging; guards the two below
  std::string refresh_token_;  // "" until exchanged
  std::chrono::steady_clock::time_point refresh_until_{};
};

}  // namespace crossdock::providers
