#include "core/shard.h"

#include <openssl/evp.h>

#include <charconv>

namespace crossdock::core {

std::uint64_t ShardHash(std::string_view endpoint, std::string_view repository) {
  std::string input("crossdock-shard-v1");
  input += '\0';
  input += endpoint;
  input += '\0';
  input += repository;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | md[i];
  return h;
}

std::string Shard::Name() const { return std::to_string(index) + "/" + std::to_string(count); }

bool Shard::Owns(std::string_view endpoint, std::string_view repository) const {
  return count <= 1 ||
         ShardHash(endpoint, repository) % static_cast<std::uint64_t>(count) ==
             static_cast<std::uint64_t>(index);
}

bool Owns(const std::optional<Shard>& shard, std::string_view endpoint,
          std::string_view repository) {
  return !shard || shard->Owns(endpoint, repository);
}

namespace {

// A whole number of decimal digits only (no sign, no space), up to kMaxShards.
std::optional<int> WholeNumber(std::string_view s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

Result<Shard> ParseShard(std::string_view text) {
  const auto fail = [&](const std::string& what) {
    return Status::InvalidArgument(
        "--shard \"" + std::string(text) + "\": " + what +
        "; expected --shard I/N, shard I of N with whole numbers 0 <= I < N (e.g. --shard 0/4)");
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return fail("not of the form I/N");
  const std::string_view i = text.substr(0, slash), n = text.substr(slash + 1);
  if (i.empty()) return fail("the index I is missing");
  if (n.empty()) return fail("the count N is missing");
  const std::optional<int> index = WholeNumber(i), count = WholeNumber(n);
  if (!index) return fail("the index \"" + std::string(i) + "\" is not a whole number from 0");
  if (!count) return fail("the count \"" + std::string(n) + "\" is not a whole number from 1");
  if (*count < 1) return fail("the count must be at least 1");
  if (*count > kMaxShards)
    return fail("the count is above " + std::to_string(kMaxShards) + ", the most shards");
  if (*index >= *count)
    return fail("the index " + std::to_string(*index) + " is not below the count " +
                std::to_string(*count) + " (shards are numbered from 0 to " +
                std::to_string(*count - 1) + ")");
  return Shard{*index, *count};
}

}  // namespace crossdock::core
