// TSC stamps to wall time (dataplane/app/tsc_clock.h): the conversion from
// an anchor, stamps before the anchor, the rate measured once the anchors
// span a second, and a rate that makes no sense left alone.
#include "dataplane/app/tsc_clock.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace sipwall::dataplane {
namespace {

constexpr std::uint64_t kHz = 2'000'000'000;  // 2 ticks per ns
constexpr std::uint64_t kWall = 1'796'616'180'000'000'000ULL;

TEST(TscClock, ConvertsFromTheAnchorBothWays) {
  TscClock c(kHz);
  EXPECT_TRUE(c.due(0));
  c.anchor({1'000'000'000'000, kWall, 50'000'000'000});
  EXPECT_EQ(c.wall_ns(1'000'000'000'000), kWall);
  EXPECT_EQ(c.wall_ns(1'000'000'002'000), kWall + 1'000);                        // 2,000 ticks later: 1 us
  EXPECT_EQ(c.wall_ns(1'000'000'000'000 - 3'000), kWall - 1'500);                // taken before the anchor
  EXPECT_EQ(c.wall_ns(1'000'000'000'000 + 7 * kHz + 1), kWall + 7'000'000'000);  // whole seconds, no overflow
}

TEST(TscClock, NoOverflowFarFromTheAnchor) {
  TscClock c(3'500'000'000);
  c.anchor({10, kWall, 1});
  const std::uint64_t year_ticks = 3'500'000'000ULL * 86'400 * 365;
  EXPECT_EQ(c.wall_ns(10 + year_ticks), kWall + 86'400ULL * 365 * 1'000'000'000);
}

TEST(TscClock, DueEveryHundredMilliseconds) {
  TscClock c(kHz);
  c.anchor({1'000, kWall, 1'000});
  EXPECT_FALSE(c.due(1'000 + kHz / 10 - 1));
  EXPECT_TRUE(c.due(1'000 + kHz / 10));
}

TEST(TscClock, MeasuresTheRateOverASecondOfAnchors) {
  // DPDK's nominal rate 0.2% off the real one (2,004 MHz).
  TscClock c(2'000'000'000);
  const std::uint64_t real = 2'004'000'000;
  c.anchor({0, kWall, 1'000});
  c.anchor({real / 2, kWall + 500'000'000, 1'000 + 500'000'000});  // half a second: not yet
  EXPECT_EQ(c.hz(), 2'000'000'000u);
  c.anchor({real * 3, kWall + 3'000'000'000, 1'000 + 3'000'000'000});
  EXPECT_EQ(c.hz(), real);
  // 100 ms after the last anchor, the stamp lands on the nanosecond.
  EXPECT_EQ(c.wall_ns(real * 3 + real / 10), kWall + 3'100'000'000);
}

TEST(TscClock, KeepsTheRateWhenTheMeasurementIsNonsense) {
  TscClock c(2'000'000'000);
  c.anchor({0, kWall, 1'000});
  c.anchor({3'000'000'000, kWall + 2'000'000'000, 1'000 + 2'000'000'000});  // 1.5 GHz: 25% off
  EXPECT_EQ(c.hz(), 2'000'000'000u);
  c.anchor({8'000'000'000, kWall + 4'000'000'000, 500});  // the monotonic clock went back
  EXPECT_EQ(c.hz(), 2'000'000'000u);
}

}  // namespace
}  // namespace sipwall::dataplane
