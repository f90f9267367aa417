#include "planner/plan.h"

namespace crossdock::planner {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kCreate: return "create";
    case Action::kUpdate: return "update";
    case Action::kDelete: return "delete";
    case Action::kSkip: return "skip";
    case Action::kAdopt: return "adopt";
  }
  return "?";
}

std::optional<Action> ActionFromName(std::string_view name) {
  for (Action a : {Action::kCreate, Action::kUpdate, Action::kDelete, Action::kSkip, Action::kAdopt})
    if (name == ActionName(a)) return a;
  return std::nullopt;
}

Summary Plan::summary() const {
  Summary s;
  for (const auto& c : changes) {
    switch (c.action) {
      case Action::kCreate: ++s.create; break;
      case Action::kUpdate: ++s.update; break;
      case Action::kDelete: ++s.del; break;
      case Action::kSkip: ++s.skip; break;
      case Action::kAdopt: ++s.adopt; break;
    }
  }
  return s;
}

bool Plan::has_changes() const {
  if (refresh_only) return !drift.empty();
  for (const auto& c : changes)
    if (c.action != Action::kSkip) return true;
  return false;
}

}  // namespace crossdock::planner
