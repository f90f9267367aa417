// Helm chart repositories for end-to-end tests: tests/fakes/chartmuseum (ChartMuseum's
// API, or a plain web server over a classic repository's files), real chart .tgz files
// made with tar(1), and a chart laid out as the OCI artifact `helm push` makes, for
// seeding a registry with skopeo.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {

// A chart's .tgz: NAME/Chart.yaml (apiVersion v2, NAME, VERSION, DESCRIPTION),
// NAME/values.yaml and NAME/templates/configmap.yaml, written to PATH with tar -czf.
void MakeChart(const std::string& path, const std::string& name, const std::string& version,
               const std::string& description = "a test chart");

// SHA-256 of the file at PATH, hex (as index.yaml writes digests).
std::string FileSha256Hex(const std::string& path);

// tests/fakes/chartmuseum over a fresh storage directory (ChartMuseum's API), or over
// CLASSIC_DIR as a plain web server (a classic chart repository).
class ChartMuseumFake {
 public:
  struct Options {
    int depth = 0;            // --depth: tenants of that many path components
    std::string username{};   // Basic auth on every route when set
    std::string password{};
    std::string classic_dir{};  // non-empty: a classic repository of these files
    bool allow_overwrite = false;
  };
  ChartMuseumFake() : ChartMuseumFake(Options{}) {}
  explicit ChartMuseumFake(Options options);

  std::string url() const { return fake_->url(); }
  const std::string& storage() const { return storage_; }
  // GET PATH from the fake with curl (the harness's own request: not counted).
  HttpAnswer Get(const std::string& path) const;
  // "METHOD kind" -> count of crossdock's requests ({"GET index": 3, "HEAD chart": 2}).
  std::map<std::string, long> Requests() const;
  // Copies the chart at TGZ into TENANT ("" or "a/b") as ChartMuseum stores it.
  void Store(const std::string& tgz, const std::string& tenant = "") const;

 private:
  Options options_;
  std::unique_ptr<TempDir> dir_;
  std::string storage_;
  std::unique_ptr<FakeProcess> fake_;
};

// Lays the chart at TGZ out in the OCI layout LAYOUT as `helm push` does (config: the
// chart's metadata JSON CONFIG_JSON, media type application/vnd.cncf.helm.config.v1+json;
// one layer application/vnd.cncf.helm.chart.content.v1.tar+gzip; the manifest
// annotated with a creation time, as Helm 3.13+ does), tagged REF_NAME. Push it with Push().
BuiltImage BuildChartArtifact(const std::string& layout, const std::string& ref_name,
                              const std::string& tgz, const std::string& config_json);

}  // namespace crossdock::testing
