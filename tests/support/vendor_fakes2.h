// The vendor fakes tests/fakes/ghcr (GitHub Container Registry with GitHub's packages REST
// API) and tests/fakes/jfrog (JFrog Artifactory, repository path method) for end-to-end
// tests, in the manner of vendor_fakes.h, whose VendorFake (process, stats, accounts),
// FakeStats and AccountEndpoint they reuse: each starts its fake in front of a running
// Registry{} and is an Endpoint carrying one account's Basic credentials. What each fake
// emulates, and how faithfully, is written at the top of its .cc.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

// tests/fakes/ghcr in front of UPSTREAM: ghcr.io (registry and /token) and the packages
// endpoints of api.github.com on one port. The Endpoint's credentials are LOGIN:PAT of
// its account, which both the registry (Basic, or a token from /token) and the REST API
// (Basic, "Bearer PAT" or "token PAT") take.
class GhcrFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"alice", "ghp_alice"}};     // --user LOGIN:PAT; owns namespace LOGIN
    std::vector<std::pair<std::string, std::string>> orgs{};   // --org {ORG, member}
    // --pat-scopes: LOGIN -> the PAT's scopes; a login not named has all three of
    // read:packages, write:packages, delete:packages.
    std::map<std::string, std::vector<std::string>> pat_scopes{};
    std::vector<std::string> public_packages{};  // --public OWNER/NAME…: the others are private
    std::string login{};      // the account this Endpoint uses; empty: users[0]
    int token_lifetime = 300;  // registry tokens
    int rate_limit = 5000;     // REST requests an hour per token
  };
  explicit GhcrFake(const Registry& upstream) : GhcrFake(upstream, Options{}) {}
  GhcrFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // curl arguments carrying USER's PAT (empty: this Endpoint's account) as
  // {"-H", "Authorization: Bearer PAT"}, which replaces CurlRequest's Basic credentials.
  std::vector<std::string> BearerHeader(const std::string& user = "") const;
  // A package name as one URL path segment: "a/b" -> "a%2Fb".
  static std::string EncodePackage(const std::string& name);

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

// tests/fakes/jfrog in front of UPSTREAM: Artifactory's REST API (/artifactory/api/…), its
// Docker API (/artifactory/api/docker/KEY/v2/…) and the registry of the repository path
// method (/v2/KEY/IMAGE/…, /v2/token) on one port. The image KEY/IMAGE is the repository
// "KEY/IMAGE" of the registry behind.
class JFrogFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"admin", "password"}};   // --user NAME:PASSWORD
    std::string admin = "admin";  // --admin: may create repositories; empty: nobody
    std::vector<std::string> repos = {"docker-local:docker"};  // --repo KEY:docker|oci (local)
    std::vector<std::string> remote_repos{};                   // --remote-repo KEY (Docker)
    std::string login{};       // the account this Endpoint uses; empty: users[0]
    bool patch_quirk = true;   // a PATCH's Content-Range may end at start+length (Harbor's)
    bool refuse_monolithic = false;  // a PUT completing an upload with a body is 404
    int token_lifetime = 3600;       // registry tokens
  };
  explicit JFrogFake(const Registry& upstream) : JFrogFake(upstream, Options{}) {}
  JFrogFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }
  // Artifactory's base URL, where its REST API lives: url() + "/artifactory".
  std::string api_url() const { return url() + "/artifactory"; }

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

}  // namespace crossdock::testing
