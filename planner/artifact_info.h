// ArtifactInfo: what the label and resource filters look at, read from the source
// registry (manifest annotations, image config labels, config media type). Used by
// planner.cc only when a rule has such filters, since it costs a manifest and a
// config GET per distinct digest.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "providers/registry.h"

namespace crossdock::planner {

struct ArtifactInfo {
  std::string resource;  // "image", "chart" or "artifact"
  std::map<std::string, std::string> labels;  // annotations and config labels
};

// Reads the manifest DIGEST of REPO (and, for an index, its children) and the config
// blobs it names.
core::Result<ArtifactInfo> InspectArtifact(providers::Registry* registry, const std::string& repo,
                                           const std::string& digest);

// The resource kind of a config media type (Harbor's artifact types): image configs
// are "image", Helm chart configs "chart", anything else "artifact".
std::string ResourceOfConfig(const std::string& config_media_type);

// True when LABELS has every entry of WANT ("key" or "key=value"). An empty WANT
// is satisfied by anything.
bool HasAllLabels(const std::map<std::string, std::string>& labels,
                  const std::vector<std::string>& want);

}  // namespace crossdock::planner
