// GoogleRegistry: the `google-gcr` endpoint type, Google Container Registry (gcr.io and
// its regional hosts) and Artifact Registry (LOCATION-docker.pkg.dev). Sources: Google's
// docs (artifact-registry/docs/docker/authentication, container-registry/docs/
// advanced-authentication, identity/protocols/oauth2/service-account), Harbor's
// googlegcr adapter (src/pkg/reg/adapter/googlegcr/); ../shared/reference/vendors.md §7.
// - The data plane is the generic distribution client logged in with the endpoint's
//   username and password as Google takes them: "_json_key" and the service account's
//   JSON key, "_json_key_base64" and the key base64-encoded, or "oauth2accesstoken" and
//   an OAuth access token.
// - Tags and their digests come from GCR's extended tags/list (its "manifest" map), so a
//   plan sends no HEAD per tag; a registry answering without the map gets HEADs.
// - Artifact Registry: repositories are PROJECT/REPOSITORY/IMAGE…; the REPOSITORY must
//   exist (crossdock refuses in the plan, saying how to create it); repositories and
//   images are listed through its REST API with an OAuth access token, which a service
//   account key buys with an RS256 assertion at the key's token_uri (providers/google/jwt.h).
// - A tag is deleted alone (DELETE manifests/TAG is GCR's untag); the manifest goes too
//   once no tag is left on it (Harbor's order: tags first, then the digest).
// Constructed by providers/factory.cc.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "providers/google/jwt.h"
#include "providers/vendor.h"

namespace crossdock::providers {

// How a google-gcr endpoint logs in, from its username and password.
struct GoogleLogin {
  enum class Kind { kAnonymous, kServiceAccountKey, kAccessToken };
  Kind kind = Kind::kAnonymous;
  std::optional<ServiceAccountKey> key;  // kServiceAccountKey
  std::string access_token;              // kAccessToken; never printed
};

// CREDS of endpoint ENDPOINT as Google takes them. InvalidArgument naming the endpoint
// and what is expected for a username Google does not take, a "_json_key" password that
// is not a service-account key (ParseServiceAccountKey), a "_json_key_base64" one that
// is not base64 of one, or a password without a username. Never quotes the password.
core::Result<GoogleLogin> ParseGoogleLogin(const Credentials& creds, const std::string& endpoint);

// Where an endpoint's images live.
struct GoogleSite {
  bool artifact_registry = false;  // false: GCR (gcr.io, us.gcr.io…)
  std::string location;            // Artifact Registry's location ("europe-west1")
  std::string api;                 // its REST API ("https://artifactregistry.googleapis.com")
};
inline constexpr const char* kArtifactRegistryApi = "https://artifactregistry.googleapis.com";

// The site of endpoint ENDPOINT with registry URL and API_URL (the config's api_url, ""
// when unset): Artifact Registry in LOCATION when URL's host is LOCATION-docker.pkg.dev
// (its API at API_URL, else Google's); Artifact Registry anywhere else (a proxy, a test's
// fake) when API_URL ends with "/locations/LOCATION", the API being what comes before;
// GCR otherwise. InvalidArgument for any other API_URL.
core::Result<GoogleSite> GoogleSiteOf(const std::string& url, const std::string& api_url,
                                      const std::string& endpoint);

class GoogleRegistry : public VendorRegistry {
 public:
  // REGISTRY logs in with LOGIN's username and password already; URL is its base URL.
  // CLOCK (never null) times the OAuth access tokens.
  GoogleRegistry(std::unique_ptr<DistributionRegistry> registry, std::string url, GoogleSite site,
                 GoogleLogin login, core::Clock* clock = core::Clock::Real());

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // Artifact Registry with a token: the images of the named projects' repositories in
  // the location (no names: the key's project) through the REST API; else _catalog.
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& projects) override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<TagListing> ListTagsWithDigests(const std::string& repo) override;
  bool ListingHasDigests() const override { return true; }
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return true; }
  PathRule path_rule() const override;
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  // GCR's tags/list answer: tags, and where it has the "manifest" map, the tags on each
  // digest it holds (untagged manifests included, with none).
  struct ExtendedTagList {
    std::vector<std::string> tags;
    bool has_manifests = false;
    std::map<std::string, std::vector<std::string>> manifests;  // digest -> tags
  };
  core::Result<ExtendedTagList> ReadTagList(const std::string& repo);
  // An OAuth access token for the REST API: the login's own, or one bought with the
  // service account key and kept until shortly before it expires. FORGET: the last one
  // was refused. Unauthenticated for an anonymous endpoint, or when Google refuses.
  core::Result<std::string> AccessToken(bool forget = false);
  // GET PATH_AND_QUERY on the REST API with the access token (a new one once after a 401).
  core::Result<HttpResponse> CallRest(const std::string& path_and_query);
  // A non-2xx answer of Google's API ({"error":{"code","message","status"}}) as a Status
  // saying WHAT failed, with Google's status and message.
  core::Status GoogleError(const HttpResponse& r, const std::string& what) const;
  // "/v1/projects/P/locations/L/repositories".
  std::string RepositoriesPath(const std::string& project) const;
  // The Artifact Registry repositories (ids) of PROJECT in the location.
  core::Result<std::vector<std::string>> ListGarRepositories(const std::string& project);
  // The images of PROJECT/REPOSITORY, as "PROJECT/REPOSITORY/IMAGE", added to OUT.
  core::Status ListGarImages(const std::string& project, const std::string& repository,
                             std::vector<std::string>* out);

  std::string url_;
  GoogleSite site_;
  GoogleLogin login_;
  core::Clock* clock_;

  std::mutex token_mu_;  // held by the one caller buying a token; guards the two below
  std::string token_;
  std::chrono::steady_clock::time_point token_refresh_at_{};
  std::mutex repos_mu_;  // guards gar_repositories_
  std::map<std::string, bool> gar_repositories_;  // "P/R" known to exist
};

}  // namespace crossdock::providers
