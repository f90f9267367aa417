// Pattern: doublestar glob matching with Harbor's exact semantics (doublestar v1.3.4,
// separator '/'), used by rule filters for repositories and tags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace crossdock::core {

// Bounds on what Compile accepts, so that matching stays cheap whatever the input:
// every match takes time polynomial in these and the subject's length, and recursion
// depth bounded by the pattern's length (core/pattern.cc).
inline constexpr size_t kMaxPatternLength = 1024;  // bytes
inline constexpr size_t kMaxBraceDepth = 10;       // "{a,{b,{c}}}" is 3

class Pattern {
 public:
  // Returns InvalidArgument (message says what is wrong and at which offset) for a
  // malformed pattern: unbalanced '[' or '{', a trailing '\', a bad range; and for one
  // longer than kMaxPatternLength or nesting braces deeper than kMaxBraceDepth
  // (the message says the limit).
  static Result<Pattern> Compile(std::string_view text);

  // Full-string, case-sensitive match. An empty pattern matches everything (Harbor).
  // Time polynomial in the pattern's and SUBJECT's lengths (no exponential
  // backtracking); stack depth bounded by the pattern's length.
  bool Matches(std::string_view subject) const;

  // True when the pattern has no metacharacters (* ? [ { \): it names one path.
  bool IsLiteral() const;

  // The literal paths a pattern names when it is a literal or a brace list of
  // literals ("library/{nginx,redis}"), as Harbor's IsSpecificPath; empty otherwise.
  std::vector<std::string> SpecificPaths() const;

  const std::string& text() const { return text_; }

 private:
  explicit Pattern(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace crossdock::core
