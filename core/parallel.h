// ParallelFor: runs fn(0..n-1) on up to PARALLELISM threads, each taking the next
// index as it finishes one. Used by planner/ (listings, HEADs) and applier/ (copies).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace crossdock::core {

// Stops handing out indexes once *CANCEL becomes true (work in flight finishes).
// FN must be thread-safe for distinct indexes.
inline void ParallelFor(size_t n, int parallelism, const std::function<void(size_t)>& fn,
                        const std::atomic<bool>* cancel = nullptr) {
  if (n == 0) return;
  size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(1, parallelism)));
  std::atomic<size_t> next{0};
  auto loop = [&] {
    for (;;) {
      if (cancel && cancel->load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      fn(i);
    }
  };
  if (workers == 1) {
    loop();
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(loop);
  for (auto& t : threads) t.join();
}

}  // namespace crossdock::core
