// Rendering of a Plan for people (Terraform-like text) and for PR bots (JSON).
// Used by cmd/plan and cmd/apply.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "planner/plan.h"

namespace crossdock::planner {

// The plan as text: changes grouped by rule, "+" copy, "~" replace, "-" delete,
// "!" skip, then errors and the summary line (which names the shard of a shard's
// plan). COLOR adds ANSI colours.
std::string RenderPlanText(const Plan& plan, bool color);

// The plan JSON documented in the README ("format_version": "1"), one line.
std::string RenderPlanJson(const Plan& plan);

// The most characters RenderPlanMarkdown returns: under GitHub's 65,536 for a comment.
inline constexpr size_t kMaxMarkdown = 60000;

// The plan as a pull/merge request comment (README "Reviewing changes in pull
// requests"): first line the marker "<!-- crossdock-plan: CONFIG_PATH -->", then the
// summary, a deletion warning, namespaces, one <details> table per rule, errors. Rows
// are cut from the largest rules (visibly) to stay under kMaxMarkdown characters.
// DeletionGuard's message, when there is one, is a CAUTION line under the summary.
std::string RenderPlanMarkdown(const Plan& plan, const std::string& config_path);

// When PLAN deletes more tags than its max_deletes ([settings] max_deletes), what the
// reviewer and apply are told; "" otherwise. Every rendering shows it.
std::string DeletionGuard(const Plan& plan);

// "Plan: 3 to copy, 1 to replace, 2 to delete." or "No changes. …"; a shard's plan
// starts with "Shard I/N: ".
std::string SummaryLine(const Plan& plan);

}  // namespace crossdock::planner
