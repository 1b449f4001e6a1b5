// RX->TX latency histogram: 10 ns buckets up to 200 us, then 16 buckets per
// doubling (~4% wide) up to hours. Recording is a few instructions (the sink
// records every forwarded packet).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace sipwall::perf {

class LatencyHistogram {
 public:
  static constexpr std::uint64_t kStepNs = 10;
  static constexpr std::size_t kFine = 20000;                 // fine buckets: [0, 200 us)
  static constexpr std::uint64_t kFineEnd = kFine * kStepNs;  // ns
  static constexpr unsigned kSub = 16;                        // buckets per doubling above

  LatencyHistogram() : fine_(kFine, 0) {}

  void add(std::uint64_t ns) noexcept {
    ++count_;
    max_ = std::max(max_, ns);
    if (ns < kFineEnd) {
      ++fine_[ns / kStepNs];
      return;
    }
    unsigned lg = 0;  // ns in [kFineEnd << lg, kFineEnd << (lg + 1))
    while (lg < kOctaves - 1 && ns >= (kFineEnd << (lg + 1))) ++lg;
    const std::uint64_t base = kFineEnd << lg;
    auto sub = static_cast<unsigned>(std::min<std::uint64_t>((ns - base) * kSub / base, kSub - 1));
    ++coarse_[lg * kSub + sub];
  }
  void clear() noexcept {
    std::fill(fine_.begin(), fine_.end(), 0);
    coarse_.fill(0);
    count_ = max_ = 0;
  }
  std::uint64_t count() const noexcept { return count_; }
  double max_us() const noexcept { return static_cast<double>(max_) / 1000.0; }

  // The latency (us) below which a fraction `q` of the samples fall (the
  // upper edge of the bucket holding that sample, at most the maximum seen).
  double percentile_us(double q) const noexcept {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kFine; ++b) {
      seen += fine_[b];
      if (seen >= rank) return static_cast<double>((b + 1) * kStepNs) / 1000.0;
    }
    for (std::size_t i = 0; i < coarse_.size(); ++i) {
      seen += coarse_[i];
      if (seen >= rank) {
        const std::uint64_t base = kFineEnd << (i / kSub);
        const std::uint64_t edge = base + base * (i % kSub + 1) / kSub;
        return static_cast<double>(std::min(edge, max_)) / 1000.0;
      }
    }
    return max_us();
  }

 private:
  static constexpr unsigned kOctaves = 24;  // 200 us .. ~55 min
  std::vector<std::uint64_t> fine_;
  std::array<std::uint64_t, kOctaves * kSub> coarse_{};
  std::uint64_t count_ = 0, max_ = 0;
};

}  // namespace sipwall::perf
