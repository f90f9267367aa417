// Versions and ranges as Masterminds/semver v3 reads them (version.go, constraints.go at
// v3.4+, the release regsync's semverRange builds on). Each comparator is compiled
// into plain comparisons against exact versions; where a wildcard ends a range, the
// bound is "X.Y.Z-0", the lowest version (pre-releases included) of the next
// MAJOR/MINOR/PATCH, because Masterminds tests the parts ("~1.2" wants minor == 2),
// which excludes 1.3.0-rc1 as well as 1.3.0. Choices where Masterminds is loose:
//  - numeric parts may not have leading zeros (Masterminds' NewVersion coerces
//    "01" to 1); a 'V' prefix is accepted as well as 'v', in tags and ranges;
//  - a range part is a number or exactly one of x, X, *; parts after a wildcard are
//    checked but ignored, as Masterminds ignores them ("1.x.3" is "1.x");
//  - numeric pre-release identifiers of any length compare as numbers (Masterminds
//    compares those beyond 64 bits as text).
#include "core/semver.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

namespace crossdock::core {

namespace {

constexpr std::uint64_t kMaxPart = std::numeric_limits<std::uint64_t>::max();

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentifierChar(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}
bool IsNumeric(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}
bool IsWildcard(std::string_view s) { return s == "x" || s == "X" || s == "*"; }

std::vector<std::string_view> Split(std::string_view s, std::string_view separator) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t end; (end = s.find(separator, start)) != std::string_view::npos;
       start = end + separator.size()) {
    out.push_back(s.substr(start, end - start));
  }
  out.push_back(s.substr(start));
  return out;
}

// A version as written in a tag or a range: missing and wildcard parts are 0 in
// VERSION, and EXACT_PARTS counts the numeric parts before the first of them.
struct WrittenVersion {
  Version version;
  int exact_parts = 3;
};

// Why TEXT is not a version. NOT_A_VERSION: it does not even start with a number,
// which needs no more explanation than the text itself ("latest").
struct ParseFailure {
  std::string reason;
  bool not_a_version = false;
};

// "" when the dot-separated identifiers in TEXT, a pre-release (PRERELEASE) or build
// metadata, are well formed, else why not.
std::string CheckIdentifiers(std::string_view text, bool prerelease) {
  const std::string what = prerelease ? "pre-release " : "build metadata ";
  if (text.empty()) {
    return prerelease ? "\"-\" must be followed by a pre-release"
                      : "\"+\" must be followed by build metadata";
  }
  for (std::string_view id : Split(text, ".")) {
    if (id.empty()) return what + Quote(text) + " has an empty identifier";
    if (!std::all_of(id.begin(), id.end(), IsIdentifierChar)) {
      return what + Quote(text) + " may hold only ASCII letters, digits, hyphens and dots";
    }
    if (prerelease && IsNumeric(id) && id.size() > 1 && id[0] == '0') {
      return "pre-release identifier " + Quote(id) + " has a leading zero";
    }
  }
  return "";
}

// Parses [v|V]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]; with ALLOW_WILDCARDS a
// part may be x, X or *. The numbers are checked first, so "latest-1" is simply not
// a version.
std::optional<ParseFailure> ParseWritten(std::string_view text, bool allow_wildcards,
                                         WrittenVersion* out) {
  std::string_view core = text;
  if (!core.empty() && (core[0] == 'v' || core[0] == 'V')) core.remove_prefix(1);
  std::optional<std::string_view> prerelease, metadata;
  if (size_t plus = core.find('+'); plus != std::string_view::npos) {
    metadata = core.substr(plus + 1);
    core = core.substr(0, plus);
  }
  if (size_t dash = core.find('-'); dash != std::string_view::npos) {
    prerelease = core.substr(dash + 1);
    core = core.substr(0, dash);
  }

  Version& v = out->version;
  v = Version{};
  v.original = std::string(text);
  const std::vector<std::string_view> parts = Split(core, ".");
  std::array<std::uint64_t*, 3> fields = {&v.major, &v.minor, &v.patch};
  out->exact_parts = std::min<int>(3, static_cast<int>(parts.size()));
  bool wildcard_seen = false;
  for (size_t i = 0; i < parts.size() && i < 3; ++i) {
    std::string_view part = parts[i];
    if (allow_wildcards && IsWildcard(part)) {
      if (!wildcard_seen) out->exact_parts = static_cast<int>(i);
      wildcard_seen = true;
      continue;
    }
    if (!IsNumeric(part)) {
      if (i == 0) return ParseFailure{"", true};
      if (part.empty()) return ParseFailure{Quote(core) + " has an empty numeric part"};
      return ParseFailure{Quote(part) + " is not a number"};
    }
    if (part.size() > 1 && part[0] == '0') {
      return ParseFailure{Quote(part) + " has a leading zero"};
    }
    std::uint64_t n = 0;
    for (char c : part) {
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (n > (kMaxPart - digit) / 10) return ParseFailure{Quote(part) + " is too large"};
      n = n * 10 + digit;
    }
    if (!wildcard_seen) *fields[i] = n;
  }
  if (parts.size() > 3) {
    return ParseFailure{Quote(core) + " has more than three numeric parts"};
  }
  if (prerelease) {
    if (std::string why = CheckIdentifiers(*prerelease, true); !why.empty()) {
      return ParseFailure{why};
    }
    for (std::string_view id : Split(*prerelease, ".")) v.prerelease.emplace_back(id);
  }
  if (metadata) {
    if (std::string why = CheckIdentifiers(*metadata, false); !why.empty()) {
      return ParseFailure{why};
    }
    v.metadata = std::string(*metadata);
  }
  return std::nullopt;
}

// Pre-release identifiers: numeric ones (no leading zeros, so longer is larger) are
// lower than alphanumeric ones, which compare as ASCII text (semver 2.0.0 item 11).
int CompareIdentifiers(std::string_view a, std::string_view b) {
  const bool a_numeric = IsNumeric(a), b_numeric = IsNumeric(b);
  if (a_numeric != b_numeric) return a_numeric ? -1 : 1;
  if (a_numeric && a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int ComparePrereleases(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (int c = CompareIdentifiers(a[i], b[i]); c != 0) return c;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// The lowest version above every version whose first PARTS (1..3) numbers are those
// of V: "X.Y.Z-0" with the last kept part incremented, carrying on overflow. nullopt
// when there is none (V's kept parts are all the largest number).
std::optional<Version> Successor(const Version& v, int parts) {
  std::array<std::uint64_t, 3> n = {v.major, v.minor, v.patch};
  for (int i = parts; i < 3; ++i) n[i] = 0;
  int i = parts - 1;
  while (i >= 0 && n[i] == kMaxPart) n[i--] = 0;
  if (i < 0) return std::nullopt;
  ++n[i];
  Version next;
  next.major = n[0];
  next.minor = n[1];
  next.patch = n[2];
  next.prerelease = {"0"};
  return next;
}

// 0.0.0-0: no version is lower.
Version Lowest() {
  Version v;
  v.prerelease = {"0"};
  return v;
}

// One comparator as written: its operator, version and wildcard depth.
enum class Operator { kEq, kNe, kGt, kLt, kGe, kLe, kTilde, kCaret };
struct WrittenComparator {
  Operator op = Operator::kEq;
  WrittenVersion version;
};

std::optional<Operator> OperatorNamed(std::string_view s) {
  if (s.empty() || s == "=") return Operator::kEq;
  if (s == "!=") return Operator::kNe;
  if (s == ">") return Operator::kGt;
  if (s == "<") return Operator::kLt;
  if (s == ">=" || s == "=>") return Operator::kGe;
  if (s == "<=" || s == "=<") return Operator::kLe;
  if (s == "~" || s == "~>") return Operator::kTilde;
  if (s == "^") return Operator::kCaret;
  return std::nullopt;
}

bool IsOperatorChar(char c) {
  return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' || c == '^';
}

// Reads the comparators of one alternative (the text between "||"): each is an
// optional operator, optional spaces and a version, separated from the next by spaces
// or one comma; "A - B" (spaces around the hyphen, no operators) is ">=A <=B".
// Returns the reason the text is malformed, or "". Unlike Masterminds, whose
// rewriting of hyphen ranges eats the space before them, "<2 1.2 - 1.4" is accepted.
std::string ParseAlternative(std::string_view s, std::vector<WrittenComparator>* out) {
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < s.size() && IsSpace(s[i])) ++i;
  };
  // Reads an operator and a version at I; sets *HAD_OPERATOR.
  auto read_one = [&](WrittenComparator* c, bool* had_operator) -> std::string {
    size_t start = i;
    while (i < s.size() && IsOperatorChar(s[i])) ++i;
    std::string_view op_text = s.substr(start, i - start);
    std::optional<Operator> op = OperatorNamed(op_text);
    if (!op) return Quote(op_text) + " is not an operator";
    *had_operator = !op_text.empty();
    skip_spaces();
    start = i;
    while (i < s.size() && !IsSpace(s[i]) && s[i] != ',') ++i;
    std::string_view token = s.substr(start, i - start);
    if (token.empty()) return Quote(op_text) + " must be followed by a version";
    c->op = *op;
    if (auto failure = ParseWritten(token, true, &c->version)) {
      return failure->not_a_version ? Quote(token) + " is not a version" : failure->reason;
    }
    return "";
  };
  const std::string hyphen_error =
      "\" - \" must join two versions without operators, as in \"1.2 - 1.4\"";

  skip_spaces();
  for (;;) {
    if (i == s.size() || s[i] == ',') return "\",\" must stand between two comparators";
    WrittenComparator c;
    bool had_operator = false;
    if (std::string why = read_one(&c, &had_operator); !why.empty()) return why;
    // A hyphen range: spaces, '-', spaces, then the upper version.
    size_t after = i;
    skip_spaces();
    if (i > after && i + 1 < s.size() && s[i] == '-' && IsSpace(s[i + 1])) {
      ++i;
      skip_spaces();
      WrittenComparator upper;
      bool upper_had_operator = false;
      if (i == s.size() || s[i] == ',') return hyphen_error;
      if (std::string why = read_one(&upper, &upper_had_operator); !why.empty()) return why;
      if (had_operator || upper_had_operator) return hyphen_error;
      c.op = Operator::kGe;
      upper.op = Operator::kLe;
      out->push_back(std::move(c));
      out->push_back(std::move(upper));
    } else {
      if (i < s.size() && s[i] == '-' && i + 1 == s.size()) return hyphen_error;
      out->push_back(std::move(c));
    }
    skip_spaces();
    if (i == s.size()) return "";
    if (s[i] == ',') {
      ++i;
      skip_spaces();
    }
  }
}

}  // namespace

Result<Version> ParseVersion(std::string_view tag) {
  WrittenVersion written;
  if (auto failure = ParseWritten(tag, false, &written)) {
    std::string message = Quote(tag) + " is not a semantic version";
    if (!failure->not_a_version) message += ": " + failure->reason;
    return Status::InvalidArgument(message);
  }
  return std::move(written.version);
}

int CompareVersions(const Version& a, const Version& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  // A version without a pre-release is higher than the same one with one.
  if (a.prerelease.empty() || b.prerelease.empty()) {
    if (a.prerelease.empty() == b.prerelease.empty()) return 0;
    return a.prerelease.empty() ? 1 : -1;
  }
  return ComparePrereleases(a.prerelease, b.prerelease);
}

Result<VersionRange> VersionRange::Parse(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument(Quote(text) + ": " + why);
  };
  if (std::all_of(text.begin(), text.end(), IsSpace)) {
    return Status::InvalidArgument(Quote(text) + " is empty");
  }
  VersionRange range;
  range.text_ = std::string(text);
  for (std::string_view alternative_text : Split(text, "||")) {
    if (std::all_of(alternative_text.begin(), alternative_text.end(), IsSpace)) {
      return fail("\"||\" must stand between two ranges");
    }
    std::vector<WrittenComparator> written;
    if (std::string why = ParseAlternative(alternative_text, &written); !why.empty()) {
      return fail(why);
    }

    Alternative alternative;
    auto add = [&](Comparator::Op op, Version v, int parts = 3) {
      alternative.comparators.push_back(Comparator{op, std::move(v), parts});
    };
    // Below the successor of V's first PARTS parts; no bound if there is none.
    auto add_below_successor = [&](const Version& v, int parts) {
      if (auto next = Successor(v, parts)) add(Comparator::Op::kLt, *next);
    };
    using Op = Comparator::Op;
    for (const WrittenComparator& w : written) {
      const Version& con = w.version.version;
      const int exact = w.version.exact_parts;  // 3: no wildcard; 0: "*"
      // Masterminds v3.4+ (constraints.go, NewConstraint's containsPre and Check)
      // admits pre-releases to a whole AND group when any one comparator in it was
      // written with a pre-release, whatever its MAJOR.MINOR.PATCH.
      if (!con.prerelease.empty()) alternative.admits_prerelease = true;
      const bool zero = con.major == 0 && con.minor == 0 && con.patch == 0;
      switch (w.op) {
        case Operator::kEq:
          if (exact == 3) {
            add(Op::kEq, con);
            break;
          }
          [[fallthrough]];  // "1.2", "1.x", "*" are tilde ranges
        case Operator::kTilde:
          add(Op::kGe, con);
          // "*" and "~0.0.0" have no upper bound; "~1" and "~1.x" keep the major;
          // the rest keep the major and minor.
          if (exact == 0 || (exact == 3 && zero)) break;
          add_below_successor(con, exact == 1 ? 1 : 2);
          break;
        case Operator::kCaret:
          add(Op::kGe, con);
          // Keep the first non-zero part of MAJOR.MINOR.PATCH, or the last one
          // written. "^*" keeps all three (it is "^0.0.0" in constraintCaret, whatever
          // its comment says).
          if (con.major > 0 || exact == 1) {
            add_below_successor(con, 1);
          } else if (con.minor > 0 || exact == 2) {
            add_below_successor(con, 2);
          } else {
            add_below_successor(con, 3);
          }
          break;
        case Operator::kGt:
          // ">1.x" wants a higher major, ">1.2.x" a higher minor; ">*" is ">0.0.0".
          if (exact == 1 || exact == 2) {
            auto next = Successor(con, exact);
            if (next) {
              add(Op::kGe, std::move(*next));
            } else {
              add(Op::kLt, Lowest());  // nothing is above the largest major/minor
            }
          } else {
            add(Op::kGt, con);
          }
          break;
        case Operator::kLt:
          add(Op::kLt, con);  // wildcards are zeros: "<1.x" is "<1.0.0"
          break;
        case Operator::kGe:
          add(Op::kGe, con);
          break;
        case Operator::kLe:
          // "<=1.x" keeps majors up to 1, "<=1.2.x" minors up to 1.2; "<=*" is
          // "<=0.0.x" in constraintLessThanEqual.
          if (exact == 3) {
            add(Op::kLe, con);
          } else {
            add_below_successor(con, exact == 1 ? 1 : 2);
          }
          break;
        case Operator::kNe:
          // "!=*" is "!=0.0.0" in constraintNotEqual.
          add(Op::kNe, con, exact == 1 || exact == 2 ? exact : 3);
          break;
      }
    }
    range.alternatives_.push_back(std::move(alternative));
  }
  return range;
}

bool VersionRange::Contains(const Version& v) const {
  for (const Alternative& alternative : alternatives_) {
    if (!v.prerelease.empty() && !alternative.admits_prerelease) continue;
    bool all = true;
    for (const Comparator& c : alternative.comparators) {
      const int cmp = CompareVersions(v, c.version);
      bool holds = false;
      switch (c.op) {
        case Comparator::Op::kEq:
          holds = cmp == 0;
          break;
        case Comparator::Op::kGt:
          holds = cmp > 0;
          break;
        case Comparator::Op::kLt:
          holds = cmp < 0;
          break;
        case Comparator::Op::kGe:
          holds = cmp >= 0;
          break;
        case Comparator::Op::kLe:
          holds = cmp <= 0;
          break;
        case Comparator::Op::kNe:
          if (c.parts == 1) {
            holds = v.major != c.version.major;
          } else if (c.parts == 2) {
            holds = v.major != c.version.major || v.minor != c.version.minor ||
                    ComparePrereleases(v.prerelease, c.version.prerelease) != 0;
          } else {
            holds = cmp != 0;
          }
          break;
      }
      if (!holds) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

std::vector<std::string> KeepLatest(const std::vector<std::string>& tags, int keep) {
  if (keep <= 0) return tags;
  std::vector<std::pair<Version, size_t>> versions;  // with the index in TAGS
  for (size_t i = 0; i < tags.size(); ++i) {
    if (auto v = ParseVersion(tags[i]); v.ok()) versions.emplace_back(std::move(*v), i);
  }
  std::stable_sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
    return CompareVersions(a.first, b.first) > 0;
  });
  std::vector<bool> dropped(tags.size(), false);
  for (size_t i = static_cast<size_t>(keep); i < versions.size(); ++i) {
    dropped[versions[i].second] = true;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (!dropped[i]) out.push_back(tags[i]);
  }
  return out;
}

}  // namespace crossdock::core
