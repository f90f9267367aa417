#include "core/postgres_url.h"

#include <cctype>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

namespace crossdock::core {
namespace {

constexpr std::string_view kSecretParameters[] = {"password", "sslpassword"};

size_t PrefixLength(std::string_view text) {
  for (std::string_view prefix : {"postgresql://", "postgres://"})
    if (text.substr(0, prefix.size()) == prefix) return prefix.size();
  return 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// KEY with %HH escapes decoded, as libpq decodes parameter names; nullopt for a '%'
// not followed by two hex digits (libpq refuses the URL then).
std::optional<std::string> PercentDecode(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] != '%') {
      out += key[i];
      continue;
    }
    if (i + 2 >= key.size()) return std::nullopt;
    const int hi = HexValue(key[i + 1]), lo = HexValue(key[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// Where the user part of URL ends (its '@'), or npos when it has none.
size_t UserPartEnd(std::string_view url) {
  const size_t start = PrefixLength(url);
  const size_t end = url.find_first_of("@/", start);
  return end != std::string_view::npos && url[end] == '@' ? end : std::string_view::npos;
}

// Each parameter "NAME=VALUE" of URL whose NAME decodes to a secret's name: the
// position of its value and the value's length. A parameter starts after any '?' or '&'
// (wherever libpq may see the query start).
template <typename Visit>
void ForEachSecretParameter(std::string_view url, Visit visit) {
  for (size_t i = 0; i < url.size(); ++i) {
    if (url[i] != '?' && url[i] != '&') continue;
    const size_t equals = url.find('=', i + 1);
    if (equals == std::string_view::npos) return;
    std::string_view key = url.substr(i + 1, equals - i - 1);
    if (key.find_first_of("?&") != std::string_view::npos) continue;
    auto name = PercentDecode(key);
    if (!name) continue;
    for (std::string_view secret : kSecretParameters) {
      if (*name != secret) continue;
      const size_t value_end = url.find('&', equals + 1);
      visit(equals + 1, (value_end == std::string_view::npos ? url.size() : value_end) - equals - 1);
    }
  }
}

// A regular expression for NAME written with any of its letters as %HH.
std::string EncodedName(std::string_view name) {
  std::string out;
  for (char c : name) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(c));
    out += "(?:";
    out += c;
    out += "|%";
    out += hex[0];
    const char low = hex[1];
    if (std::isalpha(static_cast<unsigned char>(low))) {
      out += "[";
      out += low;
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(low)));
      out += "]";
    } else {
      out += low;
    }
    out += ")";
  }
  return out;
}

}  // namespace

bool IsPostgresUrl(std::string_view text) { return PrefixLength(text) > 0; }

std::string PostgresUrlSecret(std::string_view url) {
  const size_t at = UserPartEnd(url);
  if (at != std::string_view::npos &&
      url.substr(PrefixLength(url), at - PrefixLength(url)).find(':') != std::string_view::npos)
    return "a password after the user name";
  std::string found;
  ForEachSecretParameter(url, [&](size_t, size_t) { found = "a password parameter"; });
  return found;
}

std::string StateLocationPattern() {
  std::string names;
  for (std::string_view secret : kSecretParameters)
    names += (names.empty() ? "" : "|") + EncodedName(secret);
  // Not a URL with "user:secret@", nor one with a secret parameter after '?' or '&'.
  return "^(?!postgres(?:ql)?://[^@/]*:[^@/]*@)(?!postgres(?:ql)?://[\\s\\S]*[?&](?:" + names +
         ")=)[\\s\\S]+$";
}

std::string RedactPostgresUrl(std::string_view url) {
  std::string out(url);
  // Values first, from the end, so that earlier positions stay valid.
  std::vector<std::pair<size_t, size_t>> values;
  ForEachSecretParameter(url, [&](size_t pos, size_t len) { values.emplace_back(pos, len); });
  for (auto it = values.rbegin(); it != values.rend(); ++it) out.replace(it->first, it->second, "REDACTED");
  const size_t at = UserPartEnd(url);
  if (at != std::string_view::npos) {
    const size_t start = PrefixLength(url);
    const size_t colon = url.substr(start, at - start).find(':');
    if (colon != std::string_view::npos)
      out.replace(start + colon + 1, at - start - colon - 1, "REDACTED");
  }
  return out;
}

}  // namespace crossdock::core
