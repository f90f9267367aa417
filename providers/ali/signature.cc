#include "providers/ali/signature.h"

#include <openssl/evp.h>

#include <ctime>

#include "core/encoding.h"
#include "providers/http.h"

namespace crossdock::providers {

namespace {

std::string FormatUtc(std::chrono::system_clock::time_point t, const char* format) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string AliPercentEncode(std::string_view s) { return UrlEncode(std::string(s)); }

std::string AliContentMd5(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return core::Base64Encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string RoaStringToSign(const RoaRequest& r) {
  std::string out = r.method + "\n";
  for (const std::string* h : {&r.accept, &r.content_md5, &r.content_type, &r.date})
    if (!h->empty()) out += *h + "\n";
  for (const auto& [name, value] : r.acs_headers) out += name + ":" + value + "\n";  // sorted
  out += r.path;
  char sep = '?';
  for (const auto& [name, value] : r.query) {
    out += sep + name + (value.empty() ? "" : "=" + value);
    sep = '&';
  }
  return out;
}

std::string RoaSignature(const std::string& string_to_sign, const std::string& secret) {
  return core::Base64Encode(core::HmacSha1(secret, string_to_sign));
}

std::string RpcStringToSign(const std::string& method, const std::map<std::string, std::string>& params) {
  std::string canonical;
  for (const auto& [name, value] : params) {  // std::map: sorted by name, byte order
    if (!canonical.empty()) canonical += '&';
    canonical += AliPercentEncode(name) + "=" + AliPercentEncode(value);
  }
  return method + "&" + AliPercentEncode("/") + "&" + AliPercentEncode(canonical);
}

std::string RpcSignature(const std::string& string_to_sign, const std::string& secret) {
  return core::Base64Encode(core::HmacSha1(secret + "&", string_to_sign));
}

std::string AliHttpDate(std::chrono::system_clock::time_point t) {
  // Names spelt out: strftime's %a and %b follow the locale.
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return std::string(kDays[tm.tm_wday]) + ", " + FormatUtc(t, "%d ") + kMonths[tm.tm_mon] +
         FormatUtc(t, " %Y %H:%M:%S GMT");
}

std::string AliTimestamp(std::chrono::system_clock::time_point t) {
  return FormatUtc(t, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace crossdock::providers
