// The aws-ecr endpoint's config: its region (from the url or `region`), its API's
// default address, `region` elsewhere, and the ECR url parser. Other config checks are
// in config_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "core/diagnostics.h"
#include "core/endpoint_types.h"

namespace crossdock::core {
namespace {

using Lines = std::vector<std::string>;

Lines Problems(const std::string& text, Config* out = nullptr) {
  Diagnostics diags;
  Config c = ParseConfig(text, "crossdock.toml", &diags);
  if (out) *out = c;
  Lines lines;
  for (const Diagnostic& d : diags.items()) lines.push_back(FormatDiagnostic(d));
  return lines;
}

constexpr const char* kRule = R"([endpoints.plain]
url = "http://127.0.0.1:5000"
[rules.r]
source = "plain"
destination = "ecr"
)";

TEST(EcrConfigTest, RegionAndApiFromTheRegistryUrl) {
  Config c;
  EXPECT_EQ(Problems(std::string(kRule) + R"([endpoints.ecr]
type = "aws-ecr"
url = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
[endpoints.china]
type = "aws-ecr"
url = "https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
)",
                     &c),
            Lines());
  EXPECT_EQ(c.endpoints.at("ecr").region, "eu-west-1");
  EXPECT_EQ(c.endpoints.at("ecr").api_url, "https://api.ecr.eu-west-1.amazonaws.com");
  EXPECT_EQ(c.endpoints.at("china").region, "cn-north-1");
  EXPECT_EQ(c.endpoints.at("china").api_url, "https://api.ecr.cn-north-1.amazonaws.com.cn");
}

TEST(EcrConfigTest, RegionKeyForAnyUrlAndApiUrlOverride) {
  Config c;
  EXPECT_EQ(Problems(std::string(kRule) + R"([endpoints.ecr]
type = "aws-ecr"
url = "http://127.0.0.1:5001"
region = "us-east-2"
[endpoints.test]
type = "aws-ecr"
url = "http://127.0.0.1:5002"
region = "us-east-2"
api_url = "http://127.0.0.1:5003"
)",
                     &c),
            Lines());
  EXPECT_EQ(c.endpoints.at("ecr").region, "us-east-2");
  EXPECT_EQ(c.endpoints.at("ecr").api_url, "https://api.ecr.us-east-2.amazonaws.com");
  EXPECT_EQ(c.endpoints.at("test").api_url, "http://127.0.0.1:5003");
}

TEST(EcrConfigTest, NoRegionAnywhereIsAnErrorAtTheUrl) {
  EXPECT_EQ(Problems(std::string(kRule) + R"([endpoints.ecr]
type = "aws-ecr"
url = "https://registry.example.com"
[endpoints.bad]
type = "aws-ecr"
url = "http://127.0.0.1:5001"
region = "US East"
)"),
            Lines({
                "crossdock.toml:8:7: error: endpoint \"ecr\" of type \"aws-ecr\" needs an AWS "
                "region, and its url \"https://registry.example.com\" is not an ECR registry "
                "address (https://ACCOUNT.dkr.ecr.REGION.amazonaws.com); add region = \"…\" to "
                "the endpoint",
                "crossdock.toml:12:10: error: region \"US East\" of endpoint \"bad\" is not an AWS "
                "region name (lowercase letters, digits and '-', like \"us-east-1\")",
            }));
}

TEST(EcrConfigTest, RegionElsewhereHasNoEffect) {
  EXPECT_EQ(Problems(std::string(kRule) + R"([endpoints.ecr]
type = "docker-registry"
url = "http://127.0.0.1:5001"
region = "us-east-1"
)"),
            Lines({"crossdock.toml:9:10: warning: region has no effect on endpoint \"ecr\" of type "
                   "\"docker-registry\"; only aws-ecr endpoints take one"}));
}

TEST(EcrConfigTest, UrlParser) {
  auto a = ParseEcrUrl("https://123456789012.dkr.ecr.us-east-1.amazonaws.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->account, "123456789012");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_TRUE(ParseEcrUrl("https://123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"));
  EXPECT_FALSE(ParseEcrUrl("http://123456789012.dkr.ecr.us-east-1.amazonaws.com"));
  EXPECT_FALSE(ParseEcrUrl("https://123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example"));
  EXPECT_FALSE(ParseEcrUrl("https://12345.dkr.ecr.us-east-1.amazonaws.com"));
  EXPECT_EQ(EcrApiUrl("cn-northwest-1"), "https://api.ecr.cn-northwest-1.amazonaws.com.cn");
}

}  // namespace
}  // namespace crossdock::core
