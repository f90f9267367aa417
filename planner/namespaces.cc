#include "planner/namespaces.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "core/parallel.h"

namespace crossdock::planner {

namespace {

bool Pushes(const Change& c) { return c.action == Action::kCreate || c.action == Action::kUpdate; }

}  // namespace

void PlanNamespaces(const std::map<std::string, providers::Registry*>& registries, int parallelism,
                    const std::atomic<bool>* cancel, Plan* plan) {
  using Key = std::pair<std::string, std::string>;  // (endpoint, destination repository)
  std::vector<Key> keys;
  std::map<Key, size_t> index;
  for (const auto& c : plan->changes)
    if (Pushes(c) && index.emplace(Key{c.destination_endpoint, c.destination_repository}, keys.size()).second)
      keys.push_back({c.destination_endpoint, c.destination_repository});
  std::vector<core::Result<providers::Namespace>> found(keys.size(), providers::Namespace{});
  core::ParallelFor(keys.size(), parallelism, [&](size_t i) {
    found[i] = registries.at(keys[i].first)->CheckNamespace(keys[i].second);
  }, cancel);

  std::vector<Change> kept;
  std::set<std::pair<std::string, std::string>> reported;  // (rule, source repository)
  std::map<Key, size_t> created;  // (endpoint, namespace) -> index in plan->namespaces
  for (auto& c : plan->changes) {
    if (!Pushes(c)) {
      kept.push_back(std::move(c));
      continue;
    }
    const auto& ns = found[index.at({c.destination_endpoint, c.destination_repository})];
    const std::string problem = !ns.ok() ? ns.status().message() : ns->refusal;
    if (!problem.empty()) {
      if (reported.insert({c.rule, c.source_repository}).second)
        plan->errors.push_back({c.rule, c.source_repository, problem});
      continue;
    }
    if (!ns->name.empty() && !ns->exists) {
      auto [it, first] = created.emplace(Key{c.destination_endpoint, ns->name}, plan->namespaces.size());
      if (first) plan->namespaces.push_back({c.destination_endpoint, ns->name, c.rule, {}});
      auto& repos = plan->namespaces[it->second].repositories;
      if (std::find(repos.begin(), repos.end(), c.destination_repository) == repos.end())
        repos.push_back(c.destination_repository);
    }
    kept.push_back(std::move(c));
  }
  plan->changes = std::move(kept);
}

}  // namespace crossdock::planner
