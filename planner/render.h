// Rendering of a Plan for people (Terraform-like text) and for PR bots (JSON).
// Used by cmd/plan and cmd/apply.
#pragma once

#include <string>

#include "planner/plan.h"

namespace crossdock::planner {

// The plan as text: changes grouped by rule, "+" copy, "~" replace, "-" delete,
// "!" skip, then errors and the summary line. COLOR adds ANSI colours.
std::string RenderPlanText(const Plan& plan, bool color);

// The plan JSON documented in the README ("format_version": "1"), one line.
std::string RenderPlanJson(const Plan& plan);

// "Plan: 3 to copy, 1 to replace, 2 to delete." or "No changes. …".
std::string SummaryLine(const Plan& plan);

}  // namespace crossdock::planner
