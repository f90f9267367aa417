// providers/helm/chart.h: index.yaml parsing and a chart version as an OCI artifact.
#include <gtest/gtest.h>

#include "core/digest.h"
#include "providers/helm/chart.h"

namespace crossdock::providers::helm {
namespace {

// As `helm repo index` writes it (helm/helm pkg/repo/index.go), two charts.
const char* kIndex = R"(apiVersion: v1
entries:
  nginx:
  - apiVersion: v2
    appVersion: 1.25.3
    created: "2026-01-02T03:04:05.000000000Z"
    description: A web server
    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    name: nginx
    type: application
    urls:
    - charts/nginx-1.2.3+build.4.tgz
    version: 1.2.3+build.4
    maintainers:
    - name: Ops
      email: ops@example.com
    deprecated: false
    keywords: []
  - apiVersion: v2
    name: nginx
    urls:
    - https://cdn.example.com/nginx-1.0.0.tgz
    version: "1.0"
  redis:
  - name: redis
    version: 7.0.0
    urls: [redis-7.0.0.tgz]
    deprecated: true
generated: "2026-01-02T03:04:05Z"
)";

TEST(HelmIndexTest, ParsesEntriesUrlsDigestsAndMetadata) {
  auto index = ParseIndex(kIndex, "index.yaml");
  ASSERT_TRUE(index.ok()) << index.status().message();
  ASSERT_EQ(index->charts.size(), 2u);
  const auto& nginx = index->charts.at("nginx");
  ASSERT_EQ(nginx.size(), 2u);
  EXPECT_EQ(nginx[0].version, "1.2.3+build.4");
  EXPECT_EQ(nginx[0].urls, std::vector<std::string>{"charts/nginx-1.2.3+build.4.tgz"});
  EXPECT_EQ(nginx[0].digest,
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  EXPECT_EQ(nginx[1].version, "1.0");  // a string, as Go reads it, not the number 1
  EXPECT_EQ(nginx[1].digest, "");
  // created, urls and digest are the index's, not the chart's.
  EXPECT_FALSE(nginx[0].metadata.contains("created"));
  EXPECT_FALSE(nginx[0].metadata.contains("urls"));
  EXPECT_TRUE(index->charts.at("redis")[0].metadata.at("deprecated").get<bool>());
}

TEST(HelmIndexTest, ConfigKeepsHelmsFieldOrderAndOmitsEmptyFields) {
  auto index = ParseIndex(kIndex, "index.yaml");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(ConfigJson(index->charts.at("nginx")[0]),
            R"({"name":"nginx","version":"1.2.3+build.4","description":"A web server",)"
            R"("maintainers":[{"email":"ops@example.com","name":"Ops"}],"apiVersion":"v2",)"
            R"("appVersion":"1.25.3","type":"application"})");
}

TEST(HelmIndexTest, EmptyRepositoryHasNoCharts) {
  auto index = ParseIndex("apiVersion: v1\nentries: {}\n", "x");
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE(index->charts.empty());
  index = ParseIndex("apiVersion: v1\nentries:\n", "x");
  ASSERT_TRUE(index.ok());
}

TEST(HelmIndexTest, RefusesWhatIsNotAnIndexWithItsPosition) {
  auto bad = ParseIndex("apiVersion: v1\nentries: [\n", "index.yaml at http://h/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("index.yaml at http://h/ is not YAML (line"),
            std::string::npos)
      << bad.status().message();
  bad = ParseIndex("<html>hello</html>\n", "index.yaml at http://h/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is this a Helm chart repository"), std::string::npos);
  bad = ParseIndex("entries:\n  a:\n  - name: a\n    urls: [a.tgz]\n", "i");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("has no \"version\""), std::string::npos);
  bad = ParseIndex("entries:\n  a:\n  - version: 1.0.0\n", "i");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("has no \"urls\""), std::string::npos);
  bad = ParseIndex("entries:\n  a:\n  - version: 1.0.0\n    urls: [a]\n    digest: xyz\n", "i");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a SHA-256"), std::string::npos);
  bad = ParseIndex("entries:\n  a:\n  - version: 1 0\n    urls: [a]\n", "i");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot be an OCI tag"), std::string::npos);
}

TEST(HelmIndexTest, AliasCyclesAndExpansionsAreRefusedNotFollowed) {
  // A cycle through an anchor, and a few hundred bytes that expand to 10^8 values.
  auto cycle = ParseIndex("entries:\n  a:\n  - version: 1.0.0\n    urls: [a.tgz]\n"
                          "    annotations: &x {b: *x}\n",
                          "i");
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.status().message().find("\"annotations\" nests deeper than"), std::string::npos)
      << cycle.status().message();
  std::string bomb = "entries:\n  a:\n  - version: 1.0.0\n    urls: [a.tgz]\n    keywords:\n";
  bomb += "    - &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    bomb += "    - &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) bomb += ", " + prev;
    bomb += "]\n";
  }
  auto expanded = ParseIndex(bomb, "i");
  ASSERT_FALSE(expanded.ok());
  EXPECT_NE(expanded.status().message().find("more than 10000 values"), std::string::npos)
      << expanded.status().message();
}

TEST(HelmChartTest, TagsWritePlusAsUnderscore) {
  EXPECT_EQ(TagOfVersion("1.2.3+build.4"), "1.2.3_build.4");
  EXPECT_EQ(TagOfVersion("1.2.3"), "1.2.3");
}

TEST(HelmChartTest, ManifestIsDeterministicAndReadsBack) {
  auto index = ParseIndex(kIndex, "index.yaml");
  ASSERT_TRUE(index.ok());
  const ChartVersion& v = index->charts.at("nginx")[0];
  const std::string config = ConfigJson(v);
  const std::string m1 = ChartManifest(v, config, v.digest, 1234);
  EXPECT_EQ(m1, ChartManifest(v, config, v.digest, 1234));
  auto j = nlohmann::json::parse(m1);
  EXPECT_EQ(j["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(j["config"]["mediaType"], kChartConfigMediaType);
  EXPECT_EQ(j["config"]["digest"], core::Sha256Digest(config));
  EXPECT_EQ(j["layers"][0]["mediaType"], kChartLayerMediaType);
  EXPECT_EQ(j["layers"][0]["size"], 1234);
  auto layers = ChartLayersOf(m1);
  ASSERT_TRUE(layers);
  EXPECT_EQ(layers->chart_digest, v.digest);
  EXPECT_EQ(layers->chart_size, 1234);
  EXPECT_EQ(layers->config_digest, core::Sha256Digest(config));
}

TEST(HelmChartTest, OnlyChartsHaveChartLayers) {
  const std::string d = "sha256:" + std::string(64, 'a');
  // Helm 3.0–3.6's layer media type is a chart too.
  EXPECT_TRUE(ChartLayersOf(R"({"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":")" +
                            d + R"("},"layers":[{"mediaType":"application/tar+gzip","digest":")" + d +
                            R"(","size":3}]})"));
  EXPECT_FALSE(ChartLayersOf(R"({"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                             d + R"("},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":")" +
                             d + R"(","size":3}]})"));
  EXPECT_FALSE(ChartLayersOf("not json"));
}

}  // namespace
}  // namespace crossdock::providers::helm
