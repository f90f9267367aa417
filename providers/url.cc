#include "providers/url.h"

#include <algorithm>

namespace crossdock::providers {

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Whitespace, control characters, DEL, non-ASCII bytes and '\' (which some URL
// parsers read as '/') have no place in a URL a registry hands out.
bool HasForbiddenByte(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c >= 0x7f || c == '\\';
  });
}

// The length of the scheme of REF when it starts with one ("scheme:"), else 0
// (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":").
size_t SchemeLength(std::string_view ref) {
  if (ref.empty() || !IsAlpha(ref[0])) return 0;
  size_t i = 1;
  while (i < ref.size() && (IsAlpha(ref[i]) || IsDigit(ref[i]) || ref[i] == '+' ||
                            ref[i] == '-' || ref[i] == '.'))
    ++i;
  return i < ref.size() && ref[i] == ':' ? i : 0;
}

// "scheme://authority" of the absolute URL URL (everything before its path).
std::string_view OriginPart(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return url;
  size_t end = url.find_first_of("/?#", sep + 3);
  return url.substr(0, end);
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host == "[0:0:0:0:0:0:0:1]") return true;
  // Four decimal octets, the first 127.
  int octets = 0;
  size_t start = 0;
  for (;;) {
    const size_t dot = host.find('.', start);
    const std::string_view octet = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (octet.empty() || octet.size() > 3 || !std::all_of(octet.begin(), octet.end(), IsDigit) ||
        std::stoi(std::string(octet)) > 255 || (octets == 0 && octet != "127"))
      return false;
    ++octets;
    if (dot == std::string_view::npos) return octets == 4;
    start = dot + 1;
  }
}

std::string Origin::ToString() const { return scheme + "://" + host + ":" + std::to_string(port); }

std::optional<Origin> ParseOrigin(std::string_view url) {
  if (HasForbiddenByte(url)) return std::nullopt;
  size_t scheme_len = SchemeLength(url);
  if (scheme_len == 0 || url.substr(scheme_len, 3) != "://") return std::nullopt;
  Origin o;
  for (char c : url.substr(0, scheme_len)) o.scheme += Lower(c);
  if (o.scheme != "http" && o.scheme != "https") return std::nullopt;
  std::string_view authority = OriginPart(url).substr(scheme_len + 3);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host = authority, port;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close < 2) return std::nullopt;
    std::string_view inside = host.substr(1, close - 1);
    if (inside.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      return std::nullopt;
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return std::nullopt;
      port = host.substr(close + 2);
    }
    host = host.substr(0, close + 1);
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return IsAlpha(c) || IsDigit(c) || c == '.' || c == '-' || c == '_';
        }))
      return std::nullopt;
  }
  for (char c : host) o.host += Lower(c);

  // "host:" (an empty port) means the default port (RFC 3986 section 3.2.3).
  o.port = o.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) return std::nullopt;
    o.port = std::stoi(std::string(port));
    if (o.port < 1 || o.port > 65535) return std::nullopt;
  }
  return o;
}

std::string_view PathAndQuery(std::string_view url) { return url.substr(OriginPart(url).size()); }

std::string ResolveReference(std::string_view base, std::string_view ref) {
  if (ref.empty() || HasForbiddenByte(ref)) return "";
  if (SchemeLength(ref) > 0) return std::string(ref);
  size_t scheme_len = SchemeLength(base);
  if (ref.substr(0, 2) == "//") return std::string(base.substr(0, scheme_len + 1)) + std::string(ref);
  std::string_view origin = OriginPart(base);
  if (ref[0] == '/') return std::string(origin) + std::string(ref);
  // BASE's path, without its query and fragment.
  std::string_view path = base.substr(origin.size());
  path = path.substr(0, path.find_first_of("?#"));
  if (ref[0] == '?') return std::string(origin) + std::string(path) + std::string(ref);
  if (ref[0] == '#') return std::string(origin) + std::string(path);
  size_t slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "/" : path.substr(0, slash + 1);
  return std::string(origin) + std::string(dir) + std::string(ref);
}

}  // namespace crossdock::providers
