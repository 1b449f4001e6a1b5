#include "dataplane/app/counters.h"

#include <cstring>

namespace sipwall::dataplane {

void sum_counters(const WorkerCounters* per_worker, unsigned workers, WorkerCounters& out) noexcept {
  std::memset(&out, 0, sizeof out);
  // The struct is nothing but uint64_t words (and alignment padding that stays zero).
  constexpr std::size_t words = sizeof(WorkerCounters) / sizeof(std::uint64_t);
  auto* dst = reinterpret_cast<std::uint64_t*>(&out);
  for (unsigned w = 0; w < workers; ++w) {
    const auto* src = reinterpret_cast<const volatile std::uint64_t*>(&per_worker[w]);
    for (std::size_t i = 0; i < words; ++i) dst[i] += src[i];
  }
}

}  // namespace sipwall::dataplane
