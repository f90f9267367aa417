// The plan as a pull/merge request comment (issue 14): a hidden marker that a workflow
// finds its own comment by, the summary line, a warning when anything is deleted, one
// folded <details> block per rule with a table of its changes, errors, namespaces. Kept
// under kMaxMarkdown characters by cutting rows from the largest rules, visibly.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::planner {

namespace {

// Text from anywhere (messages, reasons) made inert: HTML and Markdown metacharacters
// escaped, so a tag named "<script>" or a message holding "|" renders as text.
std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\n': out += ' '; break;
      case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
      case '~':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

// A name (repository, tag, digest) as inline code; valid names hold no backtick.
std::string Code(const std::string& s) { return "`" + Escape(s) + "`"; }

const char* Word(Action a) {
  switch (a) {
    case Action::kCreate: return "copy";
    case Action::kUpdate: return "replace";
    case Action::kDelete: return "**delete**";
    case Action::kSkip: return "skip";
    case Action::kAdopt: return "adopt";
  }
  return "";
}

std::string Row(const Change& c) {
  const std::string digest =
      c.action == Action::kDelete || c.action == Action::kSkip
          ? (c.destination_digest ? core::ShortDigest(*c.destination_digest) : "absent")
          : core::ShortDigest(c.source_digest);
  std::string from = c.source_repository.empty() ? "" : Code(c.source_endpoint + "/" + c.source_repository);
  if (!c.reason.empty() && c.action != Action::kCreate && c.action != Action::kUpdate)
    from += (from.empty() ? "" : "<br>") + Escape(c.reason);
  return fmt::format("| {} | {} | {} | {} | {} |\n", Word(c.action),
                     Code(c.destination_endpoint + "/" + c.destination_repository),
                     Code(c.tag), Code(digest), from);
}

struct RuleBlock {
  std::string name;
  std::vector<std::string> rows;
  size_t shown = 0;
  Summary counts;
  std::string endpoints;  // "src -> dst, dst2"
};

std::string Counts(const Summary& s) {
  std::vector<std::string> parts;
  if (s.create) parts.push_back(fmt::format("{} to copy", s.create));
  if (s.update) parts.push_back(fmt::format("{} to replace", s.update));
  if (s.del) parts.push_back(fmt::format("{} to delete", s.del));
  if (s.adopt) parts.push_back(fmt::format("{} to adopt", s.adopt));
  if (s.skip) parts.push_back(fmt::format("{} skipped", s.skip));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::string Thousands(size_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

constexpr const char* kTableHead = "| action | destination | tag | digest | from |\n|---|---|---|---|---|\n";

std::string CutLine(const RuleBlock& r) {
  return fmt::format("\n… {} more change{} in rule \"{}\" not shown\n", Thousands(r.rows.size() - r.shown),
                     r.rows.size() - r.shown == 1 ? "" : "s", Escape(r.name));
}

std::string Open(const RuleBlock& r) {
  return fmt::format("<details><summary>rule <code>{}</code> ({}): {}</summary>\n\n{}",
                     Escape(r.name), Escape(r.endpoints), Counts(r.counts), kTableHead);
}

constexpr const char* kClose = "\n</details>\n\n";

}  // namespace

std::string RenderPlanMarkdown(const Plan& plan, const std::string& config_path) {
  const std::string guard = DeletionGuard(plan);
  const std::string marker = "<!-- crossdock-plan: " + Escape(config_path) + " -->\n";
  Summary total = plan.summary();
  if (plan.changes.empty() && plan.errors.empty() && plan.namespaces.empty())
    return marker + "No changes. Destinations match the desired state.\n";

  // The text plan's summary, whose errors come last here too.
  std::string summary = SummaryLine(plan);
  if (auto at = summary.find(" above."); at != std::string::npos) summary.replace(at, 7, " below.");
  std::string head = marker + "### crossdock plan\n\n**" + Escape(summary) + "**\n\n";
  if (!guard.empty()) head += "> [!CAUTION]\n> **Error:** " + Escape(guard) + ".\n\n";
  if (total.del > 0) {
    std::map<std::string, int> by_endpoint;
    for (const auto& c : plan.changes)
      if (c.action == Action::kDelete) ++by_endpoint[c.destination_endpoint];
    std::string where;
    for (const auto& [e, n] : by_endpoint)
      where += (where.empty() ? "" : ", ") + fmt::format("{} from {}", n, Code(e));
    head += fmt::format("> [!WARNING]\n> This plan deletes {} tag{}: {}.\n\n", total.del,
                        total.del == 1 ? "" : "s", where);
  }
  if (!plan.namespaces.empty()) {
    head += "Namespaces to create:\n\n";
    for (const auto& n : plan.namespaces)
      head += fmt::format("- {} (rule {})\n", Code(n.endpoint + "/" + n.name), Code(n.rule));
    head += "\n";
  }

  std::vector<RuleBlock> rules;
  std::map<std::string, size_t> index;
  for (const auto& c : plan.changes) {
    auto [it, added] = index.emplace(c.rule, rules.size());
    if (added) rules.push_back({c.rule, {}, 0, {}, ""});
    RuleBlock& r = rules[it->second];
    r.rows.push_back(Row(c));
    switch (c.action) {
      case Action::kCreate: ++r.counts.create; break;
      case Action::kUpdate: ++r.counts.update; break;
      case Action::kDelete: ++r.counts.del; break;
      case Action::kSkip: ++r.counts.skip; break;
      case Action::kAdopt: ++r.counts.adopt; break;
    }
    const std::string pair = c.source_endpoint + " -> " + c.destination_endpoint;
    if (r.endpoints.find(pair) == std::string::npos)
      r.endpoints += (r.endpoints.empty() ? "" : ", ") + pair;
  }
  std::string tail;
  if (!plan.errors.empty()) {
    tail += "#### Errors\n\n";
    for (const auto& e : plan.errors)
      tail += fmt::format("- rule {}{}: {}\n", Code(e.rule),
                          e.source_repository.empty() ? "" : ", repository " + Code(e.source_repository),
                          Escape(e.message));
    tail += "\n";
  }

  // Cut rows from the largest rule first until the comment fits; counts stay exact.
  size_t size = head.size() + tail.size();
  for (auto& r : rules) {
    r.shown = r.rows.size();
    size += Open(r).size() + std::string(kClose).size();
    for (const auto& row : r.rows) size += row.size();
  }
  while (size > kMaxMarkdown) {
    auto largest = std::max_element(rules.begin(), rules.end(), [](const RuleBlock& a, const RuleBlock& b) {
      return a.shown < b.shown;
    });
    if (largest == rules.end() || largest->shown == 0) break;
    const size_t before = largest->shown == largest->rows.size() ? 0 : CutLine(*largest).size();
    --largest->shown;
    size -= largest->rows[largest->shown].size();
    size = size - before + CutLine(*largest).size();
  }
  std::string out = head;
  for (const auto& r : rules) {
    out += Open(r);
    for (size_t i = 0; i < r.shown; ++i) out += r.rows[i];
    if (r.shown < r.rows.size()) out += CutLine(r);
    out += kClose;
  }
  return out + tail;
}

}  // namespace crossdock::planner
