#include "planner/planner.h"

#include "planner/namespaces.h"
#include "planner/observe.h"
#include "planner/select.h"

namespace crossdock::planner {

Plan MakePlan(const core::Config& config, const state::State& state,
              const std::map<std::string, providers::Registry*>& registries,
              const PlanOptions& options) {
  Desired desired;
  Observed observed;
  {
    // What the selection lists is in DESIRED once observed: freed before Diff.
    Selection selection =
        Select(config, registries, {options.rules, options.parallelism, options.cancel});
    Observe(config, selection, state, registries,
            {options.parallelism, options.refresh, options.refresh_only, options.cancel},
            &desired, &observed);
  }
  Plan plan = Diff(config, desired, state, observed, {options.refresh_only});
  plan.max_deletes = config.settings.max_deletes;
  if (!options.refresh_only)
    PlanNamespaces(registries, options.parallelism, options.cancel, &plan);
  return plan;
}

}  // namespace crossdock::planner
