// State: what crossdock has replicated (per rule and destination), with Terraform's
// lineage and serial. Types only; state/store.h reads and writes the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace crossdock::state {

// 2 added "intents"; a version 1 file is read as having none.
inline constexpr int kFormatVersion = 2;

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

// A tag an apply is about to push: written to disk before the push, so that a run
// killed between the push and the record of it leaves a trace. The next plan adopts
// every intent whose destination tag holds the intended digest (crossdock pushed it),
// and the next apply drops the others (the push never happened). Keyed, like
// Artifact, by (destination_endpoint, destination_repository, tag).
struct Intent {
  std::string rule;
  std::string source_endpoint;
  std::string source_repository;
  std::string source_digest;  // the digest the tag will hold
  std::string destination_endpoint;
  std::string destination_repository;
  std::string tag;
  std::string recorded_at;  // RFC 3339 UTC

  friend bool operator==(const Intent&, const Intent&) = default;
};

// Where the records of one vector (State::artifacts or State::intents) sit, by
// destination key, for State's lookups: a hash of the key -> position multimap, checked
// against the record on every hit. Callers may change the vector directly (tests push
// into it): the index notices a change of size or buffer and is rebuilt at the next
// lookup, and a hit whose record no longer hashes to its entry rebuilds it too. Only
// a record's key edited in place, size and buffer unchanged, can hide that record
// from a lookup until the next rebuild: change keys through Upsert and Remove.
// A copy starts empty (its records live in another vector). Lookups lock a mutex, so
// const State lookups from several threads are safe.
template <class Record>
class KeyIndex {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  KeyIndex() = default;
  KeyIndex(const KeyIndex&) {}
  KeyIndex& operator=(const KeyIndex&);

  // The position of the record at (ENDPOINT, REPOSITORY, TAG) in RECORDS, or kNone.
  std::size_t Find(const std::vector<Record>& records, std::string_view endpoint,
                   std::string_view repository, std::string_view tag) const;
  // Replaces the record at R's key in *RECORDS, or appends R.
  void Upsert(std::vector<Record>* records, const Record& r);
  // Removes the record at the key (the last record takes its place); returns whether
  // there was one.
  bool Remove(std::vector<Record>* records, std::string_view endpoint,
              std::string_view repository, std::string_view tag);

 private:
  // REQUIRES: mu_ held. Rebuilds unless the index describes RECORDS.
  void SyncLocked(const std::vector<Record>& records) const;
  void RebuildLocked(const std::vector<Record>& records) const;
  std::size_t FindLocked(const std::vector<Record>& records, std::size_t hash,
                         std::string_view endpoint, std::string_view repository,
                         std::string_view tag) const;

  mutable std::mutex mu_;
  mutable std::unordered_multimap<std::size_t, std::size_t> positions_;  // key hash -> position
  mutable const Record* indexed_data_ = nullptr;  // the vector the index describes
  mutable std::size_t indexed_size_ = 0;
};

// The destination keys (endpoint, repository, tag) whose artifact or intent changed
// since the state was last persisted: what a backend that stores a row per key
// (state/postgres.h) writes, so that recording one change costs one row, not a
// rewrite. The file backend ignores it and writes the whole state.
class ChangeJournal {
 public:
  using Key = std::tuple<std::string, std::string, std::string>;

  void Touch(const std::string& dest_endpoint, const std::string& dest_repo,
             const std::string& tag) {
    touched_[Key(dest_endpoint, dest_repo, tag)] = ++generation_;
  }
  // Forgets the keys DONE (a copy of this journal, now persisted) holds, except those
  // touched again since that copy was made.
  void Forget(const ChangeJournal& done) {
    for (const auto& [key, generation] : done.touched_) {
      auto it = touched_.find(key);
      if (it != touched_.end() && it->second == generation) touched_.erase(it);
    }
  }
  void Clear() { touched_.clear(); }
  bool empty() const { return touched_.empty(); }
  size_t size() const { return touched_.size(); }
  // Each key and the generation of its last touch, in key order.
  const std::map<Key, std::uint64_t>& touched() const { return touched_; }

  // Bookkeeping, not content: two states that hold the same are equal whatever each
  // has touched since it was read.
  friend bool operator==(const ChangeJournal&, const ChangeJournal&) { return true; }

 private:
  std::map<Key, std::uint64_t> touched_;
  std::uint64_t generation_ = 0;
};

struct State {
  int format_version = kFormatVersion;
  std::string lineage;   // fixed at creation (random UUID)
  std::int64_t serial = 0;  // incremented on every write
  std::vector<Artifact> artifacts;
  std::vector<Intent> intents;
  // Touched by Upsert, Remove, AddIntent and RemoveIntent; not persisted itself.
  ChangeJournal journal;

  // Lookups by destination key cost O(1) on average (KeyIndex); Remove and
  // RemoveIntent move the last record into the removed one's place, so the vectors'
  // order is not kept (the file is written sorted).

  // The artifact recorded at (destination endpoint, repository, tag), or nullptr.
  const Artifact* Find(const std::string& dest_endpoint, const std::string& dest_repo,
                       const std::string& tag) const;
  // Inserts or replaces the artifact at its destination key.
  void Upsert(const Artifact& a);
  // Removes the artifact at its destination key; returns whether one was removed.
  bool Remove(const std::string& dest_endpoint, const std::string& dest_repo,
              const std::string& tag);

  // The intent recorded at (destination endpoint, repository, tag), or nullptr.
  const Intent* FindIntent(const std::string& dest_endpoint, const std::string& dest_repo,
                           const std::string& tag) const;
  // Inserts or replaces the intent at its destination key.
  void AddIntent(const Intent& i);
  // Removes the intent at a destination key; returns whether one was removed.
  bool RemoveIntent(const std::string& dest_endpoint, const std::string& dest_repo,
                    const std::string& tag);

  // A state with this one's format, lineage, serial and journal, holding only the
  // records at the journal's keys: all a backend that writes only those keys
  // (Backend::persists_journal_only) reads, copied in O(journal) rather than O(state).
  State JournaledPart() const;

  // Compares the data (the indexes aside).
  friend bool operator==(const State& x, const State& y) {
    return x.format_version == y.format_version && x.lineage == y.lineage &&
           x.serial == y.serial && x.artifacts == y.artifacts && x.intents == y.intents;
  }

 private:
  KeyIndex<Artifact> artifact_index_;
  KeyIndex<Intent> intent_index_;
};

}  // namespace crossdock::state
