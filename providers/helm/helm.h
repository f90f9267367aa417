// HelmRepoRegistry: the `helm-repo` endpoint type, a Helm chart repository seen as a
// registry of OCI chart artifacts (providers/helm/chart.h), so that rules copy charts
// between chart repositories and OCI registries in either direction:
// - repositories are chart names, tags chart versions ('+' written '_'); the
//   endpoint's url is the repository (where index.yaml lives);
// - each version reads as the OCI manifest Helm pushes (config: the chart's metadata,
//   one layer: the .tgz, whose digest index.yaml gives and whose size a HEAD of the
//   chart's URL gives); the .tgz streams from its URL (relative to the repository, or
//   absolute: credentials go only to the repository's own origin);
// - a ChartMuseum (helm/chartmuseum) takes charts: PutBlob keeps the .tgz in a
//   temporary file and PutManifest posts it to /api[/TENANT…]/charts (409: the version
//   exists); deleting a version is DELETE /api/…/charts/NAME/VERSION. A destination
//   repository "a/b/NAME" is chart NAME in ChartMuseum's tenant a/b (its --depth);
// - a classic repository (index.yaml and files on a web server) is read only: the
//   plan refuses it as a destination.
// Constructed by providers/factory.cc.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "providers/distribution/client.h"
#include "providers/helm/chart.h"
#include "providers/registry.h"

namespace crossdock::providers {

class HelmRepoRegistry : public Registry {
 public:
  // TRANSPORT carries every request (limits, retries, counting) and the credentials;
  // URL is the chart repository, "scheme://host[:port][/path]".
  HelmRepoRegistry(std::unique_ptr<DistributionRegistry> transport, std::string url,
                   core::Clock* clock = nullptr);
  ~HelmRepoRegistry() override;

  const std::string& name() const override { return transport_->name(); }
  core::Status Ping() override;
  core::Result<std::vector<std::string>> ListRepositories() override;
  core::Result<std::vector<std::string>> ListTags(const std::string& repo) override;
  core::Result<std::optional<ManifestHead>> HeadManifest(const std::string& repo,
                                                         const std::string& ref) override;
  core::Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) override;
  core::Status PutManifest(const std::string& repo, const std::string& ref,
                           const Manifest& manifest) override;
  core::Status DeleteManifest(const std::string& repo, const std::string& digest) override;
  core::Result<std::optional<std::vector<ManifestHead>>> ListReferrers(
      const std::string& repo, const std::string& digest) override;
  core::Result<bool> BlobExists(const std::string& repo, const std::string& digest) override;
  core::Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                               const std::string& from_repo) override;
  core::Status GetBlob(const std::string& repo, const std::string& digest,
                       const BlobSink& sink) override;
  core::Status PutBlob(const std::string& repo, const std::string& digest, std::int64_t size,
                       const BlobSource& source) override;
  long requests() const override { return transport_->requests(); }

  PathRule path_rule() const override { return {}; }
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;
  core::Status DeleteTag(const std::string& repo, const std::string& tag,
                         const std::string& digest) override;
  bool DeletesTagsAlone() const override { return true; }
  bool ConvertsManifests() const override { return true; }

 private:
  // A chart version as an OCI artifact, computed once per index fetched.
  struct Presented {
    helm::ChartVersion version;
    std::string chart_url;  // absolute
    std::string config;     // bytes of the config blob
    std::string chart_digest;
    std::int64_t chart_size = 0;
    Manifest manifest;
  };
  // Where a repository name leads: the tenant path ("" or "/a/b") and the chart.
  struct ChartPath {
    std::string tenant;
    std::string chart;
  };
  static ChartPath Split(const std::string& repo);

  // index.yaml of TENANT (re-read after kIndexLifetime, or after a change).
  core::Result<std::shared_ptr<const helm::ChartIndex>> Index(const std::string& tenant);
  void ForgetIndex(const std::string& tenant);
  // Version TAG (a tag: '+' written '_') of REPO's chart; NotFound when absent.
  core::Result<helm::ChartVersion> FindVersion(const std::string& repo, const std::string& tag);
  // VERSION as an OCI artifact (a HEAD of its .tgz for the size, once per run).
  core::Result<Presented> Present(const std::string& tenant, const helm::ChartVersion& version);
  // The version of REPO whose manifest has DIGEST, or nullopt.
  core::Result<std::optional<Presented>> FindByDigest(const std::string& repo,
                                                      const std::string& digest);

  std::string RepoUrl(const std::string& tenant) const;  // url_ + tenant
  std::string ApiUrl(const std::string& tenant) const;   // origin + /api + path + tenant + /charts
  // Sends REQ with the endpoint's credentials when it goes to the repository's origin.
  core::Result<HttpResponse> Send(HttpRequest req);
  // Whether the repository answers ChartMuseum's API (cached).
  core::Result<bool> IsChartMuseum(const std::string& tenant);
  // The private directory charts wait in for PutManifest, made on first use.
  core::Status EnsureStaging();
  // Where blob DIGEST is staged ("" before any upload), and its bytes, checked again.
  std::string Staged(const std::string& digest);
  core::Result<std::string> ReadStaged(const std::string& digest);

  std::unique_ptr<DistributionRegistry> transport_;
  std::string url_;  // without a trailing '/'
  core::Clock* clock_;
  std::filesystem::path staging_;  // .tgz and config blobs; "" until the first upload

  std::mutex mu_;
  struct CachedIndex {
    std::shared_ptr<const helm::ChartIndex> index;
    std::chrono::steady_clock::time_point read_at;
  };
  std::map<std::string, CachedIndex> indexes_;                          // by tenant
  std::map<std::string, std::pair<std::string, std::int64_t>> blobs_;  // chart URL -> digest, size
  std::map<std::string, bool> chartmuseum_;                            // by tenant
  std::map<std::string, std::string> configs_;  // config digest -> bytes, for GetBlob
  std::map<std::string, std::string> charts_;   // chart digest -> absolute URL, for GetBlob
};

}  // namespace crossdock::providers
