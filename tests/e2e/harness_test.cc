// Tests of the end-to-end harness itself (tests/support/harness.h) against the real
// parts: docker-registry, skopeo, curl, openssl and the fakes. If these fail, no
// other end-to-end result can be trusted.
#include "tests/support/harness.h"

// As Debian builds libcpp-httplib (see tests/fakes/token_server.cc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace crossdock::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ImageSpec SmallImage(uint64_t seed, const std::string& arch = "amd64") {
  ImageSpec spec;
  spec.architecture = arch;
  spec.layers = {LayerSpec{300 * 1024, seed, /*gzip=*/true}, LayerSpec{4096, seed + 1000}};
  spec.labels = {{"seed", std::to_string(seed)}};
  return spec;
}

// True once pid is gone or a zombie (a container's pid 1 may never reap it).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

TEST(HarnessProcessTest, RunCommandCapturesLargeStdoutAndStderrSeparately) {
  RunResult r = RunCommand({"sh", "-c", "head -c 3000000 /dev/zero; echo oops >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.err, "oops\n");
}

TEST(HarnessProcessTest, RunCommandPassesEnvironmentAndWorkingDirectory) {
  TempDir dir;
  RunResult r = RunCommand({"sh", "-c", "echo \"$HARNESS_X\"; pwd; cat"}, {{"HARNESS_X", "42"}},
                           dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "42\n" + std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(HarnessProcessTest, RunCommandKillsWhatOutlivesItsTimeout) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(RunCommand({"sleep", "30"}, {}, "", 1), HarnessError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(25));  // not sleep's 30 s
  EXPECT_THROW(RunCommand({"no-such-program-crossdock"}), HarnessError);
}

TEST(HarnessProcessTest, StopEndsTheWholeProcessGroup) {
  TempDir dir;
  Process p({"sh", "-c", "sleep 100 & echo $! > child.pid; wait"}, dir.Sub("log"), {}, dir.path());
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (!std::filesystem::exists(dir.Sub("child.pid")) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::this_thread::sleep_for(milliseconds(50));
  pid_t child = std::atoi(ReadFile(dir.Sub("child.pid")).c_str());
  ASSERT_GT(child, 0);
  EXPECT_TRUE(p.Running());
  EXPECT_EQ(p.Stop(), 128 + SIGTERM);
  deadline = std::chrono::steady_clock::now() + seconds(5);
  while (!ProcessGone(child) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(ProcessGone(child)) << "grandchild " << child << " survived Stop()";

  Process q({"sleep", "100"}, dir.Sub("log2"));
  EXPECT_EQ(q.WaitFor(milliseconds(50)), std::nullopt);
  q.Kill9();
  EXPECT_EQ(q.Wait(), 128 + SIGKILL);
}

TEST(HarnessProcessTest, CrossdockBinUnsetFailsClearly) {
  const char* old = std::getenv("CROSSDOCK_BIN");
  std::string saved = old != nullptr ? old : "";
  unsetenv("CROSSDOCK_BIN");
  try {
    RunCrossdock({"--help"});
    ADD_FAILURE() << "RunCrossdock ran without CROSSDOCK_BIN";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("CROSSDOCK_BIN is not set"), std::string::npos);
  }
  if (old != nullptr) setenv("CROSSDOCK_BIN", saved.c_str(), 1);
}

TEST(HarnessImageTest, LayoutsAreDeterministicAndLayersAreValidArchives) {
  TempDir a, b;
  BuiltImage first = BuildImage(a.path(), "v1", SmallImage(7));
  BuiltImage again = BuildImage(b.path(), "v1", SmallImage(7));
  EXPECT_EQ(first.digest, again.digest);
  EXPECT_NE(first.digest, BuildImage(a.path(), "v2", SmallImage(8)).digest);
  ASSERT_EQ(first.blobs.size(), 3u);  // config, gzip layer, tar layer

  for (const std::string& blob : first.blobs) {
    std::string path = a.path() + "/blobs/sha256/" + blob.substr(7);
    EXPECT_EQ(Sha256Digest(ReadFile(path)), blob);
  }
  std::string gz = a.path() + "/blobs/sha256/" + first.blobs[1].substr(7);
  RunResult listing = RunCommand({"sh", "-c", "gzip -dc \"$0\" | tar -tvf -", gz});
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("307200"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("seed-7.bin"), std::string::npos) << listing.out;
  std::string tar = a.path() + "/blobs/sha256/" + first.blobs[2].substr(7);
  listing = RunCommand({"tar", "-tf", tar});
  EXPECT_EQ(listing.out, "seed-1007.bin\n") << listing.err;
}

TEST(HarnessRegistryTest, PlainRegistryKeepsDigestsOfImagesAndIndexes) {
  TempDir layout;
  BuiltImage single = BuildImage(layout.path(), "single", SmallImage(1));
  ImageSpec arm = SmallImage(2, "arm64");
  arm.variant = "v8";
  BuiltImage multi = BuildIndex(layout.path(), "multi", {SmallImage(3), arm});
  ImageSpec docker = SmallImage(4);
  docker.docker = true;
  BuiltImage docker_image = BuildImage(layout.path(), "docker", docker);
  ImageSpec docker_arm = SmallImage(5, "arm64");
  docker_arm.docker = true;
  BuiltImage docker_list = BuildIndex(layout.path(), "docker-list", {docker, docker_arm});

  Registry registry;
  EXPECT_EQ(registry.url(), "http://127.0.0.1:" + std::to_string(registry.port()));
  Push(layout.path(), "single", registry, "lib/single", "v1");
  Push(layout.path(), "multi", registry, "lib/multi", "v1");
  Push(layout.path(), "docker", registry, "lib/docker", "v1");
  Push(layout.path(), "docker-list", registry, "lib/docker", "list");

  EXPECT_EQ(HeadDigest(registry, "lib/single", "v1"), single.digest);
  EXPECT_EQ(HeadDigest(registry, "lib/multi", "v1"), multi.digest);
  EXPECT_EQ(HeadDigest(registry, "lib/docker", "v1"), docker_image.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(registry, "lib/multi", "v1")), multi.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(registry, "lib/docker", "v1")), docker_image.digest);
  EXPECT_NE(SkopeoInspectRaw(registry, "lib/docker", "v1")
                .find("application/vnd.docker.distribution.manifest.v2+json"),
            std::string::npos);
  EXPECT_EQ(HeadDigest(registry, "lib/docker", "list"), docker_list.digest);
  EXPECT_EQ(HeadDigest(registry, "lib/docker", docker_list.manifests[1].digest),
            docker_list.manifests[1].digest);
  ASSERT_EQ(multi.manifests.size(), 2u);
  for (const BuiltImage& child : multi.manifests) {
    EXPECT_EQ(HeadDigest(registry, "lib/multi", child.digest), child.digest);
  }
  for (const std::string& blob : multi.blobs) EXPECT_TRUE(BlobExists(registry, "lib/multi", blob));
  EXPECT_FALSE(BlobExists(registry, "lib/single", multi.blobs.back()));
  EXPECT_EQ(HeadDigest(registry, "lib/single", "nope"), std::nullopt);
  EXPECT_EQ(ListTags(registry, "no/such/repo"), std::vector<std::string>{});

  PushManifestUnderTags(registry, "lib/single", "v1", {"v2", "latest"});
  EXPECT_EQ(ListTags(registry, "lib/single"), (std::vector<std::string>{"latest", "v1", "v2"}));
  EXPECT_EQ(HeadDigest(registry, "lib/single", "latest"), single.digest);
  DeleteTag(registry, "lib/multi", "v1");
  EXPECT_EQ(HeadDigest(registry, "lib/multi", "v1"), std::nullopt);

  registry.Restart();
  EXPECT_EQ(HeadDigest(registry, "lib/single", "v2"), single.digest);
}

TEST(HarnessRegistryTest, NotificationsReachTheConfiguredEndpoint) {
  httplib::Server listener;
  std::mutex mu;
  std::vector<std::string> bodies, authorizations;
  listener.Post("/events", [&](const httplib::Request& req, httplib::Response&) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(req.body);
    authorizations.push_back(req.get_header_value("Authorization"));
  });
  int port = listener.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { listener.listen_after_bind(); });
  struct StopListener {
    httplib::Server& server;
    std::thread& thread;
    ~StopListener() {
      server.stop();
      thread.join();
    }
  } stop{listener, serving};

  Registry::Options options;
  options.notifications.push_back(
      {"http://127.0.0.1:" + std::to_string(port) + "/events", {{"Authorization", "Bearer n0t1fy"}}});
  Registry registry(options);
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(11));
  Push(layout.path(), "x", registry, "lib/events", "v1");

  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      bool seen = false;
      for (const std::string& b : bodies) seen |= b.find(image.digest) != std::string::npos;
      if (seen) {
        EXPECT_EQ(authorizations.front(), "Bearer n0t1fy");
        break;
      }
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no push event for " << image.digest;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

TEST(HarnessRegistryTest, TlsWithBasicAuthAcceptsTheUserAndRefusesAWrongPassword) {
  Registry::Options options;
  options.tls = true;
  options.htpasswd_user = "admin";
  options.htpasswd_password = "s3cret";
  Registry registry(options);
  EXPECT_EQ(registry.url(), "https://127.0.0.1:" + std::to_string(registry.port()));
  EXPECT_TRUE(std::filesystem::exists(registry.cert_dir() + "/ca.crt"));

  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(5));
  Push(layout.path(), "x", registry, "team/app", "1.0");
  EXPECT_EQ(HeadDigest(registry, "team/app", "1.0"), image.digest);
  EXPECT_EQ(ListTags(registry, "team/app"), std::vector<std::string>{"1.0"});

  EXPECT_EQ(CurlRequest(registry, "GET", "/v2/", {}, {}, "admin:wrong").status, 401);
  EXPECT_EQ(CurlRequest(registry, "GET", "/v2/", {}, {}, "").status, 401);
  RunResult skopeo = RunCommand({"skopeo", "inspect", "--raw", "--cert-dir", registry.cert_dir(),
                                 "--creds", "admin:wrong", "docker://" + registry.host() + "/team/app:1.0"});
  EXPECT_NE(skopeo.exit_code, 0);
  // The certificate is really checked: without the CA, curl refuses the server.
  RunResult untrusted = RunCommand({"curl", "-sS", "--noproxy", "*", registry.url() + "/v2/"});
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.err;

  // A proxy in front of a TLS registry serves plain HTTP with its credentials.
  CorruptProxy proxy(registry);
  EXPECT_EQ(proxy.url(), "http://127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_EQ(HeadDigest(proxy, "team/app", "1.0"), image.digest);
}

TEST(HarnessRegistryTest, TokenAuthIssuesTokensThatReallyExpire) {
  TokenServer::Options token_options;
  token_options.username = "robot";
  token_options.password = "pw";
  TokenServer tokens(token_options);
  Registry::Options options;
  options.token_server = &tokens;
  Registry registry(options);

  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(6));
  Push(layout.path(), "x", registry, "lib/tok", "v1");
  EXPECT_EQ(HeadDigest(registry, "lib/tok", "v1"), image.digest);
  EXPECT_EQ(Sha256Digest(SkopeoInspectRaw(registry, "lib/tok", "v1")), image.digest);
  TokenServer::Stats stats = tokens.GetStats();
  EXPECT_GT(stats.tokens_issued, 0);  // skopeo's
  EXPECT_GT(stats.harness_tokens_issued, 0);
  bool saw_push_scope = false;
  for (const std::string& s : stats.scopes) {
    saw_push_scope |= s.find("repository:lib/tok:") != std::string::npos && s.find("push") != std::string::npos;
  }
  EXPECT_TRUE(saw_push_scope);

  // Without credentials the token grants nothing; with wrong ones there is none.
  HttpAnswer anonymous = CurlRequest(registry, "HEAD", "/v2/lib/tok/manifests/v1", {}, {}, "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(tokens.FetchToken({"repository:lib/tok:pull"}, "robot:wrong"), std::nullopt);
  EXPECT_EQ(tokens.GetStats().unauthorized, 1);

  tokens.SetLifetime(/*lifetime_s=*/2, /*expires_in_s=*/1);
  auto issued = std::chrono::steady_clock::now();
  std::optional<std::string> token = tokens.FetchToken({"repository:lib/tok:pull"});
  ASSERT_TRUE(token.has_value());
  // HEAD with this very token (CurlRequest then adds none of its own).
  std::vector<std::string> with_token = {"-H", "Authorization: Bearer " + *token, "-H",
                                         "Accept: application/vnd.oci.image.manifest.v1+json"};
  HttpAnswer fresh = CurlRequest(registry, "HEAD", "/v2/lib/tok/manifests/v1", with_token);
  EXPECT_EQ(fresh.status, 200);
  std::this_thread::sleep_until(issued + milliseconds(3100));
  HttpAnswer stale = CurlRequest(registry, "HEAD", "/v2/lib/tok/manifests/v1", with_token);
  EXPECT_EQ(stale.status, 401);
  EXPECT_NE(stale.headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos)
      << stale.headers["www-authenticate"];
}

TEST(HarnessRegistryTest, ARegistryThatCannotStartFailsWithItsLog) {
  TokenServer tokens;
  std::filesystem::remove(tokens.cert_path());
  Registry::Options options;
  options.token_server = &tokens;
  try {
    Registry registry(options);
    ADD_FAILURE() << "a registry without its rootcertbundle started";
  } catch (const HarnessError& e) {
    EXPECT_NE(std::string(e.what()).find("exited with code"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(tokens.cert_path()), std::string::npos) << e.what();
  }
}

TEST(HarnessProxyTest, CorruptsBlobsInTransitButNotManifests) {
  Registry registry;
  TempDir layout;
  BuiltImage image = BuildImage(layout.path(), "x", SmallImage(9));
  Push(layout.path(), "x", registry, "lib/app", "v1");

  CorruptProxy proxy(registry);
  HttpAnswer manifest = CurlRequest(proxy, "GET", "/v2/lib/app/manifests/v1",
                                    {"-H", "Accept: application/vnd.oci.image.manifest.v1+json"});
  EXPECT_EQ(manifest.status, 200);
  EXPECT_EQ(Sha256Digest(manifest.body), image.digest);
  for (const std::string& blob : image.blobs) {
    HttpAnswer bad = CurlRequest(proxy, "GET", "/v2/lib/app/blobs/" + blob);
    HttpAnswer good = CurlRequest(registry, "GET", "/v2/lib/app/blobs/" + blob);
    EXPECT_EQ(bad.status, 200);
    EXPECT_EQ(Sha256Digest(good.body), blob);
    EXPECT_EQ(bad.body.size(), good.body.size());
    EXPECT_NE(Sha256Digest(bad.body), blob);
  }
  HttpAnswer head = CurlRequest(proxy, "HEAD", "/v2/lib/app/blobs/" + image.blobs[1]);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["docker-content-digest"], image.blobs[1]);
  EXPECT_EQ(head.headers["content-length"],
            std::to_string(std::filesystem::file_size(layout.Sub("blobs/sha256/" + image.blobs[1].substr(7)))));

  // Uploads pass through (POST, PATCH, PUT and the rewritten Location).
  BuiltImage other = BuildImage(layout.path(), "y", SmallImage(10));
  Push(layout.path(), "y", proxy, "lib/other", "v1");
  EXPECT_EQ(HeadDigest(registry, "lib/other", "v1"), other.digest);
  CorruptProxy::Stats stats = proxy.GetStats();
  EXPECT_EQ(stats.corrupted, 3);
  EXPECT_GT(stats.by_method["PATCH"] + stats.by_method["PUT"], 0);

  // only_digests damages just the blobs named.
  CorruptProxy::Options only_one;
  only_one.only_digests = {image.blobs[2]};
  CorruptProxy picky(registry, only_one);
  EXPECT_EQ(Sha256Digest(CurlRequest(picky, "GET", "/v2/lib/app/blobs/" + image.blobs[1]).body), image.blobs[1]);
  EXPECT_NE(Sha256Digest(CurlRequest(picky, "GET", "/v2/lib/app/blobs/" + image.blobs[2]).body), image.blobs[2]);
}

}  // namespace
}  // namespace crossdock::testing
