// PlanNamespaces: the last stage of planning. Every destination repository a plan
// pushes to is checked against its registry's namespaces (Registry::CheckNamespace:
// a Harbor project, a Quay organisation): a missing one becomes a
// Plan::namespaces entry that apply creates first; one crossdock cannot push to
// becomes an error for that repository, whose pushes leave the plan. Used by MakePlan.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "planner/plan.h"
#include "providers/registry.h"

namespace crossdock::planner {

void PlanNamespaces(const std::map<std::string, providers::Registry*>& registries, int parallelism,
                    const std::atomic<bool>* cancel, Plan* plan);

}  // namespace crossdock::planner
