// The bench's one error type. The bench is a program of its own, not a crossdock
// layer: like the e2e harness it throws on anything it cannot measure, and main()
// turns that into a message and exit code 1, so no figure is printed that was not
// measured.
#pragma once

#include <stdexcept>

namespace crossdock::bench {

class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace crossdock::bench
