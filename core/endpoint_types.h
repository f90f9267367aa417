// What each endpoint `type` is in the config: Harbor's provider names, their default
// URLs and which keys each takes. Read by the
// config loader (validation, defaults) and by providers/factory.cc.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace crossdock::core {

struct EndpointType {
  std::string name;  // "harbor", as Harbor names its adapters
  // The registry (data plane) when the vendor has one fixed address; "": url required.
  std::string default_url;
  // The vendor's control plane when it does not live on the registry's host; "" with
  // api_url_from_url: the registry's own host; "" otherwise: none, or found at run
  // time (GitLab's host from the token realm).
  std::string default_api_url;
  bool api_url_from_url = false;
  // With api_url_from_url: what follows the registry's URL ("/artifactory").
  std::string api_path;
  bool uses_api_url = false;   // false: api_url is warned about as unused
  bool uses_username = true;   // false (Quay): the password holds everything
  // What the password holds, for messages ("a personal access token").
  std::string password_is = "the password";
  // The vendor's repository path rule: how many components a name may have (0: no
  // upper bound) and the vendor's words for it. Checked by the config loader for
  // literal repositories and by the planner for every destination repository.
  int min_components = 1;
  int max_components = 0;
  std::string path_rule;
};

// Every type, in Harbor's order.
const std::vector<EndpointType>& EndpointTypes();
// The type named NAME, or nullptr.
const EndpointType* FindEndpointType(const std::string& name);

// What an ECR registry URL says: https://ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]
// (the hosts Harbor's awsecr adapter and amazon-ecr-credential-helper recognise).
struct EcrAddress {
  std::string account;  // the registry id, 12 digits
  std::string region;   // "us-east-1"
};
std::optional<EcrAddress> ParseEcrUrl(const std::string& url);
// Lowercase letters, digits and '-', starting with a letter ("us-east-1", "cn-north-1").
bool IsAwsRegionName(const std::string& region);
// ECR's API in REGION: https://api.ecr.REGION.amazonaws.com, .com.cn for China ("cn-…").
std::string EcrApiUrl(const std::string& region);

// Whether USERNAME has the form of an SWR login, REGION@AK ("cn-north-4@AKIAEXAMPLE"):
// one '@' with something on either side. The config loader and providers/huawei (for
// usernames from elsewhere) check it alike.
bool IsSwrUsername(const std::string& username);

}  // namespace crossdock::core
