// chartmuseum: a loopback Helm chart repository for end-to-end tests, started by
// tests/support/chart_repo.{h,cc}. Debian ships neither ChartMuseum nor Helm, so this
// follows ChartMuseum's documented API (helm/chartmuseum README.md, "Helm Chart
// Repository" and "Chart Manipulation"; pkg/chartmuseum/server/multitenant/routes.go):
//
//   GET  /[T/]index.yaml                 the index of tenant T, built from the stored
//                                        charts: entries.NAME[] = Chart.yaml's fields
//                                        + urls ["charts/NAME-VERSION.tgz"], digest
//                                        (sha256 hex of the .tgz), created
//   GET  /[T/]charts/NAME-VERSION.tgz    the chart (HEAD too)
//   GET  /api/[T/]charts                 {NAME: [versions…]} ({} when empty)
//   GET  /api/[T/]charts/NAME[/VERSION]  versions / one version; 404 {"error"}
//   POST /api/[T/]charts                 body: the raw .tgz (or multipart field
//                                        "chart"); 201 {"saved":true}; 409
//                                        {"error":"file already exists"} unless
//                                        --allow-overwrite or ?force (and not
//                                        --disable-force-overwrite); 400 for a body
//                                        that is not a chart
//   DELETE /api/[T/]charts/NAME/VERSION  200 {"deleted":true}; 404 {"error"}
//   GET  /stats                          {"requests":{"METHOD PATH-KIND":N},"uploads":N}
//                                        (the harness's own requests, with header
//                                        X-Crossdock-Harness, are not counted)
// A tenant T is exactly --depth path components (ChartMuseum's multitenancy).
//
// --classic DIR instead of --storage: a plain web server over DIR (a classic
// repository: the test writes index.yaml itself, with relative or absolute URLs or a
// wrong digest); /api answers 404 text/plain as any web server would.
//
// Flags: --port P, --storage DIR | --classic DIR, --depth N, --user NAME:PASS (Basic
// auth on every route, as ChartMuseum's --basic-auth-user/pass), --allow-overwrite,
// --disable-force-overwrite. Prints "listening on 127.0.0.1:P" then "ready".
// Chart.yaml is read from a .tgz with tar(1), as the fake needs no archive library.

#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Flags {
  int port = 0;
  std::string storage, classic;
  int depth = 0;
  std::string user, pass;
  bool allow_overwrite = false;
  bool disable_force_overwrite = false;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string Base64Decode(const std::string& in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// Chart.yaml of the .tgz at PATH, or nullopt when it is not a chart.
std::optional<YAML::Node> ChartYaml(const fs::path& path) {
  std::string cmd = "tar -xzOf '" + path.string() + "' --wildcards '*/Chart.yaml' 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return std::nullopt;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  if (pclose(f) != 0 || text.empty()) return std::nullopt;
  try {
    YAML::Node node = YAML::Load(text);
    if (!node.IsMap() || !node["name"] || !node["version"]) return std::nullopt;
    return node;
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

class Museum {
 public:
  explicit Museum(Flags flags) : flags_(std::move(flags)) {}

  void Routes(httplib::Server& s) {
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.path != "/stats" && !Authorized(req)) {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Basic realm=\"chartmuseum\"");
        res.set_content("{\"error\":\"unauthorized\"}", "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.path != "/stats" && !req.has_header("X-Crossdock-Harness")) Count(req);
      return httplib::Server::HandlerResponse::Unhandled;
    });
    s.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lk(mu_);
      json j = {{"requests", counts_}, {"uploads", uploads_}};
      res.set_content(j.dump(), "application/json");
    });
    auto any = [this](const httplib::Request& req, httplib::Response& res) { Dispatch(req, res); };
    s.Get(".*", any);
    s.Post(".*", any);
    s.Delete(".*", any);
  }

 private:
  bool Authorized(const httplib::Request& req) const {
    if (flags_.user.empty()) return true;
    const std::string h = req.get_header_value("Authorization");
    if (h.rfind("Basic ", 0) != 0) return false;
    return Base64Decode(h.substr(6)) == flags_.user + ":" + flags_.pass;
  }

  void Count(const httplib::Request& req) {
    std::string kind = req.path.rfind("/api/", 0) == 0        ? "api"
                       : req.path.find(".tgz") != std::string::npos ? "chart"
                       : req.path.find("index.yaml") != std::string::npos ? "index"
                                                                       : "other";
    std::lock_guard<std::mutex> lk(mu_);
    ++counts_[req.method + " " + kind];
  }

  static std::vector<std::string> SplitPath(const std::string& path) {
    std::vector<std::string> out;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '/'))
      if (!part.empty()) out.push_back(part);
    return out;
  }

  static void Error(httplib::Response& res, int status, const std::string& msg) {
    res.status = status;
    res.set_content(json{{"error", msg}}.dump(), "application/json");
  }

  void Dispatch(const httplib::Request& in, httplib::Response& res) {
    httplib::Request req = in;  // HEAD is answered as GET (the server drops the body)
    if (req.method == "HEAD") req.method = "GET";
    if (!flags_.classic.empty()) return Static(req, res);
    std::vector<std::string> parts = SplitPath(req.path);
    const size_t depth = static_cast<size_t>(flags_.depth);
    bool api = !parts.empty() && parts[0] == "api";
    if (api) parts.erase(parts.begin());
    if (parts.size() < depth) return Error(res, 404, "not found");
    std::string tenant;
    for (size_t i = 0; i < depth; ++i) tenant += (i ? "/" : "") + parts[i];
    std::vector<std::string> rest(parts.begin() + static_cast<long>(depth), parts.end());
    fs::path dir = fs::path(flags_.storage) / tenant;
    std::lock_guard<std::mutex> lk(mu_);
    if (!api) {
      if (req.method == "GET" && rest.size() == 1 && rest[0] == "index.yaml") {
        res.set_content(IndexYaml(dir), "application/x-yaml");
        return;
      }
      if (req.method == "GET" && rest.size() == 2 && rest[0] == "charts" && fs::exists(dir / rest[1])) {
        res.set_content(ReadAll(dir / rest[1]), "application/x-tar");
        return;
      }
      return Error(res, 404, "not found");
    }
    if (rest.empty() || rest[0] != "charts") return Error(res, 404, "not found");
    auto charts = Charts(dir);
    if (req.method == "GET" && rest.size() == 1) {
      json j = json::object();
      for (const auto& [name, versions] : charts)
        for (const auto& v : versions) j[name].push_back(v.second);
      res.set_content(j.dump(), "application/json");
      return;
    }
    if (req.method == "GET" && (rest.size() == 2 || rest.size() == 3)) {
      auto it = charts.find(rest[1]);
      if (it == charts.end()) return Error(res, 404, "chart not found");
      if (rest.size() == 2) {
        json j = json::array();
        for (const auto& v : it->second) j.push_back(v.second);
        res.set_content(j.dump(), "application/json");
        return;
      }
      for (const auto& v : it->second)
        if (v.second["version"] == rest[2]) {
          res.set_content(v.second.dump(), "application/json");
          return;
        }
      return Error(res, 404, "improper constraint: " + rest[2]);
    }
    if (req.method == "POST" && rest.size() == 1) return Upload(req, res, dir);
    if (req.method == "DELETE" && rest.size() == 3) {
      auto it = charts.find(rest[1]);
      if (it != charts.end())
        for (const auto& v : it->second)
          if (v.second["version"] == rest[2]) {
            fs::remove(v.first);
            res.set_content("{\"deleted\":true}", "application/json");
            return;
          }
      return Error(res, 404, "remove " + rest[1] + "-" + rest[2] + ".tgz: no such file or directory");
    }
    Error(res, 405, "method not allowed");
  }

  void Upload(const httplib::Request& req, httplib::Response& res, const fs::path& dir) {
    std::string body = req.body;
    if (req.is_multipart_form_data()) {
      if (!req.has_file("chart")) return Error(res, 400, "no chart field");
      body = req.get_file_value("chart").content;
    }
    fs::create_directories(dir);
    fs::path tmp = dir / ".upload.tgz";
    std::ofstream(tmp, std::ios::binary) << body;
    auto chart = ChartYaml(tmp);
    if (!chart) {
      fs::remove(tmp);
      return Error(res, 400, "chart.tgz is not a valid chart: no Chart.yaml");
    }
    const std::string file =
        (*chart)["name"].Scalar() + "-" + (*chart)["version"].Scalar() + ".tgz";
    const bool force = req.has_param("force") && !flags_.disable_force_overwrite;
    if (fs::exists(dir / file) && !flags_.allow_overwrite && !force) {
      fs::remove(tmp);
      return Error(res, 409, "file already exists");
    }
    fs::rename(tmp, dir / file);
    ++uploads_;
    res.status = 201;
    res.set_content("{\"saved\":true}", "application/json");
  }

  // NAME -> (file, index entry) per version, newest file last.
  std::map<std::string, std::vector<std::pair<fs::path, json>>> Charts(const fs::path& dir) {
    std::map<std::string, std::vector<std::pair<fs::path, json>>> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".tgz" || e.path().filename().string()[0] == '.') continue;
      auto chart = ChartYaml(e.path());
      if (!chart) continue;
      json entry = json::object();
      for (const auto& kv : *chart) entry[kv.first.Scalar()] = ToJson(kv.second);
      entry["urls"] = json::array({"charts/" + e.path().filename().string()});
      entry["digest"] = Sha256Hex(ReadAll(e.path()));
      entry["created"] = "2026-01-01T00:00:00Z";
      out[(*chart)["name"].Scalar()].push_back({e.path(), entry});
    }
    return out;
  }

  static json ToJson(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    if (n.IsSequence()) {
      json a = json::array();
      for (const auto& i : n) a.push_back(ToJson(i));
      return a;
    }
    if (n.IsMap()) {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = ToJson(kv.second);
      return o;
    }
    return nullptr;
  }

  // index.yaml as ChartMuseum writes it (YAML; JSON is YAML, but write YAML proper).
  std::string IndexYaml(const fs::path& dir) {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "v1";
    out << YAML::Key << "entries" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, versions] : Charts(dir)) {
      out << YAML::Key << name << YAML::Value << YAML::BeginSeq;
      for (const auto& v : versions) Emit(out, v.second);
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
    out << YAML::Key << "generated" << YAML::Value << "2026-01-01T00:00:00Z" << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
  }

  static void Emit(YAML::Emitter& out, const json& j) {
    if (j.is_object()) {
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key << k << YAML::Value;
        Emit(out, v);
      }
      out << YAML::EndMap;
    } else if (j.is_array()) {
      out << YAML::BeginSeq;
      for (const auto& v : j) Emit(out, v);
      out << YAML::EndSeq;
    } else if (j.is_string()) {
      out << YAML::DoubleQuoted << j.get<std::string>();
    } else {
      out << j.dump();
    }
  }

  void Static(const httplib::Request& req, httplib::Response& res) {
    if ((req.method != "GET" && req.method != "HEAD") || req.path.find("..") != std::string::npos) {
      res.status = 404;
      res.set_content("404 page not found\n", "text/plain");
      return;
    }
    fs::path p = fs::path(flags_.classic) / req.path.substr(1);
    if (!fs::is_regular_file(p)) {
      res.status = 404;
      res.set_content("404 page not found\n", "text/plain");
      return;
    }
    res.set_content(ReadAll(p), p.extension() == ".yaml" ? "application/x-yaml" : "application/gzip");
  }

  Flags flags_;
  std::mutex mu_;
  std::map<std::string, long> counts_;
  long uploads_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "chartmuseum: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") f.port = std::stoi(next());
    else if (a == "--storage") f.storage = next();
    else if (a == "--classic") f.classic = next();
    else if (a == "--depth") f.depth = std::stoi(next());
    else if (a == "--user") {
      std::string v = next();
      auto colon = v.find(':');
      f.user = v.substr(0, colon);
      f.pass = colon == std::string::npos ? "" : v.substr(colon + 1);
    } else if (a == "--allow-overwrite") f.allow_overwrite = true;
    else if (a == "--disable-force-overwrite") f.disable_force_overwrite = true;
    else {
      std::fprintf(stderr, "chartmuseum: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (f.storage.empty() == f.classic.empty()) {
    std::fprintf(stderr, "chartmuseum: give --storage DIR or --classic DIR\n");
    return 2;
  }
  httplib::Server server;
  Museum museum(f);
  museum.Routes(server);
  int port = f.port;
  if (port == 0) port = server.bind_to_any_port("127.0.0.1");
  else if (!server.bind_to_port("127.0.0.1", port)) return 1;
  std::printf("listening on 127.0.0.1:%d\nready\n", port);
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}
