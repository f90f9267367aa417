// The planner's name for core::DestinationRepository (core/naming.h), which the config
// loader shares.
#pragma once

#include "core/naming.h"

namespace crossdock::planner {

using core::DestinationRepository;

}  // namespace crossdock::planner
