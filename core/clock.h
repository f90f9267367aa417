// The current time as RFC 3339 UTC ("2026-11-23T14:05:00Z"), the one format every
// record crossdock writes uses (state, executions, logs, lock files).
#pragma once

#include <string>

namespace crossdock::core {

std::string NowRfc3339();

}  // namespace crossdock::core
