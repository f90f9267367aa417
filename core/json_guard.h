// A check for JSON that cereal's JSON archive (Debian's rapidjson 1.1.0) must not be
// given: rapidjson parses nesting recursively, so ~100,000 '[' exhaust the stack, and
// it overflows and reads out of bounds on some long decimals ("0." then 350 zeros, then
// digits), on the path every number with a fraction, an exponent or more than 19
// digits takes (both found with tests/fuzz). The saved plan and the state file hold
// only shallow objects, strings and small integers, so text with either is refused
// before it is parsed. Used by planner/saved_plan.cc and state/store.cc.
#pragma once

#include <string>
#include <string_view>

namespace crossdock::core {

// Why TEXT cannot be one of crossdock's own JSON files (nested deeper than MAX_DEPTH,
// a number that is not an integer or has more than 19 digits), or "" when it may be
// parsed. Strings are skipped, whatever they hold.
std::string JsonTooOddForCereal(std::string_view text, int max_depth);

}  // namespace crossdock::core
