// Tests of the vendor fakes themselves (tests/fakes/harbor, dockerhub, quay and gitlab, through
// tests/support/vendor_fakes.h) with curl and skopeo, never crossdock: they are the only
// evidence that crossdock's vendor providers work, so what they answer is pinned here
// against the vendors' documented or coded behaviour (cited at the top of each fake).
#include "tests/support/vendor_fakes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace crossdock::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

ImageSpec SmallImage(uint64_t seed, const std::string& arch = "amd64") {
  ImageSpec spec;
  spec.architecture = arch;
  spec.layers = {LayerSpec{64 * 1024, seed, /*gzip=*/true}, LayerSpec{2048, seed + 1000}};
  spec.labels = {{"seed", std::to_string(seed)}};
  return spec;
}

// Builds a small image from SEED and pushes it straight to the registry behind the fakes.
BuiltImage Seed(const Registry& registry, const std::string& repo, const std::string& tag, uint64_t seed) {
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(seed));
  Push(layout.path(), "x", registry, repo, tag);
  return image;
}

const std::vector<std::string> kJson = {"-H", "Content-Type: application/json", "--data-binary"};

// A request with a JSON body.
HttpAnswer Send(const Endpoint& e, const std::string& method, const std::string& path, const json& body,
                std::vector<std::string> extra = {}, std::optional<std::string> credentials = std::nullopt) {
  std::vector<std::string> args = kJson;
  args.push_back(body.dump());
  args.insert(args.end(), extra.begin(), extra.end());
  return CurlRequest(e, method, path, args, {}, credentials);
}

json Body(const HttpAnswer& a) { return json::parse(a.body); }

std::vector<std::string> Names(const json& items, const std::string& key = "name") {
  std::vector<std::string> out;
  for (const json& i : items) out.push_back(i.at(key).get<std::string>());
  return out;
}

std::string Bearer(const std::string& token) { return "Authorization: Bearer " + token; }

// Bearer TOKEN and an Accept for OCI manifests (docker-registry 2.8 answers 404 for an
// OCI manifest to a client that does not accept the type).
std::vector<std::string> WithToken(const std::string& token) {
  return {"-H", Bearer(token), "-H", "Accept: application/vnd.oci.image.manifest.v1+json"};
}

// ---------------------------------------------------------------- Harbor ----

HarborFake::Options TeamHarbor() {
  HarborFake::Options o;
  o.users = {{"admin", "Harbor12345"}, {"dev", "dev-pw"}};
  o.projects = {"library:public", "team"};
  return o;
}

TEST(HarborFakeTest, SkopeoPushThroughTheFakeLandsInTheRegistryAndTheApiListsIt) {
  Registry registry;
  HarborFake harbor(registry, TeamHarbor());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(1));
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(2), SmallImage(3, "arm64")});
  Push(layout.path(), "x", harbor, "team/app", "v1");  // skopeo: Bearer challenge, token, push
  Push(layout.path(), "multi", harbor, "team/nested/multi", "v2");

  EXPECT_EQ(HeadDigest(registry, "team/app", "v1"), image.digest);
  EXPECT_EQ(HeadDigest(registry, "team/nested/multi", "v2"), multi.digest);
  EXPECT_EQ(HeadDigest(harbor, "team/app", "v1"), image.digest);  // Basic through the fake
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(harbor, "team/nested/multi", "v2")), multi.digest);
  EXPECT_EQ(ListTags(harbor, "team/app"), std::vector<std::string>{"v1"});

  HttpAnswer repos = CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories");
  ASSERT_EQ(repos.status, 200) << repos.body;
  EXPECT_EQ(repos.headers["x-total-count"], "2");
  EXPECT_EQ(Names(Body(repos)), (std::vector<std::string>{"team/app", "team/nested/multi"}));
  EXPECT_EQ(Body(repos)[0]["artifact_count"], 1);

  // The nested repository, escaped twice.
  HttpAnswer arts = CurlRequest(harbor, "GET",
                                "/api/v2.0/projects/team/repositories/nested%252Fmulti/artifacts"
                                "?with_tag=true&with_label=true&with_accessory=false");
  ASSERT_EQ(arts.status, 200) << arts.body;
  json a = Body(arts);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["digest"], multi.digest);
  EXPECT_EQ(a[0]["manifest_media_type"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(a[0]["tags"][0]["name"], "v2");
  EXPECT_EQ(a[0]["references"].size(), 2u);
  EXPECT_TRUE(a[0]["labels"].is_null());
  HttpAnswer single = CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories/app/artifacts");
  ASSERT_EQ(single.status, 200) << single.body;
  EXPECT_EQ(Body(single)[0]["digest"], image.digest);
  EXPECT_EQ(Body(single)[0]["media_type"], "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(Body(single)[0]["type"], "IMAGE");
  EXPECT_EQ(Body(single)[0]["tags"][0]["artifact_id"], Body(single)[0]["id"]);

  // Escaped once or not at all, the path matches no route (nginx decodes once).
  for (std::string wrong : {"nested%2Fmulti", "nested/multi"}) {
    HttpAnswer miss = CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories/" + wrong + "/artifacts");
    EXPECT_EQ(miss.status, 404) << wrong;
    EXPECT_EQ(Body(miss)["errors"][0]["code"], "NOT_FOUND") << miss.body;
  }
  // An unknown repository is an empty list, as Harbor lists artifacts by name.
  HttpAnswer none = CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories/nope/artifacts");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "[]");
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories/nope").status, 404);

  // An upload session's Location points at the fake, not at the registry behind it.
  HttpAnswer upload = CurlRequest(harbor, "POST", "/v2/team/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(upload.status, 202);
  EXPECT_EQ(upload.headers["location"].rfind(harbor.url() + "/v2/team/app/blobs/uploads/", 0), 0u)
      << upload.headers["location"];

  FakeStats stats = harbor.GetStats();
  EXPECT_GT(stats.token, 0);  // skopeo's
  EXPECT_GT(stats.v2, 0);
  EXPECT_GE(stats.api, 6);
  EXPECT_EQ(stats.requests, stats.api + stats.v2 + stats.token);
  EXPECT_EQ(stats.by_path["api"], stats.api);
  EXPECT_NE(std::find(stats.paths.begin(), stats.paths.end(), "GET /api/v2.0/projects/team/repositories"),
            stats.paths.end());
  harbor.ResetStats();
  EXPECT_EQ(harbor.GetStats().requests, 0);
  EXPECT_NE(harbor.log().find("GET /api/v2.0/projects/team/repositories 200"), std::string::npos);
}

TEST(HarborFakeTest, ListsArePagedWithHarborsTotalCountAndLinkHeader) {
  Registry registry;
  HarborFake::Options o = TeamHarbor();
  for (int i = 0; i < 12; ++i) o.projects.push_back((i < 10 ? "p0" : "p") + std::to_string(i));
  HarborFake harbor(registry, o);  // 14 projects

  HttpAnswer first = CurlRequest(harbor, "GET", "/api/v2.0/projects?page_size=5");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Body(first).size(), 5u);
  EXPECT_EQ(first.headers["x-total-count"], "14");
  EXPECT_EQ(first.headers["link"], "</api/v2.0/projects?page=2&page_size=5>; rel=\"next\"");
  HttpAnswer second = CurlRequest(harbor, "GET", "/api/v2.0/projects?page=2&page_size=5");
  EXPECT_EQ(second.headers["link"],
            "</api/v2.0/projects?page=1&page_size=5>; rel=\"prev\" , "
            "</api/v2.0/projects?page=3&page_size=5>; rel=\"next\"");
  HttpAnswer last = CurlRequest(harbor, "GET", "/api/v2.0/projects?page=3&page_size=5");
  EXPECT_EQ(Body(last).size(), 4u);
  EXPECT_EQ(last.headers["link"], "</api/v2.0/projects?page=2&page_size=5>; rel=\"prev\"");
  std::vector<std::string> all;
  for (const HttpAnswer* page : {&first, &second, &last}) {
    for (const std::string& n : Names(Body(*page))) all.push_back(n);
  }
  EXPECT_EQ(all.size(), 14u);
  EXPECT_EQ(all.front(), "library");  // by project id
  // The default page is 10; the query is re-encoded sorted by key, then unescaped.
  EXPECT_EQ(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects")).size(), 10u);
  HttpAnswer filtered = CurlRequest(harbor, "GET", "/api/v2.0/projects?q=name%3D~p0&page_size=4");
  EXPECT_EQ(filtered.headers["x-total-count"], "10");
  EXPECT_EQ(filtered.headers["link"], "</api/v2.0/projects?page=2&page_size=4&q=name=~p0>; rel=\"next\"");
  EXPECT_EQ(Names(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects?name=p1"))),
            (std::vector<std::string>{"p10", "p11"}));
  EXPECT_EQ(Names(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects?q=name%3D%7B%27p01%27%20%27p03%27%7D"))),
            (std::vector<std::string>{"p01", "p03"}));
  EXPECT_EQ(Names(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects?q=name%3Dteam"))),
            std::vector<std::string>{"team"});
  // swagger.yaml caps page_size at 100: go-swagger refuses more with 422.
  HttpAnswer too_big = CurlRequest(harbor, "GET", "/api/v2.0/projects?page_size=101");
  EXPECT_EQ(too_big.status, 422);
  EXPECT_EQ(too_big.body,
            "{\"errors\":[{\"code\":\"UNPROCESSABLE_ENTITY\",\"message\":\"validation failure list:\\n"
            "page_size in query should be less than or equal to 100\"}]}\n");

  // Artifacts of a nested repository: the Link keeps the path escaped twice.
  TempDir layout;
  std::vector<std::string> digests;
  for (int i = 0; i < 3; ++i) {
    std::string tag = "v" + std::to_string(i + 1);
    digests.push_back(BuildImage(layout.path(), tag, SmallImage(10 + i)).digest);
    Push(layout.path(), tag, registry, "team/a/b", tag);
  }
  HttpAnswer arts = CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories/a%252Fb/artifacts?page_size=2&with_tag=true");
  ASSERT_EQ(arts.status, 200) << arts.body;
  EXPECT_EQ(arts.headers["x-total-count"], "3");
  EXPECT_EQ(arts.headers["link"],
            "</api/v2.0/projects/team/repositories/a%252Fb/artifacts?page=2&page_size=2&with_tag=true>; rel=\"next\"");
  // Newest first: v3 was pushed last.
  EXPECT_EQ(Names(Body(arts), "digest"), (std::vector<std::string>{digests[2], digests[1]}));

  // --page-cap: a Harbor that serves fewer than asked, and says so in the Link.
  HarborFake::Options capped = o;
  capped.page_cap = 4;
  HarborFake small(registry, capped);
  HttpAnswer four = CurlRequest(small, "GET", "/api/v2.0/projects?page_size=10");
  EXPECT_EQ(Body(four).size(), 4u);
  EXPECT_EQ(four.headers["link"], "</api/v2.0/projects?page=2&page_size=4>; rel=\"next\"");
}

TEST(HarborFakeTest, RefusesWhatHarborRefuses) {
  Registry registry;
  HarborFake::Options o = TeamHarbor();
  o.proxy_cache_projects = {"cache"};
  HarborFake harbor(registry, o);
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(4));
  Push(layout.path(), "x", harbor.As("dev"), "team/app", "v1");  // a maintainer may push
  Push(layout.path(), "x", registry, "library/pub", "v1");

  // API: wrong credentials are no credentials; private resources need some.
  const std::string unauthorized = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"unauthorized\"}]}\n";
  HttpAnswer wrong = CurlRequest(harbor, "GET", "/api/v2.0/projects/team/repositories", {}, {}, "admin:wrong");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, unauthorized);
  EXPECT_EQ(wrong.headers.count("www-authenticate"), 0u);  // the API sends no challenge
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/projects/team", {}, {}, "").status, 401);
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/projects/library/repositories", {}, {}, "").status, 200);
  EXPECT_EQ(Names(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects", {}, {}, "admin:wrong"))),
            std::vector<std::string>{"library"});
  // ...which only /users/current tells apart (as ICTU/quality-time#6525 found).
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/users/current", {}, {}, "admin:wrong").body, unauthorized);
  json me = Body(CurlRequest(harbor, "GET", "/api/v2.0/users/current"));
  EXPECT_EQ(me["username"], "admin");
  EXPECT_EQ(me["sysadmin_flag"], true);
  EXPECT_EQ(Body(CurlRequest(harbor.As("dev"), "GET", "/api/v2.0/users/current"))["sysadmin_flag"], false);
  // A missing project: 404 for the admin, 403 for a user, 401 for nobody.
  EXPECT_EQ(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects/nope/repositories"))["errors"][0]["message"],
            "project nope not found");
  EXPECT_EQ(CurlRequest(harbor.As("dev"), "GET", "/api/v2.0/projects/nope/repositories").status, 403);
  EXPECT_EQ(CurlRequest(harbor.Anonymous(), "GET", "/api/v2.0/projects/nope/repositories").status, 401);

  // Registry: the challenges of src/server/middleware/v2auth/auth.go.
  const std::string realm = "Bearer realm=\"" + harbor.url() + "/service/token\",service=\"harbor-registry\"";
  HttpAnswer ping = CurlRequest(harbor, "GET", "/v2/", {}, {}, "");
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(ping.headers["www-authenticate"], realm);
  EXPECT_EQ(CurlRequest(harbor, "GET", "/v2/").status, 200);
  HttpAnswer wrong_ping = CurlRequest(harbor, "GET", "/v2/", {}, {}, "admin:wrong");
  EXPECT_EQ(wrong_ping.status, 401);
  EXPECT_EQ(wrong_ping.headers["www-authenticate"], "Basic realm=\"harbor\"");
  HttpAnswer anonymous = CurlRequest(harbor, "HEAD", "/v2/team/app/manifests/v1", {}, {}, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.headers["www-authenticate"], realm + ",scope=\"repository:team/app:pull\"");
  EXPECT_THROW(Push(layout.path(), "x", AccountEndpoint(harbor.port(), "admin", "wrong"), "team/app", "v2"),
               HarnessError);
  EXPECT_EQ(ListTags(registry, "team/app"), std::vector<std::string>{"v1"});

  // The catalog is the system admin's, with Basic credentials.
  EXPECT_EQ(CurlRequest(harbor, "GET", "/v2/_catalog").status, 200);
  HttpAnswer catalog = CurlRequest(harbor.As("dev"), "GET", "/v2/_catalog");
  EXPECT_EQ(catalog.status, 401);
  EXPECT_EQ(catalog.headers["www-authenticate"], "Basic realm=\"harbor\"");

  // Pushing to a project that does not exist, or to a proxy cache.
  HttpAnswer missing = CurlRequest(harbor, "POST", "/v2/nope/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body,
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"project nope not found: project nope not found\"}]}\n");
  HttpAnswer proxy = CurlRequest(harbor, "POST", "/v2/cache/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(proxy.status, 403);
  EXPECT_EQ(proxy.body,
            "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"denied: can not push artifact to a proxy project: cache\"}]}\n");
  EXPECT_EQ(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects/cache"))["registry_id"], 7);
  EXPECT_FALSE(Body(CurlRequest(harbor, "GET", "/api/v2.0/projects/team")).contains("registry_id"));
  // Anonymous callers may pull from public projects only, and only with a token.
  HttpAnswer token = CurlRequest(harbor, "GET", "/service/token?service=harbor-registry&scope=repository:library/pub:pull,push", {}, {}, "");
  ASSERT_EQ(token.status, 200) << token.body;
  std::string anon = Body(token)["token"];
  EXPECT_EQ(CurlRequest(harbor, "HEAD", "/v2/library/pub/manifests/v1", WithToken(anon)).status, 200);
  EXPECT_EQ(CurlRequest(harbor, "POST", "/v2/library/pub/blobs/uploads/", {"-H", Bearer(anon), "--data", ""}).status, 401);
  EXPECT_EQ(CurlRequest(harbor, "GET", "/service/token?service=harbor-registry", {}, {}, "admin:wrong").status, 401);
  EXPECT_EQ(CurlRequest(harbor, "GET", "/service/token?service=other&scope=repository:team/app:pull").status, 400);
  (void)image;
}

TEST(HarborFakeTest, CreatesProjectsOnlyForTheAdminAndChecksNamesAsHarborDoes) {
  Registry registry;
  HarborFake harbor(registry, TeamHarbor());
  HttpAnswer created = Send(harbor, "POST", "/api/v2.0/projects", {{"project_name", "newp"}, {"metadata", {{"public", "false"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.headers["location"];
  ASSERT_EQ(location.rfind("/api/v2.0/projects/", 0), 0u) << location;
  json p = Body(CurlRequest(harbor, "GET", "/api/v2.0/projects/newp"));
  EXPECT_EQ(std::to_string(p["project_id"].get<int>()), location.substr(location.rfind('/') + 1));
  EXPECT_EQ(p["metadata"]["public"], "false");
  EXPECT_EQ(Body(CurlRequest(harbor, "GET", location))["name"], "newp");  // by id too

  HttpAnswer again = Send(harbor, "POST", "/api/v2.0/projects", {{"project_name", "newp"}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, "{\"errors\":[{\"code\":\"CONFLICT\",\"message\":\"The project named newp already exists\"}]}\n");
  HttpAnswer by_dev = Send(harbor.As("dev"), "POST", "/api/v2.0/projects", {{"project_name", "devp"}});
  EXPECT_EQ(by_dev.status, 403);
  EXPECT_EQ(Body(by_dev)["errors"][0]["message"], "Only system admin can create project");
  EXPECT_EQ(Send(harbor.Anonymous(), "POST", "/api/v2.0/projects", {{"project_name", "anon"}}).status, 401);
  HttpAnswer bad = Send(harbor, "POST", "/api/v2.0/projects", {{"project_name", "Bad_Name"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["errors"][0]["message"], "project name is not in lower case or contains illegal characters");
  EXPECT_EQ(Send(harbor, "POST", "/api/v2.0/projects", {{"project_name", ""}}).status, 400);
  EXPECT_EQ(Send(harbor, "POST", "/api/v2.0/projects", {{"project_name", "x"}, {"metadata", {{"public", "yes"}}}}).status, 400);
  HttpAnswer named = Send(harbor, "POST", "/api/v2.0/projects", {{"project_name", "named"}}, {"-H", "X-Resource-Name-In-Location: true"});
  EXPECT_EQ(named.headers["location"], "/api/v2.0/projects/named");

  EXPECT_EQ(CurlRequest(harbor, "HEAD", "/api/v2.0/projects?project_name=newp").status, 200);
  EXPECT_EQ(CurlRequest(harbor, "HEAD", "/api/v2.0/projects?project_name=nope").status, 404);
  EXPECT_EQ(CurlRequest(harbor.Anonymous(), "HEAD", "/api/v2.0/projects?project_name=newp").status, 401);
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/projects/nope").status, 404);
  EXPECT_EQ(CurlRequest(harbor.As("dev"), "GET", "/api/v2.0/projects/nope").status, 403);
  // A new project takes pushes at once.
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(5));
  Push(layout.path(), "x", harbor, "newp/app", "v1");
  EXPECT_EQ(HeadDigest(registry, "newp/app", "v1"), image.digest);
}

TEST(HarborFakeTest, TokensGrantWholeProjectsAndExpire) {
  Registry registry;
  HarborFake::Options o = TeamHarbor();
  o.token_lifetime = 2;
  HarborFake harbor(registry, o);
  BuiltImage image = Seed(registry, "team/app", "v1", 6);
  Seed(registry, "team/other", "v1", 6);

  auto issued = std::chrono::steady_clock::now();
  HttpAnswer got = CurlRequest(harbor, "GET", "/service/token?service=harbor-registry&scope=repository:team/app:pull");
  ASSERT_EQ(got.status, 200) << got.body;
  json t = Body(got);
  EXPECT_EQ(t["access_token"], "");  // Harbor's models.Token: always empty
  EXPECT_EQ(t["expires_in"], 2);
  EXPECT_TRUE(t["issued_at"].is_string());
  const std::vector<std::string> with_token = {"-H", Bearer(t["token"].get<std::string>()), "-H",
                                               "Accept: application/vnd.oci.image.manifest.v1+json"};
  EXPECT_EQ(CurlRequest(harbor, "HEAD", "/v2/team/app/manifests/v1", with_token).status, 200);
  // Granted per project, with every action the account has there.
  EXPECT_EQ(CurlRequest(harbor, "HEAD", "/v2/team/other/manifests/v1", with_token).status, 200);
  EXPECT_EQ(CurlRequest(harbor, "POST", "/v2/team/other/blobs/uploads/", {"-H", Bearer(t["token"].get<std::string>()), "--data", ""}).status, 202);
  EXPECT_EQ(CurlRequest(harbor, "HEAD", "/v2/library/x/manifests/v1", with_token).status, 401);

  std::this_thread::sleep_until(issued + milliseconds(2300));
  HttpAnswer stale = CurlRequest(harbor, "HEAD", "/v2/team/app/manifests/v1", with_token);
  EXPECT_EQ(stale.status, 401);
  // An expired token leaves the caller anonymous, and one who sent an Authorization
  // header is told to use Basic (v2auth getChallenge).
  EXPECT_EQ(stale.headers["www-authenticate"], "Basic realm=\"harbor\"");
  EXPECT_EQ(HeadDigest(harbor, "team/app", "v1"), image.digest);  // Basic still works
}

TEST(HarborFakeTest, TagDeleteRemovesOneTagAndKeepsTheArtifact) {
  Registry registry;
  HarborFake harbor(registry, TeamHarbor());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(7));
  Push(layout.path(), "x", harbor, "team/app", "v1");
  PushManifestUnderTag(harbor, "team/app", "v1", "v2");
  const std::string base = "/api/v2.0/projects/team/repositories/app/artifacts";

  EXPECT_EQ(CurlRequest(harbor.Anonymous(), "DELETE", base + "/v1/tags/v1").status, 401);
  EXPECT_EQ(CurlRequest(harbor, "DELETE", base + "/v1/tags/v1").status, 200);
  EXPECT_EQ(ListTags(registry, "team/app"), std::vector<std::string>{"v2"});
  json arts = Body(CurlRequest(harbor, "GET", base));
  ASSERT_EQ(arts.size(), 1u);
  EXPECT_EQ(Names(arts[0]["tags"]), std::vector<std::string>{"v2"});

  EXPECT_EQ(CurlRequest(harbor, "DELETE", base + "/" + image.digest + "/tags/v2").status, 200);
  EXPECT_EQ(ListTags(registry, "team/app"), std::vector<std::string>{});
  EXPECT_EQ(HeadDigest(registry, "team/app", image.digest), image.digest);  // the manifest stays
  arts = Body(CurlRequest(harbor, "GET", base));
  ASSERT_EQ(arts.size(), 1u);  // listed untagged, as Harbor keeps it
  EXPECT_EQ(arts[0]["digest"], image.digest);
  EXPECT_TRUE(arts[0]["tags"].is_null());

  HttpAnswer gone = CurlRequest(harbor, "DELETE", base + "/v2/tags/v2");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Body(gone)["errors"][0]["message"], "artifact team/app:v2 not found");
  HttpAnswer detached = CurlRequest(harbor, "DELETE", base + "/" + image.digest + "/tags/v1");
  EXPECT_EQ(detached.status, 404);
  EXPECT_NE(Body(detached)["errors"][0]["message"].get<std::string>().find("tag v1 attached to artifact"),
            std::string::npos);
}

TEST(HarborFakeTest, LabelsAttachToArtifacts) {
  Registry registry;
  HarborFake harbor(registry, TeamHarbor());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(8));
  Push(layout.path(), "x", harbor, "team/a/b", "v1");

  std::int64_t id = harbor.AddLabel("team", "a/b", "v1", "prod");
  EXPECT_GT(id, 0);
  const std::string arts = "/api/v2.0/projects/team/repositories/a%252Fb/artifacts";
  json labelled = Body(CurlRequest(harbor, "GET", arts + "?with_label=true"));
  ASSERT_EQ(labelled.size(), 1u);
  ASSERT_EQ(labelled[0]["labels"].size(), 1u);
  EXPECT_EQ(labelled[0]["labels"][0]["name"], "prod");
  EXPECT_EQ(labelled[0]["labels"][0]["id"], id);
  EXPECT_TRUE(Body(CurlRequest(harbor, "GET", arts))[0]["labels"].is_null());  // with_label=false
  // The same label on the same artifact (by digest this time) conflicts.
  EXPECT_THROW(harbor.AddLabel("team", "a/b", image.digest, "prod"), HarnessError);

  HttpAnswer listed = CurlRequest(harbor, "GET", "/api/v2.0/labels?scope=g");
  EXPECT_EQ(Names(Body(listed)), std::vector<std::string>{"prod"});
  EXPECT_EQ(listed.headers["x-total-count"], "1");
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/labels").status, 400);
  EXPECT_EQ(Body(CurlRequest(harbor, "GET", "/api/v2.0/labels/" + std::to_string(id)))["name"], "prod");
  HttpAnswer by_dev = Send(harbor.As("dev"), "POST", "/api/v2.0/labels", {{"name", "qa"}, {"scope", "g"}});
  EXPECT_EQ(by_dev.status, 403);
  EXPECT_EQ(Send(harbor, "POST", "/api/v2.0/labels", {{"name", "prod"}, {"scope", "g"}}).status, 409);
}

TEST(HarborFakeTest, AnswersVersionPingAndSysteminfoAndPlaysHarbor1WithV1) {
  Registry registry;
  HarborFake harbor(registry);
  HttpAnswer version = CurlRequest(harbor, "GET", "/api/version");
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(Body(version), json({{"version", "v2.0"}}));
  EXPECT_EQ(CurlRequest(harbor, "GET", "/api/v2.0/ping").body, "Pong");
  EXPECT_EQ(Body(CurlRequest(harbor, "GET", "/api/v2.0/systeminfo"))["harbor_version"], "v2.10.0-fake");

  HarborFake::Options old;
  old.v1 = true;
  HarborFake v1(registry, old);
  EXPECT_EQ(CurlRequest(v1, "GET", "/api/version").status, 404);
  EXPECT_EQ(CurlRequest(v1, "GET", "/api/v2.0/projects").status, 404);
}

// ------------------------------------------------------------ Docker Hub ----

DockerHubFake::Options TwoUsers() {
  DockerHubFake::Options o;
  o.users = {{"alice", "dckr_pat_alice"}, {"bob", "dckr_pat_bob"}};
  o.orgs = {{"acme", "bob"}};
  return o;
}

TEST(DockerHubFakeTest, SkopeoPushThroughTheFakeLandsInTheRegistryAndBothListingsShowIt) {
  Registry registry;
  DockerHubFake hub(registry, TwoUsers());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(21));
  ImageSpec arm = SmallImage(23, "arm64");
  arm.variant = "v8";
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(22), arm});
  Push(layout.path(), "x", hub, "alice/app", "v1");  // skopeo: Bearer challenge, /token, push
  Push(layout.path(), "multi", hub, "alice/multi", "1.0");

  EXPECT_EQ(HeadDigest(registry, "alice/app", "v1"), image.digest);
  EXPECT_EQ(HeadDigest(hub, "alice/app", "v1"), image.digest);  // Basic through the fake
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(hub, "alice/multi", "1.0")), multi.digest);

  HttpAnswer repos = CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {}, {}, "");
  ASSERT_EQ(repos.status, 200) << repos.body;
  json r = Body(repos);
  EXPECT_EQ(r["count"], 2);
  EXPECT_TRUE(r["next"].is_null());
  EXPECT_TRUE(r["previous"].is_null());
  EXPECT_EQ(Names(r["results"]), (std::vector<std::string>{"app", "multi"}));
  EXPECT_EQ(r["results"][0]["namespace"], "alice");
  EXPECT_EQ(r["results"][0]["repository_type"], "image");
  EXPECT_EQ(r["results"][0]["is_private"], false);
  EXPECT_TRUE(r["results"][0]["last_updated"].is_string());

  json tags = Body(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/app/tags", {}, {}, ""));
  ASSERT_EQ(tags["count"], 1);
  EXPECT_EQ(tags["results"][0]["name"], "v1");
  EXPECT_EQ(tags["results"][0]["digest"], image.digest);
  EXPECT_EQ(tags["results"][0]["media_type"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(tags["results"][0]["images"][0]["architecture"], "amd64");
  json index_tags = Body(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/multi/tags", {}, {}, ""));
  EXPECT_EQ(index_tags["results"][0]["digest"], multi.digest);
  ASSERT_EQ(index_tags["results"][0]["images"].size(), 2u);
  EXPECT_EQ(index_tags["results"][0]["images"][1]["architecture"], "arm64");
  EXPECT_EQ(index_tags["results"][0]["images"][1]["variant"], "v8");
  EXPECT_EQ(index_tags["results"][0]["images"][1]["digest"], multi.manifests[1].digest);

  // The legacy endpoints Harbor's adapter calls answer the same.
  EXPECT_EQ(Names(Body(CurlRequest(hub, "GET", "/v2/repositories/alice/?page=1&page_size=100"))["results"]),
            (std::vector<std::string>{"app", "multi"}));
  json legacy = Body(CurlRequest(hub, "GET", "/v2/repositories/alice/app/tags/?page_size=100"));
  EXPECT_EQ(legacy["results"][0]["digest"], image.digest);
  EXPECT_EQ(Body(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/app"))["name"], "app");
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/nope").status, 404);
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/nobody/repositories").status, 404);
  EXPECT_EQ(Body(CurlRequest(hub, "GET", "/v2/namespaces/bob/repositories"))["count"], 0);

  FakeStats stats = hub.GetStats();
  EXPECT_GT(stats.token, 0);
  EXPECT_GT(stats.v2, 0);
  EXPECT_GE(stats.api, 7);
  EXPECT_EQ(stats.requests, stats.api + stats.v2 + stats.token);
}

TEST(DockerHubFakeTest, ListsAreDjangoPagesWithAbsoluteUrls) {
  Registry registry;
  DockerHubFake hub(registry, TwoUsers());
  Seed(registry, "alice/app", "t000", 24);
  std::vector<std::string> more;
  for (int i = 1; i <= 100; ++i) {
    std::string n = std::to_string(i);
    more.push_back("t" + std::string(3 - n.size(), '0') + n);
  }
  PushManifestUnderTags(registry, "alice/app", "t000", more);  // 101 tags

  const std::string path = "/v2/namespaces/alice/repositories/app/tags";
  const std::string absolute = hub.url() + path;
  json p1 = Body(CurlRequest(hub, "GET", path + "?page_size=40"));
  EXPECT_EQ(p1["count"], 101);
  EXPECT_EQ(p1["results"].size(), 40u);
  EXPECT_EQ(p1["next"], absolute + "?page=2&page_size=40");
  EXPECT_TRUE(p1["previous"].is_null());
  json p2 = Body(CurlRequest(hub, "GET", p1["next"].get<std::string>().substr(hub.url().size())));
  EXPECT_EQ(p2["previous"], absolute + "?page_size=40");  // DRF drops page=1
  EXPECT_EQ(p2["next"], absolute + "?page=3&page_size=40");
  json p3 = Body(CurlRequest(hub, "GET", path + "?page=3&page_size=40"));
  EXPECT_EQ(p3["results"].size(), 21u);
  EXPECT_TRUE(p3["next"].is_null());
  EXPECT_EQ(p3["previous"], absolute + "?page=2&page_size=40");
  std::set<std::string> seen;
  for (const json* p : {&p1, &p2, &p3}) {
    for (const std::string& n : Names((*p)["results"])) seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 101u);

  HttpAnswer past = CurlRequest(hub, "GET", path + "?page=4&page_size=40");
  EXPECT_EQ(past.status, 404);
  EXPECT_EQ(Body(past), json({{"detail", "Invalid page."}}));
  EXPECT_EQ(CurlRequest(hub, "GET", path + "?page=abc").status, 404);
  json capped = Body(CurlRequest(hub, "GET", path + "?page_size=500"));  // max 100
  EXPECT_EQ(capped["results"].size(), 100u);
  EXPECT_EQ(capped["next"], absolute + "?page=2&page_size=500");
  EXPECT_EQ(Body(CurlRequest(hub, "GET", path))["results"].size(), 10u);  // the default
  // Other parameters are kept, sorted by key, re-encoded.
  json filtered = Body(CurlRequest(hub, "GET", path + "?page_size=5&name=t09"));
  EXPECT_EQ(filtered["count"], 10);
  EXPECT_EQ(filtered["next"], absolute + "?name=t09&page=2&page_size=5");
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories?ordering=stars").status, 400);
}

TEST(DockerHubFakeTest, AuthenticatesTheHubApiAndTheRegistryAsDockerHubDoes) {
  Registry registry;
  DockerHubFake hub(registry, TwoUsers());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(25));
  Push(layout.path(), "x", registry, "alice/app", "v1");

  HttpAnswer wrong = Send(hub, "POST", "/v2/auth/token", {{"identifier", "alice"}, {"secret", "nope"}}, {}, "");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Body(wrong), json({{"detail", "Incorrect authentication credentials"}}));
  const std::string alice = hub.HubToken("alice"), bob = hub.HubToken("bob");

  // Repository creation: own namespaces (and organizations) only.
  const json secret = {{"name", "secret"}, {"namespace", "alice"}, {"is_private", true}};
  HttpAnswer created = Send(hub, "POST", "/v2/namespaces/alice/repositories", secret, {"-H", Bearer(alice)}, "");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created)["is_private"], true);
  EXPECT_EQ(Send(hub, "POST", "/v2/namespaces/alice/repositories", secret, {"-H", Bearer(alice)}, "").status, 409);
  EXPECT_EQ(Send(hub, "POST", "/v2/namespaces/alice/repositories", secret, {}, "").status, 401);
  HttpAnswer foreign = Send(hub, "POST", "/v2/namespaces/alice/repositories", {{"name", "mine"}}, {"-H", Bearer(bob)}, "");
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(Body(foreign)["detail"], "You do not have permission to perform this action.");
  EXPECT_EQ(Send(hub, "POST", "/v2/namespaces/acme/repositories", {{"name", "tool"}}, {"-H", Bearer(bob)}, "").status, 201);
  EXPECT_EQ(Send(hub, "POST", "/v2/namespaces/alice/repositories", {{"name", "A"}}, {"-H", Bearer(alice)}, "").status, 400);
  // A created repository exists before anything is pushed; a private one only for its owners.
  EXPECT_EQ(Names(Body(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {}, {}, ""))["results"]),
            std::vector<std::string>{"app"});
  EXPECT_EQ(Names(Body(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {"-H", Bearer(alice)}, {}, ""))["results"]),
            (std::vector<std::string>{"app", "secret"}));
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/secret/tags", {}, {}, "").status, 404);
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/secret/tags", {"-H", Bearer(alice)}, {}, "").status, 200);
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {"-H", Bearer("nonsense")}, {}, "").status, 401);

  // The registry's challenge, token service and scopes.
  HttpAnswer ping = CurlRequest(hub, "GET", "/v2/", {}, {}, "");
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(ping.headers["www-authenticate"],
            "Bearer realm=\"" + hub.url() + "/token\",service=\"registry.docker.io\"");
  HttpAnswer bad_token = CurlRequest(hub, "GET", "/token?service=registry.docker.io&scope=repository:alice/app:pull", {}, {}, "alice:nope");
  EXPECT_EQ(bad_token.status, 401);
  EXPECT_EQ(Body(bad_token), json({{"details", "incorrect username or password"}}));
  HttpAnswer bobs = CurlRequest(hub, "GET", "/token?service=registry.docker.io&scope=repository:alice/app:pull,push", {}, {}, "bob:dckr_pat_bob");
  ASSERT_EQ(bobs.status, 200) << bobs.body;
  EXPECT_EQ(Body(bobs)["token"], Body(bobs)["access_token"]);
  EXPECT_EQ(Body(bobs)["expires_in"], 300);
  const std::string bob_registry = Body(bobs)["token"];
  EXPECT_EQ(CurlRequest(hub, "HEAD", "/v2/alice/app/manifests/v1", WithToken(bob_registry)).status, 200);
  HttpAnswer denied = CurlRequest(hub, "POST", "/v2/alice/app/blobs/uploads/", {"-H", Bearer(bob_registry), "--data", ""});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["www-authenticate"],
            "Bearer realm=\"" + hub.url() + "/token\",service=\"registry.docker.io\","
            "scope=\"repository:alice/app:pull,push\",error=\"insufficient_scope\"");
  EXPECT_EQ(CurlRequest(hub, "HEAD", "/v2/alice/app/manifests/v1", {"-H", Bearer("nonsense")}).headers["www-authenticate"],
            "Bearer realm=\"" + hub.url() + "/token\",service=\"registry.docker.io\","
            "scope=\"repository:alice/app:pull\",error=\"invalid_token\"");
  EXPECT_THROW(Push(layout.path(), "x", hub.As("bob"), "alice/app", "v2"), HarnessError);
  EXPECT_EQ(HeadDigest(hub.As("bob"), "alice/app", "v1"), image.digest);  // public: bob may pull
  EXPECT_EQ(CurlRequest(hub.As("bob"), "HEAD", "/v2/alice/secret/manifests/v1").status, 401);
  Push(layout.path(), "x", hub.As("bob"), "acme/tool", "v1");  // an organization of bob's
  EXPECT_EQ(HeadDigest(registry, "acme/tool", "v1"), image.digest);
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/_catalog").status, 401);
  EXPECT_EQ(CurlRequest(hub, "DELETE", "/v2/alice/app/manifests/" + image.digest).status, 405);
}

TEST(DockerHubFakeTest, HubAndRegistryTokensExpire) {
  Registry registry;
  DockerHubFake::Options o = TwoUsers();
  o.token_lifetime = 1;
  o.registry_token_lifetime = 1;
  DockerHubFake hub(registry, o);
  Seed(registry, "alice/app", "v1", 26);
  auto issued = std::chrono::steady_clock::now();
  const std::string api = hub.HubToken();
  HttpAnswer t = CurlRequest(hub, "GET", "/token?service=registry.docker.io&scope=repository:alice/app:pull");
  const std::string registry_token = Body(t)["token"];
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {"-H", Bearer(api)}, {}, "").status, 200);
  EXPECT_EQ(CurlRequest(hub, "HEAD", "/v2/alice/app/manifests/v1", WithToken(registry_token)).status, 200);
  std::this_thread::sleep_until(issued + milliseconds(1300));
  HttpAnswer api_stale = CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {"-H", Bearer(api)}, {}, "");
  EXPECT_EQ(api_stale.status, 401);
  EXPECT_EQ(Body(api_stale), json({{"detail", "token expired"}}));
  HttpAnswer registry_stale = CurlRequest(hub, "HEAD", "/v2/alice/app/manifests/v1", WithToken(registry_token));
  EXPECT_EQ(registry_stale.status, 401);
  EXPECT_NE(registry_stale.headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos);
}

TEST(DockerHubFakeTest, PullRateLimitCountsManifestGetsButNotHeads) {
  Registry registry;
  DockerHubFake::Options o = TwoUsers();
  o.pull_limit = 3;
  o.retry_after = 2;
  DockerHubFake hub(registry, o);
  Seed(registry, "alice/app", "v1", 27);
  const std::vector<std::string> accept = {"-H", "Accept: application/vnd.oci.image.manifest.v1+json"};
  const std::string manifest = "/v2/alice/app/manifests/v1";

  HttpAnswer head = CurlRequest(hub, "HEAD", manifest, accept);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["ratelimit-limit"], "3;w=21600");
  EXPECT_EQ(head.headers["ratelimit-remaining"], "3;w=21600");
  for (int left = 2; left >= 0; --left) {
    HttpAnswer get = CurlRequest(hub, "GET", manifest, accept);
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.headers["ratelimit-remaining"], std::to_string(left) + ";w=21600");
  }
  EXPECT_EQ(CurlRequest(hub, "HEAD", manifest, accept).status, 200);  // a HEAD is no pull
  HttpAnswer refused = CurlRequest(hub, "GET", manifest, accept);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers["retry-after"], "2");
  EXPECT_EQ(refused.body,
            "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"You have reached your pull rate limit. "
            "You may increase the limit by authenticating and upgrading: "
            "https://www.docker.com/increase-rate-limits\"}]}");
  hub.SetPullBudget(1);
  EXPECT_EQ(CurlRequest(hub, "GET", manifest, accept).status, 200);
  EXPECT_EQ(CurlRequest(hub, "GET", manifest, accept).status, 429);
  EXPECT_EQ(CurlRequest(hub, "HEAD", "/v2/alice/app/blobs/sha256:" + std::string(64, '0')).headers.count("ratelimit-limit"), 0u);
}

TEST(DockerHubFakeTest, InjectedApi429sCarryRetryAfterOrXRetryAfter) {
  Registry registry;
  DockerHubFake::Options o = TwoUsers();
  o.api_429 = 2;
  DockerHubFake hub(registry, o);
  for (int i = 0; i < 2; ++i) {
    HttpAnswer limited = CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {}, {}, "");
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.headers["retry-after"], "1");
    EXPECT_EQ(Body(limited), json({{"detail", "Rate limit exceeded"}, {"error", false}}));
  }
  EXPECT_EQ(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories", {}, {}, "").status, 200);

  DockerHubFake::Options x = TwoUsers();
  x.api_429 = 1;
  x.x_retry_after = true;
  DockerHubFake old(registry, x);
  EXPECT_EQ(CurlRequest(old, "GET", "/v2/", {}, {}, "").status, 401);  // the registry is not throttled
  const long now = static_cast<long>(std::time(nullptr));
  HttpAnswer limited = Send(old, "POST", "/v2/auth/token", {{"identifier", "alice"}, {"secret", "dckr_pat_alice"}}, {}, "");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.count("retry-after"), 0u);
  EXPECT_GE(std::stol(limited.headers["x-retry-after"]), now);
  EXPECT_FALSE(old.HubToken().empty());
}

TEST(DockerHubFakeTest, TagDeleteRemovesOneTagFromStorage) {
  Registry registry;
  DockerHubFake hub(registry, TwoUsers());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(28));
  Push(layout.path(), "x", hub, "alice/app", "v1");
  PushManifestUnderTag(hub, "alice/app", "v1", "v2");
  const std::string alice = hub.HubToken("alice"), bob = hub.HubToken("bob");

  EXPECT_EQ(CurlRequest(hub, "DELETE", "/v2/namespaces/alice/repositories/app/tags/v1", {}, {}, "").status, 401);
  EXPECT_EQ(CurlRequest(hub, "DELETE", "/v2/namespaces/alice/repositories/app/tags/v1", {"-H", Bearer(bob)}, {}, "").status, 403);
  EXPECT_EQ(CurlRequest(hub, "DELETE", "/v2/namespaces/alice/repositories/app/tags/v1", {"-H", Bearer(alice)}, {}, "").status, 204);
  EXPECT_EQ(ListTags(registry, "alice/app"), std::vector<std::string>{"v2"});
  EXPECT_EQ(CurlRequest(hub, "DELETE", "/v2/repositories/alice/app/tags/v2/", {"-H", Bearer(alice)}, {}, "").status, 204);
  EXPECT_EQ(ListTags(registry, "alice/app"), std::vector<std::string>{});
  EXPECT_EQ(HeadDigest(registry, "alice/app", image.digest), image.digest);  // the manifest stays
  EXPECT_EQ(CurlRequest(hub, "DELETE", "/v2/repositories/alice/app/tags/v2/", {"-H", Bearer(alice)}, {}, "").status, 404);
  EXPECT_EQ(Body(CurlRequest(hub, "GET", "/v2/namespaces/alice/repositories/app/tags"))["count"], 0);
}

// ------------------------------------------------------------- streaming ----

// The high-water mark of PID's resident memory, in KiB.
long PeakRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(VendorFakeStreamingTest, BlobsStreamThroughTheFakesBothWaysWithFlatMemory) {
  Registry registry;
  HarborFake harbor(registry, TeamHarbor());
  TempDir layout;
  ImageSpec big;
  big.layers = {LayerSpec{128ull << 20, 99, /*gzip=*/false}};
  BuiltImage image = BuildImage(layout.path(), "big", big);
  const std::string layer = image.blobs[1];
  // Warm the fake up (threads, TLS-less clients), then measure.
  EXPECT_EQ(CurlRequest(harbor, "GET", "/v2/").status, 200);
  const long before = PeakRssKib(harbor.process().pid());
  ASSERT_GT(before, 0);

  Push(layout.path(), "big", harbor, "team/big", "v1");  // skopeo: chunked PATCH upload
  EXPECT_EQ(HeadDigest(registry, "team/big", "v1"), image.digest);
  RunResult pulled = RunCommand({"sh", "-c",
                                 "curl -sS --fail --noproxy '*' -u admin:Harbor12345 \"$0\" | sha256sum",
                                 harbor.url() + "/v2/team/big/blobs/" + layer});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ("sha256:" + pulled.out.substr(0, 64), layer);

  const long grown_mib = (PeakRssKib(harbor.process().pid()) - before) / 1024;
  EXPECT_LT(grown_mib, 48) << "the fake held a 128 MiB blob in memory (grew " << grown_mib << " MiB)";
}


// ------------------------------------------------------------------ Quay ----

QuayFake::Options QuayTeam() {
  QuayFake::Options o;
  o.users = {{"alice", "alice-cli"}, {"bob", "bob-cli"}};
  o.oauth_tokens = {{"oauth-alice", "alice"}, {"oauth-bob", "bob"}};
  o.orgs = {{"acme", "alice"}};
  return o;
}

// The sum of the layer sizes MANIFEST names (what Quay's "size" and GitLab's
// "total_size" are).
uint64_t LayersSize(const std::string& manifest) {
  const json parsed = json::parse(manifest);
  uint64_t size = 0;
  for (const json& l : parsed.at("layers")) size += l.at("size").get<uint64_t>();
  return size;
}

// A GET of the Quay API with USER's OAuth token ("" for none).
HttpAnswer QuayGet(const QuayFake& quay, const std::string& path, const std::string& user = "alice") {
  std::vector<std::string> args;
  if (!user.empty()) args = {"-H", Bearer(quay.OAuthToken(user))};
  return CurlRequest(quay, "GET", path, args, {}, "");
}

// The token /v2/auth gives for SCOPE with CREDENTIALS ("user:pass" or "").
std::string QuayToken(const QuayFake& quay, const std::string& scope, const std::string& credentials) {
  HttpAnswer got = CurlRequest(quay, "GET", "/v2/auth?service=" + quay.host() + "&scope=" + scope, {}, {}, credentials);
  if (got.status != 200) throw HarnessError("/v2/auth answered " + std::to_string(got.status) + ": " + got.body);
  return Body(got).at("token").get<std::string>();
}

TEST(QuayFakeTest, SkopeoPushThroughTheFakeLandsInTheRegistryAndTheApiListsIt) {
  Registry registry;
  QuayFake quay(registry, QuayTeam());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(31));
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(32), SmallImage(33, "arm64")});
  Push(layout.path(), "x", quay, "alice/app", "v1");  // skopeo: Bearer challenge, /v2/auth, push
  Push(layout.path(), "multi", quay, "acme/team/multi", "2.0");  // an organization, a nested name
  Seed(registry, "acme/seeded", "v1", 34);  // behind the fake's back: public

  EXPECT_EQ(HeadDigest(registry, "alice/app", "v1"), image.digest);
  EXPECT_EQ(HeadDigest(registry, "acme/team/multi", "2.0"), multi.digest);
  EXPECT_EQ(HeadDigest(quay, "alice/app", "v1"), image.digest);  // Basic through the fake
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(quay, "acme/team/multi", "2.0")), multi.digest);

  json repos = Body(QuayGet(quay, "/api/v1/repository?namespace=acme"));
  ASSERT_EQ(repos["repositories"].size(), 2u) << repos.dump();
  EXPECT_FALSE(repos.contains("next_page"));
  EXPECT_EQ(repos["repositories"][0]["name"], "team/multi");  // created at push-token time, first
  EXPECT_EQ(repos["repositories"][0]["namespace"], "acme");
  EXPECT_EQ(repos["repositories"][0]["is_public"], false);  // CREATE_PRIVATE_REPO_ON_PUSH
  EXPECT_EQ(repos["repositories"][1]["name"], "seeded");
  EXPECT_EQ(repos["repositories"][1]["is_public"], true);
  // Anonymous callers see public repositories only, and only when they ask for them.
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/repository?namespace=acme", ""))["repositories"].size(), 0u);
  EXPECT_EQ(Names(Body(QuayGet(quay, "/api/v1/repository?namespace=acme&public=true", ""))["repositories"]),
            std::vector<std::string>{"seeded"});
  EXPECT_EQ(QuayGet(quay, "/api/v1/repository").status, 400);

  json tags = Body(QuayGet(quay, "/api/v1/repository/acme/team/multi/tag/?limit=100&page=1&onlyActiveTags=true"));
  ASSERT_EQ(tags["tags"].size(), 1u) << tags.dump();
  EXPECT_EQ(tags["page"], 1);
  EXPECT_EQ(tags["has_additional"], false);
  const json t = tags["tags"][0];
  EXPECT_EQ(t["name"], "2.0");
  EXPECT_EQ(t["manifest_digest"], multi.digest);
  EXPECT_EQ(t["is_manifest_list"], true);
  EXPECT_EQ(t["child_manifest_count"], 2);
  EXPECT_EQ(t["is_sparse"], false);
  EXPECT_TRUE(t["size"].is_null());
  EXPECT_NE(t["last_modified"].get<std::string>().find(" -0000"), std::string::npos) << t.dump();
  json single = Body(QuayGet(quay, "/api/v1/repository/alice/app/tag/?onlyActiveTags=true"))["tags"][0];
  EXPECT_EQ(single["manifest_digest"], image.digest);
  EXPECT_EQ(single["is_manifest_list"], false);
  EXPECT_EQ(single["size"], LayersSize(SkopeoInspectRaw(registry, "alice/app", "v1")));
  json details = Body(QuayGet(quay, "/api/v1/repository/alice/app"));
  EXPECT_EQ(details["tags"]["v1"]["manifest_digest"], image.digest);
  EXPECT_EQ(details["is_organization"], false);

  // The catalog: what the caller may read, nothing for anonymous callers.
  HttpAnswer catalog = CurlRequest(quay.As("bob"), "GET", "/v2/_catalog");
  EXPECT_EQ(catalog.status, 200);
  EXPECT_EQ(Body(catalog)["repositories"].size(), 0u);
  EXPECT_EQ(Body(CurlRequest(quay, "GET", "/v2/_catalog"))["repositories"],
            json({"alice/app", "acme/team/multi", "acme/seeded"}));
  EXPECT_EQ(Body(CurlRequest(quay, "GET", "/v2/_catalog", {}, {}, ""))["repositories"].size(), 0u);

  json me = Body(QuayGet(quay, "/api/v1/user/"));
  EXPECT_EQ(me["username"], "alice");
  EXPECT_EQ(me["organizations"][0]["name"], "acme");
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/organization/acme"))["is_admin"], true);
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/organization/acme", "bob"))["is_member"], false);
  EXPECT_EQ(QuayGet(quay, "/api/v1/organization/alice").status, 404);  // a user, no organization

  json secret = json::parse(quay.JsonFileSecret("alice"));
  EXPECT_EQ(secret, json({{"account_name", "alice"}, {"docker_cli_password", "alice-cli"}, {"oauth2_token", "oauth-alice"}}));

  FakeStats stats = quay.GetStats();
  EXPECT_GT(stats.token, 0);
  EXPECT_GT(stats.v2, 0);
  EXPECT_GE(stats.api, 10);
  EXPECT_EQ(stats.requests, stats.api + stats.v2 + stats.token);
  EXPECT_EQ(stats.by_path["api"], stats.api);
  quay.ResetStats();
  EXPECT_EQ(quay.GetStats().requests, 0);
}

TEST(QuayFakeTest, CatalogRepositoriesAndTagsArePaged) {
  Registry registry;
  QuayFake::Options o = QuayTeam();
  o.page_size = 2;
  QuayFake quay(registry, o);
  for (const char* repo : {"acme/a", "acme/b", "acme/c", "acme/d", "acme/e"}) Seed(registry, repo, "t0", 35);
  std::vector<std::string> more;
  for (int i = 1; i <= 4; ++i) more.push_back("t" + std::to_string(i));
  PushManifestUnderTags(registry, "acme/a", "t0", more);  // 5 tags

  // _catalog: n capped at the page size, a relative Link with an opaque next_page.
  HttpAnswer first = CurlRequest(quay, "GET", "/v2/_catalog?n=10");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Body(first)["repositories"], json({"acme/a", "acme/b"}));
  const std::string link = first.headers["link"];
  ASSERT_EQ(link.rfind("</v2/_catalog?n=2&next_page=", 0), 0u) << link;
  ASSERT_EQ(link.substr(link.size() - 13), ">; rel=\"next\"") << link;
  std::vector<std::string> all = {"acme/a", "acme/b"};
  std::string next = link.substr(1, link.find('>') - 1);
  int pages = 1;
  while (!next.empty()) {
    HttpAnswer page = CurlRequest(quay, "GET", next);
    ASSERT_EQ(page.status, 200);
    for (const std::string& n : Body(page)["repositories"].get<std::vector<std::string>>()) all.push_back(n);
    const std::string l = page.headers["link"];
    next = l.empty() ? "" : l.substr(1, l.find('>') - 1);
    ASSERT_LT(++pages, 5);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all, (std::vector<std::string>{"acme/a", "acme/b", "acme/c", "acme/d", "acme/e"}));
  EXPECT_EQ(Body(CurlRequest(quay, "GET", "/v2/_catalog?n=abc"))["repositories"].size(), 1u);  // a bad n is 1
  // An unknown next_page starts over, as a token that fails to decrypt does.
  EXPECT_EQ(Body(CurlRequest(quay, "GET", "/v2/_catalog?n=2&next_page=bogus"))["repositories"], json({"acme/a", "acme/b"}));

  // The repository list: next_page in the body.
  json r1 = Body(QuayGet(quay, "/api/v1/repository?namespace=acme"));
  EXPECT_EQ(Names(r1["repositories"]), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(r1["next_page"].is_string());
  json r2 = Body(QuayGet(quay, "/api/v1/repository?namespace=acme&next_page=" + r1["next_page"].get<std::string>()));
  EXPECT_EQ(Names(r2["repositories"]), (std::vector<std::string>{"c", "d"}));
  json r3 = Body(QuayGet(quay, "/api/v1/repository?namespace=acme&next_page=" + r2["next_page"].get<std::string>()));
  EXPECT_EQ(Names(r3["repositories"]), std::vector<std::string>{"e"});
  EXPECT_FALSE(r3.contains("next_page"));

  // Tags: page and limit (capped), has_additional.
  std::set<std::string> seen;
  for (int page = 1; page <= 3; ++page) {
    json t = Body(QuayGet(quay, "/api/v1/repository/acme/a/tag/?onlyActiveTags=true&limit=100&page=" + std::to_string(page)));
    EXPECT_EQ(t["page"], page);
    EXPECT_EQ(t["tags"].size(), page < 3 ? 2u : 1u);
    EXPECT_EQ(t["has_additional"], page < 3);
    for (const std::string& n : Names(t["tags"])) seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/repository/acme/a/tag/?page=4"))["tags"].size(), 0u);
  EXPECT_EQ(QuayGet(quay, "/api/v1/repository/acme/a/tag/?limit=abc").status, 400);
  json specific = Body(QuayGet(quay, "/api/v1/repository/acme/a/tag/?specificTag=t3"));
  EXPECT_EQ(Names(specific["tags"]), std::vector<std::string>{"t3"});
}

TEST(QuayFakeTest, RefusesWhatQuayRefuses) {
  Registry registry;
  QuayFake quay(registry, QuayTeam());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(36));
  Push(layout.path(), "x", quay, "acme/app", "v1");
  Seed(registry, "alice/pub", "v1", 37);

  // The challenge of /v2/ and the token endpoint's refusals.
  const std::string realm = "Bearer realm=\"" + quay.url() + "/v2/auth\",service=\"" + quay.host() + "\"";
  HttpAnswer ping = CurlRequest(quay, "GET", "/v2/", {}, {}, "");
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(ping.headers["www-authenticate"], realm);
  EXPECT_EQ(ping.body, "true");
  HttpAnswer wrong = CurlRequest(quay, "GET", "/v2/auth?service=" + quay.host() + "&scope=repository:acme/app:pull", {}, {},
                                 "alice:nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Body(wrong), json({{"errors", {{{"code", "UNAUTHORIZED"}, {"message", "Invalid Username or Password"},
                                             {"detail", json::object()}}}}}));
  EXPECT_EQ(CurlRequest(quay, "GET", "/v2/auth?service=" + quay.host(), {}, {}, "").status, 401);
  HttpAnswer catalog_scope = CurlRequest(quay, "GET", "/v2/auth?service=" + quay.host() + "&scope=registry:catalog:*");
  EXPECT_EQ(catalog_scope.status, 400);
  EXPECT_EQ(Body(catalog_scope)["errors"][0]["code"], "INVALID_REQUEST");
  EXPECT_EQ(CurlRequest(quay, "GET", "/v2/auth?service=" + quay.host() + "&scope=repository:acme/Bad:pull").status, 400);

  // Scopes are downscoped: bob is no owner of acme, ghost does not exist.
  const std::string bobs = QuayToken(quay, "repository:acme/app:pull,push", "bob:bob-cli");
  HttpAnswer denied = CurlRequest(quay, "POST", "/v2/acme/app/blobs/uploads/", {"-H", Bearer(bobs), "--data", ""});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["www-authenticate"], realm + ",scope=\"repository:acme/app:pull,push\"");
  EXPECT_EQ(Body(denied)["errors"][0]["message"], "access to the requested resource is not authorized");
  EXPECT_EQ(CurlRequest(quay, "HEAD", "/v2/acme/app/manifests/v1", WithToken(bobs)).status, 401);  // private
  EXPECT_THROW(Push(layout.path(), "x", quay.As("bob"), "acme/app", "v2"), HarnessError);
  EXPECT_THROW(Push(layout.path(), "x", quay, "ghost/app", "v1"), HarnessError);  // no namespace
  const std::string ghost = QuayToken(quay, "repository:ghost/app:pull,push", "alice:alice-cli");
  EXPECT_EQ(CurlRequest(quay, "POST", "/v2/ghost/app/blobs/uploads/", {"-H", Bearer(ghost), "--data", ""}).status, 401);
  EXPECT_EQ(ListTags(registry, "acme/app"), std::vector<std::string>{"v1"});
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/repository?namespace=ghost"))["repositories"].size(), 0u);
  // Public repositories are readable by anyone, without any token.
  EXPECT_EQ(CurlRequest(quay, "HEAD", "/v2/alice/pub/manifests/v1",
                        {"-H", "Accept: application/vnd.oci.image.manifest.v1+json"}, {}, "")
                .status,
            200);
  EXPECT_EQ(CurlRequest(quay, "HEAD", "/v2/acme/app/manifests/v1", {}, {}, "").status, 401);
  EXPECT_EQ(HeadDigest(quay.As("bob"), "alice/pub", "v1"), HeadDigest(registry, "alice/pub", "v1"));
  // A bad token, or one asked for another service, is refused.
  HttpAnswer bogus = CurlRequest(quay, "GET", "/v2/", {"-H", Bearer("nonsense")});
  EXPECT_EQ(bogus.status, 401);
  EXPECT_TRUE(Body(bogus)["error"].is_string());
  HttpAnswer other = CurlRequest(quay, "GET", "/v2/auth?service=quay.io&scope=repository:acme/app:pull");
  EXPECT_EQ(CurlRequest(quay, "HEAD", "/v2/acme/app/manifests/v1", WithToken(Body(other)["token"])).status, 401);

  // The API: a refusal is 401 anonymous, 403 for a user; Basic is not read there.
  HttpAnswer anonymous = QuayGet(quay, "/api/v1/repository/acme/app/tag/", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Body(anonymous)["error_type"], "invalid_token");
  EXPECT_EQ(Body(anonymous)["error_message"], "Requires authentication");
  EXPECT_EQ(Body(anonymous)["type"], quay.url() + "/api/v1/error/invalid_token");
  HttpAnswer foreign = QuayGet(quay, "/api/v1/repository/acme/app/tag/", "bob");
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(Body(foreign)["error_type"], "insufficient_scope");
  EXPECT_EQ(CurlRequest(quay, "GET", "/api/v1/user/").status, 401);  // Basic only
  EXPECT_EQ(CurlRequest(quay, "GET", "/api/v1/user/", {"-H", Bearer("bogus")}, {}, "").status, 401);
  EXPECT_EQ(QuayGet(quay, "/api/v1/repository/acme/nope/tag/").status, 404);  // an owner: 404
  EXPECT_EQ(QuayGet(quay, "/api/v1/repository/acme/nope/tag/", "bob").status, 403);
  EXPECT_EQ(QuayGet(quay, "/api/v1/repository/alice/pub/tag/", "").status, 200);  // public
  (void)image;
}

TEST(QuayFakeTest, RegistryTokensExpire) {
  Registry registry;
  QuayFake::Options o = QuayTeam();
  o.token_lifetime = 1;
  QuayFake quay(registry, o);
  Seed(registry, "acme/app", "v1", 38);
  auto issued = std::chrono::steady_clock::now();
  const std::string token = QuayToken(quay, "repository:acme/app:pull", "alice:alice-cli");
  EXPECT_EQ(CurlRequest(quay, "HEAD", "/v2/acme/app/manifests/v1", WithToken(token)).status, 200);
  std::this_thread::sleep_until(issued + milliseconds(1300));
  HttpAnswer stale = CurlRequest(quay, "HEAD", "/v2/acme/app/manifests/v1", WithToken(token));
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(stale.headers["www-authenticate"],
            "Bearer realm=\"" + quay.url() + "/v2/auth\",service=\"" + quay.host() + "\",scope=\"repository:acme/app:pull\"");
}

TEST(QuayFakeTest, OrganizationCreationNeedsAnOAuthTokenAndMeetsTheCaptcha) {
  Registry registry;
  QuayFake quay(registry, QuayTeam());
  EXPECT_EQ(QuayGet(quay, "/api/v1/organization/neworg").status, 404);
  HttpAnswer anonymous = quay.CreateOrg("neworg", "-");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Body(anonymous)["error_message"], "Requires authentication");
  HttpAnswer created = quay.CreateOrg("neworg", "bob");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created), "Created");
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/organization/neworg", "bob"))["is_admin"], true);
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/organization/neworg", "bob"))["email"], "neworg@quay.io");
  EXPECT_EQ(Body(QuayGet(quay, "/api/v1/organization/neworg", "alice"))["email"], "");

  HttpAnswer again = quay.CreateOrg("neworg", "alice");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(Body(again)["error_message"], "A user or organization with this name already exists");
  EXPECT_EQ(Body(again)["error_type"], "invalid_request");
  EXPECT_EQ(Body(quay.CreateOrg("alice", "alice"))["error_message"], "A user or organization with this name already exists");
  HttpAnswer bad = quay.CreateOrg("Bad_Org", "alice");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error_message"],
            "Invalid namespace Bad_Org: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$");
  HttpAnswer no_body = CurlRequest(quay, "POST", "/api/v1/organization/", {"-H", Bearer(quay.OAuthToken())}, {}, "");
  EXPECT_EQ(no_body.status, 400);
  EXPECT_EQ(Body(no_body)["error_message"], "Missing JSON body");

  // The new organization takes its creator's pushes at once, and nobody else's.
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(39));
  Push(layout.path(), "x", quay.As("bob"), "neworg/app", "v1");
  EXPECT_EQ(HeadDigest(registry, "neworg/app", "v1"), image.digest);
  EXPECT_THROW(Push(layout.path(), "x", quay, "neworg/app", "v2"), HarnessError);

  // quay.io: FEATURE_RECAPTCHA turns every creation down.
  QuayFake::Options o = QuayTeam();
  o.captcha = true;
  QuayFake io(registry, o);
  HttpAnswer bot = io.CreateOrg("another", "alice");
  EXPECT_EQ(bot.status, 400);
  EXPECT_EQ(Body(bot), json({{"message", "Are you a bot? If not, please revalidate the captcha."}}));
  EXPECT_EQ(io.CreateOrg("another", "-").status, 401);
  EXPECT_EQ(QuayGet(io, "/api/v1/organization/another").status, 404);
}

TEST(QuayFakeTest, ManifestPutAnswers202UnlessTurnedOff) {
  Registry registry;
  QuayFake quay(registry, QuayTeam());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(40));
  Push(layout.path(), "x", quay, "acme/app", "v1");  // skopeo takes the 202
  EXPECT_EQ(HeadDigest(registry, "acme/app", "v1"), image.digest);
  const std::string manifest = SkopeoInspectRaw(quay, "acme/app", "v1");
  WriteFile(layout.Sub("manifest.json"), manifest);
  const std::vector<std::string> put = {"-H", "Content-Type: " + image.media_type, "--data-binary",
                                        "@" + layout.Sub("manifest.json")};
  HttpAnswer accepted = CurlRequest(quay, "PUT", "/v2/acme/app/manifests/v2", put);
  EXPECT_EQ(accepted.status, 202);
  EXPECT_EQ(accepted.headers["docker-content-digest"], image.digest);
  EXPECT_EQ(HeadDigest(registry, "acme/app", "v2"), image.digest);

  QuayFake::Options o = QuayTeam();
  o.manifest_put_202 = false;
  QuayFake current(registry, o);
  EXPECT_EQ(CurlRequest(current, "PUT", "/v2/acme/app/manifests/v3", put).status, 201);
}

TEST(QuayFakeTest, TagDeleteRemovesOneTagAndShowsInTheHistory) {
  Registry registry;
  QuayFake quay(registry, QuayTeam());
  BuiltImage image = Seed(registry, "acme/app", "v1", 41);
  PushManifestUnderTags(registry, "acme/app", "v1", {"v2", "v3"});
  const std::vector<std::string> alice = {"-H", Bearer(quay.OAuthToken("alice"))};

  EXPECT_EQ(CurlRequest(quay, "DELETE", "/api/v1/repository/acme/app/tag/v1", {}, {}, "").status, 401);
  EXPECT_EQ(CurlRequest(quay, "DELETE", "/api/v1/repository/acme/app/tag/v1", {"-H", Bearer(quay.OAuthToken("bob"))}, {}, "")
                .status,
            403);
  HttpAnswer deleted = CurlRequest(quay, "DELETE", "/api/v1/repository/acme/app/tag/v1", alice, {}, "");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(ListTags(registry, "acme/app"), (std::vector<std::string>{"v2", "v3"}));
  EXPECT_EQ(CurlRequest(quay, "DELETE", "/api/v1/repository/acme/app/tag/v1", alice, {}, "").status, 404);
  // The registry's tag DELETE (Quay's own; distribution deletes by digest only).
  EXPECT_EQ(CurlRequest(quay, "DELETE", "/v2/acme/app/manifests/v2").status, 202);
  EXPECT_EQ(ListTags(registry, "acme/app"), std::vector<std::string>{"v3"});
  EXPECT_EQ(HeadDigest(registry, "acme/app", image.digest), image.digest);  // the manifest stays

  json active = Body(QuayGet(quay, "/api/v1/repository/acme/app/tag/?onlyActiveTags=true"));
  EXPECT_EQ(Names(active["tags"]), std::vector<std::string>{"v3"});
  json history = Body(QuayGet(quay, "/api/v1/repository/acme/app/tag/"));
  ASSERT_EQ(history["tags"].size(), 3u) << history.dump();
  int past = 0;
  for (const json& t : history["tags"]) {
    if (t.contains("end_ts")) {
      ++past;
      EXPECT_TRUE(t["expiration"].is_string());
    }
  }
  EXPECT_EQ(past, 2);
}

// ---------------------------------------------------------------- GitLab ----

GitLabFake::Options GitLabTeam() {
  GitLabFake::Options o;
  o.users = {{"alice", "glpat-alice"}, {"bob", "glpat-bob"}};
  o.projects = {"group/app", "group/sub/tool"};
  return o;
}

HttpAnswer GitLabGet(const GitLabFake& gitlab, const std::string& path) {
  return CurlRequest(gitlab, "GET", path, gitlab.TokenHeader(), {}, "");
}

TEST(GitLabFakeTest, SkopeoPushThroughTheFakeLandsInTheRegistryAndTheApiListsIt) {
  Registry registry;
  GitLabFake gitlab(registry, GitLabTeam());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(51));
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(52), SmallImage(53, "arm64")});
  Push(layout.path(), "x", gitlab, "group/app", "v1");  // skopeo: Bearer challenge, /jwt/auth, push
  Push(layout.path(), "multi", gitlab, "group/app/x", "2.0");
  Push(layout.path(), "x", gitlab.As("bob"), "group/sub/tool", "latest");
  EXPECT_EQ(HeadDigest(registry, "group/app", "v1"), image.digest);
  EXPECT_EQ(HeadDigest(registry, "group/app/x", "2.0"), multi.digest);
  EXPECT_EQ(HeadDigest(gitlab, "group/app/x", "2.0"), multi.digest);  // Basic through the fake

  HttpAnswer project = GitLabGet(gitlab, "/api/v4/projects/group%2Fapp");
  ASSERT_EQ(project.status, 200) << project.body;
  const std::int64_t id = Body(project)["id"];
  EXPECT_EQ(id, gitlab.ProjectId("group/app"));
  EXPECT_EQ(Body(project)["path_with_namespace"], "group/app");
  EXPECT_EQ(Body(project)["container_registry_enabled"], true);
  EXPECT_EQ(Body(GitLabGet(gitlab, "/api/v4/projects/" + std::to_string(id)))["path"], "app");
  HttpAnswer missing = GitLabGet(gitlab, "/api/v4/projects/group%2Fnope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Body(missing), json({{"message", "404 Project Not Found"}}));
  EXPECT_EQ(GitLabGet(gitlab, "/api/v4/projects/group/app").status, 404);  // an unencoded slash: no route

  const std::string base = "/api/v4/projects/" + std::to_string(id) + "/registry/repositories";
  HttpAnswer repos = GitLabGet(gitlab, base);
  ASSERT_EQ(repos.status, 200) << repos.body;
  json r = Body(repos);
  ASSERT_EQ(r.size(), 2u) << r.dump();
  EXPECT_EQ(r[0]["name"], "");  // the project's own path
  EXPECT_EQ(r[0]["path"], "group/app");
  EXPECT_EQ(r[1]["name"], "x");
  EXPECT_EQ(r[1]["path"], "group/app/x");
  EXPECT_EQ(r[1]["project_id"], id);
  EXPECT_EQ(r[1]["location"], gitlab.host() + "/group/app/x");
  EXPECT_EQ(repos.headers["x-total"], "2");
  const std::string rid = std::to_string(r[1]["id"].get<std::int64_t>());
  json with_tags = Body(GitLabGet(gitlab, base + "?tags=true&tags_count=true"));
  EXPECT_EQ(with_tags[1]["tags_count"], 1);
  EXPECT_EQ(with_tags[1]["tags"][0]["name"], "2.0");

  json tags = Body(GitLabGet(gitlab, base + "/" + rid + "/tags"));
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0], json({{"name", "2.0"}, {"path", "group/app/x:2.0"}, {"location", gitlab.host() + "/group/app/x:2.0"}}));
  json detail = Body(GitLabGet(gitlab, base + "/" + rid + "/tags/2.0"));
  EXPECT_EQ(detail["digest"], multi.digest);
  EXPECT_TRUE(detail["revision"].is_null());  // an index has no config
  const std::string own = std::to_string(r[0]["id"].get<std::int64_t>());
  json single = Body(GitLabGet(gitlab, base + "/" + own + "/tags/v1"));
  EXPECT_EQ(single["digest"], image.digest);
  EXPECT_EQ(single["revision"], image.config_digest.substr(7));
  EXPECT_EQ(single["short_revision"], image.config_digest.substr(7, 9));
  EXPECT_EQ(single["created_at"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(single["total_size"], LayersSize(SkopeoInspectRaw(registry, "group/app", "v1")));
  EXPECT_EQ(GitLabGet(gitlab, base + "/" + own + "/tags/nope").status, 404);
  // A repository id of another project is not found here.
  const std::int64_t tool = gitlab.ProjectId("group/sub/tool");
  json tool_repos = Body(GitLabGet(gitlab, "/api/v4/projects/" + std::to_string(tool) + "/registry/repositories"));
  ASSERT_EQ(tool_repos.size(), 1u);
  EXPECT_EQ(GitLabGet(gitlab, base + "/" + std::to_string(tool_repos[0]["id"].get<std::int64_t>()) + "/tags").status, 404);

  // Projects: membership, search, groups with and without subgroups.
  EXPECT_EQ(Names(Body(GitLabGet(gitlab, "/api/v4/projects?membership=true")), "path_with_namespace"),
            (std::vector<std::string>{"group/sub/tool", "group/app"}));  // created_at desc
  EXPECT_EQ(Names(Body(GitLabGet(gitlab, "/api/v4/projects?membership=true&search=too")), "path_with_namespace"),
            std::vector<std::string>{"group/sub/tool"});
  EXPECT_EQ(Names(Body(GitLabGet(gitlab, "/api/v4/groups/group/projects")), "path_with_namespace"),
            std::vector<std::string>{"group/app"});
  EXPECT_EQ(Names(Body(GitLabGet(gitlab, "/api/v4/groups/group/projects?include_subgroups=true")), "path_with_namespace"),
            (std::vector<std::string>{"group/sub/tool", "group/app"}));
  EXPECT_EQ(Body(GitLabGet(gitlab, "/api/v4/groups/group%2Fsub"))["full_path"], "group/sub");
  HttpAnswer no_group = GitLabGet(gitlab, "/api/v4/groups/nope/projects");
  EXPECT_EQ(no_group.status, 404);
  EXPECT_EQ(Body(no_group), json({{"message", "404 Group Not Found"}}));

  FakeStats stats = gitlab.GetStats();
  EXPECT_GT(stats.token, 0);
  EXPECT_GT(stats.v2, 0);
  EXPECT_GE(stats.api, 15);
  EXPECT_EQ(stats.requests, stats.api + stats.v2 + stats.token);
  gitlab.ResetStats();
  EXPECT_EQ(gitlab.GetStats().requests, 0);
}

TEST(GitLabFakeTest, ListsArePagedWithGitLabsHeaders) {
  Registry registry;
  GitLabFake::Options o = GitLabTeam();
  for (int i = 0; i < 3; ++i) o.projects.push_back("group/p" + std::to_string(i));
  GitLabFake gitlab(registry, o);  // 5 projects
  Seed(registry, "group/app", "t00", 54);
  std::vector<std::string> more;
  for (int i = 1; i < 25; ++i) more.push_back(std::string(i < 10 ? "t0" : "t") + std::to_string(i));
  PushManifestUnderTags(registry, "group/app", "t00", more);  // 25 tags
  const std::int64_t id = gitlab.ProjectId("group/app");
  const json repos = Body(GitLabGet(gitlab, "/api/v4/projects/" + std::to_string(id) + "/registry/repositories"));
  const std::string rid = std::to_string(repos[0]["id"].get<std::int64_t>());
  const std::string path = "/api/v4/projects/" + std::to_string(id) + "/registry/repositories/" + rid + "/tags";
  const std::string url = gitlab.url() + path + "?id=" + std::to_string(id);
  const std::string rest = "&repository_id=" + rid;

  HttpAnswer p2 = GitLabGet(gitlab, path + "?per_page=10&page=2");
  ASSERT_EQ(p2.status, 200) << p2.body;
  EXPECT_EQ(Body(p2).size(), 10u);
  EXPECT_EQ(Body(p2)[0]["name"], "t10");  // by name
  EXPECT_EQ(p2.headers["x-page"], "2");
  EXPECT_EQ(p2.headers["x-per-page"], "10");
  EXPECT_EQ(p2.headers["x-next-page"], "3");
  EXPECT_EQ(p2.headers["x-prev-page"], "1");
  EXPECT_EQ(p2.headers["x-total"], "25");
  EXPECT_EQ(p2.headers["x-total-pages"], "3");
  EXPECT_EQ(p2.headers["link"],
            "<" + url + "&page=1&per_page=10" + rest + ">; rel=\"prev\", <" + url + "&page=3&per_page=10" + rest +
                ">; rel=\"next\", <" + url + "&page=1&per_page=10" + rest + ">; rel=\"first\", <" + url +
                "&page=3&per_page=10" + rest + ">; rel=\"last\"");
  HttpAnswer p3 = GitLabGet(gitlab, path + "?per_page=10&page=3");
  EXPECT_EQ(Body(p3).size(), 5u);
  EXPECT_EQ(p3.headers["x-next-page"], "");
  EXPECT_EQ(p3.headers["link"].find("rel=\"next\""), std::string::npos);
  // Following X-Next-Page from the default page size (20) visits every tag once.
  std::set<std::string> seen;
  std::string next = "1";
  int pages = 0;
  while (!next.empty()) {
    HttpAnswer page = GitLabGet(gitlab, path + "?page=" + next);
    for (const std::string& n : Names(Body(page))) seen.insert(n);
    next = page.headers["x-next-page"];
    ASSERT_LT(++pages, 5);
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen.size(), 25u);
  HttpAnswer past = GitLabGet(gitlab, path + "?page=9");
  EXPECT_EQ(past.body, "[]");
  EXPECT_EQ(past.headers["x-prev-page"], "");
  EXPECT_EQ(GitLabGet(gitlab, path + "?per_page=abc").status, 400);
  EXPECT_EQ(Body(GitLabGet(gitlab, path + "?per_page=abc")), json({{"error", "per_page is invalid"}}));

  // per_page above the cap is served at the cap.
  GitLabFake::Options capped = o;
  capped.per_page_cap = 4;
  GitLabFake small(registry, capped);
  HttpAnswer projects = GitLabGet(small, "/api/v4/projects?per_page=100");
  EXPECT_EQ(Body(projects).size(), 4u);
  EXPECT_EQ(projects.headers["x-per-page"], "4");
  EXPECT_EQ(projects.headers["x-total-pages"], "2");
  EXPECT_EQ(projects.headers["x-next-page"], "2");
  EXPECT_EQ(Body(GitLabGet(small, "/api/v4/projects?per_page=100&page=2")).size(), 1u);
  EXPECT_EQ(GitLabGet(small, "/api/v4/projects?order_by=stars").status, 400);
}

TEST(GitLabFakeTest, PushIsGrantedOnlyUpToTwoLevelsBelowAProject) {
  Registry registry;
  GitLabFake gitlab(registry, GitLabTeam());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(55));
  for (const char* repo : {"group/app", "group/app/x", "group/app/x/y", "group/sub/tool/a/b"}) {
    Push(layout.path(), "x", gitlab, repo, "v1");
    EXPECT_EQ(HeadDigest(registry, repo, "v1"), image.digest) << repo;
  }
  for (const char* repo : {"group/app/x/y/z", "group/other", "group", "group/sub", "other/app"}) {
    EXPECT_THROW(Push(layout.path(), "x", gitlab, repo, "v1"), HarnessError) << repo;
    EXPECT_EQ(HeadDigest(registry, repo, "v1"), std::nullopt) << repo;
  }
  // The realm downscopes: a token for a path too deep grants nothing, and the registry
  // answers insufficient_scope.
  HttpAnswer got = CurlRequest(gitlab, "GET", "/jwt/auth?service=container_registry&scope=repository:group/app/x/y/z:pull,push");
  ASSERT_EQ(got.status, 200) << got.body;
  HttpAnswer denied = CurlRequest(gitlab, "POST", "/v2/group/app/x/y/z/blobs/uploads/",
                                  {"-H", Bearer(Body(got)["token"]), "--data", ""});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["www-authenticate"],
            "Bearer realm=\"" + gitlab.url() + "/jwt/auth\",service=\"container_registry\","
            "scope=\"repository:group/app/x/y/z:pull,push\",error=\"insufficient_scope\"");
  // group/sub/tool/a/b belongs to group/sub/tool; group/app lists three levels of its own.
  json repos = Body(GitLabGet(gitlab, "/api/v4/projects/group%2Fapp/registry/repositories"));
  EXPECT_EQ(Names(repos, "path"), (std::vector<std::string>{"group/app", "group/app/x", "group/app/x/y"}));
  EXPECT_EQ(Names(repos), (std::vector<std::string>{"", "x", "x/y"}));
}

TEST(GitLabFakeTest, RefusesWhatGitLabRefuses) {
  Registry registry;
  GitLabFake::Options o = GitLabTeam();
  o.token_lifetime = 1;
  GitLabFake gitlab(registry, o);
  Seed(registry, "group/app", "v1", 56);

  // API: a wrong token is 401 everywhere; no token is an anonymous caller, who sees no
  // private project.
  HttpAnswer wrong = CurlRequest(gitlab, "GET", "/api/v4/projects", {"-H", "PRIVATE-TOKEN: nope"}, {}, "");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Body(wrong), json({{"message", "401 Unauthorized"}}));
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/api/v4/projects/group%2Fapp", {"-H", Bearer("nope")}, {}, "").status, 401);
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/api/v4/projects/group%2Fapp", {"-H", Bearer("glpat-alice")}, {}, "").status, 200);
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/api/v4/projects/group%2Fapp", {}, {}, "").status, 404);
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/api/v4/projects", {}, {}, "").body, "[]");
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/api/v4/user", {}, {}, "").status, 401);
  EXPECT_EQ(Body(CurlRequest(gitlab, "GET", "/api/v4/user", gitlab.TokenHeader("bob"), {}, ""))["username"], "bob");

  // The realm and the registry.
  HttpAnswer ping = CurlRequest(gitlab, "GET", "/v2/", {}, {}, "");
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(ping.headers["www-authenticate"], "Bearer realm=\"" + gitlab.url() + "/jwt/auth\",service=\"container_registry\"");
  HttpAnswer bad_login = CurlRequest(gitlab, "GET", "/jwt/auth?service=container_registry&scope=repository:group/app:pull",
                                     {}, {}, "alice:nope");
  EXPECT_EQ(bad_login.status, 401);
  EXPECT_EQ(Body(bad_login)["errors"][0]["code"], "UNAUTHORIZED");
  HttpAnswer anonymous = CurlRequest(gitlab, "GET", "/jwt/auth?service=container_registry", {}, {}, "");
  EXPECT_EQ(anonymous.status, 403);
  EXPECT_EQ(Body(anonymous), json({{"errors", {{{"code", "DENIED"}, {"message", "access forbidden"}}}}}));
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/jwt/auth?service=other&scope=repository:group/app:pull").status, 404);
  HttpAnswer nothing =
      CurlRequest(gitlab, "GET", "/jwt/auth?service=container_registry&scope=repository:group/app:pull", {}, {}, "");
  ASSERT_EQ(nothing.status, 200);  // anonymous: a token that grants nothing on a private project
  EXPECT_EQ(CurlRequest(gitlab, "HEAD", "/v2/group/app/manifests/v1", WithToken(Body(nothing)["token"])).status, 401);
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/v2/_catalog").status, 401);
  HttpAnswer wrong_basic = CurlRequest(gitlab, "GET", "/v2/", {}, {}, "alice:nope");
  EXPECT_EQ(wrong_basic.status, 401);
  TempDir layout;
  BuildImage(layout.path(), "x", SmallImage(57));
  EXPECT_THROW(Push(layout.path(), "x", AccountEndpoint(gitlab.port(), "alice", "nope"), "group/app", "v2"), HarnessError);

  // Registry tokens expire (--token-lifetime).
  auto issued = std::chrono::steady_clock::now();
  HttpAnswer t = CurlRequest(gitlab, "GET", "/jwt/auth?service=container_registry&scope=repository:group/app:pull");
  ASSERT_EQ(t.status, 200);
  EXPECT_EQ(Body(t).size(), 1u);  // {"token"} alone
  const std::string token = Body(t)["token"];
  EXPECT_EQ(CurlRequest(gitlab, "HEAD", "/v2/group/app/manifests/v1", WithToken(token)).status, 200);
  std::this_thread::sleep_until(issued + milliseconds(1300));
  HttpAnswer stale = CurlRequest(gitlab, "HEAD", "/v2/group/app/manifests/v1", WithToken(token));
  EXPECT_EQ(stale.status, 401);
  EXPECT_NE(stale.headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos);
}

TEST(GitLabFakeTest, TagDeleteRemovesOneTagButNotAProtectedOne) {
  Registry registry;
  GitLabFake::Options o = GitLabTeam();
  o.protected_tags = {"stable"};
  GitLabFake gitlab(registry, o);
  BuiltImage image = Seed(registry, "group/app/x", "v1", 58);
  PushManifestUnderTags(registry, "group/app/x", "v1", {"v2", "stable"});
  const std::string repos = "/api/v4/projects/group%2Fapp/registry/repositories";
  const std::string rid = std::to_string(Body(GitLabGet(gitlab, repos))[0]["id"].get<std::int64_t>());
  const std::string tags = repos + "/" + rid + "/tags/";

  EXPECT_EQ(CurlRequest(gitlab, "DELETE", tags + "v1", {}, {}, "").status, 404);  // anonymous
  HttpAnswer deleted = CurlRequest(gitlab, "DELETE", tags + "v1", gitlab.TokenHeader(), {}, "");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(ListTags(registry, "group/app/x"), (std::vector<std::string>{"stable", "v2"}));
  HttpAnswer protected_tag = CurlRequest(gitlab, "DELETE", tags + "stable", gitlab.TokenHeader(), {}, "");
  EXPECT_EQ(protected_tag.status, 403);
  EXPECT_EQ(Body(protected_tag), json({{"message", "403 Forbidden"}}));
  EXPECT_EQ(ListTags(registry, "group/app/x"), (std::vector<std::string>{"stable", "v2"}));
  HttpAnswer gone = CurlRequest(gitlab, "DELETE", tags + "v1", gitlab.TokenHeader(), {}, "");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Body(gone), json({{"message", "404 Tag Not Found"}}));
  EXPECT_EQ(HeadDigest(registry, "group/app/x", image.digest), image.digest);  // the manifest stays
  EXPECT_EQ(Names(Body(GitLabGet(gitlab, repos + "/" + rid + "/tags"))), (std::vector<std::string>{"stable", "v2"}));
}

TEST(GitLabFakeTest, InjectedApi429sCarryRetryAfter) {
  Registry registry;
  GitLabFake::Options o = GitLabTeam();
  o.api_429 = 2;
  GitLabFake gitlab(registry, o);
  EXPECT_EQ(CurlRequest(gitlab, "GET", "/jwt/auth?service=container_registry").status, 200);  // not the API
  for (int i = 0; i < 2; ++i) {
    HttpAnswer limited = GitLabGet(gitlab, "/api/v4/projects/group%2Fapp");
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.headers["retry-after"], "1");
    EXPECT_EQ(limited.headers["ratelimit-remaining"], "0");
    EXPECT_EQ(limited.body, "Retry later\n");
  }
  EXPECT_EQ(GitLabGet(gitlab, "/api/v4/projects/group%2Fapp").status, 200);
  EXPECT_EQ(gitlab.GetStats().api, 3);
}

}  // namespace
}  // namespace crossdock::testing
