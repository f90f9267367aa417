// End to end: `type = "helm-repo"` endpoints. Charts made with tar(1) go from a classic
// chart repository (index.yaml and files on a web server) into a real docker-registry
// as the OCI artifact `helm push` makes, and from the registry into tests/fakes/chartmuseum
// (ChartMuseum's API). Results are read straight from the registry (skopeo inspect, blob
// HEADs) and from the chart repository's own index.yaml and files, never through
// crossdock's client.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/e2e/vendor_e2e.h"
#include "tests/support/chart_repo.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class HelmTest : public VendorE2eTest {
 protected:
  // An index.yaml entry for the chart at TGZ, reached at URL.
  static std::string Entry(const std::string& name, const std::string& version,
                           const std::string& url, const std::string& digest_hex) {
    return "  - apiVersion: v2\n    name: " + name + "\n    version: " + version +
           "\n    description: a test chart\n    type: application\n    appVersion: \"1.0\"\n"
           "    created: \"2026-12-06T10:00:00Z\"\n    digest: " + digest_hex +
           "\n    urls:\n    - " + url + "\n";
  }
  // A classic repository in DIR: web 1.0.0 and 1.1.0+build.2 under charts/ (relative
  // URLs), and, when CDN is set, db 2.0.0 there (an absolute URL).
  void WriteClassic(const std::string& dir, const ChartMuseumFake* cdn,
                    const std::string& cdn_dir, const std::string& web_digest_override = "") {
    fs::create_directories(dir + "/charts");
    MakeChart(dir + "/charts/web-1.0.0.tgz", "web", "1.0.0");
    MakeChart(dir + "/charts/web-1.1.0+build.2.tgz", "web", "1.1.0+build.2");
    std::string index = "apiVersion: v1\nentries:\n  web:\n";
    index += Entry("web", "1.0.0", "charts/web-1.0.0.tgz",
                   web_digest_override.empty() ? FileSha256Hex(dir + "/charts/web-1.0.0.tgz")
                                               : web_digest_override);
    index += Entry("web", "1.1.0+build.2", "charts/web-1.1.0+build.2.tgz",
                   FileSha256Hex(dir + "/charts/web-1.1.0+build.2.tgz"));
    if (cdn) {
      MakeChart(cdn_dir + "/db-2.0.0.tgz", "db", "2.0.0");
      index += "  db:\n" + Entry("db", "2.0.0", cdn->url() + "/db-2.0.0.tgz",
                                 FileSha256Hex(cdn_dir + "/db-2.0.0.tgz"));
    }
    WriteFile(dir + "/index.yaml", index + "generated: \"2026-12-06T10:00:00Z\"\n");
  }
  std::string HelmEndpoint(const std::string& name, const std::string& url,
                           const std::string& user = "", const std::string& password = "") {
    std::string out = "[endpoints." + name + "]\ntype = \"helm-repo\"\nurl = \"" + url + "\"\n";
    if (!user.empty()) {
      WriteFile(dir_.Sub(name + ".password"), password);
      out += "username = \"" + user + "\"\npassword = \"file:" + name + ".password\"\n";
    }
    return out;
  }
};

TEST_F(HelmTest, ClassicRepositoryCopiesIntoARegistryAsHelmPushes) {
  const std::string cdn_dir = dir_.Sub("cdn");
  fs::create_directories(cdn_dir);
  // The CDN wants other credentials than the repository's: had crossdock sent the
  // repository's there, the download would fail.
  ChartMuseumFake cdn({.classic_dir = cdn_dir});
  const std::string classic = dir_.Sub("classic");
  WriteClassic(classic, &cdn, cdn_dir);
  ChartMuseumFake repo({.username = "reader", .password = "chart-s3cret", .classic_dir = classic});
  WriteConfig(HelmEndpoint("charts", repo.url(), "reader", "chart-s3cret"),
              "[rules.charts]\nsource = \"charts\"\ndestination = \"plain\"\nrepositories = "
              "[\"**\"]\ndest_namespace = \"helm\"\nresource = \"chart\"\n");
  RunResult plan = Crossdock({"plan", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  json j = json::parse(plan.out);
  std::vector<std::string> planned;
  for (const auto& c : j["changes"]) planned.push_back(c["destination_repository"].get<std::string>() + ":" + c["tag"].get<std::string>());
  std::sort(planned.begin(), planned.end());
  EXPECT_EQ(planned, (std::vector<std::string>{"helm/db:2.0.0", "helm/web:1.0.0", "helm/web:1.1.0_build.2"}))
      << plan.out;

  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(apply.out.find("chart-s3cret"), std::string::npos);
  // The registry holds each chart as `helm push` lays it out: the .tgz byte for byte.
  for (const auto& [repo_name, tag, tgz] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"helm/web", "1.0.0", classic + "/charts/web-1.0.0.tgz"},
           {"helm/web", "1.1.0_build.2", classic + "/charts/web-1.1.0+build.2.tgz"},
           {"helm/db", "2.0.0", cdn_dir + "/db-2.0.0.tgz"}}) {
    json m = json::parse(SkopeoInspectRaw(plain_, repo_name, tag));
    EXPECT_EQ(m["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    ASSERT_EQ(m["layers"].size(), 1u);
    EXPECT_EQ(m["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    EXPECT_EQ(m["layers"][0]["digest"], "sha256:" + FileSha256Hex(tgz)) << repo_name << ":" << tag;
    EXPECT_EQ(m["layers"][0]["size"], fs::file_size(tgz));
    EXPECT_TRUE(BlobExists(plain_, repo_name, m["layers"][0]["digest"]));
    EXPECT_TRUE(BlobExists(plain_, repo_name, m["config"]["digest"]));
  }
  json config = json::parse(CurlRequest(plain_, "GET", "/v2/helm/web/blobs/" +
                                        json::parse(SkopeoInspectRaw(plain_, "helm/web", "1.0.0"))["config"]["digest"].get<std::string>()).body);
  EXPECT_EQ(config["name"], "web");
  EXPECT_EQ(config["version"], "1.0.0");
  EXPECT_EQ(config["apiVersion"], "v2");

  // Converged: a second plan proposes nothing.
  RunResult again = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

TEST_F(HelmTest, ChartWhoseTgzDoesNotMatchTheIndexIsRefused) {
  const std::string classic = dir_.Sub("classic");
  WriteClassic(classic, nullptr, "", std::string(64, 'e'));
  ChartMuseumFake repo({.classic_dir = classic});
  WriteConfig(HelmEndpoint("charts", repo.url()),
              "[rules.charts]\nsource = \"charts\"\ndestination = \"plain\"\nrepositories = "
              "[\"web\"]\ndest_namespace = \"helm\"\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  EXPECT_NE(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_NE((apply.out + apply.err).find("index.yaml says sha256:eeee"), std::string::npos)
      << apply.out << apply.err;
  EXPECT_FALSE(HeadDigest(plain_, "helm/web", "1.0.0"));
  EXPECT_TRUE(HeadDigest(plain_, "helm/web", "1.1.0_build.2"));  // the good one went
}

TEST_F(HelmTest, OciChartsGoIntoChartMuseumConvergeAndAreDeletedWithTheirSource) {
  ChartMuseumFake museum({.depth = 1});
  const std::string tgz = dir_.Sub("web-0.1.0.tgz");
  MakeChart(tgz, "web", "0.1.0");
  BuildChartArtifact(dir_.Sub("charts-layout"), "web", tgz,
                     R"({"name":"web","version":"0.1.0","apiVersion":"v2","description":"a test chart"})");
  Push(dir_.Sub("charts-layout"), "web", plain_, "team/web", "0.1.0");
  Seed(plain_, "team/app", "v1", 7);  // an image: resource = "chart" leaves it
  WriteConfig(HelmEndpoint("museum", museum.url()),
              "[rules.out]\nsource = \"plain\"\ndestination = \"museum\"\nrepositories = "
              "[\"team/**\"]\nresource = \"chart\"\ndelete = true\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  // ChartMuseum's tenant "team" (--depth=1) holds the chart, byte for byte.
  HttpAnswer index = museum.Get("/team/index.yaml");
  ASSERT_EQ(index.status, 200);
  EXPECT_NE(index.body.find(FileSha256Hex(tgz)), std::string::npos) << index.body;
  HttpAnswer file = museum.Get("/team/charts/web-0.1.0.tgz");
  EXPECT_EQ(Sha256Digest(file.body), "sha256:" + FileSha256Hex(tgz));
  EXPECT_EQ(museum.Get("/api/team/charts/app").status, 404);

  // The chart repository holds its own form of the artifact: still a no-op.
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;

  // Gone at the source: deleted from ChartMuseum, as crossdock put it there.
  DeleteTag(plain_, "team/web", "0.1.0");
  RunResult del = Crossdock({"plan"});
  EXPECT_NE(del.out.find("- " + museum.url().substr(7) + "/team/web:0.1.0"), std::string::npos)
      << del.out;
  RunResult apply_delete = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply_delete.exit_code, 0) << apply_delete.out << apply_delete.err;
  EXPECT_EQ(museum.Get("/api/team/charts/web/0.1.0").status, 404);
}

TEST_F(HelmTest, AVersionAlreadyThereIsDoneWhenTheSameAndNeverOverwrittenWhenNot) {
  ChartMuseumFake museum;
  const std::string tgz = dir_.Sub("web-0.1.0.tgz");
  MakeChart(tgz, "web", "0.1.0");
  museum.Store(tgz);  // put there before crossdock, without a state record
  BuildChartArtifact(dir_.Sub("charts-layout"), "web", tgz, R"({"name":"web","version":"0.1.0"})");
  Push(dir_.Sub("charts-layout"), "web", plain_, "web", "0.1.0");
  WriteConfig(HelmEndpoint("museum", museum.url()),
              "[rules.out]\nsource = \"plain\"\ndestination = \"museum\"\nrepositories = [\"web\"]\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(Crossdock({"plan", "--detailed-exitcode"}).exit_code, 0);

  // Another chart under the same version: ChartMuseum keeps its own unless it allows
  // overwrites, and crossdock says so instead of forcing it.
  const std::string other = dir_.Sub("other") ;
  fs::create_directories(other);
  MakeChart(other + "/web-0.1.0.tgz", "web", "0.1.0", "another build of the same version");
  BuildChartArtifact(dir_.Sub("charts-layout"), "web", other + "/web-0.1.0.tgz",
                     R"({"name":"web","version":"0.1.0","description":"another"})");
  Push(dir_.Sub("charts-layout"), "web", plain_, "web", "0.1.0");
  RunResult refused = Crossdock({"apply", "--auto-approve"});
  EXPECT_NE(refused.exit_code, 0) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("start ChartMuseum with --allow-overwrite"), std::string::npos)
      << refused.out;
  EXPECT_EQ(Sha256Digest(museum.Get("/charts/web-0.1.0.tgz").body), Sha256Digest(ReadFile(tgz)));
}

TEST_F(HelmTest, ChartMuseumToChartMuseumKeepsTheNewestVersions) {
  ChartMuseumFake from;
  ChartMuseumFake to;
  for (const std::string v : {"1.0.0", "1.1.0", "2.0.0"}) {
    const std::string tgz = dir_.Sub("api-" + v + ".tgz");
    MakeChart(tgz, "api", v);
    from.Store(tgz);
  }
  WriteConfig(HelmEndpoint("from", from.url()) + "\n" + HelmEndpoint("to", to.url()),
              "[rules.charts]\nsource = \"from\"\ndestination = \"to\"\nrepositories = [\"api\"]\n"
              "keep_latest = 2\n");
  RunResult apply = Crossdock({"apply", "--auto-approve"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_EQ(to.Get("/api/charts/api/2.0.0").status, 200);
  EXPECT_EQ(to.Get("/api/charts/api/1.1.0").status, 200);
  EXPECT_EQ(to.Get("/api/charts/api/1.0.0").status, 404);
  EXPECT_EQ(Sha256Digest(to.Get("/charts/api-2.0.0.tgz").body),
            Sha256Digest(ReadFile(dir_.Sub("api-2.0.0.tgz"))));
  // The same chart reads as the same artifact at both ends: converged.
  RunResult plan = Crossdock({"plan", "--detailed-exitcode"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
}

TEST_F(HelmTest, ClassicRepositoryCannotBeADestination) {
  const std::string classic = dir_.Sub("classic");
  WriteClassic(classic, nullptr, "");
  ChartMuseumFake repo({.classic_dir = classic});
  const std::string tgz = dir_.Sub("web-0.1.0.tgz");
  MakeChart(tgz, "web", "0.1.0");
  BuildChartArtifact(dir_.Sub("charts-layout"), "web", tgz, R"({"name":"web","version":"0.1.0"})");
  Push(dir_.Sub("charts-layout"), "web", plain_, "web", "0.1.0");
  WriteConfig(HelmEndpoint("charts", repo.url()),
              "[rules.out]\nsource = \"plain\"\ndestination = \"charts\"\nrepositories = [\"web\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("is a classic chart repository"), std::string::npos) << plan.out;
}

TEST_F(HelmTest, WrongPasswordAndEndpointTest) {
  const std::string classic = dir_.Sub("classic");
  WriteClassic(classic, nullptr, "");
  ChartMuseumFake repo({.username = "reader", .password = "right-one", .classic_dir = classic});
  WriteConfig(HelmEndpoint("charts", repo.url(), "reader", "wrong-one"),
              "[rules.charts]\nsource = \"charts\"\ndestination = \"plain\"\nrepositories = [\"web\"]\n");
  RunResult plan = Crossdock({"plan"});
  EXPECT_NE(plan.exit_code, 0);
  EXPECT_NE((plan.out + plan.err).find("HTTP 401"), std::string::npos) << plan.out << plan.err;
  EXPECT_EQ((plan.out + plan.err).find("wrong-one"), std::string::npos);
  WriteConfig(HelmEndpoint("charts", repo.url(), "reader", "right-one"), "");
  RunResult test = Crossdock({"endpoint", "test", "charts"});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("lists 1 charts, 2 versions"), std::string::npos) << test.out;
  EXPECT_NE(test.out.find("a classic repository, read only"), std::string::npos) << test.out;
}

}  // namespace
}  // namespace crossdock::testing
