#include "providers/helm/chart.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>

#include "core/digest.h"
#include "core/names.h"

namespace crossdock::providers::helm {

namespace {

// chart.Metadata's fields in the order Go marshals them (helm/helm pkg/chart/metadata.go).
constexpr std::array<const char*, 17> kMetadataFields = {
    "name",        "home",      "sources",    "version",     "description", "keywords",
    "maintainers", "icon",      "apiVersion", "condition",   "tags",        "appVersion",
    "deprecated",  "annotations", "kubeVersion", "dependencies", "type"};

std::string Position(const YAML::Mark& mark) {
  if (mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ")";
}

// How deep and how large one entry's metadata may be. yaml-cpp shares aliased nodes,
// so "a: &x {b: *x}" is a cycle and a few hundred bytes of nested aliases expand to
// gigabytes: an index from anywhere must not take the process down.
constexpr int kMaxDepth = 32;
constexpr int kMaxNodes = 10000;

struct TooLarge {};

// NODE as JSON: scalars stay strings as Go's string fields take them ("1.10" is not a
// number), except booleans where Helm's struct has a bool (KEY "deprecated", "enabled").
// Throws TooLarge past kMaxDepth levels or *BUDGET nodes.
nlohmann::json ToJson(const YAML::Node& node, const std::string& key, int depth, int* budget) {
  if (depth > kMaxDepth || --*budget < 0) throw TooLarge{};
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if ((key == "deprecated" || key == "enabled") && (s == "true" || s == "false"))
        return s == "true";
      return s;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : node) a.push_back(ToJson(item, "", depth + 1, budget));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : node) {
        nlohmann::json v = ToJson(kv.second, kv.first.Scalar(), depth + 1, budget);
        if (!v.is_null()) o[kv.first.Scalar()] = std::move(v);
      }
      return o;
    }
    default:
      return nullptr;
  }
}

// Go's omitempty: "", false, empty lists and maps are left out.
bool Empty(const nlohmann::json& v) {
  return v.is_null() || (v.is_string() && v.get<std::string>().empty()) ||
         (v.is_boolean() && !v.get<bool>()) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

}  // namespace

core::Result<ChartIndex> ParseIndex(const std::string& text, const std::string& where) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return core::Status::InvalidArgument(where + " is not YAML" + Position(e.mark) + ": " + e.msg);
  }
  auto invalid = [&](const YAML::Node& at, const std::string& what) {
    return core::Status::InvalidArgument(where + Position(at.Mark()) + ": " + what +
                                         "; is this a Helm chart repository?");
  };
  if (!root.IsMap()) return invalid(root, "the document is not a map");
  const YAML::Node entries = root["entries"];
  if (!entries) return invalid(root, "it has no \"entries\"");
  ChartIndex index;
  if (entries.IsNull()) return index;  // an empty repository
  if (!entries.IsMap()) return invalid(entries, "\"entries\" is not a map of chart names");
  try {
    for (const auto& chart : entries) {
      const std::string name = chart.first.Scalar();
      if (!chart.second.IsSequence())
        return invalid(chart.second, "chart \"" + name + "\" is not a list of versions");
      if (!core::IsValidRepositoryName(name) || name.find('/') != std::string::npos)
        return invalid(chart.first, "chart name \"" + core::ShowName(name) +
                                        "\" cannot be a repository name");
      auto& versions = index.charts[name];
      for (const auto& entry : chart.second) {
        if (!entry.IsMap()) return invalid(entry, "a version of \"" + name + "\" is not a map");
        ChartVersion v;
        v.name = name;
        if (entry["version"] && entry["version"].IsScalar()) v.version = entry["version"].Scalar();
        if (v.version.empty())
          return invalid(entry, "a version of \"" + name + "\" has no \"version\"");
        if (!core::IsValidTag(TagOfVersion(v.version)))
          return invalid(entry["version"], "version \"" + core::ShowName(v.version) + "\" of \"" +
                                               name + "\" cannot be an OCI tag");
        if (entry["urls"] && entry["urls"].IsSequence())
          for (const auto& u : entry["urls"])
            if (u.IsScalar() && !u.Scalar().empty()) v.urls.push_back(u.Scalar());
        if (v.urls.empty())
          return invalid(entry, "version " + v.version + " of \"" + name + "\" has no \"urls\"");
        if (entry["digest"] && entry["digest"].IsScalar() && !entry["digest"].Scalar().empty()) {
          std::string d = entry["digest"].Scalar();
          if (d.rfind("sha256:", 0) != 0) d = "sha256:" + d;
          std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
          });
          if (!core::IsValidDigest(d))
            return invalid(entry["digest"], "version " + v.version + " of \"" + name +
                                                "\" has a digest that is not a SHA-256");
          v.digest = d;
        }
        v.metadata = nlohmann::json::object();
        int budget = kMaxNodes;
        for (const char* field : kMetadataFields) {
          if (!entry[field]) continue;
          nlohmann::json value;
          try {
            value = ToJson(entry[field], field, 0, &budget);
          } catch (const TooLarge&) {
            return invalid(entry[field], "version " + v.version + " of \"" + name + "\": \"" +
                                             field + "\" nests deeper than " +
                                             std::to_string(kMaxDepth) + " levels or holds more than " +
                                             std::to_string(kMaxNodes) + " values");
          }
          if (!Empty(value)) v.metadata[field] = std::move(value);
        }
        v.metadata["name"] = name;
        v.metadata["version"] = v.version;
        versions.push_back(std::move(v));
      }
    }
  } catch (const YAML::Exception& e) {
    return core::Status::InvalidArgument(where + Position(e.mark) + ": " + e.msg);
  }
  return index;
}

std::string TagOfVersion(const std::string& version) {
  std::string tag = version;
  std::replace(tag.begin(), tag.end(), '+', '_');
  return tag;
}

std::string ConfigJson(const ChartVersion& version) {
  std::string out = "{";
  for (const char* field : kMetadataFields) {
    auto it = version.metadata.find(field);
    if (it == version.metadata.end()) continue;
    if (out.size() > 1) out += ",";
    out += nlohmann::json(field).dump() + ":" + it->dump();
  }
  return out + "}";
}

std::string ChartManifest(const ChartVersion& version, const std::string& config,
                          const std::string& chart_digest, std::int64_t chart_size) {
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", kChartConfigMediaType},
        {"digest", core::Sha256Digest(config)},
        {"size", config.size()}}},
      {"layers",
       nlohmann::json::array(
           {{{"mediaType", kChartLayerMediaType}, {"digest", chart_digest}, {"size", chart_size}}})},
      {"annotations",
       {{"org.opencontainers.image.title", version.name},
        {"org.opencontainers.image.version", version.version}}},
  };
  return m.dump();
}

std::optional<ChartLayers> ChartLayersOf(const std::string& manifest) {
  auto j = nlohmann::json::parse(manifest, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    return o.is_object() && o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : "";
  };
  if (!j.contains("config") || str(j["config"], "mediaType") != kChartConfigMediaType)
    return std::nullopt;
  ChartLayers out;
  out.config_digest = str(j["config"], "digest");
  if (!j.contains("layers") || !j["layers"].is_array()) return std::nullopt;
  for (const auto& l : j["layers"]) {
    const std::string type = str(l, "mediaType");
    if (type != kChartLayerMediaType && type != kLegacyChartLayerMediaType) continue;
    out.chart_digest = str(l, "digest");
    out.chart_size = l.contains("size") && l["size"].is_number_integer() ? l["size"].get<std::int64_t>() : -1;
    if (!core::IsValidDigest(out.chart_digest) || !core::IsValidDigest(out.config_digest))
      return std::nullopt;
    return out;
  }
  return std::nullopt;
}

}  // namespace crossdock::providers::helm
