#include "dataplane/app/tsc_clock.h"

#include <limits>

namespace sipwall::dataplane {

namespace {

constexpr std::uint64_t kNsPerS = 1'000'000'000;

// ticks * 1e9 / hz without overflow for any tick count (hz <= 1.8e10).
std::uint64_t ticks_to_ns(std::uint64_t ticks, std::uint64_t hz) noexcept {
  return ticks / hz * kNsPerS + ticks % hz * kNsPerS / hz;
}

}  // namespace

bool TscClock::due(std::uint64_t tsc) const noexcept {
  if (!anchored_) return true;
  return tsc - last_.tsc >= hz_ / (kNsPerS / kRefreshNs);
}

void TscClock::anchor(const Reading& r) noexcept {
  if (!anchored_) {
    first_ = r;
    anchored_ = true;
  }
  last_ = r;
  // The rate over the whole span since the first anchor, against the
  // monotonic clock (never stepped). A span that went backwards, or a rate
  // more than 1% from the nominal one (a TSC that is not invariant, a VM
  // migration), leaves the rate as it was.
  if (r.monotonic_ns <= first_.monotonic_ns || r.tsc <= first_.tsc) return;
  const std::uint64_t span_ns = r.monotonic_ns - first_.monotonic_ns;
  if (span_ns < kMeasureAfterNs) return;
  const double measured =
      static_cast<double>(r.tsc - first_.tsc) * static_cast<double>(kNsPerS) / static_cast<double>(span_ns);
  const double nominal = static_cast<double>(nominal_);
  if (measured >= nominal * 0.99 && measured <= nominal * 1.01) hz_ = static_cast<std::uint64_t>(measured + 0.5);
}

std::uint64_t TscClock::wall_ns(std::uint64_t tsc) const noexcept {
  // A stamp taken just before the anchor was renewed is converted backwards
  // from it (the unsigned difference wraps: the sign decides).
  const std::uint64_t ahead = tsc - last_.tsc;
  if (ahead <= std::numeric_limits<std::uint64_t>::max() / 2) {
    const std::uint64_t ns = ticks_to_ns(ahead, hz_);
    return ns > std::numeric_limits<std::uint64_t>::max() - last_.realtime_ns
               ? std::numeric_limits<std::uint64_t>::max()
               : last_.realtime_ns + ns;
  }
  const std::uint64_t ns = ticks_to_ns(last_.tsc - tsc, hz_);
  return ns > last_.realtime_ns ? 0 : last_.realtime_ns - ns;
}

}  // namespace sipwall::dataplane
