#include "tests/support/chart_repo.h"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace crossdock::testing {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Hex(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

// Writes BYTES as a blob of the OCI layout LAYOUT; returns its descriptor.
json WriteBlob(const std::string& layout, const std::string& media_type, const std::string& bytes) {
  const std::string digest = Sha256Digest(bytes);
  fs::create_directories(layout + "/blobs/sha256");
  WriteFile(layout + "/blobs/sha256/" + Hex(digest), bytes);
  return {{"mediaType", media_type}, {"digest", digest}, {"size", bytes.size()}};
}

}  // namespace

void MakeChart(const std::string& path, const std::string& name, const std::string& version,
               const std::string& description) {
  TempDir work("crossdock-chart");
  const std::string root = work.Sub(name);
  fs::create_directories(root + "/templates");
  WriteFile(root + "/Chart.yaml", "apiVersion: v2\nname: " + name + "\nversion: " + version +
                                      "\ndescription: " + description +
                                      "\ntype: application\nappVersion: \"1.0\"\n");
  WriteFile(root + "/values.yaml", "replicas: 1\n");
  WriteFile(root + "/templates/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n"
            "  version: \"" + version + "\"\n");
  RunResult r = RunCommand({"tar", "-czf", path, "-C", work.path(), name});
  if (r.exit_code != 0) throw HarnessError("tar -czf " + path + " failed: " + r.err);
}

std::string FileSha256Hex(const std::string& path) { return Hex(Sha256Digest(ReadFile(path))); }

ChartMuseumFake::ChartMuseumFake(Options options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("crossdock-chartmuseum")) {
  storage_ = dir_->Sub("storage");
  fs::create_directories(storage_);
  std::vector<std::string> args;
  if (options_.classic_dir.empty()) {
    args = {"--storage", storage_, "--depth", std::to_string(options_.depth)};
  } else {
    args = {"--classic", options_.classic_dir};
  }
  if (!options_.username.empty()) args.insert(args.end(), {"--user", options_.username + ":" + options_.password});
  if (options_.allow_overwrite) args.push_back("--allow-overwrite");
  fake_ = std::make_unique<FakeProcess>("chartmuseum", args, dir_->Sub("chartmuseum.log"));
}

HttpAnswer ChartMuseumFake::Get(const std::string& path) const {
  std::vector<std::string> argv = {"curl", "-sS", "-H", "X-Crossdock-Harness: 1",
                                   "-o",   dir_->Sub("answer"), "-w", "%{http_code}"};
  if (!options_.username.empty())
    argv.insert(argv.end(), {"-u", options_.username + ":" + options_.password});
  argv.push_back(url() + path);
  RunResult r = RunCommand(argv);
  if (r.exit_code != 0) throw HarnessError("curl " + url() + path + " failed: " + r.err);
  HttpAnswer a;
  a.status = std::atoi(r.out.c_str());
  a.body = ReadFile(dir_->Sub("answer"));
  return a;
}

std::map<std::string, long> ChartMuseumFake::Requests() const {
  HttpAnswer a = Get("/stats");
  return json::parse(a.body).at("requests").get<std::map<std::string, long>>();
}

void ChartMuseumFake::Store(const std::string& tgz, const std::string& tenant) const {
  const std::string dir = tenant.empty() ? storage_ : storage_ + "/" + tenant;
  fs::create_directories(dir);
  fs::copy_file(tgz, dir + "/" + fs::path(tgz).filename().string(),
                fs::copy_options::overwrite_existing);
}

BuiltImage BuildChartArtifact(const std::string& layout, const std::string& ref_name,
                              const std::string& tgz, const std::string& config_json) {
  fs::create_directories(layout);
  WriteFile(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  json config = WriteBlob(layout, "application/vnd.cncf.helm.config.v1+json", config_json);
  json layer = WriteBlob(layout, "application/vnd.cncf.helm.chart.content.v1.tar+gzip", ReadFile(tgz));
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config", config},
                   {"layers", json::array({layer})},
                   {"annotations", {{"org.opencontainers.image.created", "2026-12-06T10:00:00Z"}}}};
  json m = WriteBlob(layout, "application/vnd.oci.image.manifest.v1+json", manifest.dump());
  const std::string index_path = layout + "/index.json";
  json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
  if (fs::exists(index_path)) index = json::parse(ReadFile(index_path));
  json kept = json::array();
  for (const json& e : index["manifests"])
    if (e.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "") != ref_name)
      kept.push_back(e);
  json entry = m;
  entry["annotations"] = {{"org.opencontainers.image.ref.name", ref_name}};
  kept.push_back(entry);
  index["manifests"] = kept;
  WriteFile(index_path, index.dump());
  BuiltImage built;
  built.digest = m["digest"];
  built.media_type = m["mediaType"];
  built.size = m["size"];
  built.config_digest = config["digest"];
  built.blobs = {config["digest"], layer["digest"]};
  return built;
}

}  // namespace crossdock::testing
