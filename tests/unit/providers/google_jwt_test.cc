// The service-account key parser and the RS256 assertions of providers/google/jwt.h.
// Signatures are checked with the openssl command, independently of crossdock's code:
// `openssl dgst -sha256 -verify` must accept them, and since RSASSA-PKCS1-v1_5 is
// deterministic, `openssl dgst -sha256 -sign` with the same key must give the same
// bytes (a known answer computed at test time from a key made at test time).
#include "providers/google/jwt.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/encoding.h"

namespace crossdock::providers {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

// Runs COMMAND with sh; its exit code (and its output in *OUT).
int Shell(const std::string& command, std::string* out = nullptr) {
  std::string captured;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) captured.append(buf, n);
  int status = pclose(pipe);
  if (out) *out = captured;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A JWT part decoded (core::Base64UrlDecode, tested on its own in core/encoding_test).
std::string Base64UrlDecode(const std::string& part) { return core::Base64UrlDecode(part).value_or(""); }

// An RSA key made with `openssl genpkey` in a directory of its own.
class Rs256Test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crossdock-jwt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string out;
    ASSERT_EQ(Shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                      (dir_ / "key.pem").string(), &out), 0) << out;
    ASSERT_EQ(Shell("openssl pkey -in " + (dir_ / "key.pem").string() + " -pubout -out " +
                      (dir_ / "pub.pem").string(), &out), 0) << out;
    pem_ = Slurp(dir_ / "key.pem");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string KeyJson(const std::string& token_uri = "https://oauth2.googleapis.com/token") const {
    return nlohmann::json{{"type", "service_account"},
                          {"project_id", "proj-1"},
                          {"private_key_id", "kid-123"},
                          {"private_key", pem_},
                          {"client_email", "robot@proj-1.iam.gserviceaccount.com"},
                          {"client_id", "1"},
                          {"token_uri", token_uri}}
        .dump(2);
  }

  fs::path dir_;
  std::string pem_;
};

TEST(JwtJsonTest, HeaderAndClaimsAreGooglesShape) {
  EXPECT_EQ(JwtHeaderJson("kid-123"), R"({"alg":"RS256","kid":"kid-123","typ":"JWT"})");
  EXPECT_EQ(JwtHeaderJson(""), R"({"alg":"RS256","typ":"JWT"})");
  EXPECT_EQ(JwtClaimsJson("a@p.iam.gserviceaccount.com", kCloudPlatformScope,
                          "https://oauth2.googleapis.com/token", 1700000000),
            R"({"aud":"https://oauth2.googleapis.com/token","exp":1700003600,"iat":1700000000,)"
            R"("iss":"a@p.iam.gserviceaccount.com","scope":"https://www.googleapis.com/auth/cloud-platform"})");
}

TEST_F(Rs256Test, ParsesAServiceAccountKey) {
  auto key = ParseServiceAccountKey(KeyJson(), "gcr");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->client_email, "robot@proj-1.iam.gserviceaccount.com");
  EXPECT_EQ(key->private_key_id, "kid-123");
  EXPECT_EQ(key->project_id, "proj-1");
  EXPECT_EQ(key->token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(key->private_key, pem_);
}

TEST_F(Rs256Test, BadKeysSayWhatIsWrongAndNeverQuoteTheKey) {
  auto not_json = ParseServiceAccountKey("{\n  \"private_key\": sekrit-material\n}", "gcr");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), core::Code::kInvalidArgument);
  EXPECT_NE(not_json.status().message().find(
                "the password of endpoint \"gcr\" is not JSON (error at line 2, column 18): with "
                "username \"_json_key\""),
            std::string::npos)
      << not_json.status().message();
  EXPECT_EQ(not_json.status().message().find("sekrit"), std::string::npos);

  auto missing = ParseServiceAccountKey(R"({"type":"service_account","private_key":"x"})", "gcr");
  EXPECT_NE(missing.status().message().find("lacks client_email and token_uri, so it is not a "
                                            "service-account key"),
            std::string::npos)
      << missing.status().message();

  auto user = ParseServiceAccountKey(R"({"type":"authorized_user","client_id":"c"})", "gcr");
  EXPECT_NE(user.status().message().find("is a Google credential of type \"authorized_user\", "
                                         "not a service-account key"),
            std::string::npos)
      << user.status().message();

  nlohmann::json j = nlohmann::json::parse(KeyJson());
  j["private_key"] = "-----BEGIN PRIVATE KEY-----\nc2Vrcml0LW1hdGVyaWFs\n-----END PRIVATE KEY-----\n";
  auto garbled = ParseServiceAccountKey(j.dump(), "gcr");
  EXPECT_NE(garbled.status().message().find("its private_key is not an unencrypted RSA private key "
                                            "in PEM that OpenSSL can read"),
            std::string::npos)
      << garbled.status().message();
  EXPECT_EQ(garbled.status().message().find("c2Vrcml0"), std::string::npos);
}

TEST_F(Rs256Test, APlainHttpTokenUriIsRefusedUnlessOnThisMachine) {
  auto clear = ParseServiceAccountKey(KeyJson("http://oauth2.example.com/token?x=1"), "gcr");
  ASSERT_FALSE(clear.ok());
  EXPECT_EQ(clear.status().code(), core::Code::kInvalidArgument);
  EXPECT_TRUE(clear.status().message().starts_with(
      "the password of endpoint \"gcr\": its token_uri http://oauth2.example.com/token is plain "
      "http, which would send the signed assertion in clear; use the key file exactly as Google "
      "issued it (token_uri \"https://oauth2.googleapis.com/token\")"))
      << clear.status().message();
  EXPECT_FALSE(ParseServiceAccountKey(KeyJson("HTTP://OAUTH2.EXAMPLE.COM/token"), "gcr").ok());
  EXPECT_FALSE(ParseServiceAccountKey(KeyJson("http://127.0.0.1.example.com/token"), "gcr").ok());
  EXPECT_FALSE(ParseServiceAccountKey(KeyJson("ftp://oauth2.example.com/token"), "gcr").ok());
  for (const char* local : {"http://127.0.0.1:8080/token", "http://127.1.2.3/token",
                            "http://localhost:1/token", "http://[::1]:9/token",
                            "https://oauth2.googleapis.com/token"})
    EXPECT_TRUE(ParseServiceAccountKey(KeyJson(local), "gcr").ok()) << local;
}

TEST_F(Rs256Test, OpensslVerifiesTheAssertion) {
  auto key = ParseServiceAccountKey(KeyJson("http://127.0.0.1:1/token"), "gcr");
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto jwt = MakeAssertion(*key, kCloudPlatformScope, 1700000000);
  ASSERT_TRUE(jwt.ok()) << jwt.status().message();
  const size_t dot1 = jwt->find('.'), dot2 = jwt->rfind('.');
  ASSERT_NE(dot1, dot2);
  EXPECT_EQ(jwt->find_first_of("=+/"), std::string::npos);
  EXPECT_EQ(Base64UrlDecode(jwt->substr(0, dot1)), JwtHeaderJson("kid-123"));
  auto claims = nlohmann::json::parse(Base64UrlDecode(jwt->substr(dot1 + 1, dot2 - dot1 - 1)));
  EXPECT_EQ(claims["iss"], "robot@proj-1.iam.gserviceaccount.com");
  EXPECT_EQ(claims["aud"], "http://127.0.0.1:1/token");
  EXPECT_EQ(claims["scope"], kCloudPlatformScope);
  EXPECT_EQ(claims["iat"], 1700000000);
  EXPECT_EQ(claims["exp"], 1700003600);

  Spit(dir_ / "input", jwt->substr(0, dot2));
  Spit(dir_ / "sig.bin", Base64UrlDecode(jwt->substr(dot2 + 1)));
  std::string out;
  EXPECT_EQ(Shell("openssl dgst -sha256 -verify " + (dir_ / "pub.pem").string() + " -signature " +
                    (dir_ / "sig.bin").string() + " " + (dir_ / "input").string(), &out), 0)
      << out;
  EXPECT_NE(out.find("Verified OK"), std::string::npos) << out;

  // A changed claim no longer verifies (the check can fail).
  Spit(dir_ / "input", jwt->substr(0, dot2) + "x");
  EXPECT_NE(Shell("openssl dgst -sha256 -verify " + (dir_ / "pub.pem").string() + " -signature " +
                    (dir_ / "sig.bin").string() + " " + (dir_ / "input").string(), &out), 0)
      << out;
}

TEST_F(Rs256Test, SignatureIsTheKnownAnswerOfOpensslSign) {
  const std::string input = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJjcm9zc2RvY2sifQ";
  Spit(dir_ / "input", input);
  std::string out;
  ASSERT_EQ(Shell("openssl dgst -sha256 -sign " + (dir_ / "key.pem").string() + " -out " +
                    (dir_ / "expected.bin").string() + " " + (dir_ / "input").string(), &out), 0)
      << out;
  auto signature = SignRs256(pem_, input);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_EQ(signature->size(), 256u);  // a 2048-bit key
  EXPECT_EQ(*signature, Slurp(dir_ / "expected.bin"));
  EXPECT_EQ(*SignRs256(pem_, input), *signature);  // deterministic
}

}  // namespace
}  // namespace crossdock::providers
