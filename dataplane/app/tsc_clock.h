// Wall time for TSC readings, converted on the main lcore. A worker stamps a
// trace record with rte_rdtsc() (a few cycles, no system call); the main
// lcore turns the stamp into CLOCK_REALTIME nanoseconds when it drains the
// ring, from an anchor: a (TSC, realtime, monotonic) reading it takes itself
// and renews every kRefreshNs, so the error of a converted stamp is bounded
// by the rate error times the stamp's distance from the anchor.
//
// The rate: DPDK's nominal TSC frequency at first (DPDK may estimate it,
// rounded to 10 MHz: up to 0.25% off at 2 GHz); once the anchors span
// kMeasureAfterNs of CLOCK_MONOTONIC, the rate measured over that span (off
// by the readings' jitter over the span: well under 1 ppm after a few
// seconds). Accuracy (docs/performance.md "Trace records"): a stamp is
// converted within a few ms of being taken (the main lcore drains every
// turn, <= 5 ms apart), so at most kRefreshNs + that from its anchor. With
// the measured rate the error is what the wall clock's own rate did
// differently since the start (NTP slews it by at most 500 ppm): <= 55 us,
// typically < 1 us; in the first second, with the nominal rate, <= 0.3 ms.
// A step of the wall clock shows in stamps from the next anchor on. It
// assumes an invariant TSC synchronised across cores, as DPDK's timers do.
//
// Plain C++ (no DPDK, no clock reads): the caller passes the readings, so
// the unit tests drive it.
#pragma once

#include <cstdint>

namespace sipwall::dataplane {

class TscClock {
 public:
  static constexpr std::uint64_t kRefreshNs = 100'000'000;         // a new anchor every 100 ms
  static constexpr std::uint64_t kMeasureAfterNs = 1'000'000'000;  // measure the rate over >= 1 s

  // One reading of the three clocks, taken as close together as possible.
  struct Reading {
    std::uint64_t tsc = 0;
    std::uint64_t realtime_ns = 0;
    std::uint64_t monotonic_ns = 0;
  };

  // `nominal_hz`: rte_get_tsc_hz() (at most 1.8e10: ticks_to_ns multiplies
  // a remainder below it by 1e9 in 64 bits).
  explicit TscClock(std::uint64_t nominal_hz) noexcept : nominal_(nominal_hz == 0 ? 1 : nominal_hz), hz_(nominal_) {}

  // True when there is no anchor yet or the last one is kRefreshNs old at `tsc`.
  bool due(std::uint64_t tsc) const noexcept;
  // Makes `r` the anchor, and re-measures the rate from the first anchor.
  void anchor(const Reading& r) noexcept;
  // CLOCK_REALTIME nanoseconds at `tsc` (which may be before the anchor).
  std::uint64_t wall_ns(std::uint64_t tsc) const noexcept;
  std::uint64_t hz() const noexcept { return hz_; }
  bool anchored() const noexcept { return anchored_; }

 private:
  std::uint64_t nominal_;
  std::uint64_t hz_;
  bool anchored_ = false;
  Reading first_;
  Reading last_;
};

}  // namespace sipwall::dataplane
