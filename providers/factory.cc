#include "providers/factory.h"

#include <chrono>
#include <cstdlib>
#include <optional>

#include "core/endpoint_types.h"
#include "providers/ali/ali.h"
#include "providers/aws/ecr.h"
#include "providers/azure/azure.h"
#include "providers/distribution/client.h"
#include "providers/dockerhub/dockerhub.h"
#include "providers/ghcr/ghcr.h"
#include "providers/gitlab/gitlab.h"
#include "providers/google/google.h"
#include "providers/harbor/harbor.h"
#include "providers/helm/helm.h"
#include "providers/huawei/huawei.h"
#include "providers/jfrog/jfrog.h"
#include "providers/quay/quay.h"

namespace crossdock::providers {

core::Result<std::unique_ptr<Registry>> NewRegistry(const core::Endpoint& endpoint,
                                                    Credentials creds, HttpClient* http) {
  DistributionOptions options;
  options.rate_limit_per_second = endpoint.rate_limit_per_second;
  options.max_connections = endpoint.max_connections;
  // Docker Hub's pull limit answers 429 with a Retry-After of minutes: wait up to 15
  // minutes for it; a longer wait fails the copy with what the Hub asked.
  if (endpoint.type == "docker-hub") options.retry.max_retry_after = std::chrono::minutes(15);
  options.patch_uploads = endpoint.type == "jfrog-artifactory";
  std::optional<QuaySecret> quay;
  if (endpoint.type == "quay" && !creds.username.empty()) {
    // From an auth file (`docker login quay.io`): the registry login, without a token.
    quay = QuaySecret{creds.username, creds.password, ""};
  } else if (endpoint.type == "quay" && !creds.password.empty()) {
    auto secret = ParseQuaySecret(creds.password, endpoint.name);
    if (!secret.ok()) return secret.status();
    quay = *secret;
    const std::string source = creds.source;
    creds = {secret->account_name, secret->docker_cli_password, source};
  }
  std::optional<GoogleLogin> google;
  std::optional<GoogleSite> google_site;
  if (endpoint.type == "google-gcr") {
    auto login = ParseGoogleLogin(creds, endpoint.name);
    if (!login.ok()) return login.status();
    auto site = GoogleSiteOf(endpoint.url, endpoint.api_url, endpoint.name);
    if (!site.ok()) return site.status();
    google = std::move(*login);
    google_site = std::move(*site);
  }
  if (endpoint.type == "ali-acr") return NewAliRegistry(endpoint, std::move(creds), http, options);
  if (endpoint.type == "huawei-SWR") {
    auto swr = HuaweiCredentials(std::move(creds), endpoint.name);
    if (!swr.ok()) return swr.status();
    creds = std::move(*swr);
  }
  std::optional<EcrRegistry::Options> ecr;
  if (endpoint.type == "aws-ecr") {
    // CREDS hold the access key (providers/credentials.cc); a session token comes with
    // keys from the environment only, as the AWS CLI takes it.
    ecr = EcrRegistry::Options{endpoint.region, "", {creds.username, creds.password, ""},
                               creds.source, nullptr};
    if (endpoint.username.empty() && endpoint.password.empty())
      if (const char* token = std::getenv("AWS_SESSION_TOKEN")) ecr->keys.session_token = token;
    if (auto address = core::ParseEcrUrl(endpoint.url)) ecr->registry_id = address->account;
    // The registry's login comes from GetAuthorizationToken (EcrRegistry).
    creds = Credentials{"AWS", "", creds.source};
  }
  auto registry = std::make_unique<DistributionRegistry>(endpoint.name, endpoint.url,
                                                         std::move(creds), http, options);
  if (endpoint.type == "harbor")
    return std::unique_ptr<Registry>(
        std::make_unique<HarborRegistry>(std::move(registry), endpoint.api_url));
  if (endpoint.type == "docker-hub")
    return std::unique_ptr<Registry>(
        std::make_unique<DockerHubRegistry>(std::move(registry), endpoint.api_url));
  if (endpoint.type == "gitlab")
    return std::unique_ptr<Registry>(
        std::make_unique<GitLabRegistry>(std::move(registry), endpoint.url, endpoint.api_url));
  if (endpoint.type == "github-ghcr")
    return std::unique_ptr<Registry>(
        std::make_unique<GhcrRegistry>(std::move(registry), endpoint.api_url));
  if (endpoint.type == "jfrog-artifactory")
    return std::unique_ptr<Registry>(
        std::make_unique<JFrogRegistry>(std::move(registry), endpoint.api_url));
  if (endpoint.type == "helm-repo")
    return std::unique_ptr<Registry>(
        std::make_unique<HelmRepoRegistry>(std::move(registry), endpoint.url));
  if (ecr)
    return std::unique_ptr<Registry>(
        std::make_unique<EcrRegistry>(std::move(registry), endpoint.api_url, std::move(*ecr)));
  if (endpoint.type == "quay")
    return std::unique_ptr<Registry>(std::make_unique<QuayRegistry>(
        std::move(registry), endpoint.api_url, quay.value_or(QuaySecret{})));
  if (endpoint.type == "azure-acr")
    return std::unique_ptr<Registry>(std::make_unique<AzureRegistry>(std::move(registry), endpoint.url));
  if (endpoint.type == "google-gcr")
    return std::unique_ptr<Registry>(std::make_unique<GoogleRegistry>(
        std::move(registry), endpoint.url, std::move(*google_site), std::move(*google)));
  if (endpoint.type == "huawei-SWR")
    return std::unique_ptr<Registry>(
        std::make_unique<HuaweiRegistry>(std::move(registry), endpoint.api_url));
  return std::unique_ptr<Registry>(std::move(registry));
}

}  // namespace crossdock::providers
