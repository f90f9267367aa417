// State's lookups by destination key (endpoint, repository, tag), through a KeyIndex
// per vector: the vectors stay the only copy of the records (and the file's order is
// theirs, sorted when written), the index holds a hash and a position per record.
#include "state/state.h"

#include <functional>
#include <utility>

namespace crossdock::state {
namespace {

std::size_t KeyHash(std::string_view endpoint, std::string_view repository,
                    std::string_view tag) {
  std::hash<std::string_view> h;
  std::size_t seed = h(endpoint);
  for (std::string_view part : {repository, tag})
    seed ^= h(part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

template <class Record>
std::size_t KeyHash(const Record& r) {
  return KeyHash(r.destination_endpoint, r.destination_repository, r.tag);
}

template <class Record>
bool HasKey(const Record& r, std::string_view endpoint, std::string_view repository,
            std::string_view tag) {
  return r.tag == tag && r.destination_repository == repository &&
         r.destination_endpoint == endpoint;
}

}  // namespace

template <class Record>
KeyIndex<Record>& KeyIndex<Record>::operator=(const KeyIndex&) {
  std::lock_guard<std::mutex> lock(mu_);
  positions_.clear();
  indexed_data_ = nullptr;
  indexed_size_ = 0;
  return *this;
}

template <class Record>
void KeyIndex<Record>::RebuildLocked(const std::vector<Record>& records) const {
  positions_.clear();
  positions_.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) positions_.emplace(KeyHash(records[i]), i);
  indexed_data_ = records.data();
  indexed_size_ = records.size();
}

template <class Record>
void KeyIndex<Record>::SyncLocked(const std::vector<Record>& records) const {
  if (indexed_data_ != records.data() || indexed_size_ != records.size()) RebuildLocked(records);
}

template <class Record>
std::size_t KeyIndex<Record>::FindLocked(const std::vector<Record>& records, std::size_t hash,
                                         std::string_view endpoint, std::string_view repository,
                                         std::string_view tag) const {
  SyncLocked(records);
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool stale = false;
    auto [first, last] = positions_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      const Record& r = records[it->second];
      if (HasKey(r, endpoint, repository, tag)) return it->second;
      // Another key with the same hash is a collision; a record that no longer
      // hashes to its entry was edited in place.
      if (KeyHash(r) != hash) stale = true;
    }
    if (!stale) break;
    RebuildLocked(records);
  }
  return kNone;
}

template <class Record>
std::size_t KeyIndex<Record>::Find(const std::vector<Record>& records, std::string_view endpoint,
                                   std::string_view repository, std::string_view tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  return FindLocked(records, KeyHash(endpoint, repository, tag), endpoint, repository, tag);
}

template <class Record>
void KeyIndex<Record>::Upsert(std::vector<Record>* records, const Record& r) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t hash = KeyHash(r);
  const std::size_t at =
      FindLocked(*records, hash, r.destination_endpoint, r.destination_repository, r.tag);
  if (at != kNone) {
    (*records)[at] = r;
    return;
  }
  records->push_back(r);
  positions_.emplace(hash, records->size() - 1);
  indexed_data_ = records->data();  // push_back may have moved the records
  indexed_size_ = records->size();
}

template <class Record>
bool KeyIndex<Record>::Remove(std::vector<Record>* records, std::string_view endpoint,
                              std::string_view repository, std::string_view tag) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t hash = KeyHash(endpoint, repository, tag);
  const std::size_t at = FindLocked(*records, hash, endpoint, repository, tag);
  if (at == kNone) return false;
  auto erase_entry = [&](std::size_t h, std::size_t position) {
    auto [first, last] = positions_.equal_range(h);
    for (auto it = first; it != last; ++it) {
      if (it->second == position) {
        positions_.erase(it);
        return;
      }
    }
  };
  erase_entry(hash, at);
  const std::size_t last = records->size() - 1;
  if (at != last) {
    const std::size_t moved_hash = KeyHash((*records)[last]);
    erase_entry(moved_hash, last);
    (*records)[at] = std::move((*records)[last]);
    positions_.emplace(moved_hash, at);
  }
  records->pop_back();
  indexed_data_ = records->data();
  indexed_size_ = records->size();
  return true;
}

template class KeyIndex<Artifact>;
template class KeyIndex<Intent>;

const Artifact* State::Find(const std::string& dest_endpoint, const std::string& dest_repo,
                            const std::string& tag) const {
  const std::size_t at = artifact_index_.Find(artifacts, dest_endpoint, dest_repo, tag);
  return at == KeyIndex<Artifact>::kNone ? nullptr : &artifacts[at];
}

void State::Upsert(const Artifact& a) {
  journal.Touch(a.destination_endpoint, a.destination_repository, a.tag);
  artifact_index_.Upsert(&artifacts, a);
}

bool State::Remove(const std::string& dest_endpoint, const std::string& dest_repo,
                   const std::string& tag) {
  journal.Touch(dest_endpoint, dest_repo, tag);
  // A file edited by hand may hold a key twice: every record at it goes.
  bool removed = false;
  while (artifact_index_.Remove(&artifacts, dest_endpoint, dest_repo, tag)) removed = true;
  return removed;
}

State State::JournaledPart() const {
  State part;
  part.format_version = format_version;
  part.lineage = lineage;
  part.serial = serial;
  part.journal = journal;
  for (const auto& [key, generation] : journal.touched()) {
    const auto& [endpoint, repository, tag] = key;
    if (const Artifact* a = Find(endpoint, repository, tag)) part.artifacts.push_back(*a);
    if (const Intent* i = FindIntent(endpoint, repository, tag)) part.intents.push_back(*i);
  }
  return part;
}

const Intent* State::FindIntent(const std::string& dest_endpoint, const std::string& dest_repo,
                               const std::string& tag) const {
  const std::size_t at = intent_index_.Find(intents, dest_endpoint, dest_repo, tag);
  return at == KeyIndex<Intent>::kNone ? nullptr : &intents[at];
}

void State::AddIntent(const Intent& i) {
  journal.Touch(i.destination_endpoint, i.destination_repository, i.tag);
  intent_index_.Upsert(&intents, i);
}

bool State::RemoveIntent(const std::string& dest_endpoint, const std::string& dest_repo,
                         const std::string& tag) {
  journal.Touch(dest_endpoint, dest_repo, tag);
  bool removed = false;
  while (intent_index_.Remove(&intents, dest_endpoint, dest_repo, tag)) removed = true;
  return removed;
}

}  // namespace crossdock::state
