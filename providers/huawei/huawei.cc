#include "providers/huawei/huawei.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/encoding.h"
#include "core/endpoint_types.h"

namespace crossdock::providers {

namespace {

constexpr const char* kDockyard = "/dockyard/v2";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string OrganizationOf(const std::string& repo) { return repo.substr(0, repo.find('/')); }

}  // namespace

bool IsHuaweiLoginKey(const std::string& password) {
  return password.size() == 64 &&
         password.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

std::string HuaweiLoginKey(const std::string& ak, const std::string& sk) {
  return core::HexEncode(core::HmacSha256(sk, ak));
}

core::Result<Credentials> HuaweiCredentials(Credentials creds, const std::string& endpoint) {
  if (creds.username.empty() && creds.password.empty()) return creds;
  if (!core::IsSwrUsername(creds.username))
    return core::Status::InvalidArgument(
        "username of endpoint \"" + endpoint + "\" (from " + creds.source +
        ") must have the form REGION@AK, e.g. \"cn-north-4@AKIAEXAMPLE\": the region (project) "
        "name, '@', and the access key id, as SWR's login command has it");
  if (creds.password.empty())
    return core::Status::InvalidArgument("endpoint \"" + endpoint +
                                         "\" has a username but no password: give the login key "
                                         "or the secret access key (SK)");
  // A login key in capitals is the same key: SWR issues it as openssl prints it, in
  // lowercase.
  if (IsHuaweiLoginKey(creds.password)) {
    std::transform(creds.password.begin(), creds.password.end(), creds.password.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  } else {
    const std::string ak = creds.username.substr(creds.username.find('@') + 1);
    creds.password = HuaweiLoginKey(ak, creds.password);
  }
  return creds;
}

bool IsSwrOrganizationName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!(name[0] >= 'a' && name[0] <= 'z') || !IsLowerAlnum(name.back())) return false;
  for (size_t i = 1; i < name.size(); ++i) {
    const char c = name[i];
    if (IsLowerAlnum(c)) continue;
    if (c != '.' && c != '-' && c != '_') return false;
    const char prev = name[i - 1];
    if (IsLowerAlnum(prev)) continue;
    // Separators are never adjacent, except the two underscores of "__".
    if (c == '_' && prev == '_' && i >= 2 && IsLowerAlnum(name[i - 2])) continue;
    return false;
  }
  return true;
}

HuaweiRegistry::HuaweiRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url)
    : VendorRegistry(std::move(registry), std::move(api_url), "SWR") {}

std::vector<std::pair<std::string, std::string>> HuaweiRegistry::Auth() const {
  if (credentials().username.empty()) return {};
  return {{"Authorization", BasicAuthorization(credentials())}};
}

core::Status HuaweiRegistry::SwrError(const HttpResponse& r, const std::string& what) const {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  const nlohmann::json* e = &j;
  // The documented body carries both formats, the older inside "errors" too.
  if (!Field(j, "error_code").is_string() && !Field(j, "errorCode").is_string() &&
      Field(j, "errors").is_array() && !Field(j, "errors").empty())
    e = &Field(j, "errors")[0];
  auto text = [&](const char* a, const char* b) -> std::string {
    if (Field(*e, a).is_string()) return Field(*e, a);
    if (Field(*e, b).is_string()) return Field(*e, b);
    return "";
  };
  const std::string code = text("error_code", "errorCode");
  if (code.empty()) return data_plane()->ErrorFor(r, Where(what));
  // ErrorFor shows {"errors":[{"code","message"}]}: hand it SWR's code that way.
  HttpResponse shown = r;
  shown.body = nlohmann::json{{"errors", {{{"code", code}, {"message", text("error_msg", "errorMessage")}}}}}
                   .dump();
  return data_plane()->ErrorFor(shown, Where(what));
}

core::Result<std::vector<std::string>> HuaweiRegistry::ListRepositoriesIn(
    const std::vector<std::string>& organizations) {
  const std::string what = "listing repositories";
  auto r = CallApi("GET", std::string(kDockyard) + "/repositories?filter=center::self", Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return SwrError(*r, what);
  auto j = ParseJson(*r, what);
  if (!j.ok()) return j.status();
  if (!j->is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
  std::vector<std::string> out;
  for (const auto& repo : *j) {
    if (!Field(repo, "namespace").is_string() || !Field(repo, "name").is_string()) continue;
    const std::string org = Field(repo, "namespace");
    if (!organizations.empty() &&
        std::find(organizations.begin(), organizations.end(), org) == organizations.end())
      continue;
    out.push_back(org + "/" + Field(repo, "name").get<std::string>());
  }
  return out;
}

core::Result<Namespace> HuaweiRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = OrganizationOf(repo);
  if (!IsSwrOrganizationName(ns.name)) {
    ns.exists = false;
    ns.refusal = "\"" + ns.name +
                 "\" cannot be an SWR organization name (1 to 64 characters: lowercase letters, "
                 "digits and single '.', '_' or '-' between them, starting with a letter); set "
                 "the rule's dest_namespace";
    return ns;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (organizations_.count(ns.name)) return ns;
  }
  const std::string what = "looking up organization \"" + ns.name + "\"";
  auto r = CallApi("GET", std::string(kDockyard) + "/namespaces/" + ns.name, Auth());
  if (!r.ok()) return r.status();
  if (r->status == 404) {
    ns.exists = false;
    if (credentials().username.empty())
      ns.refusal = "organization \"" + ns.name + "\" does not exist at endpoint \"" + name() +
                   "\" and crossdock has no credentials to create it; create it in the SWR "
                   "console or give the endpoint REGION@AK and a key";
    return ns;
  }
  if (r->status != 200) return SwrError(*r, what);
  std::lock_guard<std::mutex> lk(mu_);
  organizations_[ns.name] = true;
  return ns;
}

core::Status HuaweiRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  if (ns->exists) return core::Status::Ok();
  const std::string what = "creating organization \"" + ns->name + "\"";
  nlohmann::json body = {{"namespace", ns->name}};
  auto r = CallApi("POST", std::string(kDockyard) + "/namespaces", Auth(), body.dump());
  if (!r.ok()) return r.status();
  // 409: another client created it first; it is there either way.
  if (r->status != 200 && r->status != 201 && r->status != 409) {
    core::Status st = SwrError(*r, what);
    if (r->status == 403)
      return core::Status::PermissionDenied(st.message() + "; create organization \"" + ns->name +
                                            "\" in the SWR console, or give the IAM user the "
                                            "SWR Admin role");
    return st;
  }
  std::lock_guard<std::mutex> lk(mu_);
  organizations_[ns->name] = true;
  return core::Status::Ok();
}

core::Result<std::string> HuaweiRegistry::CheckControlPlane() {
  const std::string what = "listing organizations";
  auto r = CallApi("GET", std::string(kDockyard) + "/visible/namespaces", Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return SwrError(*r, what);
  auto j = ParseJson(*r, what);
  if (!j.ok()) return j.status();
  const auto& list = Field(*j, "namespaces");
  if (!list.is_array()) return core::Status::Internal(Where(what) + ": the answer has no \"namespaces\" list");
  return "SWR dockyard API at " + api_url() + " answered; " + std::to_string(list.size()) +
         " organization(s) visible" +
         (credentials().username.empty() ? " anonymously" : " to " + credentials().username);
}

}  // namespace crossdock::providers
