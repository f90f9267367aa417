#include "core/endpoint_types.h"

namespace crossdock::core {

// Default addresses: Harbor's adapters (src/pkg/reg/adapter/<vendor>/) and the
// vendors' documentation (../shared/reference/vendors.md has each source).
const std::vector<EndpointType>& EndpointTypes() {
  static const std::vector<EndpointType> types = {
      {"docker-registry", true, "", "", false, false, true, "the password"},
      {"harbor", true, "", "", true, true, true, "the password (or a robot account's secret)"},
      {"docker-hub", false, "https://registry-1.docker.io", "https://hub.docker.com", false, true,
       true, "the password or a personal access token"},
      {"quay", false, "https://quay.io", "", true, true, false,
       "the json_file secret {\"account_name\",\"docker_cli_password\",\"oauth2_token\"}"},
      {"gitlab", false, "", "", false, true, true, "a personal access token"},
      {"github-ghcr", false, "https://ghcr.io", "https://api.github.com", false, true, true,
       "a classic personal access token"},
      {"jfrog-artifactory", false, "", "", true, true, true, "the password or an identity token"},
      {"aws-ecr", false, "", "", false, true, true, "the secret access key"},
      {"google-gcr", false, "", "", false, true, true, "the service account's JSON key"},
      {"azure-acr", false, "", "", false, true, true, "the password"},
      {"ali-acr", false, "", "", false, true, true, "the AccessKey secret"},
      {"huawei-SWR", false, "", "", false, true, true, "the login key"},
      {"helm-repo", false, "", "", false, true, true, "the password"},
  };
  return types;
}

const EndpointType* FindEndpointType(const std::string& name) {
  for (const auto& t : EndpointTypes())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace crossdock::core
