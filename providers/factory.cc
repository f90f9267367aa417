#include "providers/factory.h"

#include "providers/distribution/client.h"

namespace crossdock::providers {

std::unique_ptr<Registry> NewRegistry(const core::Endpoint& endpoint, Credentials creds,
                                      HttpClient* http) {
  DistributionOptions options;
  options.rate_limit_per_second = endpoint.rate_limit_per_second;
  options.max_connections = endpoint.max_connections;
  return std::make_unique<DistributionRegistry>(endpoint.name, endpoint.url, std::move(creds),
                                                http, options);
}

}  // namespace crossdock::providers
