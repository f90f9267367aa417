#include "planner/artifact_info.h"

#include <nlohmann/json.hpp>

namespace crossdock::planner {

namespace {

// Index children inspected for labels and kind; an index of more platforms than
// this is judged by its first ones.
constexpr size_t kMaxChildren = 8;
// Config blobs larger than this are not read (a config is a few KiB).
constexpr size_t kMaxConfigBytes = 4u << 20;

void AddStringMap(const nlohmann::json& j, std::map<std::string, std::string>* out) {
  if (!j.is_object()) return;
  for (const auto& [k, v] : j.items())
    if (v.is_string()) out->emplace(k, v.get<std::string>());
}

core::Status InspectManifest(providers::Registry* registry, const std::string& repo,
                             const providers::Manifest& m, int depth, ArtifactInfo* info) {
  auto j = nlohmann::json::parse(m.bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::Status::InvalidArgument("manifest " + repo + "@" + m.digest + " is not JSON");
  if (j.contains("annotations")) AddStringMap(j["annotations"], &info->labels);
  if (j.contains("manifests") && j["manifests"].is_array()) {
    if (depth > 1) return core::Status::Ok();
    size_t n = 0;
    for (const auto& d : j["manifests"]) {
      if (n++ >= kMaxChildren) break;
      std::string digest = d.value("digest", "");
      auto child = registry->GetManifest(repo, digest);
      if (!child.ok()) return child.status();
      CROSSDOCK_RETURN_IF_ERROR(InspectManifest(registry, repo, *child, depth + 1, info));
    }
    return core::Status::Ok();
  }
  if (!j.contains("config") || !j["config"].is_object()) {
    info->resource = "artifact";
    return core::Status::Ok();
  }
  const auto& config = j["config"];
  std::string kind = ResourceOfConfig(config.value("mediaType", ""));
  if (info->resource.empty() || info->resource == "artifact") info->resource = kind;
  if (kind != "image") return core::Status::Ok();
  std::string data;
  core::Status st = registry->GetBlob(repo, config.value("digest", ""), [&](const char* p, size_t n) {
    if (data.size() + n > kMaxConfigBytes) return false;
    data.append(p, n);
    return true;
  });
  if (!st.ok()) return st;
  auto cfg = nlohmann::json::parse(data, nullptr, false);
  if (cfg.is_object() && cfg.contains("config") && cfg["config"].is_object() &&
      cfg["config"].contains("Labels"))
    AddStringMap(cfg["config"]["Labels"], &info->labels);
  return core::Status::Ok();
}

}  // namespace

std::string ResourceOfConfig(const std::string& t) {
  if (t == "application/vnd.oci.image.config.v1+json" ||
      t == "application/vnd.docker.container.image.v1+json")
    return "image";
  if (t == "application/vnd.cncf.helm.config.v1+json") return "chart";
  return "artifact";
}

bool HasAllLabels(const std::map<std::string, std::string>& labels,
                  const std::vector<std::string>& want) {
  for (const auto& w : want) {
    auto eq = w.find('=');
    std::string key = w.substr(0, eq);
    auto it = labels.find(key);
    if (it == labels.end()) return false;
    if (eq != std::string::npos && it->second != w.substr(eq + 1)) return false;
  }
  return true;
}

core::Result<ArtifactInfo> InspectArtifact(providers::Registry* registry, const std::string& repo,
                                           const std::string& digest) {
  auto m = registry->GetManifest(repo, digest);
  if (!m.ok()) return m.status();
  ArtifactInfo info;
  CROSSDOCK_RETURN_IF_ERROR(InspectManifest(registry, repo, *m, 0, &info));
  if (info.resource.empty()) info.resource = "artifact";
  return info;
}

}  // namespace crossdock::planner
