// WindowCounter: window semantics at the bucket boundaries, eviction order,
// lanes, fixed memory.
#include "dataplane/detect/window_counter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace sipwall::detect {
namespace {

constexpr std::uint64_t kKey = 0x1234;

// The count `key` has at `now` (advancing its window), 0 if absent.
std::uint32_t count_at(WindowCounter& c, std::uint64_t key, std::uint64_t now) {
  const std::uint32_t s = c.find(key, now);
  return s == WindowCounter::npos ? 0 : c.count(s);
}

TEST(WindowCounter, BucketWidthIsWindowOverSixteenRoundedUp) {
  EXPECT_EQ(WindowCounter::bucket_width(16'000), 1'000u);
  EXPECT_EQ(WindowCounter::bucket_width(60'000), 3'750u);
  EXPECT_EQ(WindowCounter::bucket_width(1'000), 63u);  // 16 * 63 = 1008 ms
  EXPECT_EQ(WindowCounter::bucket_width(86'400'000), 5'400'000u);
  WindowCounter c(64, 60'000);
  EXPECT_EQ(c.bucket_ms(), 3'750u);
  EXPECT_EQ(c.window_ms(), 60'000u);
}

// Window 16 s, buckets of 1 s: an event at t is counted at `now` iff
// now/1000 - t/1000 < 16.
TEST(WindowCounter, EventAtStartOfBucketCountsUntilSixteenBucketsLater) {
  WindowCounter c(64, 16'000);
  c.add(c.find_or_insert(kKey, 0));  // bucket 0
  EXPECT_EQ(count_at(c, kKey, 0), 1u);
  EXPECT_EQ(count_at(c, kKey, 15'999), 1u);  // age 15999 < 16 w
  EXPECT_EQ(count_at(c, kKey, 16'000), 0u);  // bucket 16: gone at age exactly 16 w
}

TEST(WindowCounter, EventAtEndOfBucketLeavesAfterFifteenBucketWidths) {
  WindowCounter c(64, 16'000);
  c.add(c.find_or_insert(kKey, 999));        // last ms of bucket 0
  EXPECT_EQ(count_at(c, kKey, 15'999), 1u);  // age 15000 = 15 w: still counted
  EXPECT_EQ(count_at(c, kKey, 16'000), 0u);  // age 15001 > 15 w, but its bucket left
}

TEST(WindowCounter, CountsLeaveBucketByBucket) {
  WindowCounter c(64, 16'000);
  // Two events in each of buckets 0..3.
  for (std::uint64_t t : {0, 500, 1000, 1500, 2000, 2500, 3000, 3500}) c.add(c.find_or_insert(kKey, t));
  EXPECT_EQ(count_at(c, kKey, 3'999), 8u);
  EXPECT_EQ(count_at(c, kKey, 15'999), 8u);
  EXPECT_EQ(count_at(c, kKey, 16'000), 6u);
  EXPECT_EQ(count_at(c, kKey, 17'000), 4u);
  EXPECT_EQ(count_at(c, kKey, 18'999), 2u);
  EXPECT_EQ(count_at(c, kKey, 19'000), 0u);
  EXPECT_TRUE(c.check());
}

// The documented statement, checked on random events against a brute-force
// count: at time now an event at t counts iff epoch(now) - epoch(t) < 16; so
// every event younger than 15 w counts, none of age >= 16 w, and 16 w is
// within 16 ms above the window (the window is exact to one bucket width).
TEST(WindowCounter, WindowIsExactToOneBucketWidth) {
  for (std::uint32_t window : {1'000u, 16'000u, 60'000u, 300'000u, 86'400'000u}) {
    SCOPED_TRACE(window);
    WindowCounter c(64, window);
    const std::uint64_t w = c.bucket_ms();
    EXPECT_LE(15 * w, window);
    EXPECT_GE(16 * w, window);
    EXPECT_LT(16 * w, std::uint64_t{window} + 16);
    std::mt19937_64 rng(window);
    std::deque<std::uint64_t> counted;         // events the rule counts at `now`
    std::uint64_t now = 1'700'000'000'000ULL;  // wall-clock-like ms: epochs above 2^30 for small w
    for (int i = 0; i < 3000; ++i) {
      now += rng() % (3 * w / 2 + 1);
      if (rng() % 3 != 0) {
        c.add(c.find_or_insert(kKey, now));
        counted.push_back(now);
      }
      // The rule drops an event once epoch(now) - epoch(t) >= 16: never
      // before it is 15 w + 1 old. What it keeps is under 16 w old.
      while (!counted.empty() && now / w - counted.front() / w >= 16) {
        ASSERT_GT(now - counted.front(), 15 * w);
        counted.pop_front();
      }
      if (!counted.empty()) {
        ASSERT_LT(now - counted.front(), 16 * w);
      }
      ASSERT_EQ(count_at(c, kKey, now), counted.size()) << "event " << i;
    }
    EXPECT_TRUE(c.check());
  }
}

TEST(WindowCounter, TimeGoingBackwardsCountsInTheNewestBucket) {
  WindowCounter c(64, 16'000);
  c.add(c.find_or_insert(kKey, 10'000));
  c.add(c.find_or_insert(kKey, 2'000));  // earlier: lands in bucket 10, not 2
  EXPECT_EQ(count_at(c, kKey, 2'000), 2u);
  EXPECT_EQ(count_at(c, kKey, 18'000), 2u);  // in bucket 2 it would have left here
  EXPECT_EQ(count_at(c, kKey, 25'999), 2u);
  EXPECT_EQ(count_at(c, kKey, 26'000), 0u);
  EXPECT_TRUE(c.check());
}

// A single group (capacity 4): a new key replaces the smallest count; ties
// go to the least recently updated; a key whose buckets all left the window
// is reused without counting an eviction.
TEST(WindowCounter, FullGroupEvictsSmallestCountThenOldest) {
  WindowCounter c(4, 16'000);
  ASSERT_EQ(c.capacity(), 4u);
  for (int i = 0; i < 5; ++i) c.add(c.find_or_insert(1, 0));
  for (int i = 0; i < 2; ++i) c.add(c.find_or_insert(2, 1'000));
  c.add(c.find_or_insert(3, 2'000));
  c.add(c.find_or_insert(4, 3'000));
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.evictions(), 0u);
  // 3 and 4 both have 1; 3 was updated longer ago.
  c.add(c.find_or_insert(5, 4'000));
  EXPECT_EQ(c.evictions(), 1u);
  EXPECT_EQ(c.find(3, 4'000), WindowCounter::npos);
  EXPECT_NE(c.find(4, 4'000), WindowCounter::npos);
  EXPECT_EQ(count_at(c, 1, 4'000), 5u);
  EXPECT_EQ(count_at(c, 2, 4'000), 2u);
  // 4 (1 at t=3000) and 5 (1 at t=4000): 4 goes.
  c.add(c.find_or_insert(6, 5'000));
  EXPECT_EQ(c.find(4, 5'000), WindowCounter::npos);
  EXPECT_EQ(c.evictions(), 2u);
  // Much later every key is out of its window: replacing one loses nothing.
  c.add(c.find_or_insert(7, 100'000));
  EXPECT_EQ(c.evictions(), 2u);
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.inserts(), 7u);
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, NewKeyOutlivesTheNextThreeNewcomersToItsGroup) {
  WindowCounter c(4, 16'000);
  for (std::uint64_t k = 1; k <= 4; ++k) c.increment(k, 500);  // all count 1, same bucket
  // Slot order does not decide: the first inserted goes first.
  for (std::uint64_t k = 5; k <= 20; ++k) {
    c.increment(k, 500);
    EXPECT_EQ(c.find(k - 4, 500), WindowCounter::npos) << k;
    for (std::uint64_t alive = k - 3; alive <= k; ++alive) EXPECT_NE(c.find(alive, 500), WindowCounter::npos);
  }
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, HeavyKeySurvivesAFloodOfLighterKeys) {
  WindowCounter c(4, 16'000);
  for (int i = 0; i < 3; ++i) c.add(c.find_or_insert(99, 0));
  for (std::uint64_t k = 1000; k < 101'000; ++k) {
    c.add(c.find_or_insert(k, 100));
    if (k % 10'000 == 0) c.add(c.find_or_insert(99, 100));
  }
  EXPECT_EQ(count_at(c, 99, 100), 13u);
  EXPECT_GT(c.evictions(), 99'000u);
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, SecondLaneRotatesWithTheFirst) {
  WindowCounter c(64, 16'000, 2);
  std::uint32_t s = c.find_or_insert(kKey, 0);
  c.add(s, 0);
  c.add(s, 0);
  c.add(s, 1);
  s = c.find_or_insert(kKey, 5'000);
  c.add(s, 0);
  c.add(s, 1);
  c.add(s, 1);
  EXPECT_EQ(c.count(s, 0), 3u);
  EXPECT_EQ(c.count(s, 1), 3u);
  s = c.find(kKey, 16'000);  // bucket 0 leaves
  EXPECT_EQ(c.count(s, 0), 1u);
  EXPECT_EQ(c.count(s, 1), 2u);
  s = c.find(kKey, 40'000);
  EXPECT_EQ(c.count(s, 0), 0u);
  EXPECT_EQ(c.count(s, 1), 0u);
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, MoveToNewestKeepsTheTotalAndExtendsTheUnit) {
  WindowCounter c(64, 16'000);
  std::uint32_t s = c.find_or_insert(kKey, 0);
  c.add(s);
  const std::uint32_t first = c.newest_epoch(s);
  s = c.find_or_insert(kKey, 10'000);
  c.move_to_newest(s, first);
  EXPECT_EQ(c.count(s), 1u);
  EXPECT_EQ(count_at(c, kKey, 16'000), 1u);  // would have left with bucket 0
  EXPECT_EQ(count_at(c, kKey, 25'999), 1u);
  EXPECT_EQ(count_at(c, kKey, 26'000), 0u);
  // A bucket already out of the window, or empty: nothing moves.
  s = c.find_or_insert(kKey, 30'000);
  c.move_to_newest(s, first);
  EXPECT_EQ(c.count(s), 0u);
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, EraseClearAndFixedMemory) {
  WindowCounter c(1000, 60'000);
  const std::size_t mem = c.memory_bytes();
  EXPECT_EQ(c.capacity(), 1000u);
  EXPECT_EQ(mem, 1000u * (16 + 64 + 4));
  for (std::uint64_t k = 1; k <= 5000; ++k) c.increment(k, k);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_EQ(c.memory_bytes(), mem);
  EXPECT_TRUE(c.erase(5000));  // the newest key: no later key can have evicted it
  EXPECT_FALSE(c.erase(5000));
  EXPECT_EQ(c.find(5000, 5000), WindowCounter::npos);
  EXPECT_EQ(c.size(), 999u);
  EXPECT_TRUE(c.check());
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.find(4999, 5000), WindowCounter::npos);
  EXPECT_TRUE(c.check());
  EXPECT_EQ(WindowCounter(1000, 60'000, 2).memory_bytes(), 1000u * (16 + 128 + 4));
}

TEST(WindowCounter, MarkIsZeroForANewKey) {
  WindowCounter c(4, 16'000);
  const std::uint32_t s = c.find_or_insert(1, 0);
  c.set_mark(s, 77);
  EXPECT_EQ(c.mark(c.find(1, 0)), 77u);
  c.erase(1);
  EXPECT_EQ(c.mark(c.find_or_insert(1, 0)), 0u);
}

// A new key touches only its header until a unit lands in a second bucket,
// lane 1 gets one, or a non-zero mark is written; the counts are the same
// either way.
TEST(WindowCounter, NewKeyStaysFreshWithinOneBucket) {
  WindowCounter c(64, 16'000);
  std::uint32_t s = c.find_or_insert(kKey, 0);
  EXPECT_TRUE(c.fresh(s));
  c.add(s);
  c.add(c.find_or_insert(kKey, 999));  // same bucket
  s = c.find(kKey, 999);
  EXPECT_TRUE(c.fresh(s));
  EXPECT_EQ(c.count(s), 2u);
  c.set_mark(s, 0);  // writing 0 to a fresh slot writes nothing
  EXPECT_TRUE(c.fresh(s));
  EXPECT_EQ(c.mark(s), 0u);
  EXPECT_TRUE(c.check());
  c.add(c.find_or_insert(kKey, 1'000));  // bucket 1: written out
  s = c.find(kKey, 1'000);
  EXPECT_FALSE(c.fresh(s));
  EXPECT_EQ(c.count(s), 3u);
  EXPECT_EQ(count_at(c, kKey, 15'999), 3u);
  EXPECT_EQ(count_at(c, kKey, 16'000), 1u);  // bucket 0's two units left, bucket 1's stays
  EXPECT_EQ(count_at(c, kKey, 17'000), 0u);
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, FreshKeyLeavesTheWindowWithoutBeingWritten) {
  WindowCounter c(64, 16'000);
  c.add(c.find_or_insert(kKey, 0));
  c.add(c.find_or_insert(kKey, 0));
  EXPECT_TRUE(c.fresh(c.find(kKey, 999)));
  EXPECT_EQ(count_at(c, kKey, 15'999), 2u);
  EXPECT_FALSE(c.fresh(c.find(kKey, 15'999)));  // moving on wrote it out: its units stay in bucket 0
  EXPECT_EQ(count_at(c, kKey, 16'000), 0u);
  WindowCounter d(64, 16'000);
  d.add(d.find_or_insert(kKey, 0));
  EXPECT_EQ(count_at(d, kKey, 20'000), 0u);  // straight past the window: still fresh, empty
  EXPECT_TRUE(d.fresh(d.find(kKey, 20'000)));
  d.add(d.find_or_insert(kKey, 20'000));
  EXPECT_EQ(count_at(d, kKey, 20'000), 1u);
}

TEST(WindowCounter, MarkAndSecondLaneSettleAFreshKey) {
  WindowCounter c(64, 16'000, 2);
  std::uint32_t s = c.find_or_insert(kKey, 0);
  c.add(s, 0, 3);
  EXPECT_EQ(c.count(s, 1), 0u);
  c.add(s, 1);
  EXPECT_FALSE(c.fresh(s));
  EXPECT_EQ(c.count(s, 0), 3u);
  EXPECT_EQ(c.count(s, 1), 1u);
  const std::uint32_t t = c.find_or_insert(kKey + 1, 0);
  c.add(t);
  c.set_mark(t, 9);
  EXPECT_FALSE(c.fresh(t));
  EXPECT_EQ(c.mark(t), 9u);
  EXPECT_EQ(c.count(t), 1u);
  EXPECT_TRUE(c.check());
}

// A slot reused by a new key holds the old key's buckets and mark until it
// is written out: none of them may show through.
TEST(WindowCounter, ReusedSlotShowsNothingOfItsLastKey) {
  WindowCounter c(4, 16'000, 2);  // one group
  const std::uint32_t s = c.find_or_insert(kKey, 0);
  for (std::uint64_t t = 0; t < 8'000; t += 500) {
    const std::uint32_t x = c.find_or_insert(kKey, t);
    c.add(x, 0);
    c.add(x, 1);
  }
  c.set_mark(c.find(kKey, 8'000), 123);
  ASSERT_TRUE(c.erase(kKey));
  const std::uint32_t r = c.find_or_insert(kKey + 7, 8'000);
  ASSERT_EQ(r, s);  // the same slot
  EXPECT_EQ(c.mark(r), 0u);
  c.add(r);
  c.add(c.find_or_insert(kKey + 7, 9'000));  // settles into the old key's bucket line
  const std::uint32_t q = c.find(kKey + 7, 9'000);
  EXPECT_EQ(c.count(q, 0), 2u);
  EXPECT_EQ(c.count(q, 1), 0u);
  EXPECT_EQ(c.mark(q), 0u);
  EXPECT_EQ(count_at(c, kKey + 7, 24'000), 1u);
  EXPECT_EQ(count_at(c, kKey + 7, 25'000), 0u);
  EXPECT_TRUE(c.check());
}

TEST(WindowCounter, RefusesBadArguments) {
  EXPECT_THROW(WindowCounter(0, 1000), std::invalid_argument);
  EXPECT_THROW(WindowCounter(4, 0), std::invalid_argument);
  EXPECT_THROW(WindowCounter(4, 1000, 3), std::invalid_argument);
}

}  // namespace
}  // namespace sipwall::detect
