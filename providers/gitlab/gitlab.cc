#include "providers/gitlab/gitlab.h"

#include <algorithm>
#include <set>
#include <utility>

#include "providers/url.h"

namespace crossdock::providers {

namespace {

constexpr int kPerPage = 100;  // the API's largest per_page
// GitLab MR !102063: image names may go at most two levels below the project path.
constexpr int kLevelsBelowProject = 2;

int Components(const std::string& path) {
  return static_cast<int>(std::count(path.begin(), path.end(), '/')) + 1;
}

}  // namespace

GitLabRegistry::GitLabRegistry(std::unique_ptr<DistributionRegistry> registry,
                               std::string registry_url, std::string api_url)
    : VendorRegistry(std::move(registry), std::move(api_url), "GitLab"),
      registry_url_(std::move(registry_url)) {}

std::vector<std::pair<std::string, std::string>> GitLabRegistry::Auth() const {
  if (credentials().password.empty()) return {};
  return {{"PRIVATE-TOKEN", credentials().password}};
}

core::Result<std::string> GitLabRegistry::Api() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!api_.empty()) return api_;
  std::string base = api_url();
  if (base.empty()) {
    // The registry's challenge names the GitLab host: realm="https://gitlab.example.com/jwt/auth".
    auto ping = CallApi("GET", registry_url_ + "/v2/", {});
    if (!ping.ok()) return ping.status();
    const Challenge ch = ParseChallenge(ping->Header("www-authenticate"));
    auto realm = ch.params.find("realm");
    const auto origin = realm == ch.params.end() ? std::nullopt : ParseOrigin(realm->second);
    if (!origin)
      return core::Status::InvalidArgument(
          "endpoint \"" + name() +
          "\": the registry's token realm does not name the GitLab host; set api_url to it "
          "(e.g. \"https://gitlab.example.com\")");
    base = realm->second.substr(0, realm->second.find('/', realm->second.find("://") + 3));
  }
  api_ = base + "/api/v4";
  return api_;
}

core::Status GitLabRegistry::ForEachPage(
    const std::string& path_and_query, const std::string& what,
    const std::function<core::Status(const nlohmann::json&)>& page) {
  auto api = Api();
  if (!api.ok()) return api.status();
  const std::string sep = path_and_query.find('?') == std::string::npos ? "?" : "&";
  std::string next = "1";
  std::set<std::string> seen;
  while (!next.empty()) {
    if (!seen.insert(next).second || seen.size() > static_cast<size_t>(kMaxListPages))
      return core::Status::Internal(Where(what) + ": X-Next-Page goes round in circles; stopped");
    auto r = CallApi("GET", *api + path_and_query + sep + "per_page=" + std::to_string(kPerPage) +
                                "&page=" + next,
                     Auth());
    if (!r.ok()) return r.status();
    if (r->status != 200) return registry().ErrorFor(*r, Where(what));
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    if (!j->is_array()) return core::Status::Internal(Where(what) + ": the answer is not a list");
    CROSSDOCK_RETURN_IF_ERROR(page(*j));
    next = r->Header("x-next-page");
    if (next.find_first_not_of("0123456789") != std::string::npos) next.clear();
  }
  return core::Status::Ok();
}

core::Result<std::map<std::string, long>> GitLabRegistry::RegistryRepositories(
    const Project& project) {
  std::map<std::string, long> out;
  const std::string what = "listing the registry repositories of project \"" + project.path + "\"";
  CROSSDOCK_RETURN_IF_ERROR(ForEachPage(
      "/projects/" + std::to_string(project.id) + "/registry/repositories", what,
      [&](const nlohmann::json& items) {
        for (const auto& i : items)
          if (Field(i, "path").is_string() && Field(i, "id").is_number_integer())
            out[Field(i, "path").get<std::string>()] = Field(i, "id").get<long>();
        return core::Status::Ok();
      }));
  return out;
}

core::Result<std::vector<std::string>> GitLabRegistry::ListRepositoriesIn(
    const std::vector<std::string>& namespaces) {
  std::vector<Project> projects;
  auto collect = [&](const nlohmann::json& items) {
    for (const auto& p : items) {
      if (!Field(p, "id").is_number_integer() || !Field(p, "path_with_namespace").is_string())
        continue;
      if (Field(p, "container_registry_enabled").is_boolean() &&
          !Field(p, "container_registry_enabled").get<bool>())
        continue;  // Harbor's adapter skips these too
      projects.push_back({Field(p, "id").get<long>(), Field(p, "path_with_namespace")});
    }
    return core::Status::Ok();
  };
  if (namespaces.empty()) {
    CROSSDOCK_RETURN_IF_ERROR(ForEachPage("/projects?membership=true&simple=true",
                                          "listing the account's projects", collect));
  }
  for (const auto& ns : namespaces) {
    core::Status st = ForEachPage("/groups/" + UrlEncode(ns) + "/projects?include_subgroups=true",
                                  "listing the projects of group \"" + ns + "\"", collect);
    if (st.code() == core::Code::kNotFound) {
      // A user's namespace is no group: its projects are among the account's own.
      std::vector<Project> mine;
      std::swap(mine, projects);
      CROSSDOCK_RETURN_IF_ERROR(ForEachPage("/projects?membership=true&simple=true",
                                            "listing the account's projects", collect));
      std::swap(mine, projects);
      for (auto& p : mine)
        if (p.path.starts_with(ns + "/")) projects.push_back(std::move(p));
      continue;
    }
    if (!st.ok()) return st;
  }
  std::vector<std::string> out;
  for (const auto& p : projects) {
    auto repos = RegistryRepositories(p);
    if (!repos.ok()) return repos.status();
    for (const auto& [path, id] : *repos) out.push_back(path);
  }
  return out;
}

core::Result<std::optional<GitLabRegistry::Project>> GitLabRegistry::ProjectOf(
    const std::string& repo) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = projects_.find(repo); it != projects_.end()) return it->second;
  }
  auto api = Api();
  if (!api.ok()) return api.status();
  std::optional<Project> found;
  std::string prefix = repo;
  for (;;) {
    auto r = CallApi("GET", *api + "/projects/" + UrlEncode(prefix), Auth());
    if (!r.ok()) return r.status();
    if (r->status == 200) {
      auto j = ParseJson(*r, "looking up project \"" + prefix + "\"");
      if (!j.ok()) return j.status();
      if (Field(*j, "id").is_number_integer()) found = Project{Field(*j, "id").get<long>(), prefix};
      break;
    }
    if (r->status != 404)
      return registry().ErrorFor(*r, Where("looking up project \"" + prefix + "\""));
    const size_t slash = prefix.rfind('/');
    if (slash == std::string::npos) break;
    prefix.resize(slash);
  }
  std::lock_guard<std::mutex> lk(mu_);
  projects_[repo] = found;
  return found;
}

core::Result<Namespace> GitLabRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  auto project = ProjectOf(repo);
  if (!project.ok()) return project.status();
  if (!*project) {
    ns.name = repo.substr(0, repo.rfind('/') == std::string::npos ? repo.size() : repo.rfind('/'));
    ns.exists = false;
    ns.refusal = "no GitLab project holds \"" + repo + "\" at endpoint \"" + name() +
                 "\": create the project (e.g. \"" + ns.name +
                 "\") first; crossdock does not create GitLab projects";
    return ns;
  }
  ns.name = (*project)->path;
  if (Components(repo) - Components(ns.name) > kLevelsBelowProject)
    ns.refusal = "\"" + repo + "\" goes " + std::to_string(Components(repo) - Components(ns.name)) +
                 " levels below GitLab project \"" + ns.name +
                 "\", which takes at most 2; set the rule's dest_namespace or flatten";
  return ns;
}

core::Result<std::optional<ManifestHead>> GitLabRegistry::HeadManifest(const std::string& repo,
                                                                       const std::string& ref) {
  auto h = VendorRegistry::HeadManifest(repo, ref);
  if (h.ok() || (h.status().code() != core::Code::kUnauthenticated &&
                 h.status().code() != core::Code::kPermissionDenied))
    return h;
  auto ns = CheckNamespace(repo);
  if (ns.ok() && !ns->refusal.empty()) return std::optional<ManifestHead>();
  return h;
}

core::Status GitLabRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (!ns->refusal.empty()) return core::Status::PermissionDenied(ns->refusal);
  return core::Status::Ok();
}

core::Status GitLabRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                       const std::string& digest) {
  (void)digest;
  const std::string what = "deleting tag " + repo + ":" + tag;
  auto project = ProjectOf(repo);
  if (!project.ok()) return project.status();
  if (!*project) return core::Status::NotFound(Where(what) + ": no GitLab project holds it");
  auto repos = RegistryRepositories(**project);
  if (!repos.ok()) return repos.status();
  auto it = repos->find(repo);
  if (it == repos->end())
    return core::Status::NotFound(Where(what) + ": project \"" + (*project)->path +
                                  "\" has no registry repository \"" + repo + "\"");
  auto api = Api();
  if (!api.ok()) return api.status();
  auto r = CallApi("DELETE",
                   *api + "/projects/" + std::to_string((*project)->id) +
                       "/registry/repositories/" + std::to_string(it->second) + "/tags/" + tag,
                   Auth());
  if (!r.ok()) return r.status();
  if (r->status == 200 || r->status == 202 || r->status == 204) return core::Status::Ok();
  core::Status st = registry().ErrorFor(*r, Where(what));
  if (r->status == 403)
    return core::Status::PermissionDenied(st.message() +
                                          " (a protected tag, or a token without the api scope)");
  return st;
}

core::Result<std::string> GitLabRegistry::CheckControlPlane() {
  auto api = Api();
  if (!api.ok()) return api.status();
  auto r = CallApi("GET", *api + "/user", Auth());
  if (!r.ok()) return r.status();
  if (r->status != 200) return registry().ErrorFor(*r, Where("GET /api/v4/user (the access token)"));
  auto j = ParseJson(*r, "GET /api/v4/user");
  if (!j.ok()) return j.status();
  return "GitLab API at " + *api + " answered to the token of \"" +
         (Field(*j, "username").is_string() ? Field(*j, "username").get<std::string>() : "?") + "\"";
}

}  // namespace crossdock::providers
