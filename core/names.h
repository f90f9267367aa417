// The distribution grammar for names that come from outside (webhook events,
// catalogs, tag lists, saved plans): checked before a name is matched against a
// rule or put into a URL, so "lib/../other" or "../../x/manifests/y" never reaches
// a request. Used by planner/, cmd/webhooks and the saved-plan reader.
//
// Grammar (distribution/reference/regexp.go, OCI distribution spec "Pulling"):
//   repository  component ("/" component)*, at most 255 characters in all
//   component   [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
//   tag         [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
//   digest      algorithm ":" hex (core/digest.h: crossdock copies sha256 only)
#pragma once

#include <string>
#include <string_view>

namespace crossdock::core {

inline constexpr size_t kMaxRepositoryLength = 255;  // distribution's NameTotalLengthMax
inline constexpr size_t kMaxTagLength = 128;

bool IsValidRepositoryName(std::string_view name);
bool IsValidTag(std::string_view tag);

// The name for a message: NAME itself when it is short and printable, else its first
// characters with unprintable bytes escaped ("lib/\x1b[31m…").
std::string ShowName(std::string_view name);

}  // namespace crossdock::core
