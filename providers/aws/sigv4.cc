// AWS Signature Version 4. The rules that are easy to get wrong, as the test suite
// (awslabs/aws-c-auth tests/aws-signing-test-suite/v4/) pins them:
// - the path is normalised ("//a/./b/../" -> "/a/"), then every byte but the unreserved
//   ones and '/' is percent-encoded, '%' included (so an escaped path is escaped twice);
// - query parameters are decoded, encoded again the same way, and sorted by key, then
//   value ("+" stays a literal plus: ECR's API sends no query at all);
// - header names are lowercased, values trimmed with inner runs of whitespace (folded
//   lines included) made one space, repeated headers joined with ',' in order.
#include "providers/aws/sigv4.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/digest.h"
#include "core/encoding.h"
#include "providers/http.h"

namespace crossdock::providers {

namespace {

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";

// RFC 3986 percent-encoding with uppercase hex (providers/http.h UrlEncode), keeping
// '/' when KEEP_SLASH.
std::string UriEncode(const std::string& s, bool keep_slash) {
  if (!keep_slash) return UrlEncode(s);
  std::string out;
  size_t start = 0;
  for (;;) {
    const size_t slash = s.find('/', start);
    out += UrlEncode(s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes decoded; a malformed one is kept as it is (and encoded later).
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// RFC 3986 §5.2.4 dot-segment removal, with empty segments dropped too; a trailing
// slash stays.
std::string NormalizePath(const std::string& path) {
  std::vector<std::string> kept;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string segment = path.substr(start, slash - start);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& s : kept) out += "/" + s;
  if (out.empty()) return "/";
  if (path.ends_with("/")) out += "/";
  return out;
}

std::string CanonicalQuery(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      params.emplace_back(UriEncode(PercentDecode(pair.substr(0, eq)), false),
                          eq == std::string::npos
                              ? std::string()
                              : UriEncode(PercentDecode(pair.substr(eq + 1)), false));
    }
    start = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

// Trimmed, with every run of whitespace inside (a folded line included) one space.
std::string CanonicalValue(const std::string& value) {
  std::string out;
  bool space = false;
  for (unsigned char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string Sha256Hex(const std::string& data) { return core::Sha256Digest(data).substr(7); }

std::string AmzDate(std::time_t time) {
  std::tm tm{};
  gmtime_r(&time, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& creds,
                      const SigV4Scope& scope) {
  SigV4Signature out;
  const std::string amz_date = AmzDate(scope.time);
  const std::string date = amz_date.substr(0, 8);
  out.headers.push_back({"X-Amz-Date", amz_date});
  if (!creds.session_token.empty())
    out.headers.push_back({"X-Amz-Security-Token", creds.session_token});

  // Lowercased name -> values in the order given (std::map sorts the names).
  std::map<std::string, std::vector<std::string>> headers;
  for (const auto& [name, value] : request.headers)
    headers[Lower(name)].push_back(CanonicalValue(value));
  for (const auto& [name, value] : out.headers) headers[Lower(name)] = {CanonicalValue(value)};

  std::string canonical_headers;
  for (const auto& [name, values] : headers) {
    std::string joined;
    for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
    canonical_headers += name + ":" + joined + "\n";
    out.signed_headers += (out.signed_headers.empty() ? "" : ";") + name;
  }
  const std::string path = request.normalize_path ? NormalizePath(request.path) : request.path;
  out.canonical_request = request.method + "\n" + UriEncode(path.empty() ? "/" : path, true) +
                          "\n" + CanonicalQuery(request.query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + Sha256Hex(request.payload);

  const std::string credential_scope =
      date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + credential_scope +
                       "\n" + Sha256Hex(out.canonical_request);

  std::string key = core::HmacSha256("AWS4" + creds.secret_access_key, date);
  key = core::HmacSha256(key, scope.region);
  key = core::HmacSha256(key, scope.service);
  key = core::HmacSha256(key, "aws4_request");
  out.signing_key_hex = core::HexEncode(key);
  const std::string mac = core::HmacSha256(key, out.string_to_sign);
  out.signature = core::HexEncode(mac);
  out.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" +
                      credential_scope + ", SignedHeaders=" + out.signed_headers +
                      ", Signature=" + out.signature;
  return out;
}

}  // namespace crossdock::providers
