#include "core/encoding.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace crossdock::core {

namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.empty() ? "" : s.data());
}

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(md, Bytes(key), static_cast<int>(key.size()), Bytes(message), message.size(), mac,
            &len))
    len = 0;
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), Bytes(bytes),
                                static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string in;
  in.reserve(text.size());
  for (char c : text)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') in += c;
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock decodes padding as zero bits wherever it stands: only at the end.
  const size_t padding = in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0;
  if (in.find('=') < in.size() - padding) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), Bytes(in),
                                static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - padding);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string in(text);
  while (!in.empty() && in.back() == '=') in.pop_back();
  if (in.empty() || in.size() % 4 == 1 || in.find_first_of("+/=") != std::string::npos)
    return std::nullopt;
  for (char& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  in.append((4 - in.size() % 4) % 4, '=');
  return Base64Decode(in);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string HmacSha1(std::string_view key, std::string_view message) {
  return Hmac(EVP_sha1(), key, message);
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  return Hmac(EVP_sha256(), key, message);
}

}  // namespace crossdock::core
