// Tests of the GHCR and JFrog fakes themselves (tests/fakes/ghcr, tests/fakes/jfrog, through
// tests/support/vendor_fakes2.h) with curl and skopeo, never crossdock: they are the only
// evidence that crossdock's github-ghcr and jfrog-artifactory providers work, so what they
// answer is pinned here against the vendors' documented or reported behaviour (cited at
// the top of each fake).
#include "tests/support/vendor_fakes2.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace crossdock::testing {
namespace {

using nlohmann::json;

ImageSpec SmallImage(uint64_t seed, const std::string& arch = "amd64") {
  ImageSpec spec;
  spec.architecture = arch;
  spec.layers = {LayerSpec{32 * 1024, seed, /*gzip=*/true}, LayerSpec{2048, seed + 1000}};
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

json Body(const HttpAnswer& a) { return json::parse(a.body); }

std::vector<std::string> Names(const json& items, const std::string& key = "name") {
  std::vector<std::string> out;
  for (const json& i : items) out.push_back(i.at(key).get<std::string>());
  return out;
}

std::string Bearer(const std::string& token) { return "Authorization: Bearer " + token; }

// Bearer TOKEN and an Accept for OCI manifests.
std::vector<std::string> WithToken(const std::string& token) {
  return {"-H", Bearer(token), "-H", "Accept: application/vnd.oci.image.manifest.v1+json"};
}

const std::vector<std::string> kOciAccept = {"-H", "Accept: application/vnd.oci.image.manifest.v1+json"};

// A JSON body for CurlRequest.
std::vector<std::string> JsonArgs(const json& body) {
  return {"-H", "Content-Type: application/json", "--data-binary", body.dump()};
}

// An upload session REPO opens through FAKE has its Location at the fake, not at the
// registry behind it.
void ExpectUploadLocationAtTheFake(const Endpoint& fake, const std::string& repo) {
  HttpAnswer upload = CurlRequest(fake, "POST", "/v2/" + repo + "/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(upload.status, 202) << upload.body;
  EXPECT_EQ(upload.headers["location"].rfind(fake.url() + "/v2/" + repo + "/blobs/uploads/", 0), 0u)
      << upload.headers["location"];
}

// ------------------------------------------------------------------ GHCR ----

GhcrFake::Options Team() {
  GhcrFake::Options o;
  o.users = {{"alice", "ghp_alice"}, {"bob", "ghp_bob"}};
  o.orgs = {{"acme", "alice"}};
  return o;
}

// The version of a package listing whose name is DIGEST.
json VersionNamed(const json& versions, const std::string& digest) {
  for (const json& v : versions) {
    if (v.at("name") == digest) return v;
  }
  ADD_FAILURE() << "no version " << digest << " in " << versions.dump();
  return json::object();
}

TEST(GhcrFakeTest, SkopeoPushThroughTheFakeLandsInTheRegistryAndTheRestApiListsIt) {
  Registry registry;
  GhcrFake ghcr(registry, Team());
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(1));
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(2), SmallImage(3, "arm64")});
  Push(layout.path(), "x", ghcr, "alice/app", "v1");  // skopeo: challenge, /token, push
  Push(layout.path(), "multi", ghcr, "acme/tools/multi", "2.0");

  EXPECT_EQ(HeadDigest(registry, "alice/app", "v1"), image.digest);
  EXPECT_EQ(HeadDigest(registry, "acme/tools/multi", "2.0"), multi.digest);
  EXPECT_EQ(HeadDigest(ghcr, "alice/app", "v1"), image.digest);  // Basic LOGIN:PAT through the fake
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(ghcr, "acme/tools/multi", "2.0")), multi.digest);
  EXPECT_EQ(ListTags(ghcr, "alice/app"), std::vector<std::string>{"v1"});

  HttpAnswer mine = CurlRequest(ghcr, "GET", "/user/packages?package_type=container", ghcr.BearerHeader());
  ASSERT_EQ(mine.status, 200) << mine.body;
  json packages = Body(mine);
  EXPECT_EQ(Names(packages), std::vector<std::string>{"app"});  // alice's namespace only
  EXPECT_EQ(packages[0]["package_type"], "container");
  EXPECT_EQ(packages[0]["visibility"], "private");  // a push creates a private package
  EXPECT_EQ(packages[0]["owner"]["login"], "alice");
  EXPECT_EQ(packages[0]["owner"]["type"], "User");
  EXPECT_EQ(packages[0]["version_count"], 1);
  EXPECT_EQ(packages[0]["url"], ghcr.url() + "/users/alice/packages/container/app");
  EXPECT_TRUE(packages[0]["created_at"].is_string());
  EXPECT_EQ(mine.headers["x-ratelimit-limit"], "5000");
  EXPECT_EQ(mine.headers["x-ratelimit-used"], "1");
  EXPECT_EQ(mine.headers["x-ratelimit-remaining"], "4999");
  EXPECT_FALSE(mine.headers["x-ratelimit-reset"].empty());
  EXPECT_EQ(mine.headers["x-oauth-scopes"], "delete:packages, read:packages, write:packages");
  EXPECT_EQ(mine.headers.count("link"), 0u);

  HttpAnswer org = CurlRequest(ghcr, "GET", "/orgs/acme/packages?package_type=container&per_page=100",
                               {"-H", "Authorization: token ghp_alice", "-H", "X-GitHub-Api-Version: 2022-11-28"});
  ASSERT_EQ(org.status, 200) << org.body;
  EXPECT_EQ(Names(Body(org)), std::vector<std::string>{"tools/multi"});
  EXPECT_EQ(Body(org)[0]["url"], ghcr.url() + "/orgs/acme/packages/container/tools%2Fmulti");
  EXPECT_EQ(Body(org)[0]["owner"]["type"], "Organization");
  EXPECT_EQ(Body(org)[0]["version_count"], 3);  // the index and its two platform manifests

  // Versions: one per manifest, the index's children untagged, as GHCR lists them.
  HttpAnswer versions =
      CurlRequest(ghcr, "GET", "/orgs/acme/packages/container/" + GhcrFake::EncodePackage("tools/multi") + "/versions");
  ASSERT_EQ(versions.status, 200) << versions.body;
  json v = Body(versions);
  ASSERT_EQ(v.size(), 3u);
  json index = VersionNamed(v, multi.digest);
  EXPECT_EQ(index["metadata"]["package_type"], "container");
  EXPECT_EQ(index["metadata"]["container"]["tags"], json::array({"2.0"}));
  EXPECT_TRUE(index["id"].is_number_integer());
  EXPECT_EQ(index["url"], ghcr.url() + "/orgs/acme/packages/container/tools%2Fmulti/versions/" +
                              std::to_string(index["id"].get<long>()));
  for (const BuiltImage& child : multi.manifests) {
    EXPECT_EQ(VersionNamed(v, child.digest)["metadata"]["container"]["tags"], json::array());
  }
  HttpAnswer one = CurlRequest(ghcr, "GET", "/users/alice/packages/container/app/versions");  // Basic
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Names(Body(one)), std::vector<std::string>{image.digest});
  EXPECT_EQ(Body(one)[0]["metadata"]["container"]["tags"], json::array({"v1"}));
  HttpAnswer by_id = CurlRequest(ghcr, "GET", "/users/alice/packages/container/app/versions/" +
                                                  std::to_string(Body(one)[0]["id"].get<long>()));
  EXPECT_EQ(Body(by_id)["name"], image.digest);
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/user/packages/container/app"))["name"], "app");
  // The name is one path segment: unescaped slashes match no route.
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/orgs/acme/packages/container/tools/multi/versions").status, 404);
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/orgs/acme/packages/container/nope"))["message"], "Package not found.");

  ExpectUploadLocationAtTheFake(ghcr, "alice/app");

  FakeStats stats = ghcr.GetStats();
  EXPECT_GT(stats.token, 0);  // skopeo's
  EXPECT_GT(stats.v2, 0);
  EXPECT_GE(stats.api, 8);
  EXPECT_EQ(stats.requests, stats.api + stats.v2 + stats.token);
  EXPECT_EQ(stats.by_path["orgs"], 4);
  ghcr.ResetStats();
  EXPECT_EQ(ghcr.GetStats().requests, 0);
  EXPECT_NE(ghcr.log().find("GET /user/packages?package_type=container 200"), std::string::npos);
}

TEST(GhcrFakeTest, ListsArePagedWithGitHubsLinkHeader) {
  Registry registry;
  GhcrFake ghcr(registry, Team());
  for (int i = 1; i <= 5; ++i) Seed(registry, "alice/p" + std::to_string(i), "v1", 10 + i);

  const std::string base = ghcr.url() + "/user/packages?package_type=container&per_page=2&page=";
  HttpAnswer first = CurlRequest(ghcr, "GET", "/user/packages?package_type=container&per_page=2");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Names(Body(first)), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(first.headers["link"], "<" + base + "2>; rel=\"next\", <" + base + "3>; rel=\"last\"");
  HttpAnswer second = CurlRequest(ghcr, "GET", "/user/packages?page=2&package_type=container&per_page=2");
  EXPECT_EQ(Names(Body(second)), (std::vector<std::string>{"p3", "p4"}));
  EXPECT_EQ(second.headers["link"], "<" + base + "1>; rel=\"prev\", <" + base + "3>; rel=\"next\", <" + base +
                                        "3>; rel=\"last\", <" + base + "1>; rel=\"first\"");
  HttpAnswer last = CurlRequest(ghcr, "GET", "/user/packages?package_type=container&per_page=2&page=3");
  EXPECT_EQ(Names(Body(last)), std::vector<std::string>{"p5"});
  EXPECT_EQ(last.headers["link"], "<" + base + "2>; rel=\"prev\", <" + base + "1>; rel=\"first\"");
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/user/packages?package_type=container&per_page=2&page=4").body, "[]");
  // per_page is capped at 100 (so 500 is everything here), and is 30 when not given.
  HttpAnswer big = CurlRequest(ghcr, "GET", "/user/packages?package_type=container&per_page=500");
  EXPECT_EQ(Body(big).size(), 5u);
  EXPECT_EQ(big.headers.count("link"), 0u);
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/users/alice/packages?package_type=container")).size(), 5u);

  // Versions page the same way, newest first.
  BuiltImage second_image = Seed(registry, "alice/p1", "v2", 30);
  BuiltImage third_image = Seed(registry, "alice/p1", "v3", 31);
  HttpAnswer page = CurlRequest(ghcr, "GET", "/users/alice/packages/container/p1/versions?per_page=2");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(Names(Body(page)), (std::vector<std::string>{third_image.digest, second_image.digest}));
  EXPECT_EQ(page.headers["link"],
            "<" + ghcr.url() + "/users/alice/packages/container/p1/versions?per_page=2&page=2>; rel=\"next\", <" +
                ghcr.url() + "/users/alice/packages/container/p1/versions?per_page=2&page=2>; rel=\"last\"");
}

TEST(GhcrFakeTest, RefusesWhatGitHubRefuses) {
  Registry registry;
  GhcrFake::Options o = Team();
  o.public_packages = {"acme/pub"};
  GhcrFake ghcr(registry, o);
  BuiltImage image = Seed(registry, "alice/app", "v1", 40);
  Seed(registry, "acme/pub", "v1", 41);
  TempDir layout;
  BuildImage(layout.path(), "x", SmallImage(42));

  // Registry: GHCR's challenge, and its token endpoint.
  HttpAnswer ping = CurlRequest(ghcr, "GET", "/v2/", {}, {}, "");
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(ping.headers["www-authenticate"],
            "Bearer realm=\"" + ghcr.url() + "/token\",service=\"ghcr.io\",scope=\"repository:user/image:pull\"");
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/v2/").status, 200);
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/v2/", {}, {}, "alice:wrong").status, 401);
  HttpAnswer anon = CurlRequest(ghcr, "GET", "/token?service=ghcr.io&scope=repository:acme/pub:pull", {}, {}, "");
  ASSERT_EQ(anon.status, 200) << anon.body;
  EXPECT_EQ(Body(anon).size(), 1u);  // {"token"} and nothing else
  const std::string anon_token = Body(anon)["token"];
  EXPECT_EQ(CurlRequest(ghcr, "HEAD", "/v2/acme/pub/manifests/v1", WithToken(anon_token)).status, 200);
  EXPECT_EQ(CurlRequest(ghcr, "HEAD", "/v2/acme/pub/manifests/v1", kOciAccept, {}, "").status, 401);  // no token
  HttpAnswer anon_private = CurlRequest(ghcr, "GET", "/token?service=ghcr.io&scope=repository:alice/app:pull", {}, {}, "");
  HttpAnswer refused = CurlRequest(ghcr, "HEAD", "/v2/alice/app/manifests/v1", WithToken(Body(anon_private)["token"]));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers["www-authenticate"],
            "Bearer realm=\"" + ghcr.url() +
                "/token\",service=\"ghcr.io\",scope=\"repository:alice/app:pull\",error=\"insufficient_scope\"");
  HttpAnswer wrong = CurlRequest(ghcr, "GET", "/token?service=ghcr.io&scope=repository:alice/app:pull", {}, {},
                                 "alice:ghp_wrong");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(Body(wrong), json::parse(R"({"errors":[{"code":"DENIED","message":"denied"}]})"));

  // bob belongs to no organization: he may neither write to acme nor read alice's.
  EXPECT_THROW(Push(layout.path(), "x", ghcr.As("bob"), "acme/new", "v1"), HarnessError);
  HttpAnswer bobs = CurlRequest(ghcr, "GET", "/token?service=ghcr.io&scope=repository:acme/new:pull,push", {}, {},
                                "bob:ghp_bob");
  HttpAnswer denied = CurlRequest(ghcr, "POST", "/v2/acme/new/blobs/uploads/",
                                  {"-H", Bearer(Body(bobs)["token"]), "--data", ""});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Body(denied)["errors"][0],
            json::parse(R"({"code":"DENIED","message":"permission_denied: write_package"})"));
  EXPECT_EQ(CurlRequest(ghcr.As("bob"), "HEAD", "/v2/alice/app/manifests/v1", kOciAccept).status, 403);
  EXPECT_EQ(HeadDigest(ghcr.As("bob"), "acme/pub", "v1").has_value(), true);  // public
  EXPECT_EQ(HeadDigest(ghcr, "alice/app", "v1"), image.digest);

  // REST: credentials, visibility, versions and parameters.
  HttpAnswer bad = CurlRequest(ghcr, "GET", "/user/packages?package_type=container", {"-H", Bearer("ghp_nope")});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(Body(bad)["message"], "Bad credentials");
  EXPECT_TRUE(Body(bad)["documentation_url"].is_string());
  EXPECT_EQ(bad.headers["x-ratelimit-limit"], "60");  // counted as anonymous
  HttpAnswer nobody = CurlRequest(ghcr, "GET", "/user/packages?package_type=container", {}, {}, "");
  EXPECT_EQ(nobody.status, 401);
  EXPECT_EQ(Body(nobody)["message"], "Requires authentication");
  const auto bob = ghcr.BearerHeader("bob");
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/users/alice/packages?package_type=container", bob)), json::array());
  EXPECT_EQ(Names(Body(CurlRequest(ghcr, "GET", "/orgs/acme/packages?package_type=container", bob))),
            std::vector<std::string>{"pub"});
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/orgs/acme/packages/container/pub", bob))["visibility"], "public");
  HttpAnswer hidden = CurlRequest(ghcr, "GET", "/users/alice/packages/container/app/versions", bob);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(Body(hidden)["message"], "Package not found.");
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/users/nobody/packages?package_type=container").status, 404);
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/orgs/alice/packages?package_type=container").status, 404);  // a user
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/user/packages").status, 400);  // package_type is required
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/user/packages?package_type=npm")), json::array());
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/user", {"-H", "X-GitHub-Api-Version: 1999-01-01"}).status, 400);
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/user", {"-H", "X-GitHub-Api-Version: 2022-11-28"}))["login"], "alice");
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/orgs/acme"))["type"], "Organization");
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/orgs/alice").status, 404);
  EXPECT_EQ(Body(CurlRequest(ghcr, "GET", "/users/alice"))["type"], "User");

  // The rate limit: two requests an hour, then 403.
  GhcrFake::Options limited = Team();
  limited.rate_limit = 2;
  GhcrFake small(registry, limited);
  EXPECT_EQ(CurlRequest(small, "GET", "/user").status, 200);
  EXPECT_EQ(CurlRequest(small, "GET", "/user").headers["x-ratelimit-remaining"], "0");
  HttpAnswer spent = CurlRequest(small, "GET", "/user");
  EXPECT_EQ(spent.status, 403);
  EXPECT_EQ(spent.headers["x-ratelimit-remaining"], "0");
  EXPECT_EQ(Body(spent)["message"].get<std::string>().rfind("API rate limit exceeded for user ID ", 0), 0u);
  EXPECT_EQ(CurlRequest(small.As("bob"), "GET", "/user").status, 200);  // per user
}

TEST(GhcrFakeTest, HasNoCatalogAndDeletesNothingThroughTheRegistry) {
  Registry registry;
  GhcrFake ghcr(registry, Team());
  BuiltImage image = Seed(registry, "alice/app", "v1", 50);
  HttpAnswer catalog = CurlRequest(ghcr, "GET", "/v2/_catalog");
  EXPECT_EQ(catalog.status, 404);
  EXPECT_EQ(Body(catalog)["errors"][0]["code"], "NOT_FOUND");
  EXPECT_EQ(CurlRequest(ghcr, "GET", "/v2/_catalog?n=10", {}, {}, "").status, 404);
  HttpAnswer remove = CurlRequest(ghcr, "DELETE", "/v2/alice/app/manifests/" + image.digest);
  EXPECT_EQ(remove.status, 405);
  EXPECT_EQ(Body(remove)["errors"][0]["code"], "UNSUPPORTED");
  EXPECT_EQ(HeadDigest(registry, "alice/app", "v1"), image.digest);
}

TEST(GhcrFakeTest, VersionDeleteTakesEveryTagOfItsDigest) {
  Registry registry;
  GhcrFake ghcr(registry, Team());
  TempDir layout;
  BuiltImage a = BuildImage(layout.path(), "a", SmallImage(60));
  BuiltImage b = BuildImage(layout.path(), "b", SmallImage(61));
  Push(layout.path(), "a", ghcr, "alice/app", "v1");
  PushManifestUnderTag(ghcr, "alice/app", "v1", "v2");
  Push(layout.path(), "b", ghcr, "alice/app", "v3");
  const std::string versions = "/users/alice/packages/container/app/versions";

  json listed = Body(CurlRequest(ghcr, "GET", versions));
  ASSERT_EQ(listed.size(), 2u);
  const json va = VersionNamed(listed, a.digest), vb = VersionNamed(listed, b.digest);
  EXPECT_EQ(va["metadata"]["container"]["tags"], json::array({"v1", "v2"}));
  const std::string id_a = std::to_string(va["id"].get<long>()), id_b = std::to_string(vb["id"].get<long>());

  EXPECT_EQ(CurlRequest(ghcr, "DELETE", versions + "/" + id_a, ghcr.BearerHeader("bob")).status, 404);  // private
  HttpAnswer gone = CurlRequest(ghcr, "DELETE", versions + "/" + id_a, ghcr.BearerHeader());
  EXPECT_EQ(gone.status, 204) << gone.body;
  EXPECT_EQ(ListTags(registry, "alice/app"), std::vector<std::string>{"v3"});  // v1 and v2 went together
  EXPECT_EQ(HeadDigest(registry, "alice/app", a.digest), std::nullopt);
  EXPECT_EQ(Names(Body(CurlRequest(ghcr, "GET", versions))), std::vector<std::string>{b.digest});
  EXPECT_EQ(CurlRequest(ghcr, "DELETE", versions + "/" + id_a).status, 404);  // once

  HttpAnswer last = CurlRequest(ghcr, "DELETE", versions + "/" + id_b);
  EXPECT_EQ(last.status, 400);
  EXPECT_EQ(Body(last)["message"],
            "You cannot delete the last tagged version of a package. You must delete the package instead.");
  EXPECT_EQ(ListTags(registry, "alice/app"), std::vector<std::string>{"v3"});
  EXPECT_EQ(Body(CurlRequest(ghcr, "DELETE", "/users/alice/packages/container/nope/versions/1"))["message"],
            "Package not found.");
  EXPECT_EQ(CurlRequest(ghcr, "DELETE", versions + "/999999").status, 404);
}

TEST(GhcrFakeTest, PatLackingAScopeIsRefusedWhereGitHubRefusesIt) {
  Registry registry;
  GhcrFake::Options o;
  o.users = {{"carol", "ghp_carol"}, {"dave", "ghp_dave"}, {"erin", "ghp_erin"}};
  o.pat_scopes = {{"carol", {"read:packages"}}, {"dave", {"write:packages"}}, {"erin", {"read:packages", "write:packages"}}};
  GhcrFake ghcr(registry, o);
  for (const char* user : {"carol", "dave", "erin"}) Seed(registry, std::string(user) + "/app", "v1", 70);
  TempDir layout;
  BuildImage(layout.path(), "x", SmallImage(71));

  // read:packages alone: pulls and lists, but neither pushes nor deletes.
  EXPECT_TRUE(HeadDigest(ghcr.As("carol"), "carol/app", "v1").has_value());
  EXPECT_THROW(Push(layout.path(), "x", ghcr.As("carol"), "carol/new", "v1"), HarnessError);
  HttpAnswer token = CurlRequest(ghcr, "GET", "/token?service=ghcr.io&scope=repository:carol/new:pull,push", {}, {},
                                 "carol:ghp_carol");
  HttpAnswer push = CurlRequest(ghcr, "POST", "/v2/carol/new/blobs/uploads/",
                                {"-H", Bearer(Body(token)["token"]), "--data", ""});
  EXPECT_EQ(push.status, 403);
  EXPECT_EQ(Body(push)["errors"][0]["message"],
            "permission_denied: The token provided does not match expected scopes");
  const auto carol = ghcr.BearerHeader("carol");
  HttpAnswer list = CurlRequest(ghcr, "GET", "/user/packages?package_type=container", carol);
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.headers["x-oauth-scopes"], "read:packages");
  const std::string versions = "/user/packages/container/app/versions";
  const std::string id = std::to_string(Body(CurlRequest(ghcr, "GET", versions, carol))[0]["id"].get<long>());
  HttpAnswer no_delete = CurlRequest(ghcr, "DELETE", versions + "/" + id, carol);
  EXPECT_EQ(no_delete.status, 403);
  EXPECT_EQ(no_delete.headers["x-accepted-oauth-scopes"], "delete:packages, read:packages");

  // write:packages without read:packages: no listing, no pull.
  HttpAnswer dave = CurlRequest(ghcr, "GET", "/user/packages?package_type=container", ghcr.BearerHeader("dave"));
  EXPECT_EQ(dave.status, 403);
  EXPECT_EQ(Body(dave)["message"], "You need at least read:packages scope to list packages.");
  EXPECT_EQ(CurlRequest(ghcr.As("dave"), "HEAD", "/v2/dave/app/manifests/v1", kOciAccept).status, 403);

  // read and write, no delete: pushes, but deletes nothing.
  Push(layout.path(), "x", ghcr.As("erin"), "erin/new", "v1");
  EXPECT_EQ(ListTags(registry, "erin/new"), std::vector<std::string>{"v1"});
  const auto erin = ghcr.BearerHeader("erin");
  const std::string erin_id = std::to_string(Body(CurlRequest(ghcr, "GET", versions, erin))[0]["id"].get<long>());
  EXPECT_EQ(CurlRequest(ghcr, "DELETE", versions + "/" + erin_id, erin).status, 403);
  EXPECT_EQ(ListTags(registry, "erin/app"), std::vector<std::string>{"v1"});
}

// ----------------------------------------------------------------- JFrog ----

JFrogFake::Options Artifactory() {
  JFrogFake::Options o;
  o.users = {{"admin", "password"}, {"dev", "dev-pw"}};
  o.repos = {"docker-local:docker", "oci-local:oci"};
  o.remote_repos = {"docker-remote"};
  return o;
}

// A blob upload as Harbor's adapter makes it (POST, one PATCH with CONTENT_RANGE, PUT
// ?digest= without a body) through FAKE to REPO; the answers of the three.
struct UploadAnswers {
  HttpAnswer post, patch, put;
};
UploadAnswers ChunkedUpload(const Endpoint& fake, const std::string& repo, const std::string& data,
                            const std::string& content_range) {
  TempDir dir;
  WriteFile(dir.Sub("blob"), data);
  UploadAnswers a;
  a.post = CurlRequest(fake, "POST", "/v2/" + repo + "/blobs/uploads/", {"--data", ""});
  std::string location = a.post.headers["location"];
  if (location.rfind(fake.url(), 0) == 0) location = location.substr(fake.url().size());
  a.patch = CurlRequest(fake, "PATCH", location,
                        {"-H", "Content-Type: application/octet-stream", "-H", "Content-Range: " + content_range,
                         "--data-binary", "@" + dir.Sub("blob")});
  if (a.patch.status != 202) return a;
  location = a.patch.headers["location"];
  if (location.rfind(fake.url(), 0) == 0) location = location.substr(fake.url().size());
  const std::string digest = Sha256Digest(data);
  a.put = CurlRequest(fake, "PUT", location + (location.find('?') == std::string::npos ? "?" : "&") +
                                       "digest=sha256%3A" + digest.substr(7));
  return a;
}

TEST(JFrogFakeTest, SkopeoPushThroughTheFakeLandsInTheRegistryAndTheApiListsIt) {
  Registry registry;
  JFrogFake jfrog(registry, Artifactory());
  EXPECT_EQ(jfrog.api_url(), jfrog.url() + "/artifactory");
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(101));
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(102), SmallImage(103, "arm64")});
  Push(layout.path(), "x", jfrog.As("dev"), "docker-local/app", "v1");  // challenge, /v2/token, push
  Push(layout.path(), "multi", jfrog, "docker-local/team/multi", "v2");

  EXPECT_EQ(HeadDigest(registry, "docker-local/app", "v1"), image.digest);  // KEY/IMAGE behind
  EXPECT_EQ(HeadDigest(registry, "docker-local/team/multi", "v2"), multi.digest);
  EXPECT_EQ(HeadDigest(jfrog, "docker-local/app", "v1"), image.digest);  // Basic through the fake
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(jfrog, "docker-local/team/multi", "v2")), multi.digest);

  HttpAnswer repos = CurlRequest(jfrog, "GET", "/artifactory/api/repositories?packageType=docker");
  ASSERT_EQ(repos.status, 200) << repos.body;
  json r = Body(repos);
  EXPECT_EQ(Names(r, "key"), (std::vector<std::string>{"docker-local", "docker-remote"}));
  EXPECT_EQ(r[0], json({{"key", "docker-local"},
                        {"description", ""},
                        {"type", "LOCAL"},
                        {"url", jfrog.url() + "/artifactory/docker-local"},
                        {"packageType", "Docker"}}));

  // The per-key catalog names images without the key; so do tags lists there.
  HttpAnswer catalog = CurlRequest(jfrog, "GET", "/artifactory/api/docker/docker-local/v2/_catalog");
  ASSERT_EQ(catalog.status, 200) << catalog.body;
  EXPECT_EQ(Body(catalog), json({{"repositories", {"app", "team/multi"}}}));
  HttpAnswer tags = CurlRequest(jfrog, "GET", "/artifactory/api/docker/docker-local/v2/team/multi/tags/list");
  ASSERT_EQ(tags.status, 200) << tags.body;
  EXPECT_EQ(Body(tags), json({{"name", "team/multi"}, {"tags", {"v2"}}}));
  HttpAnswer head =
      CurlRequest(jfrog, "HEAD", "/artifactory/api/docker/docker-local/v2/app/manifests/v1", kOciAccept);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["docker-content-digest"], image.digest);
  EXPECT_EQ(ListTags(jfrog, "docker-local/app"), std::vector<std::string>{"v1"});

  ExpectUploadLocationAtTheFake(jfrog, "docker-local/app");

  FakeStats stats = jfrog.GetStats();
  EXPECT_GT(stats.token, 0);  // skopeo's
  EXPECT_GT(stats.v2, 0);
  EXPECT_EQ(stats.api, 1);
  EXPECT_EQ(stats.requests, stats.api + stats.v2 + stats.token);
  EXPECT_NE(jfrog.log().find("GET /artifactory/api/repositories?packageType=docker 200"), std::string::npos);
}

TEST(JFrogFakeTest, ListsRepositoriesAndPagesEachKeysCatalog) {
  Registry registry;
  JFrogFake jfrog(registry, Artifactory());
  for (const char* name : {"docker-local/a", "docker-local/b", "docker-local/c/d", "oci-local/x", "other/zzz"}) {
    Seed(registry, name, "v1", 110);
  }

  json all = Body(CurlRequest(jfrog, "GET", "/artifactory/api/repositories"));
  EXPECT_EQ(Names(all, "key"), (std::vector<std::string>{"docker-local", "oci-local", "docker-remote"}));
  EXPECT_EQ(all[1]["packageType"], "OCI");
  EXPECT_EQ(all[2]["type"], "REMOTE");
  EXPECT_EQ(Names(Body(CurlRequest(jfrog, "GET", "/artifactory/api/repositories?type=local")), "key"),
            (std::vector<std::string>{"docker-local", "oci-local"}));
  EXPECT_EQ(Names(Body(CurlRequest(jfrog, "GET", "/artifactory/api/repositories?type=remote&packageType=Docker")),
                  "key"),
            std::vector<std::string>{"docker-remote"});

  const std::string catalog = "/artifactory/api/docker/docker-local/v2/_catalog";
  HttpAnswer first = CurlRequest(jfrog, "GET", catalog + "?n=2");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Body(first)["repositories"], json({"a", "b"}));
  EXPECT_EQ(first.headers["link"], "<" + catalog + "?n=2&last=b>; rel=\"next\"");
  HttpAnswer second = CurlRequest(jfrog, "GET", catalog + "?n=2&last=b");
  EXPECT_EQ(Body(second)["repositories"], json({"c/d"}));
  EXPECT_EQ(second.headers.count("link"), 0u);
  EXPECT_EQ(Body(CurlRequest(jfrog, "GET", "/artifactory/api/docker/oci-local/v2/_catalog"))["repositories"],
            json({"x"}));
  EXPECT_EQ(Body(CurlRequest(jfrog, "GET", "/artifactory/api/docker/docker-remote/v2/_catalog"))["repositories"],
            json::array());
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/artifactory/api/docker/other/v2/_catalog").status, 404);
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/v2/_catalog").status, 404);  // no registry-wide catalog

  // A repository's configuration: rclass for everyone, the rest for administrators.
  json remote = Body(CurlRequest(jfrog, "GET", "/artifactory/api/repositories/docker-remote"));
  EXPECT_EQ(remote["rclass"], "remote");
  EXPECT_TRUE(remote["url"].is_string());
  json partial = Body(CurlRequest(jfrog.As("dev"), "GET", "/artifactory/api/repositories/docker-local"));
  EXPECT_EQ(partial["rclass"], "local");
  EXPECT_FALSE(partial.contains("repoLayoutRef"));
  HttpAnswer missing = CurlRequest(jfrog, "GET", "/artifactory/api/repositories/nope");
  EXPECT_EQ(missing.status, 400);  // not 404
  EXPECT_EQ(Body(missing)["errors"][0]["status"], 400);
}

TEST(JFrogFakeTest, CreatesRepositoriesForAdministratorsOnly) {
  Registry registry;
  JFrogFake jfrog(registry, Artifactory());
  // Harbor's body (src/pkg/reg/adapter/jfrog/client.go).
  const json body = {{"key", "newkey"}, {"rclass", "local"}, {"packageType", "docker"}, {"repoLayoutRef", "simple-default"}};
  const std::string path = "/artifactory/api/repositories/newkey";

  HttpAnswer by_dev = CurlRequest(jfrog.As("dev"), "PUT", path, JsonArgs(body));
  EXPECT_EQ(by_dev.status, 403);
  EXPECT_EQ(Body(by_dev), json::parse(R"({"errors":[{"status":403,"message":"Forbidden"}]})"));
  HttpAnswer anonymous = CurlRequest(jfrog, "PUT", path, JsonArgs(body), {}, "");
  EXPECT_EQ(anonymous.status, 401);
  HttpAnswer wrong = CurlRequest(jfrog, "PUT", path, JsonArgs(body), {}, "admin:wrong");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Body(wrong), json::parse(R"({"errors":[{"status":401,"message":"Bad credentials"}]})"));
  HttpAnswer created = CurlRequest(jfrog, "PUT", path, JsonArgs(body));
  EXPECT_EQ(created.status, 200);
  EXPECT_EQ(created.body, "Successfully created repository 'newkey'");
  EXPECT_EQ(CurlRequest(jfrog, "PUT", path, JsonArgs(body)).status, 400);  // exists
  EXPECT_EQ(CurlRequest(jfrog, "PUT", "/artifactory/api/repositories/NEWKEY", JsonArgs({{"rclass", "local"}})).status,
            400);  // case-insensitively
  EXPECT_EQ(CurlRequest(jfrog, "PUT", "/artifactory/api/repositories/other", JsonArgs(body)).status, 400);  // key differs
  EXPECT_EQ(Body(CurlRequest(jfrog, "GET", path))["repoLayoutRef"], "simple-default");
  EXPECT_EQ(Names(Body(CurlRequest(jfrog, "GET", "/artifactory/api/repositories?type=local")), "key"),
            (std::vector<std::string>{"docker-local", "newkey", "oci-local"}));

  // The new key takes pushes at once; a missing key, a bare key or a remote one do not.
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(120));
  Push(layout.path(), "x", jfrog.As("dev"), "newkey/app", "v1");
  EXPECT_EQ(HeadDigest(registry, "newkey/app", "v1"), image.digest);
  EXPECT_THROW(Push(layout.path(), "x", jfrog, "missing/app", "v1"), HarnessError);
  HttpAnswer missing = CurlRequest(jfrog, "POST", "/v2/missing/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Body(missing)["errors"][0]["code"], "NAME_UNKNOWN");
  EXPECT_EQ(CurlRequest(jfrog, "POST", "/v2/docker-local/blobs/uploads/", {"--data", ""}).status, 404);
  HttpAnswer remote = CurlRequest(jfrog, "POST", "/v2/docker-remote/app/blobs/uploads/", {"--data", ""});
  EXPECT_EQ(remote.status, 405);
  EXPECT_EQ(Body(remote)["errors"][0]["code"], "UNSUPPORTED");
  EXPECT_EQ(ListTags(registry, "docker-remote/app"), std::vector<std::string>{});
}

TEST(JFrogFakeTest, AuthenticatesAsArtifactoryDoes) {
  Registry registry;
  JFrogFake jfrog(registry, Artifactory());
  BuiltImage image = Seed(registry, "docker-local/app", "v1", 130);
  const std::string host = jfrog.host();

  HttpAnswer ping = CurlRequest(jfrog, "GET", "/v2/", {}, {}, "");
  EXPECT_EQ(ping.status, 401);
  EXPECT_EQ(ping.headers["www-authenticate"], "Bearer realm=\"http://" + host + "/v2/token\",service=\"" + host + "\"");
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/v2/").status, 200);
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/v2/", {}, {}, "admin:wrong").status, 401);
  EXPECT_EQ(CurlRequest(jfrog, "HEAD", "/v2/docker-local/app/manifests/v1", {}, {}, "").headers["www-authenticate"],
            "Bearer realm=\"http://" + host + "/v2/token\",service=\"" + host +
                "\",scope=\"repository:docker-local/app:pull\"");
  // Through the Docker API the realm is the key's and the scope names the image alone.
  EXPECT_EQ(CurlRequest(jfrog, "HEAD", "/artifactory/api/docker/docker-local/v2/app/manifests/v1", {}, {}, "")
                .headers["www-authenticate"],
            "Bearer realm=\"http://" + host + "/artifactory/api/docker/docker-local/v2/token\",service=\"" + host +
                "\",scope=\"repository:app:pull\"");

  HttpAnswer token = CurlRequest(jfrog, "GET", "/v2/token?service=" + host + "&scope=repository:docker-local/app:pull");
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(Body(token)["expires_in"], 3600);
  EXPECT_EQ(CurlRequest(jfrog, "HEAD", "/v2/docker-local/app/manifests/v1", WithToken(Body(token)["token"])).status,
            200);
  EXPECT_EQ(CurlRequest(jfrog, "HEAD", "/v2/docker-local/app/manifests/v1", WithToken("nonsense")).status, 401);
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/artifactory/api/docker/docker-local/v2/token").status, 200);
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/v2/token", {}, {}, "").status, 401);
  HttpAnswer bad_token = CurlRequest(jfrog, "GET", "/v2/token", {}, {}, "dev:wrong");
  EXPECT_EQ(bad_token.status, 401);
  EXPECT_EQ(Body(bad_token)["errors"][0]["message"], "Bad credentials");

  // The ping needs no credentials but refuses wrong ones; the rest needs them.
  HttpAnswer ok = CurlRequest(jfrog, "GET", "/artifactory/api/system/ping", {}, {}, "");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "OK");
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/artifactory/api/system/ping", {}, {}, "dev:wrong").status, 401);
  EXPECT_EQ(CurlRequest(jfrog, "GET", "/artifactory/api/system/version", {}, {}, "").status, 401);
  EXPECT_EQ(Body(CurlRequest(jfrog, "GET", "/artifactory/api/system/version"))["version"], "7.x-fake");
  HttpAnswer anonymous = CurlRequest(jfrog, "GET", "/artifactory/api/repositories", {}, {}, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.headers["www-authenticate"], "Basic realm=\"Artifactory Realm\"");
  EXPECT_EQ(HeadDigest(jfrog.As("dev"), "docker-local/app", "v1"), image.digest);
}

TEST(JFrogFakeTest, UploadPatchTakesHarborsContentRangeUnderTheQuirk) {
  Registry registry;
  JFrogFake jfrog(registry, Artifactory());
  const std::string data(1000, 'j');
  const std::string digest = Sha256Digest(data);

  // Harbor's PATCH: Content-Range 0-<size>, not 0-<size-1>.
  UploadAnswers harbor = ChunkedUpload(jfrog, "docker-local/raw", data, "0-1000");
  EXPECT_EQ(harbor.post.status, 202);
  EXPECT_EQ(harbor.patch.status, 202) << harbor.patch.body;
  EXPECT_EQ(harbor.put.status, 201) << harbor.put.body;
  EXPECT_TRUE(BlobExists(registry, "docker-local/raw", digest));
  // The spec's inclusive end passes too; a range that does not start at the offset does not.
  EXPECT_EQ(ChunkedUpload(jfrog, "docker-local/spec", data, "0-999").put.status, 201);
  UploadAnswers off = ChunkedUpload(jfrog, "docker-local/off", data, "5-1004");
  EXPECT_EQ(off.patch.status, 416);
  EXPECT_EQ(off.patch.headers["range"], "0-0");
  EXPECT_EQ(Body(off.patch)["errors"][0]["code"], "RANGE_INVALID");
  EXPECT_EQ(ChunkedUpload(jfrog, "docker-local/long", data, "0-2000").patch.status, 416);
  EXPECT_EQ(ChunkedUpload(jfrog, "docker-local/junk", data, "bytes 0-999/1000").patch.status, 416);

  // A second chunk must start where the first ended.
  TempDir dir;
  WriteFile(dir.Sub("half"), data.substr(0, 500));
  HttpAnswer post = CurlRequest(jfrog, "POST", "/v2/docker-local/two/blobs/uploads/", {"--data", ""});
  std::string location = post.headers["location"].substr(jfrog.url().size());
  const std::vector<std::string> half = {"-H", "Content-Type: application/octet-stream", "--data-binary",
                                         "@" + dir.Sub("half")};
  auto patch = [&](const std::string& range) {
    std::vector<std::string> args = half;
    args.insert(args.end(), {"-H", "Content-Range: " + range});
    return CurlRequest(jfrog, "PATCH", location, args);
  };
  HttpAnswer one = patch("0-499");
  ASSERT_EQ(one.status, 202) << one.body;
  location = one.headers["location"].substr(jfrog.url().size());
  HttpAnswer again = patch("0-499");
  EXPECT_EQ(again.status, 416);
  EXPECT_EQ(again.headers["range"], "0-499");
  EXPECT_EQ(patch("500-999").status, 202);

  // Without the quirk only the spec's form passes; skopeo sends no Content-Range at all.
  JFrogFake::Options strict = Artifactory();
  strict.patch_quirk = false;
  JFrogFake spec(registry, strict);
  EXPECT_EQ(ChunkedUpload(spec, "docker-local/h", data, "0-1000").patch.status, 416);
  EXPECT_EQ(ChunkedUpload(spec, "docker-local/s", data, "0-999").put.status, 201);
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(140));
  Push(layout.path(), "x", spec, "docker-local/skopeo", "v1");
  EXPECT_EQ(HeadDigest(registry, "docker-local/skopeo", "v1"), image.digest);
}

TEST(JFrogFakeTest, RefusesMonolithicUploadsWhenAskedAsArtifactory6Did) {
  Registry registry;
  JFrogFake::Options o = Artifactory();
  o.refuse_monolithic = true;
  JFrogFake jfrog(registry, o);
  const std::string data(700, 'm');
  const std::string digest = Sha256Digest(data);
  TempDir dir;
  WriteFile(dir.Sub("blob"), data);

  HttpAnswer post = CurlRequest(jfrog, "POST", "/v2/docker-local/mono/blobs/uploads/", {"--data", ""});
  ASSERT_EQ(post.status, 202);
  const std::string location = post.headers["location"].substr(jfrog.url().size());
  HttpAnswer put = CurlRequest(jfrog, "PUT", location + "&digest=sha256%3A" + digest.substr(7),
                               {"-H", "Content-Type: application/octet-stream", "--data-binary", "@" + dir.Sub("blob")});
  EXPECT_EQ(put.status, 404);
  EXPECT_EQ(Body(put)["errors"][0]["code"], "BLOB_UNKNOWN");
  EXPECT_FALSE(BlobExists(registry, "docker-local/mono", digest));
  // Harbor's way (PATCH, then an empty PUT) and skopeo's still work.
  EXPECT_EQ(ChunkedUpload(jfrog, "docker-local/mono", data, "0-700").put.status, 201);
  EXPECT_TRUE(BlobExists(registry, "docker-local/mono", digest));
  TempDir layout;
  BuildImage(layout.path(), "x", SmallImage(150));
  Push(layout.path(), "x", jfrog, "docker-local/skopeo", "v1");
  EXPECT_EQ(ListTags(registry, "docker-local/skopeo"), std::vector<std::string>{"v1"});
}

}  // namespace
}  // namespace crossdock::testing
