// URLs taken from a registry's answers (Link and Location headers): resolving them
// against the request they answered, and their origin (RFC 6454), so that
// distribution/ follows only those on the endpoint's own origin. Pure functions,
// no I/O; fuzzed through tests/fuzz.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crossdock::providers {

// Scheme, host and port of an http or https URL: what must match before a request
// carrying the endpoint's credentials goes to a URL a registry handed out.
struct Origin {
  std::string scheme;  // "http" or "https"
  std::string host;    // lowercased; an IPv6 literal keeps its brackets
  int port = 0;        // the scheme's default (80, 443) when the URL gives none

  bool operator==(const Origin&) const = default;
  // "scheme://host:port", always with the port.
  std::string ToString() const;
};

// The origin of the absolute URL URL; nullopt unless it is http(s)://host[:port]
// followed by nothing or by "/", "?" or "#", without userinfo ("user@"), with a
// host of letters, digits, '.', '-' and '_' (or a bracketed IPv6 literal) and a
// port from 1 to 65535, and without whitespace, control or non-ASCII bytes.
std::optional<Origin> ParseOrigin(std::string_view url);

// Whether HOST, as an Origin holds it (lowercased, IPv6 in brackets), is this machine:
// "localhost", an IPv4 address in 127.0.0.0/8 or "[::1]". Plain http stays allowed
// there for secrets that must otherwise travel over https (tests run on loopback).
bool IsLoopbackHost(std::string_view host);

// REF, a URI reference from a header of the answer to a request for BASE (an
// absolute URL), made absolute as RFC 3986 section 5.2 does for the forms
// registries send: an absolute URL ("https://h/p") is returned as it is, a
// network-path reference ("//h/p") takes BASE's scheme, an absolute path ("/p")
// BASE's origin, a query ("?q") BASE's path, and a relative path ("p") BASE's
// directory. Dot segments are left alone (curl removes them; the origin is what
// matters here). Returns "" when REF is empty or holds whitespace, control or
// non-ASCII bytes or a backslash.
std::string ResolveReference(std::string_view base, std::string_view ref);

// What follows the authority of the absolute URL URL: its path, query and fragment
// ("/v2/x?n=1"), possibly empty.
std::string_view PathAndQuery(std::string_view url);

}  // namespace crossdock::providers
