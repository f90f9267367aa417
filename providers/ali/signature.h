// Alibaba Cloud's two request signatures for AccessKey pairs, as the ali-acr provider
// (providers/ali/ali.cc) signs its OpenAPI calls with them, written with OpenSSL:
// - ROA (the personal edition's Container Registry API, 2016-06-07): HMAC-SHA1 over the
//   method, four headers, the sorted x-acs-* headers and the resource, sent as
//   `Authorization: acs AK:SIGNATURE` (aliyun/alibaba-cloud-sdk-go
//   sdk/auth/roa_signature_composer.go);
// - RPC, signature version 1.0 (the enterprise edition's API, 2018-12-01): HMAC-SHA1 with
//   the key "SECRET&" over "METHOD&%2F&" and the percent-encoded sorted query, sent as the
//   Signature parameter (Alibaba Cloud's "Request signatures" for RPC APIs).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace crossdock::providers {

// RFC 3986 percent-encoding as Alibaba Cloud's signatures want it: letters, digits and
// "-_.~" kept, every other byte %XX with uppercase hex (a space is %20, never '+'), which
// is what UrlEncode (providers/http.h) does.
std::string AliPercentEncode(std::string_view s);

// base64 of the MD5 of BODY: the Content-MD5 a ROA request signs (the empty body's too).
std::string AliContentMd5(std::string_view body);

// What a ROA signature covers. The four headers are left out of the string when empty,
// as the SDK does; QUERY is appended raw (unencoded), sorted by name.
struct RoaRequest {
  std::string method = "GET";
  std::string accept, content_md5, content_type, date;
  std::map<std::string, std::string> acs_headers;  // "x-acs-…" (lowercase) -> value
  std::string path;                                // "/repos/team"
  std::map<std::string, std::string> query;
};
std::string RoaStringToSign(const RoaRequest& request);
// base64(HMAC-SHA1(key = SECRET, STRING_TO_SIGN)).
std::string RoaSignature(const std::string& string_to_sign, const std::string& secret);

// "METHOD&%2F&" + AliPercentEncode(the sorted, percent-encoded "k=v&…" of PARAMS);
// PARAMS must not hold Signature.
std::string RpcStringToSign(const std::string& method, const std::map<std::string, std::string>& params);
// base64(HMAC-SHA1(key = SECRET + "&", STRING_TO_SIGN)).
std::string RpcSignature(const std::string& string_to_sign, const std::string& secret);

// T as a ROA Date header, RFC 2616 ("Tue, 23 Feb 2016 12:46:24 GMT"), and as an RPC
// Timestamp, ISO 8601 UTC ("2016-02-23T12:46:24Z").
std::string AliHttpDate(std::chrono::system_clock::time_point t);
std::string AliTimestamp(std::chrono::system_clock::time_point t);

}  // namespace crossdock::providers
