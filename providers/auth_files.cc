#include "providers/auth_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/encoding.h"

namespace crossdock::providers {

namespace {

using nlohmann::json;

// Docker Hub answers to several names; "docker.io" stands for all of them.
const std::vector<std::string> kDockerHubNames = {"docker.io", "index.docker.io",
                                                  "registry-1.docker.io"};

// "https://index.docker.io/v1/" -> "index.docker.io"; "host:5000/ns" -> "host:5000".
std::string HostOfKey(std::string key) {
  if (auto scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  key = key.substr(0, key.find('/'));
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

std::string Canonical(const std::string& host) {
  std::string h = HostOfKey(host);
  return std::find(kDockerHubNames.begin(), kDockerHubNames.end(), h) != kDockerHubNames.end()
             ? "docker.io"
             : h;
}

// The object member of OBJ whose key names HOST, or nullptr.
const json* Find(const json& obj, const std::string& host) {
  if (!obj.is_object()) return nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (Canonical(it.key()) == Canonical(host)) return &it.value();
  return nullptr;
}

std::string StringOr(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::vector<std::string> AuthFilePaths(const std::function<const char*(const char*)>& getenv) {
  std::vector<std::string> out;
  auto set = [&](const char* name) -> std::string {
    const char* v = getenv(name);
    return v ? v : "";
  };
  if (std::string f = set("REGISTRY_AUTH_FILE"); !f.empty()) out.push_back(f);
  if (std::string d = set("XDG_RUNTIME_DIR"); !d.empty()) out.push_back(d + "/containers/auth.json");
  if (std::string d = set("DOCKER_CONFIG"); !d.empty()) {
    out.push_back(d + "/config.json");
  } else if (std::string h = set("HOME"); !h.empty()) {
    out.push_back(h + "/.docker/config.json");
  }
  return out;
}

core::Result<std::optional<AuthEntry>> LookupAuthEntry(std::string_view text,
                                                      const std::string& host,
                                                      const std::string& path) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return core::Status::InvalidArgument(path + " is not a Docker or Podman auth file (not a JSON "
                                         "object); fix it or point REGISTRY_AUTH_FILE elsewhere");
  AuthEntry e;
  // value() answers copies: keep them alive while Find's pointers into them are used.
  const json helpers = doc.value("credHelpers", json::object());
  const json auths = doc.value("auths", json::object());
  if (const json* helper = Find(helpers, host);
      helper && helper->is_string() && !helper->get<std::string>().empty()) {
    e.helper = "docker-credential-" + helper->get<std::string>();
    e.how = "credHelpers";
    return std::optional<AuthEntry>(e);
  }
  if (const json* auth = Find(auths, host); auth && auth->is_object()) {
    e.how = "auths";
    if (std::string token = StringOr(*auth, "identitytoken"); !token.empty()) {
      e.credentials = {kIdentityTokenUser, token, ""};
      return std::optional<AuthEntry>(e);
    }
    if (std::string b64 = StringOr(*auth, "auth"); !b64.empty()) {
      auto decoded = core::Base64Decode(b64);
      auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (!decoded || colon == std::string::npos)
        return core::Status::InvalidArgument(
            path + ": the \"auth\" entry for " + host +
            " is not base64 of \"user:password\"; log in again (docker login / podman login)");
      e.credentials = {decoded->substr(0, colon), decoded->substr(colon + 1), ""};
      return std::optional<AuthEntry>(e);
    }
    e.credentials = {StringOr(*auth, "username"), StringOr(*auth, "password"), ""};
    if (!e.credentials.username.empty()) return std::optional<AuthEntry>(e);
  }
  if (std::string store = StringOr(doc, "credsStore"); !store.empty()) {
    e = AuthEntry{};
    e.helper = "docker-credential-" + store;
    e.how = "credsStore";
    return std::optional<AuthEntry>(e);
  }
  return std::optional<AuthEntry>();
}

}  // namespace crossdock::providers
