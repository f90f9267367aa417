#include "core/endpoint_types.h"

namespace crossdock::core {

// Default addresses: Harbor's adapters (src/pkg/reg/adapter/<vendor>/) and the
// vendors' documentation (../shared/reference/vendors.md has each source).
const std::vector<EndpointType>& EndpointTypes() {
  // name, supported, default url, default api_url, api_url from url (and the path
  // after it), uses api_url, uses username, what the password is, path rule (min, max
  // components, words).
  static const std::vector<EndpointType> types = {
      {"docker-registry", true, "", "", false, "", false, true, "the password", 1, 0, ""},
      {"harbor", true, "", "", true, "", true, true, "the password (or a robot account's secret)", 2,
       0, "Harbor repositories are PROJECT/NAME"},
      {"docker-hub", true, "https://registry-1.docker.io", "https://hub.docker.com", false, "", true,
       true, "the password or a personal access token", 2, 2,
       "Docker Hub repositories are NAMESPACE/NAME"},
      {"quay", true, "https://quay.io", "", true, "", true, false,
       "the json_file secret {\"account_name\",\"docker_cli_password\",\"oauth2_token\"}", 1, 0,
       ""},
      {"gitlab", true, "", "", false, "", true, true, "a personal access token", 1, 0, ""},
      {"github-ghcr", true, "https://ghcr.io", "https://api.github.com", false, "", true, true,
       "a classic personal access token", 2, 0, "GHCR repositories are OWNER/NAME"},
      {"jfrog-artifactory", true, "", "", true, "/artifactory", true, true,
       "the password or an identity token", 2, 0,
       "Artifactory repositories are REPOSITORY-KEY/IMAGE"},
      {"aws-ecr", false, "", "", false, "", true, true, "the secret access key", 1, 0, ""},
      {"google-gcr", true, "https://gcr.io", "", false, "", true, true,
       "the service account's JSON key (username \"_json_key\")", 2, 0,
       "GCR repositories are PROJECT/IMAGE"},
      {"azure-acr", true, "", "", false, "", false, true,
       "the password (or, with username 00000000-0000-0000-0000-000000000000, an Azure AD "
       "access token or ACR refresh token)",
       1, 0, ""},
      // api_url: found at run time, https://cr.REGION.aliyuncs.com with the region of the
      // registry's challenge (providers/ali/ali.h).
      {"ali-acr", true, "", "", false, "", true, true, "the AccessKey secret", 2, 2,
       "Alibaba Cloud ACR repositories are NAMESPACE/NAME"},
      // SWR repository names may hold '/' below the organisation (API reference,
      // "Creating an Image Repository in an Organization"; FAQ: "a/b" in organisation "c").
      {"huawei-SWR", true, "", "", true, "", true, true,
       "the login key or the secret access key (SK)", 2, 0,
       "SWR repositories are ORGANIZATION/NAME"},
      {"helm-repo", true, "", "", false, "", false, true, "the password", 1, 0, ""},
  };

  return types;
}

const EndpointType* FindEndpointType(const std::string& name) {
  for (const auto& t : EndpointTypes())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace crossdock::core
