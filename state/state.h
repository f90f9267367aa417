// State: what crossdock has replicated (per rule and destination), with Terraform's
// lineage and serial. Types only; state/store.h reads and writes the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crossdock::state {

inline constexpr int kFormatVersion = 1;

// One tag crossdock copied to a destination and therefore owns.
struct Artifact {
  std::string rule;
  std::string source_endpoint;
  std::string source_repository;  // without host
  std::string source_digest;
  std::string destination_endpoint;
  std::string destination_repository;  // without host
  std::string tag;
  std::string destination_digest;
  std::string replicated_at;  // RFC 3339 UTC

  friend bool operator==(const Artifact&, const Artifact&) = default;
};

struct State {
  int format_version = kFormatVersion;
  std::string lineage;   // fixed at creation (random UUID)
  std::int64_t serial = 0;  // incremented on every write
  std::vector<Artifact> artifacts;

  // The artifact recorded at (destination endpoint, repository, tag), or nullptr.
  // A linear scan: a caller looking up every tag of a large state should index it.
  const Artifact* Find(const std::string& dest_endpoint, const std::string& dest_repo,
                       const std::string& tag) const;
  // Inserts or replaces the artifact at its destination key.
  void Upsert(const Artifact& a);
  // Removes the artifact at its destination key; returns whether one was removed.
  bool Remove(const std::string& dest_endpoint, const std::string& dest_repo,
              const std::string& tag);

  friend bool operator==(const State&, const State&) = default;
};

}  // namespace crossdock::state
