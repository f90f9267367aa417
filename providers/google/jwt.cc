#include "providers/google/jwt.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/encoding.h"
#include "core/text_position.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// An encrypted key would make OpenSSL's default callback ask on the terminal: refuse.
int NoPassphrase(char*, int, int, void*) { return 0; }

// The RSA private key in PEM; null when OpenSSL cannot read one (its error queue is
// cleared: nothing of it reaches another caller).
Pkey ReadRsaKey(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (key && EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) key.reset();
  return key;
}

}  // namespace

core::Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& text,
                                                       const std::string& endpoint) {
  const std::string what = "the password of endpoint \"" + endpoint + "\"";
  const std::string expected =
      ": with username \"_json_key\" (or \"_json_key_base64\") the password is a Google "
      "service account's whole JSON key file, as `gcloud iam service-accounts keys create` "
      "writes it (password = \"file:key.json\")";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Only the position: the exception's text quotes what it read, which is secret.
    const auto [line, column] = core::LineAndColumn(text, e.byte > 0 ? e.byte - 1 : 0);
    return core::Status::InvalidArgument(what + " is not JSON (error at line " +
                                         std::to_string(line) + ", column " +
                                         std::to_string(column) + ")" + expected);
  }
  if (!j.is_object())
    return core::Status::InvalidArgument(what + " is JSON but not an object" + expected);
  auto text_of = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string type = text_of("type");
  if (j.contains("type") && type != "service_account")
    return core::Status::InvalidArgument(
        what + " is a Google credential of type \"" + (type.empty() ? "?" : type) +
        "\", not a service-account key" + expected);
  ServiceAccountKey key{text_of("client_email"), text_of("private_key"), text_of("private_key_id"),
                        text_of("token_uri"), text_of("project_id")};
  std::vector<std::string> missing;
  if (key.client_email.empty()) missing.push_back("client_email");
  if (key.private_key.empty()) missing.push_back("private_key");
  if (key.token_uri.empty()) missing.push_back("token_uri");
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size(); ++i)
      list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
    return core::Status::InvalidArgument(what + " is JSON but lacks " + list +
                                         ", so it is not a service-account key" + expected);
  }
  const auto token_origin = ParseOrigin(key.token_uri);
  if (!token_origin)
    return core::Status::InvalidArgument(what + ": its token_uri is not an http(s) URL" + expected);
  // The signed assertion buys access tokens for an hour: never in clear, but on this
  // machine (where tests run their token servers).
  if (token_origin->scheme != "https" && !IsLoopbackHost(token_origin->host))
    return core::Status::InvalidArgument(
        what + ": its token_uri " + key.token_uri.substr(0, key.token_uri.find_first_of("?#")) +
        " is plain http, which would send the signed assertion in clear; use the key file "
        "exactly as Google issued it (token_uri \"https://oauth2.googleapis.com/token\")");
  if (!ReadRsaKey(key.private_key))
    return core::Status::InvalidArgument(
        what + ": its private_key is not an unencrypted RSA private key in PEM that OpenSSL "
               "can read; use the key file exactly as Google issued it, or create a new key "
               "for the service account" + expected);
  return key;
}

std::string JwtHeaderJson(const std::string& key_id) {
  nlohmann::json h = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key_id.empty()) h["kid"] = key_id;
  return h.dump();  // keys sorted: alg, kid, typ
}

std::string JwtClaimsJson(const std::string& iss, const std::string& scope,
                          const std::string& aud, std::int64_t iat) {
  return nlohmann::json{{"iss", iss},
                        {"scope", scope},
                        {"aud", aud},
                        {"iat", iat},
                        {"exp", iat + kAssertionLifetimeSeconds}}
      .dump();
}

core::Result<std::string> SignRs256(const std::string& private_key_pem, std::string_view input) {
  Pkey key = ReadRsaKey(private_key_pem);
  if (!key) return core::Status::InvalidArgument("the private key is not an RSA key in PEM");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  // RSA keys sign with PKCS#1 v1.5 padding unless told otherwise.
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &size, in, input.size()) == 1;
  std::string signature(size, '\0');
  ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                            in, input.size()) == 1;
  ERR_clear_error();
  if (!ok) return core::Status::Internal("OpenSSL could not sign with the RSA key (RS256)");
  signature.resize(size);
  return signature;
}

core::Result<std::string> MakeAssertion(const ServiceAccountKey& key, const std::string& scope,
                                        std::int64_t iat) {
  const std::string input = core::Base64UrlEncode(JwtHeaderJson(key.private_key_id)) + "." +
                            core::Base64UrlEncode(JwtClaimsJson(key.client_email, scope, key.token_uri, iat));
  auto signature = SignRs256(key.private_key, input);
  if (!signature.ok()) return signature.status();
  return input + "." + core::Base64UrlEncode(*signature);
}

}  // namespace crossdock::providers
