// Content digests ("sha256:<hex>") computed with OpenSSL, incrementally, so blobs
// are verified while they stream. Used by providers/ and applier/.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace crossdock::core {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n);
  // "sha256:<64 hex>"; the object may not be updated afterwards.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Digest(std::string_view data);

// True for "sha256:" followed by 64 lowercase hex digits.
bool IsValidDigest(std::string_view digest);

// "sha256:0123456789ab": algorithm and the first 12 hex digits, as plans show them.
std::string ShortDigest(std::string_view digest);

// ":tag", or "@sha256:…" when REF is a digest (a referrer copied by digest), to
// append to a repository name.
std::string RefSuffix(std::string_view ref);

}  // namespace crossdock::core
