// DestinationRepository: where a source repository lands at the destination, given a
// rule's dest_namespace and flatten count, exactly as Harbor names it. Used by the
// planner for every selected repository, and by the config loader to check literal
// repositories against a destination's path rule before any request.
#pragma once

#include <string>

#include "core/status.h"

namespace crossdock::core {

// Harbor's replaceNamespace (src/controller/replication/flow/stage.go): an empty
// DEST_NAMESPACE keeps SOURCE_REPO unchanged (FLATTEN ignored). Otherwise the last path
// component is always kept; FLATTEN < 0 drops every component before it
// ("a/b/c/d" -> "ns/d"), FLATTEN = N drops the first N ("a/b/c/d", 1 -> "ns/b/c/d").
// Returns InvalidArgument when FLATTEN exceeds the components before the last one.
Result<std::string> DestinationRepository(const std::string& source_repo,
                                          const std::string& dest_namespace, int flatten);

}  // namespace crossdock::core
