// token_server: a loopback Docker token-auth server (the `realm` of distribution's
// `auth.token`) for end-to-end tests; started by tests/support/harness.cc (TokenServer).
//
// Protocol (https://distribution.github.io/distribution/spec/auth/token/, and
// ../shared/reference/registry-facts.md for what distribution 2.8.2 really checks):
//   GET /token?service=S&scope=A&scope=B   (a scope value may also hold several
//                                           scopes separated by spaces)
//     With --user NAME:PASS: right Basic credentials get every requested scope,
//     wrong ones get 401, none get an anonymous token with no access (as Docker Hub
//     does). Without --user every caller gets every requested scope.
//     Answer: {"token":JWT,"access_token":JWT,"expires_in":N,"issued_at":RFC3339}.
//     JWT: RS256, header {"typ","alg","x5c":[base64 DER of our self-signed cert]},
//     claims iss/sub/aud (a string: 2.8.2 rejects an array)/exp/nbf/iat/jti/access.
//   POST /settings?lifetime=L&expires_in=E  changes the two values for later tokens
//     (a test seeds with long-lived tokens, since skopeo never refreshes, then
//     shortens them for crossdock).
//   GET /stats  {"tokens_issued":N,"unauthorized":N,"harness_tokens_issued":N,
//                "scopes":["scope scope…" per token, oldest first]}. Requests carrying
//     `X-Crossdock-Harness: 1` (the harness's own checks) count only in
//     harness_tokens_issued, so tests can assert on what crossdock asked for.
//
// Lifetimes: the registry accepts a token until exp + 60 s of fixed leeway
// (registry/auth/token/token.go, Leeway), so `--lifetime L` sets exp = now + L - 60
// and the token really stops working L seconds after issue; nbf = iat = now - 1.
// Without --lifetime, exp = now + expires_in. `--expires-in` is what the answer's
// expires_in says (default 300).
//
// Flags: --port P (0: any; the port is printed), --cert-out PATH (the signing
// certificate in PEM, for the registry's rootcertbundle), --issuer, --service,
// --user NAME:PASS, --expires-in S, --lifetime S. Prints "listening on
// 127.0.0.1:P" then "ready" on stdout once it accepts connections.

// Debian builds libcpp-httplib with these three; the header's class layouts depend
// on them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Flags {
  int port = 0;
  std::string cert_out;
  std::string issuer = "crossdock-token-issuer";
  std::string service = "crossdock-registry";
  std::optional<std::string> user;  // "NAME:PASS"
  long expires_in = 300;
  std::optional<long> lifetime;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "token_server: %s\n", message.c_str());
  std::exit(2);
}

std::optional<long> ToLong(const std::string& value) {
  try {
    size_t used = 0;
    long v = std::stol(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

long ParseLong(const std::string& flag, const std::string& value) {
  std::optional<long> v = ToLong(value);
  if (!v) Die(flag + " wants an integer, got \"" + value + "\"");
  return *v;
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--port") {
      flags.port = static_cast<int>(ParseLong(arg, value()));
    } else if (arg == "--cert-out") {
      flags.cert_out = value();
    } else if (arg == "--issuer") {
      flags.issuer = value();
    } else if (arg == "--service") {
      flags.service = value();
    } else if (arg == "--user") {
      flags.user = value();
      if (flags.user->find(':') == std::string::npos) Die("--user wants NAME:PASS");
    } else if (arg == "--expires-in") {
      flags.expires_in = ParseLong(arg, value());
    } else if (arg == "--lifetime") {
      flags.lifetime = ParseLong(arg, value());
    } else {
      Die("unknown flag " + arg);
    }
  }
  return flags;
}

std::string Base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                          static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Base64Url(const std::string& data) {
  std::string out = Base64(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> Base64Decode(const std::string& in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t size = static_cast<size_t>(n);
  if (!in.empty() && in.back() == '=') --size;
  if (in.size() >= 2 && in[in.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

// The signing identity: an RSA key and a self-signed certificate for it.
struct Signer {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
  std::string cert_der_base64;

  void Generate() {
    key.reset(EVP_RSA_gen(2048));
    if (!key) Die("cannot generate an RSA key");
    cert.reset(X509_new());
    X509* x = cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("crossdock test token signer"),
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key.get(), EVP_sha256()) == 0) Die("cannot sign the certificate");
    unsigned char* der = nullptr;
    int len = i2d_X509(x, &der);
    if (len <= 0) Die("cannot encode the certificate");
    cert_der_base64 = Base64(der, static_cast<size_t>(len));
    OPENSSL_free(der);
  }

  void WritePem(const std::string& path) const {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) Die("cannot write " + tmp);
    bool ok = PEM_write_X509(f, cert.get()) == 1;
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) Die("cannot write " + path);
  }

  std::string SignRs256(const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                 EVP_MD_CTX_free);
    size_t size = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &size,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      Die("RS256 signing failed");
    }
    std::string sig(size, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      Die("RS256 signing failed");
    }
    sig.resize(size);
    return sig;
  }
};

// "repository:lib/app:pull,push" -> {type, name, [actions]}. The name may itself
// contain ':' (a registry host with a port), so type is up to the first ':' and
// the actions after the last.
std::optional<json> ParseScope(const std::string& scope) {
  size_t first = scope.find(':');
  size_t last = scope.rfind(':');
  if (first == std::string::npos || first == last) return std::nullopt;
  json actions = json::array();
  std::stringstream list(scope.substr(last + 1));
  for (std::string action; std::getline(list, action, ',');) {
    if (!action.empty()) actions.push_back(action);
  }
  return json{{"type", scope.substr(0, first)},
              {"name", scope.substr(first + 1, last - first - 1)},
              {"actions", actions}};
}

std::string Rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

class TokenService {
 public:
  TokenService(Flags flags, const Signer& signer) : flags_(std::move(flags)), signer_(signer) {}

  void Token(const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> account;  // authenticated user, if any
    std::string auth = req.get_header_value("Authorization");
    if (!auth.empty()) {
      std::optional<std::string> decoded;
      if (auth.rfind("Basic ", 0) == 0) decoded = Base64Decode(auth.substr(6));
      if (!decoded || (flags_.user && *decoded != *flags_.user)) {
        ++unauthorized_;
        res.status = 401;
        res.set_header("WWW-Authenticate", "Basic realm=\"crossdock token server\"");
        res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"wrong credentials"}]})",
                        "application/json");
        return;
      }
      account = decoded->substr(0, decoded->find(':'));
    }
    bool granted = !flags_.user.has_value() || account.has_value();

    std::vector<std::string> scopes;
    for (size_t i = 0, n = req.get_param_value_count("scope"); i < n; ++i) {
      std::stringstream list(req.get_param_value("scope", i));
      for (std::string scope; std::getline(list, scope, ' ');) {
        if (!scope.empty()) scopes.push_back(scope);
      }
    }
    json access = json::array();
    if (granted) {
      for (const std::string& scope : scopes) {
        if (auto entry = ParseScope(scope)) access.push_back(*entry);
      }
    }

    long lifetime = 0, expires_in = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      expires_in = flags_.expires_in;
      lifetime = flags_.lifetime ? *flags_.lifetime - 60 : flags_.expires_in;
    }
    std::time_t now = std::time(nullptr);
    std::string service = req.has_param("service") ? req.get_param_value("service") : flags_.service;
    json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", json::array({signer_.cert_der_base64})}};
    json claims = {{"iss", flags_.issuer},
                   {"sub", account.value_or("")},
                   {"aud", service},
                   {"exp", static_cast<long>(now) + lifetime},
                   {"nbf", static_cast<long>(now) - 1},
                   {"iat", static_cast<long>(now) - 1},
                   {"jti", RandomHex(16)},
                   {"access", access}};
    std::string input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
    std::string jwt = input + "." + Base64Url(signer_.SignRs256(input));

    std::string joined;
    for (const std::string& scope : scopes) joined += (joined.empty() ? "" : " ") + scope;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (req.get_header_value("X-Crossdock-Harness") == "1") {
        ++harness_tokens_issued_;
      } else {
        ++tokens_issued_;
        scopes_.push_back(joined);
        if (scopes_.size() > 10000) scopes_.pop_front();
      }
    }
    json body = {{"token", jwt},
                 {"access_token", jwt},
                 {"expires_in", expires_in},
                 {"issued_at", Rfc3339(now)}};
    res.set_content(body.dump(), "application/json");
  }

  void Settings(const httplib::Request& req, httplib::Response& res) {
    std::optional<long> lifetime, expires_in;
    if (req.has_param("lifetime")) lifetime = ToLong(req.get_param_value("lifetime"));
    if (req.has_param("expires_in")) expires_in = ToLong(req.get_param_value("expires_in"));
    if ((req.has_param("lifetime") && !lifetime) || (req.has_param("expires_in") && !expires_in)) {
      res.status = 400;
      res.set_content("lifetime and expires_in want integers\n", "text/plain");
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (lifetime) flags_.lifetime = lifetime;
    if (expires_in) flags_.expires_in = *expires_in;
    json body = {{"expires_in", flags_.expires_in},
                 {"lifetime", flags_.lifetime ? json(*flags_.lifetime) : json(nullptr)}};
    res.set_content(body.dump(), "application/json");
  }

  void Stats(httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    json body = {{"tokens_issued", tokens_issued_},
                 {"harness_tokens_issued", harness_tokens_issued_},
                 {"unauthorized", unauthorized_.load()},
                 {"scopes", json(scopes_)}};
    res.set_content(body.dump(), "application/json");
  }

 private:
  std::mutex mu_;
  Flags flags_;  // expires_in and lifetime guarded by mu_ (POST /settings)
  const Signer& signer_;
  long tokens_issued_ = 0;          // guarded by mu_
  long harness_tokens_issued_ = 0;  // guarded by mu_
  std::deque<std::string> scopes_;  // guarded by mu_
  std::atomic<long> unauthorized_{0};
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  Signer signer;
  signer.Generate();
  if (!flags.cert_out.empty()) signer.WritePem(flags.cert_out);

  TokenService service(flags, signer);
  httplib::Server server;
  server.Get("/token", [&](const httplib::Request& req, httplib::Response& res) {
    service.Token(req, res);
  });
  server.Post("/settings", [&](const httplib::Request& req, httplib::Response& res) {
    service.Settings(req, res);
  });
  server.Get("/stats", [&](const httplib::Request&, httplib::Response& res) { service.Stats(res); });

  int port = flags.port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) Die("cannot listen on 127.0.0.1:" + std::to_string(flags.port));
  std::printf("listening on 127.0.0.1:%d\nready\n", port);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
