#include "core/endpoint_types.h"

#include <regex>

namespace crossdock::core {

// Default addresses: Harbor's adapters (src/pkg/reg/adapter/<vendor>/) and the
// vendors' documentation (../shared/reference/vendors.md has each source).
const std::vector<EndpointType>& EndpointTypes() {
  // name, default url, default api_url, api_url from url (and the path
  // after it), uses api_url, uses username, what the password is, path rule (min, max
  // components, words).
  static const std::vector<EndpointType> types = {
      {"docker-registry", "", "", false, "", false, true, "the password", 1, 0, ""},
      {"harbor", "", "", true, "", true, true, "the password (or a robot account's secret)", 2,
       0, "Harbor repositories are PROJECT/NAME"},
      {"docker-hub", "https://registry-1.docker.io", "https://hub.docker.com", false, "", true,
       true, "the password or a personal access token", 2, 2,
       "Docker Hub repositories are NAMESPACE/NAME"},
      {"quay", "https://quay.io", "", true, "", true, false,
       "the json_file secret {\"account_name\",\"docker_cli_password\",\"oauth2_token\"}", 1, 0,
       ""},
      {"gitlab", "", "", false, "", true, true, "a personal access token", 1, 0, ""},
      {"github-ghcr", "https://ghcr.io", "https://api.github.com", false, "", true, true,
       "a classic personal access token", 2, 0, "GHCR repositories are OWNER/NAME"},
      {"jfrog-artifactory", "", "", true, "/artifactory", true, true,
       "the password or an identity token", 2, 0,
       "Artifactory repositories are REPOSITORY-KEY/IMAGE"},
      // The API's default address follows from the region (core/config.cc ReadRegion).
      {"aws-ecr", "", "", false, "", true, true, "the secret access key", 1, 0, ""},
      {"google-gcr", "https://gcr.io", "", false, "", true, true,
       "the service account's JSON key (username \"_json_key\")", 2, 0,
       "GCR repositories are PROJECT/IMAGE"},
      {"azure-acr", "", "", false, "", false, true,
       "the password (or, with username 00000000-0000-0000-0000-000000000000, an Azure AD "
       "access token or ACR refresh token)",
       1, 0, ""},
      // api_url: found at run time, https://cr.REGION.aliyuncs.com with the region of the
      // registry's challenge (providers/ali/ali.h).
      {"ali-acr", "", "", false, "", true, true, "the AccessKey secret", 2, 2,
       "Alibaba Cloud ACR repositories are NAMESPACE/NAME"},
      // SWR repository names may hold '/' below the organisation (API reference,
      // "Creating an Image Repository in an Organization"; FAQ: "a/b" in organisation "c").
      {"huawei-SWR", "", "", true, "", true, true,
       "the login key or the secret access key (SK)", 2, 0,
       "SWR repositories are ORGANIZATION/NAME"},
      {"helm-repo", "", "", false, "", false, true, "the password", 1, 0, ""},
  };

  return types;
}

const EndpointType* FindEndpointType(const std::string& name) {
  for (const auto& t : EndpointTypes())
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<EcrAddress> ParseEcrUrl(const std::string& url) {
  // Harbor's awsecr adapter (adapter.go parseAccountRegion) and the credential helper
  // (ecr-login/api/client.go) accept these hosts; a port or a path after them is not
  // an ECR registry.
  static const std::regex kHost(
      R"(^https://([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/?$)");
  std::smatch m;
  if (!std::regex_match(url, m, kHost) || !IsAwsRegionName(m[3].str())) return std::nullopt;
  return EcrAddress{m[1].str(), m[3].str()};
}

bool IsAwsRegionName(const std::string& region) {
  if (region.empty() || region.size() > 32 || region[0] < 'a' || region[0] > 'z') return false;
  for (char c : region)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return region.back() != '-';
}

bool IsSwrUsername(const std::string& username) {
  const size_t at = username.find('@');
  return at != std::string::npos && at != 0 && at + 1 != username.size() &&
         username.find('@', at + 1) == std::string::npos;
}

std::string EcrApiUrl(const std::string& region) {
  return "https://api.ecr." + region + ".amazonaws.com" + (region.starts_with("cn-") ? ".cn" : "");
}

}  // namespace crossdock::core
