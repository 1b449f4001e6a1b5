// PairSeen: a pair counts once per window from its latest sighting; the
// least recently seen pair is evicted first; live evictions are counted.
#include "dataplane/detect/pair_seen.h"

#include <gtest/gtest.h>

namespace sipwall::detect {
namespace {

TEST(PairSeen, CountedOncePerWindowFromLatestSighting) {
  PairSeen p(64);
  PairSeen::Touch t = p.touch(42, 100, 16);
  EXPECT_FALSE(t.counted);
  t = p.touch(42, 100, 16);
  EXPECT_TRUE(t.counted);
  EXPECT_EQ(t.prev_epoch, 100u);
  t = p.touch(42, 115, 16);  // 15 buckets later: still in the window; moves to 115
  EXPECT_TRUE(t.counted);
  EXPECT_EQ(t.prev_epoch, 100u);
  t = p.touch(42, 130, 16);  // 15 after 115
  EXPECT_TRUE(t.counted);
  EXPECT_EQ(t.prev_epoch, 115u);
  t = p.touch(42, 146, 16);  // 16 after 130: left the window, counts again
  EXPECT_FALSE(t.counted);
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(p.evictions(), 0u);
}

TEST(PairSeen, TimeGoingBackwardsKeepsTheNewerEpoch) {
  PairSeen p(64);
  p.touch(7, 50, 16);
  const PairSeen::Touch t = p.touch(7, 40, 16);
  EXPECT_TRUE(t.counted);
  EXPECT_EQ(t.prev_epoch, 50u);
  EXPECT_TRUE(p.touch(7, 65, 16).counted);  // 15 after 50
}

TEST(PairSeen, EvictsLeastRecentlySeenAndCountsLiveEvictions) {
  PairSeen p(4);  // one group
  ASSERT_EQ(p.capacity(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i) p.touch(i + 1, i, 16);
  p.touch(1, 3, 16);  // pair 1 seen again: now pair 2 (epoch 1) is the oldest
  EXPECT_FALSE(p.touch(9, 4, 16).counted);
  EXPECT_EQ(p.evictions(), 1u);
  EXPECT_EQ(p.live_evictions(), 1u);  // pair 2 was still counted
  EXPECT_TRUE(p.touch(1, 4, 16).counted);
  EXPECT_FALSE(p.touch(2, 4, 16).counted);  // evicted: would count again (the over-count)
  EXPECT_EQ(p.evictions(), 2u);
  // Much later every pair is out of the window: evictions, but none live.
  p.touch(10, 100, 16);
  p.touch(11, 100, 16);
  EXPECT_EQ(p.evictions(), 4u);
  EXPECT_EQ(p.live_evictions(), 2u);
  EXPECT_EQ(p.size(), 4u);
  p.clear();
  EXPECT_EQ(p.size(), 0u);
  EXPECT_FALSE(p.touch(1, 100, 16).counted);
}

TEST(PairSeen, FixedMemory) {
  PairSeen p(1000);
  const std::size_t mem = p.memory_bytes();
  EXPECT_EQ(mem, 1000u * 16);
  for (std::uint64_t i = 1; i < 100'000; ++i) p.touch(i, static_cast<std::uint32_t>(i / 1000), 16);
  EXPECT_EQ(p.memory_bytes(), mem);
  EXPECT_LE(p.size(), p.capacity());
  EXPECT_THROW(PairSeen(0), std::invalid_argument);
}

}  // namespace
}  // namespace sipwall::detect
