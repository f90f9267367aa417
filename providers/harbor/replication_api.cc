// Reading Harbor's registries and replication policies, from its API or from files
// holding the API's answers (providers/harbor/replication_import.h).
#include <exception>
#include <set>
#include <utility>

#include "core/text_position.h"
#include "providers/distribution/client.h"
#include "providers/harbor/replication_import.h"
#include "providers/url.h"
#include "providers/vendor.h"

namespace crossdock::providers {

namespace {

constexpr int kPageSize = 100;  // Harbor's largest page (swagger.yaml: page_size maximum 100)

// What a refusal of LIST_PATH means for an import, and what to do.
core::Status Refusal(const HttpResponse& r, const std::string& url, const std::string& list_path,
                     const std::string& username) {
  // Harbor's error body: {"errors":[{"code","message"}]} (src/lib/http/error.go).
  const std::string detail = ErrorMessageOf(r.body);
  const std::string asked = "GET " + list_path + ": HTTP " + std::to_string(r.status) +
                            (detail.empty() ? "" : " " + detail);
  switch (r.status) {
    case 401:
      // Harbor takes wrong Basic credentials for none at all
      // (src/server/middleware/security/basic_auth.go), and then refuses this list.
      return core::Status::Unauthenticated(
          username.empty()
              ? "Harbor at " + url + " wants credentials (" + asked +
                    "): give --username and --password of a Harbor system administrator"
              : "Harbor at " + url + " refused the credentials of user \"" + username + "\" (" +
                    asked + "): check --username and --password");
    case 403:
      return core::Status::PermissionDenied(
          "user \"" + username + "\" may not read Harbor's replication setup at " + url + " (" +
          asked + "): importing it needs a Harbor system administrator");
    case 404:
      return core::Status::NotFound("no Harbor 2.x API at " + url + " (" + asked +
                                    "): give Harbor's own address as --url; Harbor 1.x is not "
                                    "supported");
    default:
      break;
  }
  if (r.status >= 300 && r.status < 400) {
    const std::string location = r.Header("location");
    return core::Status::InvalidArgument(
        "Harbor at " + url + " redirects " + list_path +
        (location.empty() ? "" : " to " + location) + " (HTTP " + std::to_string(r.status) +
        "): give the address it redirects to as --url");
  }
  return core::Status::Unavailable("Harbor at " + url + " failed to answer (" + asked +
                                   "); try again later");
}

// Every page of LIST_PATH, joined.
core::Result<nlohmann::json> FetchList(HttpClient* http, const std::string& base,
                                       const std::string& list_path, const std::string& username,
                                       const std::string& password) {
  const auto origin = ParseOrigin(base);
  if (!origin)
    return core::Status::InvalidArgument("--url \"" + base +
                                         "\" is not an address such as https://harbor.example");
  Credentials creds;
  creds.username = username;
  creds.password = password;
  nlohmann::json all = nlohmann::json::array();
  std::string url = base + list_path + "?page=1&page_size=" + std::to_string(kPageSize);
  std::set<std::string> seen;
  for (int n = 0;; ++n) {
    if (n >= kMaxListPages || !seen.insert(url).second)
      return core::Status::Internal("Harbor at " + base + ": the next-page links of " + list_path +
                                    " go round in circles or past " +
                                    std::to_string(kMaxListPages) + " pages; stopped");
    HttpRequest req;
    req.url = url;
    if (!username.empty()) req.headers.push_back({"Authorization", BasicAuthorization(creds)});
    req.headers.push_back({"Accept", "application/json"});
    req.max_body_size = kMaxListPageSize;
    req.follow_redirects = false;  // the credentials go to Harbor's own origin only
    auto r = http->Do(req);
    if (!r.ok())
      return core::Status::Unavailable("cannot reach Harbor at " + base + " (GET " + list_path +
                                       "): " + r.status().message() +
                                       "; check --url, and --ca-cert or --insecure for TLS");
    if (r->body_too_large)
      return core::Status::Internal("Harbor at " + base + ": a page of " + list_path +
                                    " is larger than " + std::to_string(kMaxListPageSize >> 20) +
                                    " MiB, the most crossdock reads");
    if (r->status != 200) return Refusal(*r, base, list_path, username);
    auto page = nlohmann::json::parse(r->body, nullptr, false);
    if (page.is_discarded())
      return core::Status::NotFound("no Harbor 2.x API at " + base + ": the answer to GET " +
                                    list_path +
                                    " is not JSON; give Harbor's own address as --url");
    if (!page.is_array())
      return core::Status::Internal("Harbor at " + base + ": the answer to GET " + list_path +
                                    " is not a list");
    for (auto& item : page) all.push_back(std::move(item));
    const std::string next = ParseNextLink(r->Header("link"));
    if (next.empty()) return all;
    url = ResolveReference(url, next);
    if (url.empty() || ParseOrigin(url) != origin)
      return core::Status::PermissionDenied("Harbor at " + base + ": the next-page link of " +
                                            list_path +
                                            " leads off Harbor's own origin; nothing was sent "
                                            "there");
  }
}

}  // namespace

core::Result<HarborReplicationSetup> FetchHarborReplicationSetup(HttpClient* http,
                                                                 const std::string& url,
                                                                 const std::string& username,
                                                                 const std::string& password) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  HarborReplicationSetup setup;
  auto registries = FetchList(http, base, "/api/v2.0/registries", username, password);
  if (!registries.ok()) return registries.status();
  auto policies = FetchList(http, base, "/api/v2.0/replication/policies", username, password);
  if (!policies.ok()) return policies.status();
  setup.registries = std::move(*registries);
  setup.policies = std::move(*policies);
  return setup;
}

core::Result<nlohmann::json> ParseHarborList(const std::string& text, const std::string& file,
                                             const std::string& list_path) {
  const std::string expected = "expected the body of GET " + list_path;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Only where: the exception's text quotes what it read ("last read: '…'"), and an
    // export of registries may hold their passwords. e.byte counts the bytes read, the
    // offending one included.
    const auto [line, column] = core::LineAndColumn(text, e.byte > 0 ? e.byte - 1 : 0);
    return core::Status::InvalidArgument(file + ":" + std::to_string(line) + ":" +
                                         std::to_string(column) + ": not JSON (" + expected + ")");
  } catch (const std::exception&) {
    return core::Status::InvalidArgument(file + ": not JSON (" + expected + ")");
  }
  if (!j.is_array())
    return core::Status::InvalidArgument(file + ": not a JSON list (" + expected + ")");
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_object())
      return core::Status::InvalidArgument(file + ": item " + std::to_string(i + 1) +
                                           " of the list is not an object (" + expected + ")");
  }
  return j;
}

}  // namespace crossdock::providers
