#include "providers/quay/quay.h"

#include <utility>

#include "core/text_position.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

constexpr int kPageSize = 100;  // endpoints/api/tag.py: limit at most 100

}  // namespace

core::Result<QuaySecret> ParseQuaySecret(const std::string& text, const std::string& endpoint) {
  const std::string what = "password of endpoint \"" + endpoint + "\"";
  const std::string expected =
      "; a quay endpoint's password is Quay's json_file secret "
      "{\"account_name\":…,\"docker_cli_password\":…,\"oauth2_token\":… (optional)}";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Only the position: the exception's text quotes what it read, which is secret.
    auto [line, column] = core::LineAndColumn(text, e.byte > 0 ? e.byte - 1 : 0);
    return core::Status::InvalidArgument(what + " is not JSON (error at line " +
                                         std::to_string(line) + ", column " +
                                         std::to_string(column) + ")" + expected);
  }
  QuaySecret s;
  if (!j.is_object() || !Field(j, "account_name").is_string() ||
      !Field(j, "docker_cli_password").is_string() ||
      Field(j, "account_name").get<std::string>().empty() ||
      Field(j, "docker_cli_password").get<std::string>().empty())
    return core::Status::InvalidArgument(what + " lacks account_name or docker_cli_password" +
                                         expected);
  s.account_name = Field(j, "account_name");
  s.docker_cli_password = Field(j, "docker_cli_password");
  if (Field(j, "oauth2_token").is_string()) s.oauth2_token = Field(j, "oauth2_token");
  return s;
}

QuayRegistry::QuayRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url,
                           QuaySecret secret)
    : VendorRegistry(std::move(registry), std::move(api_url), "Quay"), secret_(std::move(secret)) {}

std::vector<std::pair<std::string, std::string>> QuayRegistry::Auth() const {
  if (secret_.oauth2_token.empty()) return {};
  return {{"Authorization", "Bearer " + secret_.oauth2_token}};
}

bool QuayRegistry::IsQuayIo() const {
  auto origin = ParseOrigin(api_url());
  return origin && origin->host == "quay.io";
}

bool QuayRegistry::InMissingOrganisation(const core::Status& st, const std::string& repo) {
  if (st.code() != core::Code::kUnauthenticated && st.code() != core::Code::kPermissionDenied)
    return false;
  auto ns = CheckNamespace(repo);
  return ns.ok() && !ns->exists;
}

core::Result<std::optional<ManifestHead>> QuayRegistry::HeadManifest(const std::string& repo,
                                                                     const std::string& ref) {
  auto h = VendorRegistry::HeadManifest(repo, ref);
  if (!h.ok() && InMissingOrganisation(h.status(), repo)) return std::optional<ManifestHead>();
  return h;
}

core::Result<TagListing> QuayRegistry::ListTagsWithDigests(const std::string& repo) {
  if (secret_.oauth2_token.empty()) {
    auto l = VendorRegistry::ListTagsWithDigests(repo);
    if (!l.ok() && InMissingOrganisation(l.status(), repo))
      return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                    name() + "\"");
    return l;
  }
  TagListing listing;
  const std::string what = "listing the tags of \"" + repo + "\"";
  for (int page = 1;; ++page) {
    if (page > kMaxListPages)
      return core::Status::Internal(Where(what) + ": more than " + std::to_string(kMaxListPages) +
                                    " pages; stopped");
    auto r = CallApi("GET",
                     "/api/v1/repository/" + repo + "/tag/?limit=" + std::to_string(kPageSize) +
                         "&page=" + std::to_string(page) + "&onlyActiveTags=true",
                     Auth());
    if (!r.ok()) return r.status();
    if (r->status == 404)
      return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                    name() + "\"");
    if (r->status != 200) {
      core::Status st = registry().ErrorFor(*r, Where(what));
      if (InMissingOrganisation(st, repo))
        return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                      name() + "\"");
      return st;
    }
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    if (!Field(*j, "tags").is_array())
      return core::Status::Internal(Where(what) + ": the answer has no \"tags\" list");
    for (const auto& t : Field(*j, "tags")) {
      if (!Field(t, "name").is_string()) continue;
      const std::string tag = Field(t, "name");
      listing.tags.push_back(tag);
      if (Field(t, "manifest_digest").is_string())
        listing.digests[tag] = Field(t, "manifest_digest");
    }
    if (!Field(*j, "has_additional").is_boolean() || !Field(*j, "has_additional").get<bool>())
      return listing;
  }
}

core::Status QuayRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                     const std::string& digest) {
  if (secret_.oauth2_token.empty()) return VendorRegistry::DeleteTag(repo, tag, digest);
  const std::string what = "deleting tag " + repo + ":" + tag;
  auto r = CallApi("DELETE", "/api/v1/repository/" + repo + "/tag/" + tag, Auth());
  if (!r.ok()) return r.status();
  if (r->status == 200 || r->status == 202 || r->status == 204) return core::Status::Ok();
  return registry().ErrorFor(*r, Where(what));
}

core::Result<Namespace> QuayRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = repo.substr(0, repo.find('/'));
  if (ns.name == secret_.account_name) return ns;  // the account's own namespace
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (orgs_.count(ns.name)) return ns;
  }
  auto r = CallApi("GET", "/api/v1/organization/" + ns.name, Auth());
  if (!r.ok()) return r.status();
  if (r->status == 401 || r->status == 403) return ns;  // cannot tell: the push will say
  if (r->status == 200) {
    std::lock_guard<std::mutex> lk(mu_);
    orgs_[ns.name] = true;
    return ns;
  }
  if (r->status != 404)
    return registry().ErrorFor(*r, Where("looking up organization \"" + ns.name + "\""));
  ns.exists = false;
  const std::string host = ParseOrigin(api_url()) ? ParseOrigin(api_url())->host : api_url();
  if (IsQuayIo())
    ns.refusal = "create the organization \"" + ns.name +
                 "\" on quay.io first: quay.io asks a captcha of anyone creating one through "
                 "its API";
  else if (secret_.oauth2_token.empty())
    ns.refusal = "create the organization \"" + ns.name + "\" on " + host +
                 " first, or add an oauth2_token (scope user:admin) to the endpoint's json_file "
                 "secret so that crossdock creates it";
  return ns;
}

core::Status QuayRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  if (ns->exists) return core::Status::Ok();
  const std::string host = ParseOrigin(api_url()) ? ParseOrigin(api_url())->host : "quay";
  // The e-mail Harbor's adapter gives (quay/adapter.go): Quay requires one per organisation.
  nlohmann::json body = {{"name", ns->name}, {"email", ns->name + "@" + host}};
  const std::string what = "creating organization \"" + ns->name + "\"";
  auto r = CallApi("POST", "/api/v1/organization/", Auth(), body.dump());
  if (!r.ok()) return r.status();
  if (r->status == 400 && r->body.find("Are you a bot") != std::string::npos)
    return core::Status::PermissionDenied("create the organization \"" + ns->name + "\" on " + host +
                                          " first: it asks a captcha of anyone creating one "
                                          "through its API");
  if (r->status != 200 && r->status != 201) {
    core::Status st = registry().ErrorFor(*r, Where(what));
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    const std::string detail = Field(j, "error_message").is_string()
                                   ? ": " + Field(j, "error_message").get<std::string>()
                                   : "";
    return core::Status::PermissionDenied(st.message() + detail + "; create the organization \"" +
                                          ns->name + "\" on " + host + " first");
  }
  std::lock_guard<std::mutex> lk(mu_);
  orgs_[ns->name] = true;
  return core::Status::Ok();
}

core::Result<std::string> QuayRegistry::CheckControlPlane() {
  if (secret_.oauth2_token.empty())
    return std::string("Quay's REST API not used: the json_file secret has no oauth2_token, so "
                       "tags are listed through the registry API and organizations are not "
                       "created");
  auto r = CallApi("GET", "/api/v1/user/", Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return registry().ErrorFor(*r, Where("GET /api/v1/user/ (the oauth2_token)"));
  auto j = ParseJson(*r, "GET /api/v1/user/");
  if (!j.ok()) return j.status();
  return "Quay API at " + api_url() + " answered to the oauth2_token of \"" +
         (Field(*j, "username").is_string() ? Field(*j, "username").get<std::string>() : "?") + "\"";
}

}  // namespace crossdock::providers
