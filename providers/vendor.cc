#include "providers/vendor.h"

#include <set>
#include <utility>

#include "core/endpoint_types.h"
#include "providers/url.h"

namespace crossdock::providers {

VendorRegistry::VendorRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url,
                               std::string vendor)
    : registry_(std::move(registry)), api_url_(std::move(api_url)), vendor_(std::move(vendor)) {}

std::string VendorRegistry::Where(const std::string& what) const {
  return what + " at endpoint \"" + name() + "\" (" + vendor_ + " API at " + api_url_ + ")";
}

core::Result<HttpResponse> VendorRegistry::CallApi(
    const std::string& method, const std::string& path_and_query,
    std::vector<std::pair<std::string, std::string>> headers, const std::string& body) {
  HttpRequest req;
  req.method = method;
  req.url = path_and_query.starts_with("http://") || path_and_query.starts_with("https://")
                ? path_and_query
                : api_url_ + path_and_query;
  req.headers = std::move(headers);
  req.headers.push_back({"Accept", "application/json"});
  if (!body.empty()) {
    req.body = body;
    req.headers.push_back({"Content-Type", "application/json"});
  }
  req.max_body_size = kMaxListPageSize;
  req.follow_redirects = false;  // credentials go to the API's own origin only
  auto r = registry_->SendControlPlane(req);
  if (!r.ok())
    return r.status().WithContext(Where(method + " " + std::string(PathAndQuery(req.url))));
  if (r->body_too_large)
    return core::Status::Internal(Where(method + " " + std::string(PathAndQuery(req.url))) +
                                  ": the answer is larger than " +
                                  std::to_string(kMaxListPageSize >> 20) +
                                  " MiB, the most crossdock reads");
  return r;
}

core::Result<nlohmann::json> VendorRegistry::ParseJson(const HttpResponse& r,
                                                       const std::string& what) const {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    return core::Status::Internal(Where(what) + ": the answer is not JSON");
  return j;
}

core::Status VendorRegistry::ForEachApiPage(
    const std::string& first, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& what, const std::function<core::Status(const nlohmann::json&)>& page) {
  const auto api_origin = ParseOrigin(api_url_);
  std::string url = api_url_ + first;
  std::set<std::string> seen;
  for (int n = 0;; ++n) {
    if (n >= kMaxListPages || !seen.insert(url).second)
      return core::Status::Internal(Where(what) +
                                    ": the API's next-page links go round in circles or past " +
                                    std::to_string(kMaxListPages) + " pages; stopped");
    auto r = CallApi("GET", url, headers);
    if (!r.ok()) return r.status();
    if (r->status != 200) return registry_->ErrorFor(*r, Where(what));
    auto j = ParseJson(*r, what);
    if (!j.ok()) return j.status();
    CROSSDOCK_RETURN_IF_ERROR(page(*j));
    const std::string next = ParseNextLink(r->Header("link"));
    if (next.empty()) return core::Status::Ok();
    url = ResolveReference(url, next);
    if (url.empty() || !api_origin || ParseOrigin(url) != api_origin)
      return core::Status::PermissionDenied(
          Where(what) + ": the API's next-page link leads off its own origin (" +
          (api_origin ? api_origin->ToString() : api_url_) + "); nothing was sent there");
  }
}

PathRule PathRuleOf(const std::string& type) {
  const core::EndpointType* t = core::FindEndpointType(type);
  if (!t) return {};
  return {t->min_components, t->max_components, t->path_rule};
}

const nlohmann::json& Field(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

}  // namespace crossdock::providers
