// Implementation of tests/support/vendor_fakes.h: command lines of the vendor fakes and
// the few API calls the harness makes through them, with curl (CurlRequest).
#include "tests/support/vendor_fakes.h"

#include <nlohmann/json.hpp>

namespace crossdock::testing {
namespace {

using nlohmann::json;

std::string Credentials(const Account& a) { return a.name + ":" + a.password; }

void PostFake(const Endpoint& fake, const std::string& path) {
  HttpAnswer a = CurlRequest(fake, "POST", path, {"--data", ""}, {}, "");
  if (a.status != 200) throw HarnessError("POST " + path + " answered " + std::to_string(a.status));
}

// A JSON body for CurlRequest.
std::vector<std::string> JsonBody(const json& body) {
  return {"-H", "Content-Type: application/json", "--data-binary", body.dump()};
}

}  // namespace

// ---- what both share ----

VendorFake::VendorFake(const std::string& name, const Registry& upstream, const std::vector<Account>& users,
                       const std::string& login, std::vector<std::string> args)
    : users_(users), dir_(std::make_unique<TempDir>("crossdock-" + name)) {
  if (upstream.tls() || !upstream.username().empty() || upstream.token_server() != nullptr) {
    throw HarnessError(name + ": the upstream must be a plain docker-registry without auth (Registry{})");
  }
  if (users_.empty()) throw HarnessError(name + ": a vendor fake needs at least one account");
  const Account& account = login.empty() ? users_.front() : FindAccount(login);
  args.insert(args.end(), {"--upstream", upstream.url(), "--storage", upstream.storage_dir()});
  for (const Account& a : users_) {
    args.push_back("--user");
    args.push_back(Credentials(a));
  }
  fake_ = std::make_unique<FakeProcess>(name, args, dir_->Sub(name + ".log"));
  port_ = fake_->port();
  username_ = account.name;
  password_ = account.password;
}

const Account& VendorFake::FindAccount(const std::string& name) const {
  for (const Account& a : users_) {
    if (a.name == name) return a;
  }
  throw HarnessError("no account named \"" + name + "\" among the fake's users");
}

VendorFake::Stats VendorFake::GetStats() const {
  HttpAnswer a = CurlRequest(*this, "GET", "/fake/stats", {}, {}, "");
  if (a.status != 200) throw HarnessError("GET /fake/stats answered " + std::to_string(a.status));
  json j = json::parse(a.body);
  Stats stats;
  stats.requests = j.at("requests").get<int>();
  stats.api = j.at("api").get<int>();
  stats.v2 = j.at("v2").get<int>();
  stats.token = j.at("token").get<int>();
  stats.by_path = j.at("by_path").get<std::map<std::string, int>>();
  stats.paths = j.at("paths").get<std::vector<std::string>>();
  return stats;
}

void VendorFake::ResetStats() const { PostFake(*this, "/fake/reset-stats"); }

AccountEndpoint VendorFake::As(const std::string& user) const {
  const Account& a = FindAccount(user);
  return AccountEndpoint(port_, a.name, a.password);
}

// ---- Harbor ----

HarborFake::HarborFake(const Registry& upstream, Options options)
    : VendorFake("harbor", upstream, options.users, options.login, Args(options)),
      options_(std::move(options)) {}

std::vector<std::string> HarborFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime),
                                   "--page-cap", std::to_string(options.page_cap)};
  if (!options.admin.empty()) args.insert(args.end(), {"--admin", options.admin});
  for (const std::string& p : options.projects) args.insert(args.end(), {"--project", p});
  for (const std::string& p : options.proxy_cache_projects) {
    args.insert(args.end(), {"--proxy-cache-project", p});
  }
  if (options.v1) args.push_back("--v1");
  if (!options.registries_file.empty()) args.insert(args.end(), {"--registries", options.registries_file});
  if (!options.policies_file.empty()) args.insert(args.end(), {"--policies", options.policies_file});
  return args;
}

std::string HarborFake::EncodeRepository(const std::string& repo) {
  std::string out;
  for (char c : repo) {
    if (c == '/') {
      out += "%252F";
    } else if (c == '%') {
      out += "%2525";
    } else {
      out += c;
    }
  }
  return out;
}

std::int64_t HarborFake::AddLabel(const std::string& project, const std::string& repo,
                                  const std::string& reference, const std::string& label) const {
  if (options_.admin.empty()) throw HarnessError("AddLabel: this Harbor fake has no --admin");
  const std::string admin = Credentials(FindAccount(options_.admin));
  HttpAnswer created =
      CurlRequest(*this, "POST", "/api/v2.0/labels", JsonBody({{"name", label}, {"scope", "g"}}), {}, admin);
  std::int64_t id = 0;
  if (created.status == 201) {
    const std::string location = created.headers["location"];
    id = std::stoll(location.substr(location.rfind('/') + 1));
  } else if (created.status == 409) {
    HttpAnswer found =
        CurlRequest(*this, "GET", "/api/v2.0/labels?scope=g&page_size=100&name=" + label, {}, {}, admin);
    if (found.status != 200) {
      throw HarnessError("GET labels answered " + std::to_string(found.status) + ": " + found.body);
    }
    for (const json& l : json::parse(found.body)) {
      if (l.at("name") == label) id = l.at("id").get<std::int64_t>();
    }
    if (id == 0) throw HarnessError("label " + label + " conflicts but is not listed: " + found.body);
  } else {
    throw HarnessError("POST /api/v2.0/labels answered " + std::to_string(created.status) + ": " + created.body);
  }
  const std::string path = "/api/v2.0/projects/" + project + "/repositories/" + EncodeRepository(repo) +
                           "/artifacts/" + reference + "/labels";
  HttpAnswer added = CurlRequest(*this, "POST", path, JsonBody({{"id", id}}), {}, admin);
  if (added.status != 200) {
    throw HarnessError("POST " + path + " answered " + std::to_string(added.status) + ": " + added.body);
  }
  return id;
}

// ---- Docker Hub ----

DockerHubFake::DockerHubFake(const Registry& upstream, Options options)
    : VendorFake("dockerhub", upstream, options.users, options.login, Args(options)),
      options_(std::move(options)) {}

std::vector<std::string> DockerHubFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime),
                                   "--registry-token-lifetime", std::to_string(options.registry_token_lifetime),
                                   "--pull-limit", std::to_string(options.pull_limit),
                                   "--retry-after", std::to_string(options.retry_after),
                                   "--api-429", std::to_string(options.api_429)};
  for (const auto& [org, member] : options.orgs) args.insert(args.end(), {"--org", org + ":" + member});
  if (options.x_retry_after) args.push_back("--x-retry-after");
  return args;
}

void DockerHubFake::SetPullBudget(int remaining) const {
  PostFake(*this, "/fake/pull-budget?remaining=" + std::to_string(remaining));
}

std::string DockerHubFake::HubToken(const std::string& user) const {
  const Account& a = FindAccount(user.empty() ? username() : user);
  HttpAnswer got = CurlRequest(*this, "POST", "/v2/auth/token",
                               JsonBody({{"identifier", a.name}, {"secret", a.password}}), {}, "");
  if (got.status != 200) {
    throw HarnessError("POST /v2/auth/token answered " + std::to_string(got.status) + ": " + got.body);
  }
  return json::parse(got.body).at("access_token").get<std::string>();
}

// ---- Quay ----

QuayFake::QuayFake(const Registry& upstream, Options options)
    : VendorFake("quay", upstream, options.users, options.login, Args(options)), options_(std::move(options)) {}

std::vector<std::string> QuayFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime), "--page-size",
                                   std::to_string(options.page_size),
                                   options.manifest_put_202 ? "--manifest-put-202" : "--no-manifest-put-202"};
  for (const auto& [token, user] : options.oauth_tokens) args.insert(args.end(), {"--oauth-token", token + ":" + user});
  for (const auto& [org, member] : options.orgs) args.insert(args.end(), {"--org", org + ":" + member});
  if (options.captcha) args.push_back("--captcha");
  return args;
}

std::string QuayFake::OAuthToken(const std::string& user) const {
  const std::string name = user.empty() ? username() : user;
  for (const auto& [token, owner] : options_.oauth_tokens) {
    if (owner == name) return token;
  }
  throw HarnessError("the Quay fake has no OAuth token for \"" + name + "\"");
}

std::string QuayFake::JsonFileSecret(const std::string& user) const {
  const Account& a = FindAccount(user.empty() ? username() : user);
  json secret = {{"account_name", a.name}, {"docker_cli_password", a.password}};
  for (const auto& [token, owner] : options_.oauth_tokens) {
    if (owner == a.name) secret["oauth2_token"] = token;
  }
  return secret.dump();
}

HttpAnswer QuayFake::CreateOrg(const std::string& org, const std::string& user) const {
  std::vector<std::string> args = JsonBody({{"name", org}, {"email", org + "@quay.io"}});
  if (user != "-") args.insert(args.end(), {"-H", "Authorization: Bearer " + OAuthToken(user)});
  return CurlRequest(*this, "POST", "/api/v1/organization/", args, {}, "");
}

// ---- GitLab ----

GitLabFake::GitLabFake(const Registry& upstream, Options options)
    : VendorFake("gitlab", upstream, options.users, options.login, Args(options)), options_(std::move(options)) {}

std::vector<std::string> GitLabFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime), "--per-page-cap",
                                   std::to_string(options.per_page_cap), "--api-429", std::to_string(options.api_429)};
  for (const std::string& p : options.projects) args.insert(args.end(), {"--project", p});
  for (const std::string& t : options.protected_tags) args.insert(args.end(), {"--protected-tag", t});
  return args;
}

std::vector<std::string> GitLabFake::TokenHeader(const std::string& user) const {
  return {"-H", "PRIVATE-TOKEN: " + FindAccount(user.empty() ? username() : user).password};
}

std::string GitLabFake::EncodePath(const std::string& path) {
  std::string out;
  for (char c : path) out += c == '/' ? std::string("%2F") : std::string(1, c);
  return out;
}

std::int64_t GitLabFake::ProjectId(const std::string& path) const {
  HttpAnswer got = CurlRequest(*this, "GET", "/api/v4/projects/" + EncodePath(path), TokenHeader(), {}, "");
  if (got.status != 200) {
    throw HarnessError("GET /api/v4/projects/" + EncodePath(path) + " answered " + std::to_string(got.status) + ": " +
                       got.body);
  }
  return json::parse(got.body).at("id").get<std::int64_t>();
}

}  // namespace crossdock::testing
