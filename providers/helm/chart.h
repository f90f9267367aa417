// Helm chart repositories as crossdock sees them: a repository's index.yaml parsed
// into chart versions, and a chart version presented as the OCI artifact Helm itself
// pushes to registries (helm/helm pkg/registry/constants.go): an image manifest whose
// config is the chart's metadata as JSON (application/vnd.cncf.helm.config.v1+json)
// and whose one layer is the chart's .tgz (application/vnd.cncf.helm.chart.content.v1.tar+gzip),
// tagged with the version, '+' written '_'. Pure functions, no I/O; used by
// providers/helm/helm.cc.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace crossdock::providers::helm {

inline constexpr const char* kChartConfigMediaType = "application/vnd.cncf.helm.config.v1+json";
inline constexpr const char* kChartLayerMediaType =
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
// The layer media type of charts pushed by Helm 3.0–3.6 (and ORAS before it).
inline constexpr const char* kLegacyChartLayerMediaType = "application/tar+gzip";

// One entry of index.yaml's `entries: {NAME: [...]}`.
struct ChartVersion {
  std::string name;
  std::string version;            // as the chart says it ("1.2.3+build.4")
  std::vector<std::string> urls;  // relative to the repository's URL, or absolute
  std::string digest;             // "sha256:<hex>" of the .tgz; "" when the index has none
  // The chart's metadata (Chart.yaml's fields) as Helm's chart.Metadata marshals it:
  // every field of the entry but urls, digest, created and removed.
  nlohmann::json metadata;
};

struct ChartIndex {
  std::map<std::string, std::vector<ChartVersion>> charts;  // by name
};

// Parses TEXT, an index.yaml. InvalidArgument naming WHERE ("index.yaml at URL"), the
// line and column and what is wrong: not YAML, no `entries` map, an entry without
// name/version or with a version that cannot be a tag.
core::Result<ChartIndex> ParseIndex(const std::string& text, const std::string& where);

// The OCI tag of a chart version: '+' becomes '_' (OCI tags cannot hold '+').
std::string TagOfVersion(const std::string& version);

// The config blob of VERSION: its metadata as compact JSON, keys in Helm's order
// (name, home, sources, version, description, …), so that one chart version always
// gives the same bytes wherever its index came from.
std::string ConfigJson(const ChartVersion& version);

// The OCI manifest presenting a chart version: config CONFIG (its bytes) and the .tgz
// with digest CHART_DIGEST and CHART_SIZE bytes. Deterministic.
std::string ChartManifest(const ChartVersion& version, const std::string& config,
                          const std::string& chart_digest, std::int64_t chart_size);

// What an OCI manifest holding a chart says: its chart layer and its config.
struct ChartLayers {
  std::string chart_digest;
  std::int64_t chart_size = 0;
  std::string config_digest;
};

// The chart layer and config of MANIFEST (bytes of an OCI image manifest); nullopt
// when it is not a Helm chart (another config media type, or no chart layer).
std::optional<ChartLayers> ChartLayersOf(const std::string& manifest);

}  // namespace crossdock::providers::helm
