// gcr: a loopback fake of Google's container registries — GCR (gcr.io) or Artifact Registry
// (LOCATION-docker.pkg.dev) with its token endpoint, Google's OAuth token endpoint
// (oauth2.googleapis.com/token) and Artifact Registry's REST API
// (artifactregistry.googleapis.com) on one port — in front of a real, plain docker-registry
// that holds the data, for end-to-end tests of crossdock's google-gcr provider; started by
// tests/support/google_fake.cc (GcrFake). Facts are collected in
// ../shared/reference/vendors.md §7; "[?]" marks a behaviour no source pins. Sources:
//   [auth]    cloud.google.com/artifact-registry/docs/docker/authentication and
//             container-registry/docs/advanced-authentication: usernames "_json_key" (the
//             key file), "_json_key_base64" (the key file base64-encoded),
//             "oauth2accesstoken" (an access token);
//   [oauth]   developers.google.com/identity/protocols/oauth2/service-account: the RS256
//             assertion {"alg":"RS256","typ":"JWT","kid"} / {"iss","scope","aud","exp","iat"},
//             exp at most an hour after iat; POST token_uri grant_type=urn:ietf:params:oauth:
//             grant-type:jwt-bearer&assertion=… → {"access_token","expires_in","token_type"};
//             refusals {"error":"invalid_grant","error_description":…} with Google's texts
//             "Invalid JWT Signature." and "Invalid JWT: Token must be a short-lived token (60
//             minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT
//             claim." (as users quote them);
//   [rest]    googleapis/google-api-python-client docs/dyn/artifactregistry_v1.projects.
//             locations.repositories{,.dockerImages}.html: repositories get/list, dockerImages
//             list (pageSize, pageToken → nextPageToken; "name" projects/P/locations/L/
//             repositories/R/dockerImages/IMAGE@DIGEST with the image path's '/' as %2F, "uri",
//             "tags", "imageSizeBytes", "mediaType", "uploadTime", "updateTime"); Google API
//             errors {"error":{"code","message","status"}};
//   [harbor]  goharbor/harbor src/pkg/reg/adapter/googlegcr/adapter.go: GCR's tags/list adds
//             a "manifest" map {digest: {"tag":[…],"mediaType","imageSizeBytes",
//             "timeCreatedMs","timeUploadedMs","layerId"}} and "child"; deleting an image
//             deletes each of its tags, then the digest.
//
// Accounts. --service-account EMAIL:PUBKEY.pem names a service account and the public half
// of its key: a "_json_key" login is accepted when the JSON's client_email is one and its
// private_key is the other half, as is an assertion at /token signed with it. --user
// oauth2accesstoken:TOKEN is an access token that never expires; /token issues others
// (valid --access-token-lifetime s). Every account may do everything [a fake's choice:
// IAM roles are not emulated].
//
// Registry (gcr.io, or LOCATION-docker.pkg.dev with --gar LOCATION):
//   GET /v2/token?service=…&scope=repository:NAME:ACTIONS  Basic with one of the three
//     usernames → {"token","expires_in"} (valid --token-lifetime s) granting every action
//     asked; without credentials a token granting nothing; wrong ones 401 UNAUTHORIZED
//     "You don't have the needed permissions to perform this operation, and you may have
//     invalid credentials. …" [?: the wording].
//   /v2/… without credentials: 401 with `Bearer realm="http://HOST/v2/token",service="gcr.io"`
//     (service "LOCATION-docker.pkg.dev" with --gar). A token not granting the action: 401
//     with the challenge plus scope and error="insufficient_scope". Unlike Google, Basic
//     credentials are also taken on /v2/ directly (what the harness's curl helpers send).
//   GET /v2/NAME/tags/list → {"child","manifest","name","tags"} read from --storage: every
//     manifest of the repository in "manifest", untagged ones with "tag":[] (GCR lists
//     them); imageSizeBytes, timeCreatedMs and timeUploadedMs are strings, as GCR sends
//     them. No paging [?]. 404 NAME_UNKNOWN for a repository holding nothing.
//   DELETE /v2/NAME/manifests/TAG removes that tag alone → 202 [?: the status];
//     DELETE /v2/NAME/manifests/DIGEST while a tag names it → 400
//     GOOGLE_MANIFEST_DANGLING_TAG "Manifest is still referenced by tag: T" [?]; otherwise
//     upstream.
//   With --gar, a name whose PROJECT/REPOSITORY is no --gar-repo → 404 NAME_UNKNOWN
//     "Repository \"R\" not found" [?], nothing forwarded: Artifact Registry creates images,
//     never repositories, on push.
//   Everything else under /v2/ goes to --upstream.
//
// OAuth (oauth2.googleapis.com): POST /token form grant_type=…jwt-bearer&assertion=JWT.
//   The assertion must be three base64url parts; header alg RS256; iss a --service-account
//   whose public key verifies the RS256 signature (OpenSSL); aud this fake's /token
//   ("http://HOST/token"); scope present; iat within 5 minutes of the fake's clock (which
//   --clock-skew S sets S seconds ahead of the machine's, standing for a client whose clock
//   is behind) and exp after now and at most an hour after iat. Refusals are 400 with
//   invalid_grant (or unsupported_grant_type, invalid_scope) and Google's texts above.
//
// Artifact Registry REST (with --gar; Authorization: Bearer ACCESS_TOKEN, else 401
// UNAUTHENTICATED "Request had invalid authentication credentials. …"):
//   GET /v1/projects/P/locations/L/repositories[?pageSize&pageToken]   the --gar-repo of P
//     (none for another location)
//   GET /v1/projects/P/locations/L/repositories/R                       one, or 404 NOT_FOUND
//     "Requested entity was not found."
//   GET /v1/projects/P/locations/L/repositories/R/dockerImages[?pageSize&pageToken]  one
//     per manifest under P/R/ in the registry behind, by name; pageSize default 100 [?],
//     capped at --page-size (Google: 1,000).
//
// Listings read --storage (tags, their links, the manifests' blobs) and the upstream's
// catalog; nothing is cached, so what is pushed shows at once.
// Not emulated: IAM roles and permissions, gcr.io's storage buckets, vulnerability scanning,
// immutable tags, cleanup policies, remote and virtual repositories, the "_token" username.
//
// Test hooks (not counted): GET /fake/stats {"requests","api","v2","token","by_path",
// "paths"}, POST /fake/reset-stats. Every answer is logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --upstream http://127.0.0.1:N, --storage DIR (the upstream's
// storage root), --user oauth2accesstoken:TOKEN (repeatable), --service-account
// EMAIL:PUBKEY_PEM (repeatable), --gar LOCATION, --gar-repo PROJECT/REPOSITORY (repeatable),
// --token-lifetime S (default 3600), --access-token-lifetime S (default 3600), --page-size N
// (default 1000), --clock-skew S (default 0). Prints "listening on 127.0.0.1:P" then "ready".
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "gcr";
constexpr const char* kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr const char* kShortLived =
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim.";

struct Flags : FrontFlags {
  std::vector<std::string> service_accounts, gar_repos;
  std::string gar_location;
  long token_lifetime = 3600;
  long access_token_lifetime = 3600;
  long page_size = 1000;
  long clock_skew = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--service-account") {
      flags.service_accounts.push_back(value());
    } else if (arg == "--gar") {
      flags.gar_location = value();
    } else if (arg == "--gar-repo") {
      flags.gar_repos.push_back(value());
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--access-token-lifetime") {
      flags.access_token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--page-size") {
      flags.page_size = FlagInt(kProgram, arg, value());
    } else if (arg == "--clock-skew") {
      flags.clock_skew = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  if (flags.page_size < 1) Die(kProgram, "--page-size must be at least 1");
  return flags;
}

// ---- keys and signatures (OpenSSL) ----

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

int NoPassphrase(char*, int, int, void*) { return 0; }

// The DER of KEY's public half ("" for null): what two keys of one pair share.
std::string PublicDer(EVP_PKEY* key) {
  if (key == nullptr) return "";
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Pkey ReadPem(const std::string& pem, bool is_private) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio == nullptr ? nullptr
                  : is_private   ? PEM_read_bio_PrivateKey(bio, nullptr, NoPassphrase, nullptr)
                                 : PEM_read_bio_PUBKEY(bio, nullptr, NoPassphrase, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  return Pkey(key);
}

bool VerifyRs256(EVP_PKEY* key, const std::string& input, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

// Standard or URL-safe base64, padded or not; nullopt when S is neither.
std::optional<std::string> Base64Decode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }), s.end());
  while (s.size() % 4 != 0) s += '=';
  if (s.empty()) return std::string();
  std::string out(s.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - (s.ends_with("==") ? 2 : s.ends_with("=") ? 1 : 0));
  return out;
}

// ---- answers ----

void RegistryError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
  SendJson(res, status, {{"errors", Json::array({{{"code", code}, {"message", message}}})}});
}

void OAuthError(httplib::Response& res, const std::string& error, const std::string& description) {
  SendJson(res, 400, {{"error", error}, {"error_description", description}});
}

void GoogleApiError(httplib::Response& res, int status, const std::string& grpc_status, const std::string& message) {
  SendJson(res, status, {{"error", {{"code", status}, {"message", message}, {"status", grpc_status}}}});
}

std::string Millis(Clock::time_point t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

// What a manifest's blobs add up to (config and layers; an index counts none).
std::uint64_t ImageSize(const std::string& body) {
  Json m = Json::parse(body, nullptr, false);
  std::uint64_t size = 0;
  if (!m.is_object()) return size;
  if (m.contains("config") && m["config"].is_object()) size += m["config"].value("size", std::uint64_t{0});
  if (m.contains("layers") && m["layers"].is_array()) {
    for (const auto& l : m["layers"]) {
      if (l.is_object()) size += l.value("size", std::uint64_t{0});
    }
  }
  return size;
}

// One manifest of a repository as the listings describe it.
struct Image {
  std::string repo, digest, media_type;
  std::uint64_t size = 0;
  Clock::time_point uploaded{};
  std::vector<std::string> tags;
};

class Gcr {
 public:
  explicit Gcr(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      const size_t colon = u.find(':');
      if (u.substr(0, colon) != "oauth2accesstoken" || colon == std::string::npos || colon + 1 == u.size()) {
        Die(kProgram, "--user wants oauth2accesstoken:TOKEN, got " + u);
      }
      static_tokens_.insert(u.substr(colon + 1));
    }
    for (const std::string& spec : flags_.service_accounts) {
      const size_t colon = spec.find(':');
      if (colon == std::string::npos || colon == 0) Die(kProgram, "--service-account wants EMAIL:PUBKEY.pem, got " + spec);
      std::ifstream in(spec.substr(colon + 1));
      std::stringstream pem;
      pem << in.rdbuf();
      Pkey key = ReadPem(pem.str(), false);
      if (!key) Die(kProgram, "--service-account " + spec + ": not a PEM public key");
      accounts_[spec.substr(0, colon)] = std::move(key);
    }
    for (const std::string& r : flags_.gar_repos) {
      if (r.find('/') == std::string::npos || r.find('/') != r.rfind('/')) {
        Die(kProgram, "--gar-repo wants PROJECT/REPOSITORY, got " + r);
      }
      gar_repos_.insert(r);
    }
    if (!flags_.gar_repos.empty() && flags_.gar_location.empty()) Die(kProgram, "--gar-repo needs --gar LOCATION");
  }

  void set_self(std::string self) { self_ = std::move(self); }

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    if (StartsWith(req.path, "/fake/")) {
      if (!AnswerStatsHooks(req, res, stats_)) res.status = 404;
      return;
    }
    try {
      if (req.path == "/v2/token") {
        stats_.Count(req, "token");
        RegistryToken(req, res);
      } else if (StartsWith(req.path, "/v2/") || req.path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else if (req.path == "/token" && req.method == "POST") {
        stats_.Count(req, "api");
        OAuthToken(req, res, reader);
      } else {
        stats_.Count(req, "api");
        Rest(req, res);
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("gcr fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

 private:
  bool gar() const { return !flags_.gar_location.empty(); }
  std::string service() const { return gar() ? flags_.gar_location + "-docker.pkg.dev" : "gcr.io"; }
  Clock::time_point Now() const { return Clock::now() + std::chrono::seconds(flags_.clock_skew); }
  std::string Host(const httplib::Request& req) const {
    const std::string host = req.get_header_value("Host");
    return host.empty() ? self_ : "http://" + host;
  }

  // ---- who is asking ----

  // The service account a key file (JSON) is of, when it is one of ours and holds the
  // private half of that account's key; "" otherwise.
  std::string KeyAccount(const std::string& json) const {
    Json j = Json::parse(json, nullptr, false);
    if (!j.is_object() || !j.contains("client_email") || !j["client_email"].is_string() ||
        !j.contains("private_key") || !j["private_key"].is_string()) {
      return "";
    }
    auto it = accounts_.find(j["client_email"].get<std::string>());
    if (it == accounts_.end()) return "";
    Pkey key = ReadPem(j["private_key"].get<std::string>(), true);
    return key && PublicDer(key.get()) == PublicDer(it->second.get()) ? it->first : "";
  }

  // Whom an access token belongs to; nullopt when it is not a valid one.
  std::optional<std::string> AccessTokenOwner(const std::string& token) const {
    if (static_tokens_.count(token)) return std::string("oauth2accesstoken");
    auto [state, grant] = access_tokens_.Look(token);
    if (state != TokenStore::State::kValid) return std::nullopt;
    return grant.subject;
  }

  // Whom Basic credentials with one of Google's usernames are; nullopt when refused.
  std::optional<std::string> LoginOf(const Credentials& c) const {
    std::string who;
    if (c.user == "_json_key") {
      who = KeyAccount(c.password);
    } else if (c.user == "_json_key_base64") {
      std::optional<std::string> json = Base64Decode(c.password);
      if (json) who = KeyAccount(*json);
    } else if (c.user == "oauth2accesstoken") {
      return AccessTokenOwner(c.password);
    }
    if (who.empty()) return std::nullopt;
    return who;
  }

  // ---- gcr.io/v2/token ----

  void RegistryToken(const httplib::Request& req, httplib::Response& res) {
    const Query query(RawQuery(req));
    Grant grant;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.token_lifetime);
    if (req.has_header("Authorization")) {
      std::optional<Credentials> basic = ParseBasic(req);
      std::optional<std::string> who = basic ? LoginOf(*basic) : std::nullopt;
      if (!who) {
        RegistryError(res, 401, "UNAUTHORIZED",
                      "You don't have the needed permissions to perform this operation, and you may have "
                      "invalid credentials. To authenticate your request, follow the steps in: "
                      "https://cloud.google.com/container-registry/docs/advanced-authentication");
        return;
      }
      grant.subject = *who;
      grant.access = RequestedScopes(query);
    }
    SendJson(res, 200, {{"token", registry_tokens_.Issue(grant)}, {"expires_in", flags_.token_lifetime}});
  }

  // ---- the registry ----

  void Challenge(const httplib::Request& req, httplib::Response& res, const std::string& scope,
                 const std::string& error) {
    std::string c = "Bearer realm=\"" + Host(req) + "/v2/token\",service=\"" + service() + "\"";
    if (!scope.empty()) c += ",scope=\"" + scope + "\"";
    if (!error.empty()) c += ",error=\"" + error + "\"";
    res.set_header("WWW-Authenticate", c);
    RegistryError(res, 401, "UNAUTHORIZED", "Unauthorized access.");
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const RegistryPath rp = ParseRegistryPath(req.path);
    std::optional<Grant> token;
    bool authenticated = false;
    if (auto bearer = ParseBearer(req)) {
      auto [state, grant] = registry_tokens_.Look(*bearer);
      if (state != TokenStore::State::kValid) return Challenge(req, res, "", "invalid_token");
      token = grant;
      authenticated = !grant.subject.empty();
    } else if (std::optional<Credentials> basic = ParseBasic(req)) {
      authenticated = LoginOf(*basic).has_value();
    }
    if (rp.kind == RegistryPath::Kind::kBase) {
      if (!authenticated) return Challenge(req, res, "", "");
      res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
      SendJson(res, 200, Json::object());
      return;
    }
    if (rp.kind == RegistryPath::Kind::kOther) {
      RegistryError(res, 404, "NAME_INVALID", "invalid repository name");
      return;
    }
    if (!authenticated) return Challenge(req, res, "", "");
    if (rp.kind == RegistryPath::Kind::kCatalog) {
      if (token && !Granted(*token, "registry", "catalog", "*")) {
        return Challenge(req, res, "registry:catalog:*", "insufficient_scope");
      }
      upstream_.Forward(req, reader, self_, res);
      return;
    }
    const std::string action = ActionFor(req.method);
    if (token && !Granted(*token, "repository", rp.name, action)) {
      return Challenge(req, res, "repository:" + rp.name + ":" + action, "insufficient_scope");
    }
    if (gar()) {
      const std::vector<std::string> parts = Split(rp.name, '/');
      if (parts.size() < 3 || !gar_repos_.count(parts[0] + "/" + parts[1])) {
        RegistryError(res, 404, "NAME_UNKNOWN",
                      "Repository \"" + (parts.size() > 1 ? parts[1] : rp.name) + "\" not found");
        return;
      }
    }
    if (rp.kind == RegistryPath::Kind::kTags && req.method == "GET") return TagList(res, rp.name);
    if (rp.kind == RegistryPath::Kind::kManifest && req.method == "DELETE") {
      return DeleteManifest(req, reader, res, rp.name, rp.reference);
    }
    upstream_.Forward(req, reader, self_, res);
  }

  static bool Granted(const Grant& grant, const std::string& type, const std::string& name, const std::string& action) {
    for (const Scope& s : grant.access) {
      if (s.type == type && s.name == name && s.Allows(action)) return true;
    }
    return false;
  }

  // Every manifest of REPO with the tags naming it, from the storage.
  std::vector<Image> Images(const std::string& repo) const {
    std::map<std::string, std::vector<std::string>> tags_of;
    if (auto links = storage_.TagLinks(repo)) {
      for (const auto& [tag, stored] : *links) tags_of[stored.digest].push_back(tag);
    }
    std::vector<Image> out;
    for (const auto& [digest, when] : storage_.Revisions(repo)) {
      std::optional<StoredManifest> m = storage_.Manifest(repo, digest);
      if (!m) continue;
      out.push_back(Image{repo, digest, m->media_type, ImageSize(m->body), when, tags_of[digest]});
    }
    return out;
  }

  void TagList(httplib::Response& res, const std::string& repo) {
    std::vector<std::string> tags = storage_.Tags(repo).value_or(std::vector<std::string>{});
    std::vector<Image> images = Images(repo);
    if (tags.empty() && images.empty()) {
      RegistryError(res, 404, "NAME_UNKNOWN", "repository name not known to registry");
      return;
    }
    Json manifest = Json::object();
    for (const Image& i : images) {
      manifest[i.digest] = {{"imageSizeBytes", std::to_string(i.size)},
                            {"layerId", ""},
                            {"mediaType", i.media_type},
                            {"tag", i.tags},
                            {"timeCreatedMs", Millis(i.uploaded)},
                            {"timeUploadedMs", Millis(i.uploaded)}};
    }
    std::set<std::string> children;
    for (const std::string& name : upstream_.Catalog()) {
      if (StartsWith(name, repo + "/")) children.insert(Split(name.substr(repo.size() + 1), '/')[0]);
    }
    SendJson(res, 200,
             {{"child", Json(std::vector<std::string>(children.begin(), children.end()))},
              {"manifest", manifest},
              {"name", repo},
              {"tags", tags}});
  }

  void DeleteManifest(const httplib::Request& req, const httplib::ContentReader* reader, httplib::Response& res,
                      const std::string& repo, const std::string& reference) {
    if (!IsDigest(reference)) {  // GCR's untag
      if (!ValidTag(reference) || !storage_.DeleteTag(repo, reference)) {
        RegistryError(res, 404, "MANIFEST_UNKNOWN", "Failed to fetch \"" + reference + "\"");
        return;
      }
      res.status = 202;
      return;
    }
    std::vector<std::string> on;
    if (auto links = storage_.TagLinks(repo)) {
      for (const auto& [tag, stored] : *links) {
        if (stored.digest == reference) on.push_back(tag);
      }
    }
    if (!on.empty()) {
      RegistryError(res, 400, "GOOGLE_MANIFEST_DANGLING_TAG",
                    "Manifest is still referenced by tag: " + Join(on, ", "));
      return;
    }
    upstream_.Forward(req, reader, self_, res);
  }

  // ---- oauth2.googleapis.com/token ----

  void OAuthToken(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    const Query form(ReadBody(reader));
    const std::string grant_type = form.Get("grant_type").value_or("");
    if (grant_type != kJwtBearer) return OAuthError(res, "unsupported_grant_type", "Invalid grant_type: " + grant_type);
    const std::vector<std::string> parts = Split(form.Get("assertion").value_or(""), '.');
    std::optional<std::string> header_text = parts.size() == 3 ? Base64Decode(parts[0]) : std::nullopt;
    std::optional<std::string> claims_text = parts.size() == 3 ? Base64Decode(parts[1]) : std::nullopt;
    std::optional<std::string> signature = parts.size() == 3 ? Base64Decode(parts[2]) : std::nullopt;
    Json header = Json::parse(header_text.value_or(""), nullptr, false);
    Json claims = Json::parse(claims_text.value_or(""), nullptr, false);
    if (!signature || !header.is_object() || !claims.is_object()) {
      return OAuthError(res, "invalid_grant", "Invalid JWT: could not be decoded");  // [?]
    }
    if (header.value("alg", "") != "RS256") return OAuthError(res, "invalid_grant", "Invalid JWT Signature.");
    const std::string iss = claims.value("iss", "");
    auto account = accounts_.find(iss);
    if (account == accounts_.end()) return OAuthError(res, "invalid_grant", "Invalid grant: account not found");
    if (!VerifyRs256(account->second.get(), parts[0] + "." + parts[1], *signature)) {
      return OAuthError(res, "invalid_grant", "Invalid JWT Signature.");
    }
    if (claims.value("aud", "") != Host(req) + "/token") {
      return OAuthError(res, "invalid_grant", "Invalid JWT: Failed audience check.");  // [?]
    }
    if (claims.value("scope", "").empty()) return OAuthError(res, "invalid_scope", "Empty or missing scope not allowed.");
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
    const std::int64_t iat = claims.value("iat", std::int64_t{0}), exp = claims.value("exp", std::int64_t{0});
    if (iat < now - 300 || iat > now + 300 || exp <= now || exp - iat > 3600) {
      return OAuthError(res, "invalid_grant", kShortLived);
    }
    Grant grant;
    grant.subject = iss;
    grant.issued = Clock::now();
    grant.expires = grant.issued + std::chrono::seconds(flags_.access_token_lifetime);
    SendJson(res, 200, {{"access_token", access_tokens_.Issue(grant)}, {"expires_in", flags_.access_token_lifetime}, {"token_type", "Bearer"}});
  }

  // ---- artifactregistry.googleapis.com ----

  void Rest(const httplib::Request& req, httplib::Response& res) {
    std::vector<std::string> seg = Split(req.path, '/');  // "", "v1", "projects", P, …
    const bool rest = gar() && req.method == "GET" && seg.size() >= 7 && seg[1] == "v1" && seg[2] == "projects" &&
                      seg[4] == "locations" && seg[6] == "repositories";
    if (!rest) return GoogleApiError(res, 404, "NOT_FOUND", "Method not found.");
    std::optional<std::string> bearer = ParseBearer(req);
    if (!bearer || !AccessTokenOwner(*bearer)) {
      return GoogleApiError(res, 401, "UNAUTHENTICATED",
                            "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                            "cookie or other valid authentication credential. See "
                            "https://developers.google.com/identity/sign-in/web/devconsole-project.");
    }
    const std::string& project = seg[3];
    const std::string& location = seg[5];
    const Query q(RawQuery(req));
    if (seg.size() == 7) {
      std::vector<Json> items;
      for (const std::string& r : gar_repos_) {
        if (location == flags_.gar_location && StartsWith(r, project + "/")) {
          items.push_back(RepositoryJson(project, r.substr(project.size() + 1)));
        }
      }
      return Page(res, q, "repositories", items);
    }
    const std::string& repository = seg[7];
    if (location != flags_.gar_location || !gar_repos_.count(project + "/" + repository)) {
      return GoogleApiError(res, 404, "NOT_FOUND", "Requested entity was not found.");
    }
    if (seg.size() == 8) return SendJson(res, 200, RepositoryJson(project, repository));
    if (seg.size() != 9 || seg[8] != "dockerImages") return GoogleApiError(res, 404, "NOT_FOUND", "Method not found.");
    std::vector<Json> items;
    const std::string prefix = project + "/" + repository + "/";
    std::vector<std::string> names = upstream_.Catalog();
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (!StartsWith(name, prefix)) continue;
      std::string image = name.substr(prefix.size());
      std::string escaped;
      for (char c : image) escaped += c == '/' ? std::string("%2F") : std::string(1, c);
      for (const Image& i : Images(name)) {
        items.push_back({{"name", "projects/" + project + "/locations/" + location + "/repositories/" + repository +
                                      "/dockerImages/" + escaped + "@" + i.digest},
                         {"uri", service() + "/" + name + "@" + i.digest},
                         {"tags", i.tags},
                         {"imageSizeBytes", std::to_string(i.size)},
                         {"mediaType", i.media_type},
                         {"uploadTime", Timestamp(i.uploaded, 6)},
                         {"updateTime", Timestamp(i.uploaded, 6)}});
      }
    }
    Page(res, q, "dockerImages", items);
  }

  Json RepositoryJson(const std::string& project, const std::string& repository) const {
    return {{"name", "projects/" + project + "/locations/" + flags_.gar_location + "/repositories/" + repository},
            {"format", "DOCKER"},
            {"mode", "STANDARD_REPOSITORY"}};
  }

  // One page of ITEMS under KEY: pageSize (default 100, at most --page-size) from the
  // offset pageToken holds ("o<N>", opaque to clients), with nextPageToken while more remain.
  void Page(httplib::Response& res, const Query& q, const std::string& key, const std::vector<Json>& items) {
    const long size = std::min(flags_.page_size, std::max(1L, std::strtol(q.Get("pageSize").value_or("100").c_str(), nullptr, 10)));
    size_t start = 0;
    if (std::optional<std::string> t = q.Get("pageToken"); t && !t->empty()) {
      if (t->size() < 2 || (*t)[0] != 'o') return GoogleApiError(res, 400, "INVALID_ARGUMENT", "Invalid page token.");
      start = std::strtoull(t->c_str() + 1, nullptr, 10);
    }
    Json page = Json::array();
    for (size_t i = start; i < items.size() && i < start + static_cast<size_t>(size); ++i) page.push_back(items[i]);
    Json body = {{key, page}};
    if (start + static_cast<size_t>(size) < items.size()) body["nextPageToken"] = "o" + std::to_string(start + size);
    SendJson(res, 200, body);
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  std::map<std::string, Pkey> accounts_;  // service account email -> public key; fixed at start
  std::set<std::string> static_tokens_;   // fixed at start
  std::set<std::string> gar_repos_;       // "PROJECT/REPOSITORY"; fixed at start
  TokenStore registry_tokens_, access_tokens_;
  RequestStats stats_;
  std::string self_;  // "http://127.0.0.1:P", set before serving
};

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Gcr gcr(flags);
  return ServeFake(kProgram, flags.port, gcr);
}
