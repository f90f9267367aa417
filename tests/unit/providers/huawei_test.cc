// HuaweiRegistry against a scripted dockyard API (FakeHttp), and what comes before it:
// the login key derived from the SK (checked against the openssl CLI, as SWR's user
// guide computes it), the REGION@AK username, SWR's organisation name rule, and the
// config loader's check of the username. The end-to-end tests run the provider against
// tests/fakes/swr.
#include <cctype>
#include <cstdio>

#include "core/config.h"
#include "core/diagnostics.h"
#include "core/endpoint_types.h"
#include "providers/huawei/huawei.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kAk = "QTWAOYTTINDUT2QVKYUC";
constexpr const char* kSk = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";

// What the documented recipe prints: printf "$AK" | openssl dgst -sha256 -hmac "$SK".
std::string OpensslLoginKey(const std::string& ak, const std::string& sk) {
  const std::string command = "printf '%s' '" + ak + "' | openssl dgst -sha256 -hmac '" + sk + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buf[256];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  pclose(pipe);
  const size_t eq = out.rfind("= ");  // "SHA2-256(stdin)= …" or "(stdin)= …"
  if (eq == std::string::npos) return "";
  out = out.substr(eq + 2);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

TEST(HuaweiLoginKeyTest, IsWhatTheOpensslRecipePrints) {
  const std::string expected = OpensslLoginKey(kAk, kSk);
  ASSERT_EQ(expected.size(), 64u) << "openssl CLI printed \"" << expected << "\"";
  EXPECT_EQ(HuaweiLoginKey(kAk, kSk), expected);
  EXPECT_TRUE(IsHuaweiLoginKey(expected));
  EXPECT_FALSE(IsHuaweiLoginKey(kSk));
  EXPECT_TRUE(IsHuaweiLoginKey(std::string(64, 'A')));  // hex in capitals is hex
  EXPECT_FALSE(IsHuaweiLoginKey(std::string(63, 'a')));
  EXPECT_FALSE(IsHuaweiLoginKey(std::string(64, 'g')));
}

TEST(HuaweiCredentialsTest, TheSecretKeyBecomesTheLoginKeyAndALoginKeyStays) {
  auto derived = HuaweiCredentials({std::string("cn-north-4@") + kAk, kSk, "the endpoint's username and password"}, "swr");
  ASSERT_TRUE(derived.ok()) << derived.status().message();
  EXPECT_EQ(derived->username, std::string("cn-north-4@") + kAk);
  EXPECT_EQ(derived->password, HuaweiLoginKey(kAk, kSk));
  EXPECT_EQ(derived->source, "the endpoint's username and password");
  auto kept = HuaweiCredentials({std::string("cn-north-4@") + kAk, derived->password, "x"}, "swr");
  EXPECT_EQ(kept->password, derived->password);
  EXPECT_TRUE(HuaweiCredentials({"", "", "anonymous"}, "swr").ok());
}

TEST(HuaweiCredentialsTest, ALoginKeyInCapitalsIsLowercasedNotDerivedFrom) {
  const std::string key = HuaweiLoginKey(kAk, kSk);
  std::string upper = key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper, key);
  auto kept = HuaweiCredentials({std::string("cn-north-4@") + kAk, upper, "x"}, "swr");
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(kept->password, key);
}

TEST(HuaweiCredentialsTest, AUsernameWithoutTheRegionSaysTheForm) {
  auto bad = HuaweiCredentials({kAk, "sekrit-sk-value", "auths in /h/.docker/config.json"}, "swr");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "username of endpoint \"swr\" (from auths in /h/.docker/config.json) must have the form "
            "REGION@AK, e.g. \"cn-north-4@AKIAEXAMPLE\": the region (project) name, '@', and the "
            "access key id, as SWR's login command has it");
  EXPECT_EQ(bad.status().message().find("sekrit"), std::string::npos);
  for (const char* bad : {"cn-north-4@", "@AK", "@", "cn-north-4@AK@AK"})
    EXPECT_FALSE(HuaweiCredentials({bad, "k", "x"}, "swr").ok()) << bad;
}

// The config loader and HuaweiCredentials share one rule (core::IsSwrUsername).
TEST(HuaweiConfigTest, TheLoaderRefusesTheUsernamesTheProviderRefuses) {
  for (const char* username : {"QTWAOYTTINDUT2QVKYUC", "@QTWAOYTTINDUT2QVKYUC", "cn-north-4@",
                               "cn-north-4@AK@AK", "cn-north-4@QTWAOYTTINDUT2QVKYUC"}) {
    core::Diagnostics diags;
    core::ParseConfig(std::string(R"([endpoints.swr]
type = "huawei-SWR"
url = "https://swr.cn-north-4.myhuaweicloud.com"
username = ")") + username + R"("
password = "env:SWR_SK"
[endpoints.plain]
type = "docker-registry"
url = "https://r.example"
[rules.r]
source = "swr"
destination = "plain"
)",
                      "crossdock.toml", &diags);
    const bool provider_takes = HuaweiCredentials({username, "k", "x"}, "swr").ok();
    EXPECT_EQ(diags.items().empty(), provider_takes) << username;
    EXPECT_EQ(core::IsSwrUsername(username), provider_takes) << username;
  }
}

TEST(HuaweiConfigTest, UsernameWithoutTheRegionIsAConfigError) {
  core::Diagnostics diags;
  core::ParseConfig(R"([endpoints.swr]
type = "huawei-SWR"
url = "https://swr.cn-north-4.myhuaweicloud.com"
username = "QTWAOYTTINDUT2QVKYUC"
password = "env:SWR_SK"
[endpoints.ok]
type = "huawei-SWR"
url = "https://swr.cn-north-4.myhuaweicloud.com"
username = "cn-north-4@QTWAOYTTINDUT2QVKYUC"
password = "env:SWR_SK"
[rules.r]
source = "swr"
destination = "ok"
)",
                    "crossdock.toml", &diags);
  std::vector<std::string> lines;
  for (const auto& d : diags.items()) lines.push_back(core::FormatDiagnostic(d));
  EXPECT_EQ(lines, std::vector<std::string>{
                       "crossdock.toml:4:12: error: username of endpoint \"swr\" must have the form "
                       "REGION@AK (e.g. \"cn-north-4@AKIAEXAMPLE\"), as SWR's login command has it"});
}

TEST(SwrOrganizationNameTest, FollowsTheApiReference) {
  for (const std::string& ok :
       std::vector<std::string>{"a", "team", "team-a", "team.a", "team_a", "team__a", "t1", std::string(64, 'a')})
    EXPECT_TRUE(IsSwrOrganizationName(ok)) << ok;
  for (const std::string& bad : std::vector<std::string>{"", "1team", "team-", "team_", "te--am", "te._am",
                                                         "te___am", "Team", "te/am", std::string(65, 'a')})
    EXPECT_FALSE(IsSwrOrganizationName(bad)) << bad;
}

class HuaweiTest : public FakeClockRegistryTest {
 protected:
  std::unique_ptr<HuaweiRegistry> Swr() {
    return std::make_unique<HuaweiRegistry>(
        Make(http_.get(), "http://swr.test", {"cn-north-4@AK", "key", "x"}), "http://swr.test");
  }
  bool SentBasic(const FakeHttp::Sent& s) {
    for (const auto& [k, v] : s.headers)
      if (k == "Authorization" && v == BasicAuthorization({"cn-north-4@AK", "key", ""})) return true;
    return false;
  }
  std::unique_ptr<FakeHttp> http_;
};

TEST_F(HuaweiTest, RepositoriesComeFromTheDockyardListing) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest& req) {
    if (req.url == "http://swr.test/dockyard/v2/repositories?filter=center::self")
      return Answer(200, {}, R"([{"name":"app","namespace":"team","tags":["v1"]},
                               {"name":"a/b","namespace":"team"},{"name":"x","namespace":"other"},
                               {"name":7}])");
    return Answer(404);
  });
  auto swr = Swr();
  auto all = swr->ListRepositories();
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all, (std::vector<std::string>{"team/app", "team/a/b", "other/x"}));
  EXPECT_EQ(*swr->ListRepositoriesIn({"team"}), (std::vector<std::string>{"team/app", "team/a/b"}));
  for (const auto& s : http_->sent()) EXPECT_TRUE(SentBasic(s)) << s.url;
}

TEST_F(HuaweiTest, AMissingOrganisationIsCreatedOnce) {
  bool created = false;
  std::string body;
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (req.method == "GET" && req.url == "http://swr.test/dockyard/v2/namespaces/team")
      return Answer(200, {}, R"({"id":1,"name":"team"})");
    if (req.method == "GET" && req.url == "http://swr.test/dockyard/v2/namespaces/neworg")
      return created ? Answer(200, {}, R"({"id":2,"name":"neworg"})")
                     : Answer(404, {}, R"({"error_code":"SVCSTG.SWR.4040002","error_msg":"Namespace not found"})");
    if (req.method == "POST" && req.url == "http://swr.test/dockyard/v2/namespaces") {
      created = true;
      body = req.body;
      return Answer(201, {}, "{}");
    }
    return Answer(500);
  });
  auto swr = Swr();
  EXPECT_TRUE(swr->CheckNamespace("team/app")->exists);
  auto missing = swr->CheckNamespace("neworg/app");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->name, "neworg");
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(missing->refusal, "");
  ASSERT_TRUE(swr->EnsureNamespace("neworg/app").ok());
  EXPECT_EQ(body, R"({"namespace":"neworg"})");
  EXPECT_TRUE(swr->EnsureNamespace("neworg/other").ok());
  EXPECT_EQ(http_->Count("POST", "/dockyard/v2/namespaces"), 1);
  for (const auto& s : http_->sent()) EXPECT_TRUE(SentBasic(s)) << s.url;

  auto invalid = swr->CheckNamespace("9lives/app");
  EXPECT_FALSE(invalid->exists);
  EXPECT_NE(invalid->refusal.find("\"9lives\" cannot be an SWR organization name"), std::string::npos);
  EXPECT_EQ(swr->path_rule().min_components, 2);
}

TEST_F(HuaweiTest, ErrorsShowSwrsCode) {
  http_ = std::make_unique<FakeHttp>(&clock_, [](const HttpRequest&) {
    return Answer(401, {}, R"({"errors":[{"errorCode":"SVCSTG.SWR.4010001","errorMessage":"Authenticate Error"}],
                           "error_code":"SVCSTG.SWR.4010001","error_msg":"Authenticate Error"})");
  });
  auto st = Swr()->CheckControlPlane();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), core::Code::kUnauthenticated);
  EXPECT_NE(st.status().message().find("HTTP 401, credentials were rejected: SVCSTG.SWR.4010001: "
                                       "Authenticate Error"),
            std::string::npos)
      << st.status().message();
}

}  // namespace
}  // namespace crossdock::providers
