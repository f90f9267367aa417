// GoogleRegistry against scripted answers (FakeHttp): the three ways Google takes
// credentials, where an endpoint's images live, GCR's extended tags/list, untag then
// delete, and Artifact Registry's access token (bought once, renewed before it runs out)
// and REST listing. tests/e2e/google_test.cc runs it against tests/fakes/gcr.
#include "providers/google/google.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "tests/unit/providers/fake_http.h"

namespace crossdock::providers {
namespace {

constexpr const char* kD1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kD2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

// A fresh 2048-bit RSA key in PEM (PKCS#8), as Google's key files hold it.
std::string NewRsaPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::string KeyJson(const std::string& pem, const std::string& token_uri) {
  return nlohmann::json{{"type", "service_account"},     {"project_id", "proj"},
                        {"private_key_id", "k1"},        {"private_key", pem},
                        {"client_email", "ci@proj.iam.gserviceaccount.com"},
                        {"token_uri", token_uri}}
      .dump();
}

TEST(GoogleLoginTest, TakesTheThreeKindsAndNamesThemForAnyOther) {
  const std::string pem = NewRsaPem();
  const std::string json = KeyJson(pem, "https://oauth2.googleapis.com/token");
  auto key = ParseGoogleLogin({"_json_key", json, ""}, "gcr");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->kind, GoogleLogin::Kind::kServiceAccountKey);
  EXPECT_EQ(key->key->client_email, "ci@proj.iam.gserviceaccount.com");

  // As `base64 key.json` writes it, in lines of 76.
  std::string b64 = core::Base64Encode(json);
  for (size_t at = 76; at < b64.size(); at += 77) b64.insert(at, "\n");
  auto based = ParseGoogleLogin({"_json_key_base64", b64, ""}, "gcr");
  ASSERT_TRUE(based.ok()) << based.status().message();
  EXPECT_EQ(based->key->private_key, pem);
  auto not_b64 = ParseGoogleLogin({"_json_key_base64", "{not base64!}", ""}, "gcr");
  EXPECT_NE(not_b64.status().message().find("is not base64"), std::string::npos);

  auto token = ParseGoogleLogin({"oauth2accesstoken", "ya29.tok", ""}, "gcr");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->kind, GoogleLogin::Kind::kAccessToken);
  EXPECT_EQ(ParseGoogleLogin({"", "", ""}, "gcr")->kind, GoogleLogin::Kind::kAnonymous);

  auto other = ParseGoogleLogin({"alice", "hunter2-secret", ""}, "gcr");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(other.status().message().find(
                "username \"alice\" of endpoint \"gcr\" is not one Google's registries take; "
                "Google's registries take username \"_json_key\""),
            std::string::npos)
      << other.status().message();
  for (const char* u : {"\"_json_key_base64\"", "\"oauth2accesstoken\""})
    EXPECT_NE(other.status().message().find(u), std::string::npos) << u;
  EXPECT_EQ(other.status().message().find("hunter2"), std::string::npos);
}

TEST(GoogleSiteTest, ArtifactRegistryFromTheHostOrAnApiUrlEndingInALocation) {
  auto gcr = GoogleSiteOf("https://gcr.io", "", "g");
  ASSERT_TRUE(gcr.ok());
  EXPECT_FALSE(gcr->artifact_registry);
  auto gar = GoogleSiteOf("https://europe-west1-docker.pkg.dev", "", "g");
  ASSERT_TRUE(gar.ok());
  EXPECT_TRUE(gar->artifact_registry);
  EXPECT_EQ(gar->location, "europe-west1");
  EXPECT_EQ(gar->api, "https://artifactregistry.googleapis.com");
  auto test = GoogleSiteOf("http://127.0.0.1:5000", "http://127.0.0.1:5000/locations/us-east1", "g");
  ASSERT_TRUE(test.ok());
  EXPECT_TRUE(test->artifact_registry);
  EXPECT_EQ(test->location, "us-east1");
  EXPECT_EQ(test->api, "http://127.0.0.1:5000");
  auto bad = GoogleSiteOf("http://127.0.0.1:5000", "http://127.0.0.1:5000", "g");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/locations/LOCATION"), std::string::npos);
  EXPECT_FALSE(GoogleSiteOf("https://us-docker.pkg.dev", "https://x.test/locations/eu", "g").ok());
}

class GoogleTest : public FakeClockRegistryTest {
 protected:
  std::unique_ptr<GoogleRegistry> Gcr(GoogleLogin login = {GoogleLogin::Kind::kAccessToken, {}, "ya29.static"}) {
    return std::make_unique<GoogleRegistry>(Make(http_.get(), "http://gcr.test", {"oauth2accesstoken", "ya29.static", ""}),
                                            "http://gcr.test", GoogleSite{}, std::move(login), &clock_);
  }
  std::unique_ptr<GoogleRegistry> Gar(GoogleLogin login) {
    return std::make_unique<GoogleRegistry>(Make(http_.get(), "http://gar.test", {}), "http://gar.test",
                                            GoogleSite{true, "us-east1", "http://api.test"}, std::move(login),
                                            &clock_);
  }
  std::unique_ptr<FakeHttp> http_;
};

// The extended tags/list of gcr.test/proj/app: v1 and latest on kD1, nothing on kD2.
std::string TagList(bool latest = true, bool v1 = true) {
  nlohmann::json tags = nlohmann::json::array();
  nlohmann::json on_d1 = nlohmann::json::array();
  if (latest) tags.push_back("latest"), on_d1.push_back("latest");
  if (v1) tags.push_back("v1"), on_d1.push_back("v1");
  return nlohmann::json{{"name", "proj/app"},
                        {"child", nlohmann::json::array()},
                        {"tags", tags},
                        {"manifest",
                         {{kD1, {{"tag", on_d1}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                 {"imageSizeBytes", "8192"}}},
                          {kD2, {{"tag", nlohmann::json::array()}, {"imageSizeBytes", "1"}}}}}}
      .dump();
}

TEST_F(GoogleTest, TagsWithDigestsFromTheManifestMapAndWithoutIt) {
  bool extended = true;
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    if (req.url == "http://gcr.test/v2/proj/app/tags/list?n=1000")
      return Answer(200, {}, extended ? TagList() : R"({"name":"proj/app","tags":["v1"]})");
    return Answer(404);
  });
  auto g = Gcr();
  EXPECT_TRUE(g->ListingHasDigests());
  auto l = g->ListTagsWithDigests("proj/app");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->tags, (std::vector<std::string>{"latest", "v1"}));
  EXPECT_EQ(l->digests, (std::map<std::string, std::string>{{"latest", kD1}, {"v1", kD1}}));
  extended = false;  // a plain registry: tags only, the planner HEADs them
  l = g->ListTagsWithDigests("proj/app");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tags, std::vector<std::string>{"v1"});
  EXPECT_TRUE(l->digests.empty());
  EXPECT_EQ(g->ListTagsWithDigests("proj/none").status().code(), core::Code::kNotFound);
}

TEST_F(GoogleTest, DeleteUntagsAndDeletesTheDigestOnlyOnceNoTagIsLeft) {
  bool latest = true, v1 = true;
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (Ends(req.url, "/v2/")) return Answer(200);
    if (req.url == "http://gcr.test/v2/proj/app/tags/list?n=1000") return Answer(200, {}, TagList(latest, v1));
    if (req.method == "DELETE" && Ends(req.url, "/manifests/v1")) return v1 = false, Answer(202);
    if (req.method == "DELETE" && Ends(req.url, "/manifests/latest")) return latest = false, Answer(202);
    if (req.method == "DELETE" && Ends(req.url, std::string("/manifests/") + kD1)) return Answer(202);
    return Answer(404);
  });
  auto g = Gcr();
  EXPECT_TRUE(g->DeletesTagsAlone());
  ASSERT_TRUE(g->DeleteTag("proj/app", "v1", kD1).ok());
  EXPECT_EQ(http_->Count("DELETE", "/manifests/v1"), 1);
  EXPECT_EQ(http_->Count("DELETE", kD1), 0);  // "latest" is still on it
  ASSERT_TRUE(g->DeleteTag("proj/app", "latest", kD1).ok());
  EXPECT_EQ(http_->Count("DELETE", kD1), 1);
  EXPECT_EQ(http_->Count("DELETE", kD2), 0);  // never crossdock's
  std::vector<std::string> order;
  for (const auto& s : http_->sent())
    if (s.method == "DELETE") order.push_back(s.url.substr(s.url.rfind('/') + 1));
  EXPECT_EQ(order, (std::vector<std::string>{"v1", "latest", kD1}));
}

TEST_F(GoogleTest, ArtifactRegistryBuysOneTokenAndRenewsItBeforeItExpires) {
  const std::string pem = NewRsaPem();
  int tokens = 0;
  std::string form;
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (req.url == "http://127.0.0.1:9/token") {
      form = req.body;
      return Answer(200, {}, R"({"access_token":"ya29.t)" + std::to_string(++tokens) +
                                 R"(","expires_in":3600,"token_type":"Bearer"})");
    }
    if (Starts(req.url, "http://api.test/v1/projects/proj/locations/us-east1/repositories?"))
      return Answer(200, {}, R"({"repositories":[{"name":"projects/proj/locations/us-east1/repositories/docker","format":"DOCKER"},)"
                             R"({"name":"projects/proj/locations/us-east1/repositories/npm","format":"NPM"}]})");
    const std::string images = "http://api.test/v1/projects/proj/locations/us-east1/repositories/docker/dockerImages?pageSize=1000";
    if (req.url == images)
      return Answer(200, {}, std::string(R"({"dockerImages":[{"name":"projects/proj/locations/us-east1/repositories/docker/dockerImages/team%2Fapp@)") +
                                 kD1 + R"(","tags":["v1"]}],"nextPageToken":"p2"})");
    if (req.url == images + "&pageToken=p2")
      return Answer(200, {}, std::string(R"({"dockerImages":[{"name":"projects/proj/locations/us-east1/repositories/docker/dockerImages/web@)") +
                                 kD2 + R"("},{"name":"projects/proj/locations/us-east1/repositories/docker/dockerImages/team%2Fapp@)" + kD2 + R"("}]})");
    return Answer(404);
  });
  auto g = Gar({GoogleLogin::Kind::kServiceAccountKey,
                *ParseServiceAccountKey(KeyJson(pem, "http://127.0.0.1:9/token"), "gar"), ""});
  EXPECT_EQ(g->path_rule().min_components, 3);
  auto repos = g->ListRepositories();
  ASSERT_TRUE(repos.ok()) << repos.status().message();
  EXPECT_EQ(*repos, (std::vector<std::string>{"proj/docker/team/app", "proj/docker/web"}));
  EXPECT_EQ(tokens, 1);
  EXPECT_TRUE(Starts(form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey"))
      << form;
  for (const auto& s : http_->sent()) {
    if (!Starts(s.url, "http://api.test/")) continue;
    bool bearer = false;
    for (const auto& [k, v] : s.headers) bearer |= k == "Authorization" && v == "Bearer ya29.t1";
    EXPECT_TRUE(bearer) << s.url;
  }
  clock_.SleepFor(seconds(3000));  // within the hour, less a minute: kept
  ASSERT_TRUE(g->ListRepositories().ok());
  EXPECT_EQ(tokens, 1);
  clock_.SleepFor(seconds(560));  // a minute before it expires: renewed
  ASSERT_TRUE(g->ListRepositories().ok());
  EXPECT_EQ(tokens, 2);
}

TEST_F(GoogleTest, MissingRepositoryIsRefusedWithTheCommandThatCreatesIt) {
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (req.url == "http://api.test/v1/projects/proj/locations/us-east1/repositories/there")
      return Answer(200, {}, R"({"name":"projects/proj/locations/us-east1/repositories/there"})");
    return Answer(404, {}, R"({"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}})");
  });
  auto g = Gar({GoogleLogin::Kind::kAccessToken, {}, "ya29.x"});
  auto there = g->CheckNamespace("proj/there/app");
  ASSERT_TRUE(there.ok());
  EXPECT_TRUE(there->exists);
  EXPECT_EQ(there->name, "proj/there");
  auto missing = g->CheckNamespace("proj/gone/app");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(missing->refusal,
            "Artifact Registry repository \"gone\" of project \"proj\" does not exist in us-east1, "
            "and crossdock does not create repositories there: create it first (gcloud artifacts "
            "repositories create gone --repository-format=docker --location=us-east1 --project=proj)");
  EXPECT_EQ(g->EnsureNamespace("proj/gone/app").code(), core::Code::kPermissionDenied);
  ASSERT_TRUE(g->CheckNamespace("proj/there/other").ok());
  EXPECT_EQ(http_->Count("GET", "/repositories/there"), 1);  // remembered
}

TEST_F(GoogleTest, AnAssertionOutsideGooglesClockWindowSaysTheClockIsOff) {
  const std::string pem = NewRsaPem();
  http_ = std::make_unique<FakeHttp>(&clock_, [&](const HttpRequest& req) {
    if (req.url == "http://127.0.0.1:9/token")
      return Answer(400, {}, R"({"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."})");
    return Answer(404);
  });
  auto g = Gar({GoogleLogin::Kind::kServiceAccountKey,
                *ParseServiceAccountKey(KeyJson(pem, "http://127.0.0.1:9/token"), "gar"), ""});
  auto repos = g->ListRepositories();
  ASSERT_FALSE(repos.ok());
  EXPECT_EQ(repos.status().code(), core::Code::kUnauthenticated);
  EXPECT_NE(repos.status().message().find("HTTP 400, invalid_grant: Invalid JWT: Token must be a "
                                          "short-lived token"),
            std::string::npos)
      << repos.status().message();
  EXPECT_NE(repos.status().message().find("this machine's clock is probably off"), std::string::npos);
}

}  // namespace
}  // namespace crossdock::providers
