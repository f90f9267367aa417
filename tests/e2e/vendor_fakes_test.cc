// Tests of the vendor fakes themselves (tests/fakes/harbor, tests/fakes/dockerhub, through
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

}  // namespace
}  // namespace crossdock::testing
