#include "core/digest.h"

#include <openssl/evp.h>

#include "core/encoding.h"

namespace crossdock::core {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }

std::string Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  return "sha256:" + HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string Sha256Digest(std::string_view data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

bool IsValidDigest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string ShortDigest(std::string_view d) {
  auto colon = d.find(':');
  if (colon == std::string_view::npos) return std::string(d.substr(0, 12));
  return std::string(d.substr(0, colon + 1 + 12));
}

std::string RefSuffix(std::string_view ref) {
  return (IsValidDigest(ref) ? "@" : ":") + std::string(ref);
}

}  // namespace crossdock::core
