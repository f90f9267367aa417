// AzureRegistry against scripted answers (FakeHttp): an Azure AD access token exchanged
// once for an ACR refresh token, which the token realm then takes as an identity token
// (POST grant_type=refresh_token) until shortly before it expires; a password that is no
// AAD token goes to the realm as it is. tests/e2e/azure_test.cc runs it against
// tests/fakes/acr.
#include "providers/azure/azure.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/encoding.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

using core::UnixNow;

std::string Jwt(const nlohmann::json& claims) {
  return core::Base64UrlEncode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         core::Base64UrlEncode(claims.dump()) + ".c2ln";
}

TEST(TokenClaimsTest, TellsAzureAdTokensFromOthers) {
  auto aad = ReadTokenClaims(Jwt({{"iss", "https://sts.windows.net/t-1/"}, {"tid", "t-1"}, {"exp", 1700000000}}));
  EXPECT_TRUE(aad.aad);
  EXPECT_EQ(aad.tenant, "t-1");
  EXPECT_EQ(aad.expires, 1700000000);
  EXPECT_TRUE(ReadTokenClaims(Jwt({{"iss", "https://login.microsoftonline.com/t-1/v2.0"}})).aad);
  EXPECT_FALSE(ReadTokenClaims(Jwt({{"iss", "Azure Container Registry"}, {"aud", "r.azurecr.io"}})).aad);
  EXPECT_FALSE(ReadTokenClaims("an-admin-password").aad);
  EXPECT_FALSE(ReadTokenClaims("a.b.c").aad);
}

class AzureTest : public FakeClockRegistryTest {
 protected:
  std::unique_ptr<AzureRegistry> Acr(const std::string& username, const std::string& password) {
    return std::make_unique<AzureRegistry>(Make(http_.get(), "http://r.test", {username, password, "config"}),
                                           "http://r.test", &clock_);
  }
  // A registry whose realm is /oauth2/token; exchange and token requests as the tests say.
  void Serve(std::function<HttpResponse(const HttpRequest&)> oauth) {
    http_ = std::make_unique<FakeHttp>(&clock_, [oauth](const HttpRequest& req) {
      if (Starts(req.url, "http://r.test/oauth2/")) return oauth(req);
      bool bearer = false;
      for (const auto& [k, v] : req.headers) bearer |= k == "Authorization" && v == "Bearer acr-access";
      if (bearer) return Answer(200, {}, R"({"repositories":["app"]})");
      return Answer(401, {{"www-authenticate", R"(Bearer realm="http://r.test/oauth2/token",service="r.test")"}});
    });
  }
  std::unique_ptr<FakeHttp> http_;
};

TEST_F(AzureTest, AnAzureAdTokenIsExchangedOnceAndItsRefreshTokenRenewedBeforeItExpires) {
  const std::string aad = Jwt({{"iss", "https://sts.windows.net/t-1/"}, {"tid", "t-1"}, {"exp", UnixNow() + 3600}});
  int exchanges = 0;
  std::vector<std::string> exchange_forms, token_forms;
  Serve([&](const HttpRequest& req) {
    if (req.url == "http://r.test/oauth2/exchange") {
      exchange_forms.push_back(req.body);
      ++exchanges;
      return Answer(200, {}, nlohmann::json{{"refresh_token", Jwt({{"iss", "Azure Container Registry"},
                                                                  {"exp", UnixNow() + 3 * 3600},
                                                                  {"n", exchanges}})}}
                                 .dump());
    }
    token_forms.push_back(req.body);
    return Answer(200, {}, R"({"access_token":"acr-access"})");
  });
  auto acr = Acr(kAcrNullGuid, aad);
  auto repos = acr->ListRepositories();
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  ASSERT_EQ(exchanges, 1);
  EXPECT_EQ(exchange_forms[0], "grant_type=access_token&service=r.test&tenant=t-1&access_token=" + aad);
  ASSERT_EQ(token_forms.size(), 1u);
  EXPECT_TRUE(Starts(token_forms[0], "grant_type=refresh_token&client_id=crossdock&service=r.test&refresh_token=ey"))
      << token_forms[0];
  EXPECT_NE(token_forms[0].find("&scope=registry%3Acatalog%3A%2A"), std::string::npos) << token_forms[0];

  clock_.SleepFor(seconds(2 * 3600));  // the access token (60 s default) is renewed, the refresh token kept
  ASSERT_TRUE(acr->ListRepositories().ok());
  EXPECT_EQ(exchanges, 1);
  EXPECT_EQ(token_forms.size(), 2u);
  clock_.SleepFor(seconds(3600 - 4 * 60));  // within five minutes of its exp: exchanged again
  ASSERT_TRUE(acr->ListRepositories().ok());
  EXPECT_EQ(exchanges, 2);
}

TEST_F(AzureTest, OtherPasswordsOfTheNullGuidAreRefreshTokensAlready) {
  std::string form;
  Serve([&](const HttpRequest& req) {
    if (req.url == "http://r.test/oauth2/exchange") return Answer(500);
    form = req.body;
    return Answer(200, {}, R"({"access_token":"acr-access"})");
  });
  auto acr = Acr(kAcrNullGuid, "acr-refresh-token");
  ASSERT_TRUE(acr->ListRepositories().ok());
  EXPECT_NE(form.find("&refresh_token=acr-refresh-token"), std::string::npos) << form;
  EXPECT_EQ(http_->Count("POST", "/oauth2/exchange"), 0);
}

// ACR's POST /oauth2/token refusing the refresh token: its error code, advice for the
// kind of password, and never a token.
TEST_F(AzureTest, ARefusedRefreshTokenShowsAcrsCodeAndWhatToDo) {
  const std::string aad = Jwt({{"iss", "https://sts.windows.net/t-1/"}, {"tid", "t-1"}, {"exp", UnixNow() + 3600}});
  const std::string refresh = Jwt({{"iss", "Azure Container Registry"}, {"exp", UnixNow() + 3 * 3600}});
  Serve([&](const HttpRequest& req) {
    if (req.url == "http://r.test/oauth2/exchange")
      return Answer(200, {}, nlohmann::json{{"refresh_token", refresh}}.dump());
    return Answer(401, {}, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization for more information."}]})");
  });
  const std::string refused =
      "token request to the auth server of endpoint \"src\" was refused (HTTP 401, UNAUTHORIZED: "
      "authentication required, visit https://aka.ms/acr/authorization for more information.): ";
  auto from_aad = Acr(kAcrNullGuid, aad)->ListRepositories();
  ASSERT_FALSE(from_aad.ok());
  EXPECT_EQ(from_aad.status().code(), core::Code::kUnauthenticated);
  EXPECT_EQ(from_aad.status().message(),
            refused + "it was the ACR refresh token exchanged for the endpoint's Azure AD access "
                      "token, whose identity needs a role on the registry (AcrPull to read, AcrPush "
                      "to write); give the endpoint a current Azure AD access token of such an "
                      "identity (`az account get-access-token --query accessToken -o tsv`)");

  auto given = Acr(kAcrNullGuid, "acr-refresh-token")->ListRepositories();
  ASSERT_FALSE(given.ok());
  EXPECT_EQ(given.status().message(),
            refused + "the password, which is no Azure AD token, was sent as an ACR refresh token; "
                      "give a current one (`az acr login --name REGISTRY --expose-token`) or an "
                      "Azure AD access token (`az account get-access-token --query accessToken -o tsv`)");
  for (const auto& st : {from_aad.status(), given.status()})
    for (const std::string& secret : {aad, refresh, std::string("acr-refresh-token")})
      EXPECT_EQ(st.message().find(secret), std::string::npos);
}

TEST_F(AzureTest, AdminAndServicePrincipalUseBasicAtTheRealm) {
  Serve([&](const HttpRequest& req) {
    bool basic = false;
    for (const auto& [k, v] : req.headers) basic |= k == "Authorization" && Starts(v, "Basic ");
    return basic && req.method == "GET" ? Answer(200, {}, R"({"access_token":"acr-access"})") : Answer(401);
  });
  auto acr = Acr("myregistry", "admin-password");
  ASSERT_TRUE(acr->ListRepositories().ok());
  EXPECT_EQ(http_->Count("POST", "/oauth2/"), 0);
}

}  // namespace
}  // namespace crossdock::providers
