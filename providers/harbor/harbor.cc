#include "providers/harbor/harbor.h"

#include <regex>
#include <utility>

namespace crossdock::providers {

namespace {

constexpr const char* kApi = "/api/v2.0";
constexpr int kPageSize = 100;  // Harbor's largest page (swagger.yaml: page_size maximum 100)

// Harbor's project name rule (src/pkg/project/models, the API's validation):
// lowercase letters and digits, single '.', '_' or '-' between them, 1 to 255.
bool IsHarborProjectName(const std::string& name) {
  static const std::regex kRule("[a-z0-9]+(?:[._-][a-z0-9]+)*");
  return !name.empty() && name.size() <= 255 && std::regex_match(name, kRule);
}

std::string ProjectOf(const std::string& repo) { return repo.substr(0, repo.find('/')); }

}  // namespace

HarborRegistry::HarborRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url)
    : VendorRegistry(std::move(registry), std::move(api_url), "Harbor") {}

std::vector<std::pair<std::string, std::string>> HarborRegistry::Auth() const {
  if (credentials().username.empty()) return {};
  return {{"Authorization", BasicAuthorization(credentials())}};
}

core::Status HarborRegistry::CheckVersion() {
  std::lock_guard<std::mutex> lk(version_mu_);
  if (version_ && version_->code() != core::Code::kUnavailable) return *version_;
  auto r = CallApi("GET", "/api/version", Auth());
  if (!r.ok()) return r.status();  // transient: asked again next time
  core::Status st;
  if (r->status == 404) {
    st = core::Status::InvalidArgument(
        Where("GET /api/version") +
        ": HTTP 404, so this is Harbor 1.x or not Harbor at all; crossdock speaks Harbor's "
        "API v2.0 (Harbor 2.0 and later): upgrade Harbor, or use type = \"docker-registry\"");
  } else if (r->status != 200) {
    st = registry().ErrorFor(*r, Where("GET /api/version"));
  } else {
    auto j = ParseJson(*r, "GET /api/version");
    const std::string v = j.ok() && j->is_object() && Field(*j, "version").is_string()
                              ? Field(*j, "version").get<std::string>()
                              : "";
    if (v != "v2.0")
      st = core::Status::InvalidArgument(
          Where("GET /api/version") + ": the API version is \"" + v +
          "\", not \"v2.0\"; crossdock speaks Harbor's API v2.0 (Harbor 2.0 and later)");
  }
  // Harbor takes wrong Basic credentials on its API for none at all
  // (server/middleware/security/basic_auth.go): the caller would silently see public
  // projects only. The registry's /v2/ does refuse them, so ask it once.
  if (st.ok() && !credentials().username.empty()) {
    core::Status ping = VendorRegistry::Ping();
    if (ping.code() == core::Code::kUnauthenticated) st = ping;
    else if (!ping.ok()) return ping;  // transient: asked again next time
  }
  version_ = st;
  return st;
}

core::Result<std::string> HarborRegistry::RepositoryPath(const std::string& repo) const {
  const size_t slash = repo.find('/');
  if (slash == std::string::npos)
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                  name() + "\" (Harbor repositories are PROJECT/NAME)");
  std::string rest;
  for (char c : repo.substr(slash + 1)) rest += c == '/' ? std::string("%252F") : std::string(1, c);
  return std::string(kApi) + "/projects/" + repo.substr(0, slash) + "/repositories/" + rest;
}

core::Result<std::vector<std::string>> HarborRegistry::SourceProjects() {
  std::vector<std::string> projects;
  CROSSDOCK_RETURN_IF_ERROR(ForEachApiPage(
      std::string(kApi) + "/projects?with_detail=false&page=1&page_size=" +
          std::to_string(kPageSize),
      Auth(), "listing projects", [&](const nlohmann::json& j) {
        if (!j.is_array())
          return core::Status::Internal(Where("listing projects") + ": the answer is not a list");
        for (const auto& p : j) {
          if (!p.is_object() || !Field(p, "name").is_string()) continue;
          // A proxy-cache project (registry_id > 0) pulls from elsewhere on demand:
          // never a source (Harbor's adapter skips them too: harbor/base/adapter.go).
          if (Field(p, "registry_id").is_number_integer() && Field(p, "registry_id").get<long>() > 0) continue;
          projects.push_back(Field(p, "name"));
        }
        return core::Status::Ok();
      }));
  return projects;
}

core::Result<std::vector<std::string>> HarborRegistry::ListRepositoriesIn(
    const std::vector<std::string>& named) {
  CROSSDOCK_RETURN_IF_ERROR(CheckVersion());
  std::vector<std::string> projects;
  if (named.empty()) {
    auto all = SourceProjects();
    if (!all.ok()) return all.status();
    projects = std::move(*all);
  }
  for (const auto& name : named) {
    if (!IsHarborProjectName(name)) continue;
    auto p = FindProject(name);
    if (!p.ok()) return p.status();
    if (p->exists && !p->proxy_cache) projects.push_back(name);
  }
  std::vector<std::string> out;
  for (const auto& project : projects) {
    const std::string what = "listing the repositories of project \"" + project + "\"";
    CROSSDOCK_RETURN_IF_ERROR(ForEachApiPage(
        std::string(kApi) + "/projects/" + project + "/repositories?page=1&page_size=" +
            std::to_string(kPageSize),
        Auth(), what, [&](const nlohmann::json& j) {
          if (!j.is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
          for (const auto& r : j)
            if (r.is_object() && Field(r, "name").is_string()) out.push_back(Field(r, "name"));
          return core::Status::Ok();
        }));
  }
  return out;
}

core::Result<TagListing> HarborRegistry::ListTagsWithDigests(const std::string& repo) {
  CROSSDOCK_RETURN_IF_ERROR(CheckVersion());
  auto path = RepositoryPath(repo);
  if (!path.ok()) return path.status();
  TagListing listing;
  const std::string what = "listing the artifacts of \"" + repo + "\"";
  core::Status st = ForEachApiPage(
      *path + "/artifacts?page=1&page_size=" + std::to_string(kPageSize) +
          "&with_tag=true&with_label=true",
      Auth(), what, [&](const nlohmann::json& j) {
        if (!j.is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
        for (const auto& a : j) {
          if (!a.is_object() || !Field(a, "digest").is_string() || !Field(a, "tags").is_array()) continue;
          std::vector<std::string> labels;
          if (Field(a, "labels").is_array())
            for (const auto& l : Field(a, "labels"))
              if (l.is_object() && Field(l, "name").is_string()) labels.push_back(Field(l, "name"));
          for (const auto& t : Field(a, "tags")) {
            if (!t.is_object() || !Field(t, "name").is_string()) continue;
            const std::string tag = Field(t, "name");
            listing.tags.push_back(tag);
            listing.digests[tag] = Field(a, "digest");
            if (!labels.empty()) listing.labels[tag] = labels;
          }
        }
        return core::Status::Ok();
      });
  if (st.code() == core::Code::kPermissionDenied || st.code() == core::Code::kUnauthenticated) {
    // Harbor answers 403 for a missing project to all but administrators.
    auto p = FindProject(ProjectOf(repo));
    if (p.ok() && !p->exists) st = core::Status::NotFound("");
  }
  if (st.code() == core::Code::kNotFound)
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                  name() + "\"");
  if (!st.ok()) return st;
  return listing;
}

core::Result<std::vector<std::string>> HarborRegistry::ListTags(const std::string& repo) {
  auto listing = ListTagsWithDigests(repo);
  if (!listing.ok()) return listing.status();
  return std::move(listing->tags);
}

core::Status HarborRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                       const std::string& digest) {
  CROSSDOCK_RETURN_IF_ERROR(CheckVersion());
  auto path = RepositoryPath(repo);
  if (!path.ok()) return path.status();
  // The tag alone: an artifact left without tags stays for Harbor's own retention
  // and garbage collection, as Harbor's UI does it.
  const std::string what = "deleting tag " + repo + ":" + tag;
  auto r = CallApi("DELETE", *path + "/artifacts/" + digest + "/tags/" + tag, Auth());
  if (!r.ok()) return r.status();
  if (r->status == 200 || r->status == 202 || r->status == 204) return core::Status::Ok();
  return registry().ErrorFor(*r, Where(what));
}

core::Result<HarborRegistry::Project> HarborRegistry::FindProject(const std::string& project) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = projects_.find(project); it != projects_.end()) return it->second;
  }
  CROSSDOCK_RETURN_IF_ERROR(CheckVersion());
  const std::string what = "looking up project \"" + project + "\"";
  Project p;
  // Whether it exists: HEAD answers 200 or 404 to any signed-in caller, where a GET of
  // a missing project answers 403 to everyone but administrators (handler/project.go).
  if (!credentials().username.empty()) {
    auto head = CallApi("HEAD", std::string(kApi) + "/projects?project_name=" + project, Auth());
    if (!head.ok()) return head.status();
    if (head->status == 404) return p;  // not remembered: created later, maybe by someone else
    if (head->status != 200) return registry().ErrorFor(*head, Where(what));
  }
  auto headers = Auth();
  headers.push_back({"X-Is-Resource-Name", "true"});  // "123" is a name, not an id
  auto r = CallApi("GET", std::string(kApi) + "/projects/" + project, headers);
  if (!r.ok()) return r.status();
  if (r->status == 404) return p;
  if (r->status == 403 && !credentials().username.empty()) {
    p.exists = true;  // there, but not for this account to read: a push says why
  } else if (r->status != 200) {
    return registry().ErrorFor(*r, Where(what));
  } else {
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    p.exists = true;
    p.proxy_cache = Field(*j, "registry_id").is_number_integer() &&
                    Field(*j, "registry_id").get<long>() > 0;
  }
  std::lock_guard<std::mutex> lk(mu_);
  projects_[project] = p;
  return p;
}

core::Result<Namespace> HarborRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = ProjectOf(repo);
  if (!IsHarborProjectName(ns.name)) {
    ns.exists = false;
    ns.refusal = "\"" + ns.name + "\" cannot be a Harbor project name (lowercase letters and "
                 "digits with single '.', '_' or '-' between them); set the rule's dest_namespace";
    return ns;
  }
  auto p = FindProject(ns.name);
  if (!p.ok()) return p.status();
  ns.exists = p->exists;
  if (p->proxy_cache)
    ns.refusal = "project \"" + ns.name + "\" at endpoint \"" + name() +
                 "\" is a proxy-cache project, which Harbor lets nobody push to; set the rule's "
                 "dest_namespace to another project";
  else if (!p->exists && credentials().username.empty())
    ns.refusal = "project \"" + ns.name + "\" does not exist at endpoint \"" + name() +
                 "\" and crossdock has no credentials to create it; create it in Harbor or give "
                 "the endpoint an account that may";
  return ns;
}

core::Status HarborRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  if (ns->exists) return core::Status::Ok();
  const std::string what = "creating project \"" + ns->name + "\"";
  nlohmann::json body = {{"project_name", ns->name}, {"metadata", {{"public", "false"}}}};
  auto r = CallApi("POST", std::string(kApi) + "/projects", Auth(), body.dump());
  if (!r.ok()) return r.status();
  // 409: it exists already (another client was first); Harbor's adapter treats it
  // the same (harbor/base/adapter.go, PrepareForPush).
  if (r->status != 201 && r->status != 409) {
    core::Status st = registry().ErrorFor(*r, Where(what));
    if (r->status == 403)
      return core::Status::PermissionDenied(
          st.message() + "; only Harbor administrators (or, where Harbor allows it, any user) "
                         "create projects: create project \"" + ns->name + "\" first");
    return st;
  }
  std::lock_guard<std::mutex> lk(mu_);
  projects_[ns->name] = Project{true, false};
  return core::Status::Ok();
}

core::Result<std::string> HarborRegistry::CheckControlPlane() {
  CROSSDOCK_RETURN_IF_ERROR(CheckVersion());
  const std::string what = "listing projects";
  auto r = CallApi("GET", std::string(kApi) + "/projects?with_detail=false&page=1&page_size=1",
                   Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return registry().ErrorFor(*r, Where(what));
  std::string total = r->Header("x-total-count");
  return "Harbor API v2.0 at " + api_url() + " answered; " +
         (total.empty() ? std::string("projects listed") : total + " project(s) visible") +
         (credentials().username.empty() ? " anonymously" : " to user \"" + credentials().username + "\"");
}

}  // namespace crossdock::providers
