// VendorRegistry: the base of every vendor provider (providers/harbor, dockerhub…).
// It owns the generic distribution client for the data plane (manifests, blobs,
// tokens) and forwards every Registry call to it; a vendor overrides what its
// control plane does differently (listing, namespaces, deletion, path rule) and
// sends its API calls through CallApi, which shares the endpoint's limits and count.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "providers/distribution/client.h"
#include "providers/registry.h"

namespace crossdock::providers {

class VendorRegistry : public Registry {
 public:
  // API_URL: the vendor's control plane, "scheme://host[:port][/prefix]" (the config's
  // api_url); VENDOR names it in messages ("Harbor", "Docker Hub").
  VendorRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url,
                 std::string vendor);

  const std::string& name() const override { return registry_->name(); }
  core::Status Ping() override { return registry_->Ping(); }
  core::Result<std::vector<std::string>> ListRepositories() override {
    return registry_->ListRepositories();
  }
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override {
    return registry_->ListTags(repo);
  }
  core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                         const std::string& ref) override {
    return registry_->HeadManifest(repo, ref);
  }
  core::Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) override {
    return registry_->GetManifest(repo, ref);
  }
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const Manifest& manifest) override {
    return registry_->PutManifest(repo, ref, manifest);
  }
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override {
    return registry_->DeleteManifest(repo, digest);
  }
  core::Result<std::optional<std::vector<ManifestHead>>> ListReferrers(
      const std::string& repo, const std::string& digest) override {
    return registry_->ListReferrers(repo, digest);
  }
  core::Result<bool> BlobExists(const std::string& repo, const std::string& digest) override {
    return registry_->BlobExists(repo, digest);
  }
  core::Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                               const std::string& from_repo) override {
    return registry_->MountBlob(repo, digest, from_repo);
  }
  core::Status GetBlob(const std::string& repo, const std::string& digest,
                       const BlobSink& sink) override {
    return registry_->GetBlob(repo, digest, sink);
  }
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                       const BlobSource& source) override {
    return registry_->PutBlob(repo, digest, size, source);
  }
  long requests() const override { return registry_->requests(); }
  std::optional<long> rate_limit_remaining() const override {
    return registry_->rate_limit_remaining();
  }

 protected:
  // One control-plane call: METHOD on api_url + PATH_AND_QUERY, with HEADERS (the
  // vendor's auth among them) and a JSON BODY when not empty. Transport failures
  // come back as Unavailable naming the API URL; any HTTP status is the caller's.
  core::Result<HttpResponse> CallApi(const std::string& method, const std::string& path_and_query,
                                     std::vector<std::pair<std::string, std::string>> headers,
                                     const std::string& body = "");
  // GETs FIRST (a path and query on the API) and every page its Link rel="next"
  // headers lead to on the API's origin, handing each 200 answer's JSON to PAGE;
  // NotFound for a 404 on the first page, and the answer's error for anything
  // else. WHAT ("listing projects") is for messages.
  core::Status ForEachApiPage(
      const std::string& first, const std::vector<std::pair<std::string, std::string>>& headers,
      const std::string& what, const std::function<core::Status(const nlohmann::json&)>& page);
  // The JSON of an answer to WHAT, or Internal naming the vendor and the endpoint.
  core::Result<nlohmann::json> ParseJson(const HttpResponse& r, const std::string& what) const;
  // "WHAT at endpoint \"NAME\" (VENDOR API at URL)", for messages.
  std::string Where(const std::string& what) const;

  DistributionRegistry& registry() { return *registry_; }
  // The data plane from a const method (a lazily learnt value such as a pull budget).
  DistributionRegistry* data_plane() const { return registry_.get(); }
  const Credentials& credentials() const { return registry_->credentials(); }
  const std::string& api_url() const { return api_url_; }
  const std::string& vendor() const { return vendor_; }

 private:
  std::unique_ptr<DistributionRegistry> registry_;
  std::string api_url_;
  std::string vendor_;
};

// The path rule of endpoint type TYPE (core/endpoint_types.h), the one source of it.
PathRule PathRuleOf(const std::string& type);

// OBJ[KEY] when OBJ is an object holding KEY, else null: a vendor's answer may lack
// any field, and nlohmann's const operator[] must never meet a missing key.
const nlohmann::json& Field(const nlohmann::json& obj, const char* key);

}  // namespace crossdock::providers
