// Doublestar matching as Harbor does it (github.com/bmatcuk/doublestar v1.3.4 with
// '/' as separator, called from src/pkg/reg/util/pattern.go). Harbor's selections are
// defined by that matcher, quirks included, so this file follows its model rather than
// a textbook glob:
//  - the subject is split on '/' and matched one component at a time; matching a
//    component leaves "continuations", the pattern text still to match against the
//    next components;
//  - '**' is a globstar only when it is a whole component of the text being matched
//    ("**/c" matches "c", "a/**/b" matches "a/b"); a trailing "/**" needs at least one
//    more component ("a/**" does not match "a"); elsewhere '**' acts as '*';
//  - braces are expanded lazily: each alternative is glued to the rest of the pattern
//    and matched, so alternatives may hold '/' and nest ("{a/{b,c},abc}");
//  - when a subject component ends inside a pattern component, the rest of that
//    pattern component must be able to match nothing ("", "*", "**", or a brace list
//    with an empty-matching alternative followed by such a rest): "a{,bc}" matches "a".
// Compile() rejects, with an offset, what doublestar reports as ErrBadPattern only when
// a subject reaches it (unclosed '[' or '{', a trailing '\', a misplaced '-' in a
// class, an empty class). In doublestar v1.3.4 only '^' negates a class: "[!a]" is the
// class of '!' and 'a', as in Harbor.
// Unlike doublestar, Compile() also bounds the pattern (kMaxPatternLength,
// kMaxBraceDepth) and the matcher remembers what it has answered (class Matcher), so
// no pattern makes a match take exponential time or a deep stack.
#include "core/pattern.h"

#include <algorithm>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace crossdock::core {

namespace {

constexpr size_t kNone = std::string_view::npos;

// One UTF-8 encoded character: its code point (U+FFFD for a malformed byte) and size.
struct Rune {
  char32_t value;
  size_t size;
};

Rune DecodeRune(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  size_t size = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (size == 0 || b0 >= 0xF8 || i + size > s.size()) return {0xFFFD, 1};
  char32_t value = b0 & (0x7F >> size);
  for (size_t k = 1; k < size; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0xFFFD, 1};
    value = (value << 6) | (b & 0x3F);
  }
  return {value, size};
}

std::string AtOffset(size_t offset) { return " at offset " + std::to_string(offset); }

// Index of the first '/' in TEXT not escaped by '\', or kNone.
size_t FindSeparator(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '/') {
      return i;
    }
  }
  return kNone;
}

// The alternatives of the brace list whose '{' is at TEXT[OPEN], split at the commas
// of its own level, and the index just past its '}'. Nested lists and escapes are
// kept as written. nullopt when the list is not closed.
struct BraceList {
  std::vector<std::string_view> alternatives;
  size_t end;
};

std::optional<BraceList> SplitBraceList(std::string_view text, size_t open) {
  BraceList list;
  int depth = 1;
  size_t start = open + 1;
  for (size_t i = open + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      ++i;
    } else if (c == '{') {
      ++depth;
    } else if (c == ',' && depth == 1) {
      list.alternatives.push_back(text.substr(start, i - start));
      start = i + 1;
    } else if (c == '}' && --depth == 0) {
      list.alternatives.push_back(text.substr(start, i - start));
      list.end = i + 1;
      return list;
    }
  }
  return std::nullopt;
}

// A bracket expression such as "[a-z]" or "[^\]x]".
struct CharClass {
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;
  size_t end = 0;  // index just past ']'

  bool Matches(char32_t c) const {
    bool in = std::any_of(ranges.begin(), ranges.end(),
                          [c](const auto& r) { return r.first <= c && c <= r.second; });
    return in != negated;
  }
};

// Parses the class whose '[' is at TEXT[OPEN]. Offsets in errors are indices into
// TEXT plus BASE (the position of TEXT in the whole pattern).
Result<CharClass> ParseClass(std::string_view text, size_t open, size_t base) {
  size_t close = open + 1;
  while (close < text.size() && text[close] != ']') close += text[close] == '\\' ? 2 : 1;
  if (close >= text.size()) return Status::InvalidArgument("unclosed '['" + AtOffset(base + open));
  if (close == open + 1)
    return Status::InvalidArgument("empty character class" + AtOffset(base + open));

  CharClass cls;
  cls.end = close + 1;
  size_t i = open + 1;
  if (text[i] == '^') {
    cls.negated = true;
    ++i;
  }
  auto misplaced_dash = [&](size_t at) {
    return Status::InvalidArgument("'-' in character class" + AtOffset(base + at) +
                                   " must stand between two characters (escape it as \\-)");
  };
  // Reads one class member at I (escaped or not) and moves past it.
  auto read_char = [&](size_t& at) {
    if (text[at] == '\\') ++at;
    Rune r = DecodeRune(text, at);
    at += r.size;
    return r.value;
  };
  while (i < close) {
    if (text[i] == '-') return misplaced_dash(i);
    char32_t low = read_char(i);
    char32_t high = low;
    if (i < close && text[i] == '-') {
      if (i + 1 >= close || text[i + 1] == '-') return misplaced_dash(i + 1 >= close ? i : i + 1);
      ++i;
      high = read_char(i);
    }
    cls.ranges.emplace_back(low, high);
  }
  return cls;
}

// Checks PART, a piece of the pattern WHOLE, the way the matcher will read it: classes
// are read outside brace lists, and each alternative of a brace list on its own.
Status CheckSyntax(std::string_view whole, std::string_view part) {
  const size_t base = static_cast<size_t>(part.data() - whole.data());
  for (size_t i = 0; i < part.size();) {
    switch (part[i]) {
      case '\\':
        if (i + 1 >= part.size())
          return Status::InvalidArgument("trailing '\\'" + AtOffset(base + i));
        i += 1 + DecodeRune(part, i + 1).size;
        break;
      case '[': {
        auto cls = ParseClass(part, i, base);
        if (!cls.ok()) return cls.status();
        i = cls->end;
        break;
      }
      case '{': {
        auto list = SplitBraceList(part, i);
        if (!list) return Status::InvalidArgument("unclosed '{'" + AtOffset(base + i));
        for (std::string_view alternative : list->alternatives) {
          CROSSDOCK_RETURN_IF_ERROR(CheckSyntax(whole, alternative));
        }
        i = list->end;
        break;
      }
      default:
        ++i;
    }
  }
  return Status::Ok();
}

// What matching one subject component leaves: nullopt when it does not match;
// otherwise the pattern texts to match against the following components, where an
// empty list means the pattern ended with this component. (As in doublestar, when a
// brace list yields both, only the continuations survive: "{a,a/b}" does not match
// "a".) The views point into the pattern or into the matcher's interned expansions,
// which live as long as the matcher.
using Continuations = std::optional<std::vector<std::string_view>>;

// One Matches() call. doublestar backtracks: "*a*a*a*b" against "aaaa…" or "**/**/x"
// against a deep path try each split again and again, which is exponential. Every
// (pattern text, subject rest) pair is therefore answered once and remembered, so the
// work is polynomial in the sizes, which Compile bounds (kMaxPatternLength,
// kMaxBraceDepth); recursion depth is bounded by the pattern's length alone (each
// level consumes a '/', '*' or brace list of it), never by the subject's.
class Matcher {
 public:
  bool MatchPath(std::string_view pattern, std::span<const std::string_view> names);
  // Set when the text reached a malformed piece (only possible for patterns Compile
  // accepts when a brace list holding '/' is cut at that '/'); the match then fails.
  bool failed() const { return failed_; }

 private:
  // Memo keys: a pattern view and a subject view (or span), by address and size.
  // Both stay valid and unchanged while the matcher lives, so equal keys mean equal
  // arguments.
  struct Key {
    const void* pattern;
    size_t pattern_size;
    const void* subject;
    size_t subject_size;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h = std::hash<const void*>()(k.pattern);
      for (size_t v : {k.pattern_size, std::hash<const void*>()(k.subject), k.subject_size})
        h = h * 1000003u ^ v;
      return h;
    }
  };
  // A result, and whether computing it set failed_.
  template <typename T>
  struct Answer {
    T value;
    bool failed;
  };

  bool MatchPathOnce(std::string_view pattern, std::span<const std::string_view> names);
  // Whether REST matches NAMES with some number of leading components skipped (what
  // "**/" followed by REST does). Remembered for every skip it passes, so each REST
  // walks each subject once, without recursion per component.
  bool AnySkipMatches(std::string_view rest, std::span<const std::string_view> names);
  // What '*' followed by REST leaves from NAME at N: the first answer that is not
  // nullopt of MatchComponent(REST, NAME.substr(m)) for m = N, N + one character, …
  // before NAME's end. Remembered likewise.
  Continuations FirstMatch(std::string_view rest, std::string_view name, size_t n);
  Continuations MatchComponent(std::string_view pattern, std::string_view name);
  Continuations MatchComponentOnce(std::string_view pattern, std::string_view name);
  bool CanMatchEmpty(std::string_view component);
  // TEXT starts with a brace list: each alternative glued to the rest of TEXT, made
  // once per TEXT (interned: the views live as long as the matcher). Null when the
  // list is not closed.
  const std::vector<std::string_view>* Expand(std::string_view text);

  bool failed_ = false;
  std::unordered_map<Key, Answer<bool>, KeyHash> paths_;
  std::unordered_map<Key, Answer<Continuations>, KeyHash> components_;
  std::unordered_map<Key, bool, KeyHash> skips_;                   // AnySkipMatches
  std::unordered_map<Key, Continuations, KeyHash> first_matches_;  // FirstMatch
  std::unordered_map<Key, std::optional<std::vector<std::string_view>>, KeyHash> expansions_;
  std::unordered_set<std::string> interned_;  // node-based: elements never move
};

const std::vector<std::string_view>* Matcher::Expand(std::string_view text) {
  const Key key{text.data(), text.size(), nullptr, 0};
  auto [it, inserted] = expansions_.try_emplace(key);
  if (inserted) {
    auto list = SplitBraceList(text, 0);
    if (!list) {
      it->second = std::nullopt;
    } else {
      const std::string rest(text.substr(list->end));
      it->second.emplace();
      for (std::string_view alternative : list->alternatives)
        it->second->push_back(*interned_.insert(std::string(alternative) + rest).first);
    }
  }
  return it->second ? &*it->second : nullptr;
}

// Answers from the memo. Only calls made with failed_ clear are remembered: a call
// made after a failure returns early, and its answer says nothing of the arguments.
bool Matcher::MatchPath(std::string_view pattern, std::span<const std::string_view> names) {
  if (failed_) return MatchPathOnce(pattern, names);
  const Key key{pattern.data(), pattern.size(), names.data(), names.size()};
  if (auto it = paths_.find(key); it != paths_.end()) {
    failed_ = it->second.failed;
    return it->second.value;
  }
  const bool matched = MatchPathOnce(pattern, names);
  paths_.emplace(key, Answer<bool>{matched, failed_});
  return matched;
}

Continuations Matcher::MatchComponent(std::string_view pattern, std::string_view name) {
  if (failed_) return MatchComponentOnce(pattern, name);
  const Key key{pattern.data(), pattern.size(), name.data(), name.size()};
  if (auto it = components_.find(key); it != components_.end()) {
    failed_ = it->second.failed;
    return it->second.value;
  }
  Continuations next = MatchComponentOnce(pattern, name);
  components_.emplace(key, Answer<Continuations>{next, failed_});
  return next;
}

bool Matcher::AnySkipMatches(std::string_view rest, std::span<const std::string_view> names) {
  std::vector<Key> passed;
  bool found = false;
  for (size_t skip = 0; skip < names.size(); ++skip) {
    const std::span<const std::string_view> tail = names.subspan(skip);
    const Key key{rest.data(), rest.size(), tail.data(), tail.size()};
    if (!failed_) {
      if (auto it = skips_.find(key); it != skips_.end()) {
        found = it->second;
        break;
      }
      passed.push_back(key);
    }
    // doublestar ignores errors met while trying each skip.
    const bool failed_before = failed_;
    found = MatchPath(rest, tail);
    failed_ = failed_before;
    if (found) break;
  }
  for (const Key& key : passed) skips_.emplace(key, found);
  return found;
}

Continuations Matcher::FirstMatch(std::string_view rest, std::string_view name, size_t n) {
  std::vector<Key> passed;
  Continuations found;
  // As in doublestar, the rest is tried against non-empty remainders only.
  for (; n < name.size(); n += DecodeRune(name, n).size) {
    const std::string_view remainder = name.substr(n);
    const Key key{rest.data(), rest.size(), remainder.data(), remainder.size()};
    if (!failed_) {
      if (auto it = first_matches_.find(key); it != first_matches_.end()) {
        found = it->second;
        break;
      }
      passed.push_back(key);
    }
    found = MatchComponent(rest, remainder);
    if (failed_) return std::nullopt;  // nothing passed is remembered
    if (found) break;
  }
  for (const Key& key : passed) first_matches_.emplace(key, found);
  return found;
}

bool Matcher::MatchPathOnce(std::string_view pattern, std::span<const std::string_view> names) {
  if (pattern.empty()) return names.size() == 1 && names[0].empty();

  const size_t separator = FindSeparator(pattern);
  if (pattern.substr(0, separator) == "**") {
    if (separator == kNone) return true;  // a trailing globstar takes what is left
    return AnySkipMatches(pattern.substr(separator + 1), names);
  }

  Continuations next = MatchComponent(pattern, names[0]);
  if (!next || failed_) return false;
  if (next->empty()) return names.size() == 1;
  if (names.size() == 1) return false;
  for (std::string_view continuation : *next) {
    if (MatchPath(continuation, names.subspan(1))) return true;
    if (failed_) return false;
  }
  return false;
}

Continuations Matcher::MatchComponentOnce(std::string_view pattern, std::string_view name) {
  size_t p = 0;
  size_t n = 0;
  while (p < pattern.size() && n < name.size()) {
    const Rune subject = DecodeRune(name, n);
    switch (pattern[p]) {
      case '/':  // the pattern component ends before the subject's
        return std::nullopt;
      case '\\': {
        if (p + 1 >= pattern.size()) {
          failed_ = true;
          return std::nullopt;
        }
        const Rune literal = DecodeRune(pattern, p + 1);
        if (pattern.substr(p + 1, literal.size) != name.substr(n, subject.size))
          return std::nullopt;
        p += 1 + literal.size;
        n += subject.size;
        break;
      }
      case '*': {
        // A run of stars matches as one does while the subject component has
        // characters left (each later star would retry what the first tried): skipping
        // them saves a factor of the subject's length per star.
        while (p < pattern.size() && pattern[p] == '*') ++p;
        if (p == pattern.size()) return std::vector<std::string_view>{};
        if (pattern[p] == '/') return std::vector<std::string_view>{pattern.substr(p + 1)};
        return FirstMatch(pattern.substr(p), name, n);
      }
      case '[': {
        auto cls = ParseClass(pattern, p, 0);
        if (!cls.ok()) {
          failed_ = true;
          return std::nullopt;
        }
        if (!cls->Matches(subject.value)) return std::nullopt;
        p = cls->end;
        n += subject.size;
        break;
      }
      case '{': {
        const std::vector<std::string_view>* expansions = Expand(pattern.substr(p));
        if (expansions == nullptr) {
          failed_ = true;
          return std::nullopt;
        }
        bool matched = false;
        // Each continuation once, in first-seen order: a repeat would only be tried
        // again with the same outcome, and repeats multiply with every list.
        std::vector<std::string_view> all;
        std::unordered_set<std::string_view> seen;
        for (std::string_view expanded : *expansions) {
          Continuations next = MatchComponent(expanded, name.substr(n));
          if (failed_) return std::nullopt;
          if (!next) continue;
          matched = true;
          for (std::string_view continuation : *next)
            if (seen.insert(continuation).second) all.push_back(continuation);
        }
        if (!matched) return std::nullopt;
        return all;
      }
      default: {
        const Rune literal = DecodeRune(pattern, p);
        if (pattern[p] != '?' && pattern.substr(p, literal.size) != name.substr(n, subject.size)) {
          return std::nullopt;
        }
        p += literal.size;
        n += subject.size;
      }
    }
  }
  if (n < name.size()) return std::nullopt;
  if (p >= pattern.size()) return std::vector<std::string_view>{};

  // The subject component is used up: the rest of this pattern component must be able
  // to match nothing.
  const std::string_view rest = pattern.substr(p);
  const size_t separator = FindSeparator(rest);
  if (!CanMatchEmpty(rest.substr(0, separator)) || failed_) return std::nullopt;
  if (separator == kNone) return std::vector<std::string_view>{};
  return std::vector<std::string_view>{rest.substr(separator + 1)};
}

bool Matcher::CanMatchEmpty(std::string_view component) {
  if (component.empty() || component == "*" || component == "**") return true;
  if (component[0] != '{') return false;
  auto list = SplitBraceList(component, 0);
  if (!list) {
    failed_ = true;
    return false;
  }
  if (!CanMatchEmpty(component.substr(list->end))) return false;
  for (std::string_view alternative : list->alternatives) {
    if (CanMatchEmpty(alternative)) return true;
    if (failed_) return false;
  }
  return false;
}

// Checks TEXT against kMaxPatternLength and kMaxBraceDepth, in one pass and without
// recursion, before anything recursive reads it. Depth is counted as the matcher
// reads brace lists (SplitBraceList): escapes skip a character, and classes are
// skipped only outside brace lists (CheckSyntax).
Status CheckLimits(std::string_view text) {
  if (text.size() > kMaxPatternLength) {
    return Status::InvalidArgument("the pattern is " + std::to_string(text.size()) +
                                   " bytes long; patterns may be at most " +
                                   std::to_string(kMaxPatternLength) + " bytes");
  }
  size_t depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '\\':
        ++i;
        break;
      case '[':
        if (depth > 0) break;
        for (size_t close = i + 1; close < text.size(); close += text[close] == '\\' ? 2 : 1) {
          if (text[close] == ']') {
            i = close;
            break;
          }
        }
        break;  // an unclosed class is CheckSyntax's to report
      case '{':
        if (++depth > kMaxBraceDepth) {
          return Status::InvalidArgument("'{'" + AtOffset(i) + " nests braces " +
                                         std::to_string(depth) +
                                         " levels deep; patterns may nest them at most " +
                                         std::to_string(kMaxBraceDepth) + " levels");
        }
        break;
      case '}':
        if (depth > 0) --depth;
        break;
    }
  }
  return Status::Ok();
}

// Expands every brace list of TEXT (which holds no other metacharacter) into OUT.
// Returns false when more than LIMIT paths would result.
bool ExpandBraces(const std::string& text, size_t limit, std::vector<std::string>* out) {
  const size_t open = text.find('{');
  if (open == std::string::npos) {
    if (out->size() >= limit) return false;
    out->push_back(text);
    return true;
  }
  auto list = SplitBraceList(text, open);
  if (!list) return false;
  const std::string prefix = text.substr(0, open);
  const std::string suffix = text.substr(list->end);
  for (std::string_view alternative : list->alternatives) {
    if (!ExpandBraces(prefix + std::string(alternative) + suffix, limit, out)) return false;
  }
  return true;
}

}  // namespace

Result<Pattern> Pattern::Compile(std::string_view text) {
  CROSSDOCK_RETURN_IF_ERROR(CheckLimits(text));
  CROSSDOCK_RETURN_IF_ERROR(CheckSyntax(text, text));
  return Pattern(std::string(text));
}

bool Pattern::Matches(std::string_view subject) const {
  if (text_.empty()) return true;  // Harbor: an empty filter selects everything
  std::vector<std::string_view> names;
  for (size_t start = 0;;) {
    const size_t slash = subject.find('/', start);
    names.push_back(subject.substr(start, slash == kNone ? kNone : slash - start));
    if (slash == kNone) break;
    start = slash + 1;
  }
  Matcher matcher;
  return matcher.MatchPath(text_, names) && !matcher.failed();
}

bool Pattern::IsLiteral() const {
  return !text_.empty() && text_.find_first_of("*?[{\\") == std::string::npos;
}

std::vector<std::string> Pattern::SpecificPaths() const {
  // Harbor's IsSpecificPath handles one brace list per component; nested and
  // multi-component lists are expanded here too. Paths are kept only when Matches()
  // agrees, so a direct lookup never selects what listing and matching would not.
  constexpr size_t kMaxPaths = 1000;
  if (text_.empty() || text_.find_first_of("*?[\\") != std::string::npos) return {};
  std::vector<std::string> expanded;
  if (!ExpandBraces(text_, kMaxPaths, &expanded)) return {};
  std::vector<std::string> paths;
  for (const std::string& path : expanded) {
    if (path.empty() || !Matches(path)) continue;
    if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
  }
  return paths;
}

}  // namespace crossdock::core
