// Semantic versions of tags and version ranges, for rule filters `semver` and
// `keep_latest` (planner/) and their validation (core/config). Follows
// Masterminds/semver v3, as regsync's semverRange does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace crossdock::core {

struct Version {
  std::uint64_t major = 0, minor = 0, patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers after '-'
  std::string metadata;                 // after '+', ignored in comparisons
  std::string original;                 // the tag as written
};

// Parses a tag as a version: an optional leading 'v', then MAJOR[.MINOR[.PATCH]]
// with optional -PRERELEASE and +METADATA ("v1.2.3", "1.20", "2.0.0-rc1",
// "1.2.3-alpine"). Returns InvalidArgument for anything else ("latest", "1.2.3.4").
Result<Version> ParseVersion(std::string_view tag);

// <0, 0, >0 by semantic-version precedence (metadata ignored).
int CompareVersions(const Version& a, const Version& b);

// A range: comparators (=, !=, >, <, >=, <=, ~, ^, wildcards 1.2.x / 1.* / *, hyphen
// ranges "1.2 - 1.4") separated by spaces or commas (AND), alternatives with "||"
// (OR). As in Masterminds/semver v3.4+, a pre-release version matches only an
// alternative in which some comparator names a pre-release ("1.2.3-0 - 2" admits
// "1.5.0-rc1"; ">=1 <2" does not).
class VersionRange {
 public:
  // InvalidArgument saying what is wrong, e.g. `">=1.x.y": "y" is not a number`.
  static Result<VersionRange> Parse(std::string_view text);
  bool Contains(const Version& v) const;
  const std::string& text() const { return text_; }

 private:
  struct Comparator {
    enum class Op { kEq, kNe, kGt, kLt, kGe, kLe } op = Op::kEq;
    Version version;
    // kNe only: how many of MAJOR.MINOR.PATCH must equal for VERSION to be excluded.
    // "!=1.x" is 1 (any 1.*), "!=1.2.x" is 2 (any 1.2.* with the same pre-release).
    int parts = 3;
  };
  struct Alternative {
    std::vector<Comparator> comparators;  // all must hold
    bool admits_prerelease = false;       // some comparator was written with one
  };
  std::string text_;
  std::vector<Alternative> alternatives_;  // any may hold
};

// Of TAGS, the KEEP highest versions (ties: the tag order given), in the order of
// TAGS; tags that do not parse as versions are returned too, untouched by KEEP.
std::vector<std::string> KeepLatest(const std::vector<std::string>& tags, int keep);

}  // namespace crossdock::core
