// Byte encodings and keyed hashes, written once with OpenSSL: base64 (RFC 4648 §4) and
// base64url (§5), lowercase hex, HMAC-SHA1 and HMAC-SHA256. Used by providers/ (Basic
// authorization, auth files, vendor logins and request signatures, JWTs) and by core/
// and state/ wherever bytes are shown as hex.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crossdock::core {

// Standard base64 with '=' padding.
std::string Base64Encode(std::string_view bytes);
// base64url without padding, as JWTs use it (RFC 7515 §2).
std::string Base64UrlEncode(std::string_view bytes);

// The bytes TEXT encodes in standard base64, white space (line breaks of `base64`'s
// wrapped output) ignored; nullopt when TEXT is empty or not base64 (a byte outside the
// alphabet, a length not a multiple of 4, '=' anywhere but in the last two places).
std::optional<std::string> Base64Decode(std::string_view text);
// The same for base64url, padding optional; nullopt for '+' or '/' (standard base64).
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Two lowercase hex digits a byte.
std::string HexEncode(std::string_view bytes);

// Raw HMAC (RFC 2104) of MESSAGE with KEY: 20 bytes for SHA-1, 32 for SHA-256.
std::string HmacSha1(std::string_view key, std::string_view message);
std::string HmacSha256(std::string_view key, std::string_view message);

}  // namespace crossdock::core
