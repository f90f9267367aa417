// State's lookups by destination key (endpoint, repository, tag). A state holds one
// entry per destination tag, so a linear scan is fine for the sizes crossdock sees
// and keeps the vector (the file's order) the only representation.
#include "state/state.h"

#include <algorithm>

namespace crossdock::state {
namespace {

template <class Keyed>
bool HasKey(const Keyed& a, const std::string& dest_endpoint, const std::string& dest_repo,
            const std::string& tag) {
  return a.destination_endpoint == dest_endpoint && a.destination_repository == dest_repo &&
         a.tag == tag;
}

}  // namespace

const Artifact* State::Find(const std::string& dest_endpoint, const std::string& dest_repo,
                            const std::string& tag) const {
  auto it = std::find_if(artifacts.begin(), artifacts.end(), [&](const Artifact& a) {
    return HasKey(a, dest_endpoint, dest_repo, tag);
  });
  return it == artifacts.end() ? nullptr : &*it;
}

void State::Upsert(const Artifact& a) {
  journal.Touch(a.destination_endpoint, a.destination_repository, a.tag);
  auto it = std::find_if(artifacts.begin(), artifacts.end(), [&](const Artifact& existing) {
    return HasKey(existing, a.destination_endpoint, a.destination_repository, a.tag);
  });
  if (it == artifacts.end()) {
    artifacts.push_back(a);
  } else {
    *it = a;
  }
}

bool State::Remove(const std::string& dest_endpoint, const std::string& dest_repo,
                   const std::string& tag) {
  journal.Touch(dest_endpoint, dest_repo, tag);
  auto removed = std::erase_if(artifacts, [&](const Artifact& a) {
    return HasKey(a, dest_endpoint, dest_repo, tag);
  });
  return removed > 0;
}

const Intent* State::FindIntent(const std::string& dest_endpoint, const std::string& dest_repo,
                               const std::string& tag) const {
  auto it = std::find_if(intents.begin(), intents.end(), [&](const Intent& i) {
    return HasKey(i, dest_endpoint, dest_repo, tag);
  });
  return it == intents.end() ? nullptr : &*it;
}

void State::AddIntent(const Intent& i) {
  journal.Touch(i.destination_endpoint, i.destination_repository, i.tag);
  auto it = std::find_if(intents.begin(), intents.end(), [&](const Intent& existing) {
    return HasKey(existing, i.destination_endpoint, i.destination_repository, i.tag);
  });
  if (it == intents.end()) {
    intents.push_back(i);
  } else {
    *it = i;
  }
}

bool State::RemoveIntent(const std::string& dest_endpoint, const std::string& dest_repo,
                         const std::string& tag) {
  journal.Touch(dest_endpoint, dest_repo, tag);
  return std::erase_if(intents, [&](const Intent& i) {
           return HasKey(i, dest_endpoint, dest_repo, tag);
         }) > 0;
}

}  // namespace crossdock::state
