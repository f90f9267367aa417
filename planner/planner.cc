#include "planner/planner.h"

#include <utility>

#include "planner/batches.h"
#include "planner/namespaces.h"
#include "planner/observe.h"
#include "planner/select.h"

namespace crossdock::planner {

Plan MakePlan(const core::Config& config, const state::State& state,
              const std::map<std::string, providers::Registry*>& registries,
              const PlanOptions& options) {
  Selection selection = Select(config, registries,
                               {options.rules, options.parallelism, options.cancel, options.shard});
  Plan plan = PlanInBatches(
      config, std::move(selection), state, registries,
      {options.parallelism, options.refresh, options.refresh_only, options.cancel, options.shard},
      {options.refresh_only, options.shard}, options.batch_tags);
  plan.max_deletes = config.settings.max_deletes;
  plan.shard = options.shard;
  if (!options.refresh_only)
    PlanNamespaces(registries, options.parallelism, options.cancel, &plan);
  return plan;
}

}  // namespace crossdock::planner
