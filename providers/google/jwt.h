// Google service-account keys and the RS256 JWT assertions that trade them for OAuth
// access tokens (developers.google.com/identity/protocols/oauth2/service-account, "Making
// the authorization request"): the key file, the assertion's header and claims, RS256
// signing with OpenSSL. Used by providers/google/google.cc; the unit tests
// check the signatures with the openssl command.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace crossdock::providers {

// What crossdock reads from a service account's JSON key file (`gcloud iam
// service-accounts keys create` writes it; Harbor's GCR adapter takes it as the password).
struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;     // PEM ("-----BEGIN PRIVATE KEY-----…"); never printed
  std::string private_key_id;  // the JWT header's "kid"; "" when the file has none
  std::string token_uri;       // where assertions go: https://oauth2.googleapis.com/token
  std::string project_id;      // "" when the file has none
};

// The scope crossdock asks for: Artifact Registry's API takes no narrower one that can
// list repositories and images.
inline constexpr const char* kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
// Google accepts assertions that live at most an hour.
inline constexpr std::int64_t kAssertionLifetimeSeconds = 3600;

// Parses TEXT, the JSON key, for endpoint ENDPOINT. InvalidArgument naming the endpoint
// and what a key must be when TEXT is not JSON (with the line and column, never the
// text: it is a secret), is another kind of Google credential, lacks client_email,
// private_key or token_uri, or holds a private key OpenSSL cannot read as RSA.
core::Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& text,
                                                       const std::string& endpoint);

// {"alg":"RS256","kid":KEY_ID,"typ":"JWT"} ("kid" left out when KEY_ID is empty).
std::string JwtHeaderJson(const std::string& key_id);
// {"aud":AUD,"exp":IAT+3600,"iat":IAT,"iss":ISS,"scope":SCOPE}.
std::string JwtClaimsJson(const std::string& iss, const std::string& scope,
                          const std::string& aud, std::int64_t iat);

// The RS256 signature of INPUT (RSASSA-PKCS1-v1_5 over SHA-256, RFC 7518 §3.3) with the
// PEM private key PRIVATE_KEY_PEM, as raw bytes. InvalidArgument when the key cannot be
// read; Internal when OpenSSL fails to sign.
core::Result<std::string> SignRs256(const std::string& private_key_pem, std::string_view input);

// The assertion for KEY: base64url(header) "." base64url(claims) "." base64url(signature),
// claims for SCOPE issued at IAT (seconds since the Unix epoch), audience the key's
// token_uri.
core::Result<std::string> MakeAssertion(const ServiceAccountKey& key, const std::string& scope,
                                        std::int64_t iat);

}  // namespace crossdock::providers
