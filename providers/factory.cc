#include "providers/factory.h"

#include "providers/distribution/client.h"
#include "providers/dockerhub/dockerhub.h"
#include "providers/harbor/harbor.h"

namespace crossdock::providers {

std::unique_ptr<Registry> NewRegistry(const core::Endpoint& endpoint, Credentials creds,
                                      HttpClient* http) {
  DistributionOptions options;
  options.rate_limit_per_second = endpoint.rate_limit_per_second;
  options.max_connections = endpoint.max_connections;
  // Docker Hub's pull limit answers 429 with a Retry-After of minutes: wait up to 15
  // minutes for it; a longer wait fails the copy with what the Hub asked.
  if (endpoint.type == "docker-hub") options.retry.max_retry_after = std::chrono::minutes(15);
  auto registry = std::make_unique<DistributionRegistry>(endpoint.name, endpoint.url,
                                                         std::move(creds), http, options);
  if (endpoint.type == "harbor")
    return std::make_unique<HarborRegistry>(std::move(registry), endpoint.api_url);
  if (endpoint.type == "docker-hub")
    return std::make_unique<DockerHubRegistry>(std::move(registry), endpoint.api_url);
  return registry;
}

}  // namespace crossdock::providers
