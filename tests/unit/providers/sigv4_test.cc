// SignV4 against the published AWS SigV4 test suite (awslabs/aws-c-auth @ 495329c243,
// tests/aws-signing-test-suite/v4/<case>/: request.txt, context.json and the header-*
// files; every case signs as AKIDEXAMPLE in us-east-1 for service "service" at
// 2015-08-30T12:36:00Z), and ECR's own requests against botocore's signer.
#include "providers/aws/sigv4.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace crossdock::providers {
namespace {

constexpr std::time_t kSuiteTime = 1440938160;  // 2015-08-30T12:36:00Z
constexpr const char* kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// The suite's session token of get-vanilla-with-session-token.
constexpr const char* kToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
// post-sts-header-before's.
constexpr const char* kStsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYR"
    "qTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDv"
    "p75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPO"
    "Ln9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

AwsCredentials SuiteCredentials(const std::string& token = "") {
  return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token};
}

struct SuiteCase {
  std::string name;
  SigV4Request request;
  std::string token;
  // header-canonical-request.txt, header-string-to-sign.txt (its last line: the hash of
  // the canonical request), header-signature.txt.
  std::string canonical_request;
  std::string string_to_sign_hash;
  std::string signature;
};

SigV4Request Request(std::string method, std::string path, std::string query,
                     std::vector<std::pair<std::string, std::string>> headers,
                     std::string payload = "", bool normalize = true) {
  SigV4Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}};
  r.headers.insert(r.headers.end(), headers.begin(), headers.end());
  r.payload = std::move(payload);
  r.normalize_path = normalize;
  return r;
}

// The canonical request of a suite case whose only headers are Host and X-Amz-Date.
std::string Vanilla(const std::string& method, const std::string& path, const std::string& query) {
  return method + "\n" + path + "\n" + query +
         "\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + kEmptyHash;
}

std::vector<SuiteCase> SuiteCases() {
  const std::string form_hash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
  return {
      {"get-vanilla", Request("GET", "/", "", {}), "", Vanilla("GET", "/", ""),
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla", Request("POST", "/", "", {}), "", Vanilla("POST", "/", ""),
       "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key-case", Request("GET", "/", "Param2=value2&Param1=value1", {}), "",
       Vanilla("GET", "/", "Param1=value1&Param2=value2"),
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-query-order-encoded",
       Request("GET", "/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", {}), "",
       Vanilla("GET", "/", "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"),
       "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
       "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
      {"get-vanilla-utf8-query", Request("GET", "/", "\xE1\x88\xB4=bar", {}), "",
       Vanilla("GET", "/", "%E1%88%B4=bar"),
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-vanilla-query-unreserved",
       Request("GET", "/",
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               {}),
       "",
       Vanilla("GET", "/",
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
       "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"post-vanilla-query", Request("POST", "/", "Param1=value1", {}), "",
       Vanilla("POST", "/", "Param1=value1"),
       "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"get-utf8", Request("GET", "/\xE1\x88\xB4", "", {}), "", Vanilla("GET", "/%E1%88%B4", ""),
       "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space-normalized", Request("GET", "/example space/", "", {}), "",
       Vanilla("GET", "/example%20space/", ""),
       "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-unreserved",
       Request("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", {}), "",
       Vanilla("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", ""),
       "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-slashes-normalized", Request("GET", "//example//", "", {}), "",
       Vanilla("GET", "/example/", ""),
       "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
       "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
      {"get-slashes-unnormalized", Request("GET", "//example//", "", {}, "", false), "",
       Vanilla("GET", "//example//", ""),
       "528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
       "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
      {"get-relative-relative-normalized", Request("GET", "/example1/example2/../..", "", {}), "",
       Vanilla("GET", "/", ""), "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-relative-relative-unnormalized",
       Request("GET", "/example1/example2/../..", "", {}, "", false), "",
       Vanilla("GET", "/example1/example2/../..", ""),
       "76115030c0f3ff06c20fdff5ceb6d5e0b835a1743e00b94fea7c7f381269437b",
       "dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b"},
      {"get-slash-pointless-dot-normalized", Request("GET", "/./example", "", {}), "",
       Vanilla("GET", "/example", ""),
       "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
       "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
      {"get-header-value-trim",
       Request("GET", "/", "", {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}), "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" +
           std::string(kEmptyHash),
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-value-multiline",
       Request("GET", "/", "", {{"My-Header1", "value1\n  value2\n     value3"}}), "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 value2 value3\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
           std::string(kEmptyHash),
       "e99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8",
       "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"},
      {"get-header-key-duplicate",
       Request("GET", "/", "",
               {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
           std::string(kEmptyHash),
       "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-order",
       Request("GET", "/", "",
               {{"My-Header1", "value4"},
                {"My-Header1", "value1"},
                {"My-Header1", "value3"},
                {"My-Header1", "value2"}}),
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
           std::string(kEmptyHash),
       "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"post-header-key-sort", Request("POST", "/", "", {{"My-Header1", "value1"}}), "",
       "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
       "host;my-header1;x-amz-date\n" +
           std::string(kEmptyHash),
       "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"post-header-value-case", Request("POST", "/", "", {{"My-Header1", "VALUE1"}}), "",
       "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\n"
       "host;my-header1;x-amz-date\n" +
           std::string(kEmptyHash),
       "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
      // sign_body: the suite's signer adds x-amz-content-sha256, given here as a header.
      {"post-x-www-form-urlencoded",
       Request("POST", "/", "",
               {{"Content-Type", "application/x-www-form-urlencoded"},
                {"Content-Length", "13"},
                {"x-amz-content-sha256", form_hash}},
               "Param1=value1"),
       "",
       "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
       "host:example.amazonaws.com\nx-amz-content-sha256:" +
           form_hash + "\nx-amz-date:20150830T123600Z\n\n" +
           "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n" + form_hash,
       "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
      {"post-x-www-form-urlencoded-parameters",
       Request("POST", "/", "",
               {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                {"Content-Length", "13"},
                {"x-amz-content-sha256", form_hash}},
               "Param1=value1"),
       "",
       "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n"
       "host:example.amazonaws.com\nx-amz-content-sha256:" +
           form_hash + "\nx-amz-date:20150830T123600Z\n\n" +
           "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n" + form_hash,
       "a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
       "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"},
      {"get-vanilla-with-session-token", Request("GET", "/", "", {}), kToken,
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:" +
           std::string(kToken) + "\n\nhost;x-amz-date;x-amz-security-token\n" + kEmptyHash,
       "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
      {"post-sts-header-before", Request("POST", "/", "", {}), kStsToken,
       "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:" +
           std::string(kStsToken) + "\n\nhost;x-amz-date;x-amz-security-token\n" + kEmptyHash,
       "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
       "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
  };
}

class SigV4SuiteTest : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteTest, MatchesThePublishedIntermediateValues) {
  const SuiteCase& c = GetParam();
  SigV4Signature s =
      SignV4(c.request, SuiteCredentials(c.token), {"us-east-1", "service", kSuiteTime});
  EXPECT_EQ(s.canonical_request, c.canonical_request);
  EXPECT_EQ(s.string_to_sign, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
                                  c.string_to_sign_hash);
  // vendors.md §15: the signing key of this scope, derived and re-verified there.
  EXPECT_EQ(s.signing_key_hex, "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
  EXPECT_EQ(s.signature, c.signature);
  const std::string signed_headers = c.canonical_request.substr(
      c.canonical_request.rfind("\n\n") + 2,
      c.canonical_request.rfind('\n') - c.canonical_request.rfind("\n\n") - 2);
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=" + signed_headers + ", Signature=" + c.signature);
}

INSTANTIATE_TEST_SUITE_P(AwsSigningTestSuite, SigV4SuiteTest, ::testing::ValuesIn(SuiteCases()),
                         [](const ::testing::TestParamInfo<SuiteCase>& info) {
                           std::string name = info.param.name;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(SigV4Test, AddsTheDateAndTheSessionTokenAsHeaders) {
  SigV4Signature plain = SignV4(Request("GET", "/", "", {}), SuiteCredentials(), {"us-east-1", "service", kSuiteTime});
  EXPECT_EQ(plain.headers, (std::vector<std::pair<std::string, std::string>>{{"X-Amz-Date", "20150830T123600Z"}}));
  SigV4Signature token =
      SignV4(Request("GET", "/", "", {}), SuiteCredentials(kToken), {"us-east-1", "service", kSuiteTime});
  EXPECT_EQ(token.headers, (std::vector<std::pair<std::string, std::string>>{
                               {"X-Amz-Date", "20150830T123600Z"}, {"X-Amz-Security-Token", kToken}}));
  EXPECT_EQ(AmzDate(kSuiteTime), "20150830T123600Z");
  EXPECT_EQ(Sha256Hex(""), kEmptyHash);
}

// ECR's JSON 1.1 requests: service "ecr", the payload's hash, and Content-Type, Host,
// X-Amz-Date and X-Amz-Target signed (X-Amz-Security-Token too with a session token).
// Expected values from botocore 1.43.11's SigV4Auth for the same request and time
// (botocore.auth.get_current_datetime pinned to 2015-08-30T12:36:00), an implementation
// independent of this one.
SigV4Request EcrRequest() {
  SigV4Request r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "api.ecr.us-east-1.amazonaws.com"},
               {"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"}};
  r.payload = R"({"registryIds":["123456789012"]})";
  return r;
}

TEST(EcrSigV4Test, SignsGetAuthorizationTokenAsBotocoreDoes) {
  SigV4Signature s = SignV4(EcrRequest(), SuiteCredentials(), {"us-east-1", "ecr", kSuiteTime});
  EXPECT_EQ(s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:api.ecr.us-east-1.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\nx-amz-target:AmazonEC2ContainerRegistry_V20150921."
            "GetAuthorizationToken\n\ncontent-type;host;x-amz-date;x-amz-target\n"
            "68906711f3da7ead371dd74604bb42059b634736431a9766ab47790d073883b6");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/ecr/aws4_request\n"
            "8537cf29b6f5bcc9d073460ad3e1c4a16c00fab69e831f7c1e34415a53c8fb7b");
  EXPECT_EQ(s.signing_key_hex, "68ce73d35403d53a9f776a559e665298d12bf3a0b3404de623a49073e6efe760");
  EXPECT_EQ(s.signed_headers, "content-type;host;x-amz-date;x-amz-target");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ecr/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=a319693d5b44a9df7eaed9d9b1e9035b22ef7839621896473f27d5e9f4cc060d");
}

TEST(EcrSigV4Test, SignsTheSessionTokenAsBotocoreDoes) {
  SigV4Signature s = SignV4(EcrRequest(), SuiteCredentials(kToken), {"us-east-1", "ecr", kSuiteTime});
  EXPECT_EQ(s.signed_headers, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/ecr/aws4_request\n"
            "e0110d50c94df58fa8ce624ceec56658f6e54a2dd6c34cad8dc009f36dcd5228");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ecr/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
            "Signature=90f8792092a0cbf40e6fb24f29d0f3a8cf12a0fee608eae292759456c5c35677");
}

}  // namespace
}  // namespace crossdock::providers
