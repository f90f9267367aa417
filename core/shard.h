// Shards (`--shard I/N`): which of N cooperating crossdock processes owns a
// destination repository. Used by cmd/ (the flag), planner/ (what a shard plans) and
// the saved plan. The formula is part of crossdock's contract (README "Shards"):
//   h = the first 8 bytes, big-endian, of SHA-256("crossdock-shard-v1" NUL endpoint
//       NUL repository), where endpoint is the destination endpoint's name in the
//       config and repository the destination repository's path;
//   the shard is h mod N.
// It never depends on the machine, the config's order or crossdock's version, so
// shards of one run agree, and a destination repository stays in its shard as long
// as N stays.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace crossdock::core {

// The most shards: Kubernetes caps an Indexed Job's completions at 100,000.
inline constexpr int kMaxShards = 100000;

struct Shard {
  int index = 0;  // 0 <= index < count
  int count = 1;

  // "I/N", as --shard takes it and plans show it.
  std::string Name() const;
  // Whether this shard owns the destination REPOSITORY at ENDPOINT.
  bool Owns(std::string_view endpoint, std::string_view repository) const;
  friend bool operator==(const Shard&, const Shard&) = default;
};

// The 64-bit hash above.
std::uint64_t ShardHash(std::string_view endpoint, std::string_view repository);

// "I/N" with whole numbers 0 <= I < N <= kMaxShards. InvalidArgument naming --shard,
// what is wrong and the form expected.
Result<Shard> ParseShard(std::string_view text);

// Whether SHARD owns the destination REPOSITORY at ENDPOINT; without a shard, every
// repository is owned.
bool Owns(const std::optional<Shard>& shard, std::string_view endpoint,
          std::string_view repository);

// Owns for records met grouped by repository, as the state keeps them: the hash is
// computed once per run of one repository, not once per tag. SHARD must outlive it.
class ShardOwnership {
 public:
  explicit ShardOwnership(const std::optional<Shard>& shard) : shard_(shard) {}
  bool operator()(const std::string& endpoint, const std::string& repository) {
    if (!shard_) return true;
    if (!known_ || endpoint != endpoint_ || repository != repository_) {
      known_ = true;
      endpoint_ = endpoint;
      repository_ = repository;
      owned_ = shard_->Owns(endpoint, repository);
    }
    return owned_;
  }

 private:
  const std::optional<Shard>& shard_;
  bool known_ = false;  // endpoint_ and repository_ are set
  std::string endpoint_, repository_;
  bool owned_ = false;
};

}  // namespace crossdock::core
