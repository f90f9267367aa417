// AWS Signature Version 4 (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
// with OpenSSL's SHA-256 and HMAC: the canonical request, the string to sign, the
// signing key and the Authorization header of one request. Used by providers/aws/ecr.cc
// for ECR's JSON 1.1 API; checked against the published test suite
// (awslabs/aws-c-auth tests/aws-signing-test-suite/v4/) in tests/unit/providers/sigv4_test.cc.
#pragma once

#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace crossdock::providers {

// An AWS access key, as `aws configure` or the environment hold it.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // never printed
  std::string session_token;      // temporary credentials (STS); "" for a long-term key
};

// What is signed of a request.
struct SigV4Request {
  std::string method = "GET";
  // The path as it goes on the wire; percent-encoded once more in the canonical
  // request, as every service but S3 wants (a raw UTF-8 byte or space is encoded once).
  std::string path = "/";
  std::string query;  // after the '?', escaped or not; "" for none
  // Every header here is signed (Host among them); names in any case, values as sent.
  // X-Amz-Date and X-Amz-Security-Token are added by SignV4, not given here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;
  // Remove "." and ".." segments and empty segments from the path before encoding it
  // (every service but S3).
  bool normalize_path = true;
};

// Where and when a request is signed: "20150830/us-east-1/service/aws4_request".
struct SigV4Scope {
  std::string region;
  std::string service;  // "ecr"
  std::time_t time = 0;  // seconds since the epoch (UTC)
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signing_key_hex;  // HMAC chain of date, region, service, "aws4_request"
  std::string signed_headers;   // "host;x-amz-date"
  std::string signature;        // hex
  std::string authorization;    // the Authorization header's value
  // What the request must carry besides Authorization: X-Amz-Date, and
  // X-Amz-Security-Token with a session token (both signed).
  std::vector<std::pair<std::string, std::string>> headers;
};

// Signs REQUEST for SCOPE with CREDS. Pure: the same input gives the same signature.
SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& creds,
                      const SigV4Scope& scope);

// "20150830T123600Z" for TIME (UTC), the X-Amz-Date format.
std::string AmzDate(std::time_t time);

// Lowercase hex of SHA-256(DATA).
std::string Sha256Hex(const std::string& data);

}  // namespace crossdock::providers
