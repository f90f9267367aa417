#include "providers/azure/azure.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "core/encoding.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

// Renew an exchanged refresh token this long before its "exp".
constexpr std::chrono::minutes kRefreshMargin{5};

// The claims part of a JWT, decoded; "" when TOKEN is not one.
std::string JwtPayload(const std::string& token) {
  const size_t a = token.find('.');
  const size_t b = a == std::string::npos ? a : token.find('.', a + 1);
  if (b == std::string::npos) return "";
  return core::Base64UrlDecode(std::string_view(token).substr(a + 1, b - a - 1)).value_or("");
}

// What to do when ACR's POST /oauth2/token refuses the refresh token crossdock sent.
std::string RefusedAdvice(bool from_aad) {
  if (from_aad)
    return "it was the ACR refresh token exchanged for the endpoint's Azure AD access token, "
           "whose identity needs a role on the registry (AcrPull to read, AcrPush to write); "
           "give the endpoint a current Azure AD access token of such an identity (`az account "
           "get-access-token --query accessToken -o tsv`)";
  return "the password, which is no Azure AD token, was sent as an ACR refresh token; give a "
         "current one (`az acr login --name REGISTRY --expose-token`) or an Azure AD access "
         "token (`az account get-access-token --query accessToken -o tsv`)";
}

}  // namespace

TokenClaims ReadTokenClaims(const std::string& token) {
  TokenClaims claims;
  auto j = nlohmann::json::parse(JwtPayload(token), nullptr, false);
  if (!j.is_object()) return claims;
  const std::string iss = Field(j, "iss").is_string() ? Field(j, "iss").get<std::string>() : "";
  claims.aad = iss.starts_with("https://sts.windows.net/") ||
               iss.starts_with("https://login.microsoftonline.com/") ||
               iss.starts_with("https://sts.chinacloudapi.cn/") ||
               iss.starts_with("https://login.chinacloudapi.cn/");
  if (Field(j, "tid").is_string()) claims.tenant = Field(j, "tid").get<std::string>();
  if (Field(j, "exp").is_number_integer()) claims.expires = Field(j, "exp").get<long long>();
  return claims;
}

AzureRegistry::AzureRegistry(std::unique_ptr<DistributionRegistry> registry, std::string url,
                             core::Clock* clock)
    : VendorRegistry(std::move(registry), url, "ACR"), url_(std::move(url)), clock_(clock) {
  if (uses_aad())
    this->registry().SetLoginSource([this](const std::string&) { return RefreshTokenCredentials(); },
                                    RefusedAdvice(ReadTokenClaims(credentials().password).aad));
}

bool AzureRegistry::uses_aad() const { return credentials().username == kAcrNullGuid; }

core::Result<std::string> AzureRegistry::Exchange(const TokenClaims& aad) {
  const std::string where = "exchanging the Azure AD access token of endpoint \"" + name() +
                            "\" for an ACR refresh token (POST " + url_ + "/oauth2/exchange)";
  const std::string what_to_do =
      "; the password must be a current Azure AD access token (`az account get-access-token "
      "--query accessToken -o tsv`, valid about an hour) of an identity with a role on the "
      "registry (AcrPull, AcrPush)";
  if (aad.expires != 0 && aad.expires < core::UnixNow())
    return core::Status::Unauthenticated(where + ": the token expired " +
                                         std::to_string((core::UnixNow() - aad.expires) / 60) +
                                         " minute(s) ago, so nothing was sent" + what_to_do);
  // The service is the registry's host, as its challenge names it ("r.azurecr.io").
  std::string service = url_.substr(url_.find("://") == std::string::npos ? 0 : url_.find("://") + 3);
  HttpRequest req;
  req.method = "POST";
  req.url = url_ + "/oauth2/exchange";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = "grant_type=access_token&service=" + UrlEncode(service) +
             (aad.tenant.empty() ? "" : "&tenant=" + UrlEncode(aad.tenant)) +
             "&access_token=" + UrlEncode(credentials().password);
  req.follow_redirects = false;
  auto r = registry().SendControlPlane(req);
  if (!r.ok()) return r.status().WithContext(where);
  const std::string detail = ErrorMessageOf(r->body);
  if (r->status != 200) {
    const std::string message = where + ": HTTP " + std::to_string(r->status) +
                                (detail.empty() ? "" : ", " + detail);
    if (r->status == 400 || r->status == 401 || r->status == 403)
      return core::Status::Unauthenticated(message + what_to_do);
    return core::Status::Unavailable(message);
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  const nlohmann::json& token = Field(j, "refresh_token");
  if (!token.is_string() || token.get<std::string>().empty())
    return core::Status::Unavailable(where + ": the answer has no refresh_token");
  return token.get<std::string>();
}

core::Result<Credentials> AzureRegistry::RefreshTokenCredentials() {
  const std::string& password = credentials().password;
  const TokenClaims claims = ReadTokenClaims(password);
  if (!claims.aad) return Credentials{kIdentityTokenUser, password, credentials().source};
  std::lock_guard<std::mutex> lk(mu_);
  if (refresh_token_.empty() || clock_->Now() >= refresh_until_) {
    auto token = Exchange(claims);
    if (!token.ok()) return token.status();
    refresh_token_ = *token;
    const long long exp = ReadTokenClaims(refresh_token_).expires;
    refresh_until_ = exp == 0 ? std::chrono::steady_clock::time_point::max()
                              : clock_->Now() + std::chrono::seconds(exp - core::UnixNow()) - kRefreshMargin;
  }
  return Credentials{kIdentityTokenUser, refresh_token_, credentials().source};
}

core::Result<std::string> AzureRegistry::CheckControlPlane() {
  if (!uses_aad())
    return std::string("none besides the registry (ACR): ") +
           (credentials().username.empty()
                ? "anonymous pulls"
                : "Basic credentials (admin user, service principal or repository-scoped token) "
                  "at its token realm");
  const TokenClaims claims = ReadTokenClaims(credentials().password);
  if (!claims.aad)
    return std::string("the password is taken for an ACR refresh token (it is no Azure AD token) "
                       "and buys access tokens at POST /oauth2/token");
  auto refresh = RefreshTokenCredentials();
  if (!refresh.ok()) return refresh.status();
  return "Azure AD access token" + (claims.tenant.empty() ? "" : " of tenant " + claims.tenant) +
         " exchanged at " + url_ + "/oauth2/exchange for an ACR refresh token";
}

}  // namespace crossdock::providers
