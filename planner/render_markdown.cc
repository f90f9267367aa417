// The plan as a pull/merge request comment (issue 14): a hidden marker that a workflow
// finds its own comment by, the summary line, a warning when anything is deleted, one
// folded <details> block per rule with a table of its changes, errors, namespaces. Kept
// under kMaxMarkdown characters by cutting rows from the largest rules, visibly.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "planner/render.h"

namespace crossdock::planner {

namespace {

// A line break of any kind (CommonMark ends lines at "\r" too) or another control
// character: shown as a space, so a message cannot end a table row or start a block.
bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// Text from anywhere (names, messages, reasons) made inert inside raw HTML (the
// marker, <summary>): HTML metacharacters as entities. Markdown is not parsed there,
// so backslashes would show.
std::string Html(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += IsControl(c) ? ' ' : c;
    }
  }
  return out;
}

// The same text made inert in Markdown (lists, table cells): HTML metacharacters as
// entities and Markdown's own backslash-escaped, so a tag named "<script>" or a
// message holding "|" or "_" renders as the text it is.
std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
      case '~':
        out += '\\';
        out += c;
        break;
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += IsControl(c) ? ' ' : c;
    }
  }
  return out;
}

// A name (repository, tag, digest) in monospace, in Markdown. <code> rather than
// backticks: a code span shows entities and backslashes as they are.
std::string Code(const std::string& s) { return "<code>" + Escape(s) + "</code>"; }

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

// REFRESH: a --refresh-only plan's drift entry, which changes a state record only.
std::string Row(const Change& c, bool refresh) {
  const std::string digest =
      refresh || c.action == Action::kDelete || c.action == Action::kSkip
          ? (c.destination_digest ? core::ShortDigest(*c.destination_digest) : "absent")
          : core::ShortDigest(c.source_digest);
  std::string from = c.source_repository.empty() ? "" : Code(c.source_endpoint + "/" + c.source_repository);
  if (!c.reason.empty() && (refresh || (c.action != Action::kCreate && c.action != Action::kUpdate)))
    from += (from.empty() ? "" : "<br>") + Escape(c.reason);
  return fmt::format("| {} | {} | {} | {} | {} |\n", refresh ? "refresh state" : Word(c.action),
                     Code(c.destination_endpoint + "/" + c.destination_repository),
                     Code(c.tag), Code(digest), from);
}

struct RuleBlock {
  std::string name;
  std::vector<std::string> rows;
  size_t shown = 0;        // rows[0, shown) are in the comment
  size_t shown_bytes = 0;  // their characters
  Summary counts;
  size_t drift = 0;       // refresh-only plans: state records to update
  std::vector<std::string> pairs;  // "src -> dst", each once
  std::string endpoints;           // the pairs joined: "src -> dst, src -> dr"
};

std::string Counts(const RuleBlock& r) {
  const Summary& s = r.counts;
  std::vector<std::string> parts;
  if (r.drift) parts.push_back(fmt::format("{} state record{} to update", r.drift, r.drift == 1 ? "" : "s"));
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
                     Html(r.name), Html(r.endpoints), Counts(r), kTableHead);
}

constexpr const char* kClose = "\n</details>\n\n";

// What R's fold takes in the comment, with the rows it shows and its cut line.
size_t BlockSize(const RuleBlock& r) {
  size_t size = Open(r).size() + std::string_view(kClose).size() + r.shown_bytes;
  if (r.shown < r.rows.size()) size += CutLine(r).size();
  return size;
}

// The most characters the line saying how many rules were left out takes.
constexpr size_t kMaxFoldLine = 80;

// The most characters the errors, and the namespaces, may take: the rules' tables
// are cut first, but thousands of failing repositories must not crowd them out.
constexpr size_t kMaxList = kMaxMarkdown / 4;

// ITEMS as a Markdown list under HEADING, cut visibly at kMaxList characters.
std::string List(const std::string& heading, const std::vector<std::string>& items,
                 const std::string& what) {
  if (items.empty()) return "";
  std::string out = heading + "\n\n";
  size_t i = 0;
  for (; i < items.size() && out.size() + items[i].size() <= kMaxList; ++i) out += items[i];
  if (i < items.size())
    out += fmt::format("- … {} more {} not shown: run `crossdock plan` to see them all\n",
                       Thousands(items.size() - i), what);
  return out + "\n";
}

}  // namespace

std::string RenderPlanMarkdown(const Plan& plan, const std::string& config_path) {
  const std::string guard = DeletionGuard(plan);
  // A shard's comment has a marker of its own, so that each shard's is found again.
  const std::string marker = "<!-- crossdock-plan: " + Html(config_path) +
                             (plan.shard ? " shard " + plan.shard->Name() : "") + " -->\n";
  Summary total = plan.summary();
  const bool refresh = plan.refresh_only;
  const std::vector<Change>& listed = refresh ? plan.drift : plan.changes;
  if (listed.empty() && plan.errors.empty() && plan.namespaces.empty())
    return marker + SummaryLine(plan) + "\n";  // "No changes. Destinations match …"

  // The text plan's summary, whose errors come last here too.
  std::string summary = SummaryLine(plan);
  if (auto at = summary.find(" above."); at != std::string::npos) summary.replace(at, 7, " below.");
  std::string head = marker + "### crossdock plan" +
                     (plan.shard ? ", shard " + plan.shard->Name() : "") + "\n\n**" +
                     Escape(summary) + "**\n\n";
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
  std::vector<std::string> namespaces;
  for (const auto& n : plan.namespaces)
    namespaces.push_back(fmt::format("- {} (rule {})\n", Code(n.endpoint + "/" + n.name), Code(n.rule)));
  head += List("Namespaces to create:", namespaces, "namespaces");

  std::vector<RuleBlock> rules;
  std::map<std::string, size_t> index;
  for (const auto& c : listed) {
    auto [it, added] = index.emplace(c.rule, rules.size());
    if (added) {
      rules.emplace_back();
      rules.back().name = c.rule;
    }
    RuleBlock& r = rules[it->second];
    r.rows.push_back(Row(c, refresh));
    if (refresh) {
      ++r.drift;
    } else {
      switch (c.action) {
        case Action::kCreate: ++r.counts.create; break;
        case Action::kUpdate: ++r.counts.update; break;
        case Action::kDelete: ++r.counts.del; break;
        case Action::kSkip: ++r.counts.skip; break;
        case Action::kAdopt: ++r.counts.adopt; break;
      }
    }
    const std::string pair = c.source_endpoint + " -> " + c.destination_endpoint;
    if (std::find(r.pairs.begin(), r.pairs.end(), pair) == r.pairs.end()) {
      r.pairs.push_back(pair);
      r.endpoints += (r.endpoints.empty() ? "" : ", ") + pair;
    }
  }
  std::vector<std::string> errors, warnings;
  for (const auto& e : plan.errors)
    errors.push_back(fmt::format("- rule {}{}: {}\n", Code(e.rule),
                                 e.source_repository.empty() ? "" : ", repository " + Code(e.source_repository),
                                 Escape(e.message)));
  for (const auto& w : plan.warnings) warnings.push_back("- " + Escape(w) + "\n");
  const std::string tail =
      List("#### Errors", errors, "errors") + List("#### Warnings", warnings, "warnings");

  // Cut rows from the largest rule first until the comment fits; counts stay exact.
  // Then, should the rules' folds alone be too many (hundreds of rules), whole rules
  // from the last up, said in one line.
  size_t size = head.size() + tail.size();
  for (auto& r : rules) {
    r.shown = r.rows.size();
    for (const auto& row : r.rows) r.shown_bytes += row.size();
    size += BlockSize(r);
  }
  while (size >= kMaxMarkdown) {
    auto largest = std::max_element(rules.begin(), rules.end(), [](const RuleBlock& a, const RuleBlock& b) {
      return a.shown < b.shown;
    });
    if (largest == rules.end() || largest->shown == 0) break;
    size -= BlockSize(*largest);
    --largest->shown;
    largest->shown_bytes -= largest->rows[largest->shown].size();
    size += BlockSize(*largest);
  }
  size_t folded_changes = 0, kept = rules.size();
  while (size + (kept < rules.size() ? kMaxFoldLine : 0) >= kMaxMarkdown && kept > 0) {
    --kept;
    size -= BlockSize(rules[kept]);
    folded_changes += rules[kept].rows.size();
  }
  std::string out = head;
  for (size_t k = 0; k < kept; ++k) {
    const RuleBlock& r = rules[k];
    out += Open(r);
    for (size_t i = 0; i < r.shown; ++i) out += r.rows[i];
    if (r.shown < r.rows.size()) out += CutLine(r);
    out += kClose;
  }
  if (kept < rules.size())
    out += fmt::format("… {} more rule{} ({} change{}) not shown\n\n", Thousands(rules.size() - kept),
                       rules.size() - kept == 1 ? "" : "s", Thousands(folded_changes),
                       folded_changes == 1 ? "" : "s");
  return out + tail;
}

}  // namespace crossdock::planner
