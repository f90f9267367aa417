#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::planner {

namespace {

const char* kGreen = "\033[32m";
const char* kYellow = "\033[33m";
const char* kRed = "\033[31m";
const char* kBold = "\033[1m";
const char* kReset = "\033[0m";

std::string Paint(bool color, const char* code, const std::string& s) {
  return color ? std::string(code) + s + kReset : s;
}

std::string Ref(const Change& c) {
  return c.destination_host + "/" + c.destination_repository + core::RefSuffix(c.tag);
}

std::string Line(const Change& c, bool color) {
  std::string src = c.source_repository + core::RefSuffix(c.tag);
  if (!c.accessory_of.empty()) src += " (signature/attestation of " + c.accessory_of + ")";
  if (!c.manifest_bytes.empty())
    src = "referrers index of " + c.accessory_of + ", written by crossdock: " + c.reason;
  switch (c.action) {
    case Action::kCreate:
      return fmt::format("  {} {}  {}\n      from {}\n", Paint(color, kGreen, "+"), Ref(c),
                         core::ShortDigest(c.source_digest), src);
    case Action::kUpdate:
      return fmt::format("  {} {}  {} -> {}\n      from {}\n", Paint(color, kYellow, "~"), Ref(c),
                         core::ShortDigest(c.destination_digest.value_or("")),
                         core::ShortDigest(c.source_digest), src);
    case Action::kDelete:
      return fmt::format("  {} {}  {}{}\n", Paint(color, kRed, "-"), Ref(c),
                         c.destination_digest ? core::ShortDigest(*c.destination_digest)
                                              : std::string("(absent)"),
                         c.reason.empty() ? "" : "\n      " + c.reason);
    case Action::kAdopt:
      return fmt::format("  {} {}  {}\n      adopted: {}\n", Paint(color, kGreen, "="), Ref(c),
                         core::ShortDigest(c.source_digest), c.reason);
    case Action::kSkip:
      return fmt::format("  {} {}  {}\n      skipped: {}\n", Paint(color, kYellow, "!"), Ref(c),
                         core::ShortDigest(c.destination_digest.value_or("")), c.reason);
  }
  return "";
}

}  // namespace

std::string DeletionGuard(const Plan& plan) {
  const int deletes = plan.summary().del;
  const std::optional<long>& max_deletes = plan.max_deletes;
  if (!max_deletes || deletes <= *max_deletes) return "";
  return fmt::format("this plan deletes {} tags, more than [settings] max_deletes = {}; apply "
                     "refuses it unless given --allow-deletes", deletes, *max_deletes);
}

namespace {

// SummaryLine without the shard.
std::string Summarize(const Plan& plan) {
  // A plan with errors never says the destinations match: what failed was not looked at.
  const size_t n = plan.errors.size();
  const std::string incomplete =
      n == 0 ? ""
             : fmt::format(" The plan is incomplete: {} error{} above.", n, n == 1 ? "" : "s");
  if (plan.refresh_only) {
    if (plan.drift.empty())
      return n == 0 ? "No changes. The state matches the destinations."
                    : "No differences found where crossdock could look." + incomplete;
    return fmt::format("Refresh: {} state record{} to update.", plan.drift.size(),
                       plan.drift.size() == 1 ? "" : "s") +
           incomplete;
  }
  Summary s = plan.summary();
  if (s.create + s.update + s.del + s.adopt == 0) {
    std::string line = n == 0 ? "No changes. Destinations match the desired state."
                              : "No changes found where crossdock could look.";
    if (s.skip) line += fmt::format(" {} skipped.", s.skip);
    return line + incomplete;
  }
  std::string line =
      fmt::format("Plan: {} to copy, {} to replace, {} to delete.", s.create, s.update, s.del);
  if (s.adopt) line += fmt::format(" {} to adopt.", s.adopt);
  if (!plan.namespaces.empty())
    line += fmt::format(" {} namespace{} to create.", plan.namespaces.size(),
                        plan.namespaces.size() == 1 ? "" : "s");
  if (s.skip) line += fmt::format(" {} skipped.", s.skip);
  return line + incomplete;
}

}  // namespace

std::string SummaryLine(const Plan& plan) {
  return (plan.shard ? "Shard " + plan.shard->Name() + ": " : "") + Summarize(plan);
}

std::string RenderPlanText(const Plan& plan, bool color) {
  std::string out;
  const auto& list = plan.refresh_only ? plan.drift : plan.changes;
  if (!list.empty()) {
    if (plan.refresh_only) {
      out += "crossdock found these differences between the state and the destinations:\n";
    } else {
      out += "crossdock will perform the following actions:\n";
    }
    std::string current;
    std::set<const NamespaceChange*> shown;
    for (const auto& c : list) {
      if (c.rule != current) {
        current = c.rule;
        out += "\n" + Paint(color, kBold,
                            fmt::format("  # rule \"{}\" ({} -> {})", c.rule, c.source_endpoint,
                                        c.destination_endpoint)) +
               "\n";
      }
      // A namespace to create goes just before the first tag that needs it.
      for (const auto& n : plan.namespaces) {
        if (n.endpoint != c.destination_endpoint || shown.count(&n) ||
            std::find(n.repositories.begin(), n.repositories.end(), c.destination_repository) ==
                n.repositories.end())
          continue;
        shown.insert(&n);
        out += fmt::format("  {} namespace {}/{}\n", Paint(color, kGreen, "+"), n.endpoint, n.name);
      }
      if (plan.refresh_only) {
        out += fmt::format("  {} {}  {}\n", Paint(color, kRed, "-"), Ref(c), c.reason);
      } else {
        out += Line(c, color);
      }
    }
    out += "\n";
  }
  for (const auto& r : plan.disabled_rules)
    out += fmt::format("Rule \"{}\" is disabled (enabled = false): not planned.\n", r);
  for (const auto& w : plan.warnings) out += Paint(color, kYellow, "Warning: ") + w + "\n";
  if (!plan.errors.empty()) {
    out += Paint(color, kRed, "Errors:") + "\n";
    for (const auto& e : plan.errors) {
      out += fmt::format("  rule \"{}\"{}: {}\n", e.rule,
                         e.source_repository.empty()
                             ? std::string()
                             : fmt::format(", repository \"{}\"", e.source_repository),
                         e.message);
    }
    out += "\n";
  }
  out += Paint(color, kBold, SummaryLine(plan)) + "\n";
  if (const std::string guard = DeletionGuard(plan); !guard.empty())
    out += Paint(color, kRed, "Error: ") + guard + ".\n";
  return out;
}

}  // namespace crossdock::planner
