// The vendor fakes of tests/fakes/ (harbor, dockerhub, quay, gitlab) for end-to-end tests:
// each class starts its fake in front of a running Registry{} (a plain docker-registry
// without auth, which holds the data) and is an Endpoint carrying one account's Basic
// credentials, so the verification helpers of harness.h (Push, HeadDigest, ListTags,
// SkopeoInspectRaw, CurlRequest…) go through the fake as that account. What each fake
// emulates, and how faithfully, is written at the top of its .cc.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {

struct Account {
  std::string name{}, password{};
};

// What a vendor fake's GET /fake/stats reports (requests to /fake/* are not counted).
struct FakeStats {
  int requests = 0;
  int api = 0;    // control plane: Harbor's /api/…, the Hub API
  int v2 = 0;     // registry: /v2/… (Docker Hub's API calls under /v2/ count in api)
  int token = 0;  // token service: Harbor's /service/token, Docker Hub's /token
  std::map<std::string, int> by_path{};  // first path segment -> requests
  std::vector<std::string> paths{};      // "METHOD /path?query", the first 500
};

// The same fake reached with other credentials (an empty username: anonymous).
class AccountEndpoint : public Endpoint {
 public:
  AccountEndpoint(int port, std::string username, std::string password) {
    port_ = port;
    username_ = std::move(username);
    password_ = std::move(password);
  }
};

// What both vendor fakes share: their process, their stats, their other accounts.
class VendorFake : public Endpoint {
 public:
  using Stats = FakeStats;

  std::string api_url() const { return url(); }  // the API and /v2/ share the origin
  Stats GetStats() const;
  void ResetStats() const;  // POST /fake/reset-stats
  std::string log() const { return fake_->log(); }  // one line per answer
  Process& process() { return fake_->process(); }

  // This fake as USER (one of its accounts), or as nobody.
  AccountEndpoint As(const std::string& user) const;
  AccountEndpoint Anonymous() const { return AccountEndpoint(port_, "", ""); }

 protected:
  // Starts tests/fakes/NAME with ARGS plus the flags naming UPSTREAM (which must be a
  // plain Registry{}) and USERS; this Endpoint carries LOGIN's credentials (empty:
  // the first account's). Throws HarnessError if the fake does not start.
  VendorFake(const std::string& name, const Registry& upstream, const std::vector<Account>& users,
             const std::string& login, std::vector<std::string> args);
  const Account& FindAccount(const std::string& name) const;

 private:
  std::vector<Account> users_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<FakeProcess> fake_;
};

// tests/fakes/harbor in front of UPSTREAM: Harbor's API v2.0 and token service, and its
// /v2/ with Harbor's authorization checks.
class HarborFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"admin", "Harbor12345"}};  // --user
    std::string admin = "admin";  // --admin: the system admin; empty: nobody
    std::string login{};          // the account this Endpoint uses; empty: users[0]
    std::vector<std::string> projects = {"library:public"};  // --project NAME[:public]
    std::vector<std::string> proxy_cache_projects{};          // registry_id 7
    bool v1 = false;          // /api/version answers 404, as Harbor 1.x
    int token_lifetime = 1800;
    int page_cap = 100;       // the largest page_size served
    // JSON lists served (to the admin) as GET /api/v2.0/registries and
    // /api/v2.0/replication/policies, read at each request; "": empty lists.
    std::string registries_file{}, policies_file{};
  };
  explicit HarborFake(const Registry& upstream) : HarborFake(upstream, Options{}) {}
  HarborFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // Attaches the global label LABEL to the artifact PROJECT/REPO@REFERENCE (REPO without
  // the project, e.g. "a/b"; REFERENCE a tag or digest) with Harbor's two calls, as the
  // admin: POST /api/v2.0/labels (on 409 the existing label's id is looked up), then POST
  // .../artifacts/REFERENCE/labels. Returns the label id; throws HarnessError otherwise.
  std::int64_t AddLabel(const std::string& project, const std::string& repo,
                        const std::string& reference, const std::string& label) const;

  // REPO's path segment in the API: escaped twice, "a/b" -> "a%252Fb"
  // (goharbor/harbor src/lib/encode/repository).
  static std::string EncodeRepository(const std::string& repo);

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

// tests/fakes/dockerhub in front of UPSTREAM: the Hub API, the registry token service
// and the registry on one port.
class DockerHubFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"alice", "dckr_pat_alice"}};  // --user; owns namespace NAME
    std::vector<std::pair<std::string, std::string>> orgs{};     // --org {ORG, member}
    std::string login{};  // the account this Endpoint uses; empty: users[0]
    int token_lifetime = 600;           // Hub API tokens
    int registry_token_lifetime = 300;  // registry tokens
    int pull_limit = 0;   // > 0: ratelimit-* headers and 429 once spent
    int retry_after = 2;  // on the pull 429
    int api_429 = 0;      // the first N Hub API requests answer 429
    bool x_retry_after = false;  // those 429s carry X-Retry-After (unix time), not Retry-After
  };
  explicit DockerHubFake(const Registry& upstream) : DockerHubFake(upstream, Options{}) {}
  DockerHubFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // REMAINING manifest GETs are allowed from now on (POST /fake/pull-budget).
  void SetPullBudget(int remaining) const;
  // A Hub API access token for USER (empty: this Endpoint's account) from
  // POST /v2/auth/token; throws HarnessError unless it answers 200.
  std::string HubToken(const std::string& user = "") const;

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

// tests/fakes/quay in front of UPSTREAM: Quay's API v1, its registry token endpoint
// (/v2/auth) and its registry on one port.
class QuayFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"alice", "alice-cli-password"}};  // --user NAME:CLI_PASSWORD
    std::vector<std::pair<std::string, std::string>> oauth_tokens{};  // --oauth-token {TOKEN, user}
    std::vector<std::pair<std::string, std::string>> orgs{};          // --org {ORG, member}
    std::string login{};  // the account this Endpoint uses; empty: users[0]
    bool captcha = false;            // organization creation answers quay.io's captcha 400
    int token_lifetime = 3600;       // registry tokens
    bool manifest_put_202 = true;    // a manifest PUT answers 202, not the registry's 201
    int page_size = 100;             // the _catalog, repository and tag page cap
  };
  explicit QuayFake(const Registry& upstream) : QuayFake(upstream, Options{}) {}
  QuayFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // The json_file secret of USER (empty: this Endpoint's account), as Harbor's quay
  // adapter takes it: {"account_name","docker_cli_password","oauth2_token"}, the last
  // only when USER has an OAuth token among options().oauth_tokens.
  std::string JsonFileSecret(const std::string& user) const;
  // USER's OAuth token (empty: this Endpoint's account); throws HarnessError if none.
  std::string OAuthToken(const std::string& user = "") const;
  // POST /api/v1/organization/ {"name":ORG,"email":"ORG@quay.io"} with USER's OAuth token
  // (empty: this Endpoint's account; "-": no token at all). Returns the answer.
  HttpAnswer CreateOrg(const std::string& org, const std::string& user = "") const;

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

// tests/fakes/gitlab in front of UPSTREAM: GitLab's API v4, its registry token realm
// (/jwt/auth) and its container registry on one port.
class GitLabFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"alice", "glpat-alice"}};  // --user NAME:PAT
    std::vector<std::string> projects = {"group/app"};        // --project FULL/PATH
    std::string login{};  // the account this Endpoint uses; empty: users[0]
    int token_lifetime = 300;  // registry tokens
    int per_page_cap = 100;    // the largest per_page served
    int api_429 = 0;           // the first N API requests answer 429
    std::vector<std::string> protected_tags{};  // their deletion answers 403
  };
  explicit GitLabFake(const Registry& upstream) : GitLabFake(upstream, Options{}) {}
  GitLabFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // curl arguments carrying USER's personal access token (empty: this Endpoint's
  // account): {"-H", "PRIVATE-TOKEN: …"}.
  std::vector<std::string> TokenHeader(const std::string& user = "") const;
  // PATH as one URL path segment, "group/app" -> "group%2Fapp".
  static std::string EncodePath(const std::string& path);
  // The id of project PATH (GET /api/v4/projects/ENCODED); throws HarnessError otherwise.
  std::int64_t ProjectId(const std::string& path) const;

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

}  // namespace crossdock::testing
