// The worker's table of watched Call-IDs (dataplane/watch/watch_table.h).
#include "dataplane/watch/watch_table.h"

#include <gtest/gtest.h>

namespace sipwall::watch {
namespace {

using R = WatchTable::MarkResult;

TEST(WatchTable, MarksFindsAndExpires) {
  WatchTable t(64);
  EXPECT_EQ(t.capacity(), 64u);
  EXPECT_EQ(t.find(42, 0), nullptr);
  EXPECT_EQ(t.mark(42, 0b10, 5, 100, 1100), R::added);
  const WatchTable::Entry* e = t.find(42, 500);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mask, 0b10);
  EXPECT_EQ(e->generation, 5u);
  EXPECT_EQ(t.find(42, 1100), nullptr);  // expired
  EXPECT_EQ(t.find(43, 500), nullptr);
  EXPECT_EQ(t.mark(42, 0b01, 6, 200, 1200), R::updated);
  EXPECT_EQ(t.find(42, 300)->mask, 0b01);
}

TEST(WatchTable, KeyZeroIsAKeyLikeAnyOther) {
  WatchTable t(16);
  EXPECT_EQ(t.mark(0, 1, 1, 0, 10), R::added);
  ASSERT_NE(t.find(0, 5), nullptr);
}

TEST(WatchTable, AFullWindowGivesUpItsOldestCall) {
  WatchTable t(8);  // one probe window: every key lands in it
  for (std::uint64_t k = 1; k <= WatchTable::kProbe; ++k) EXPECT_EQ(t.mark(k * 8, 1, 1, 0, 1000 + k), R::added);
  EXPECT_EQ(t.mark(1000, 1, 1, 0, 5000), R::evicted);
  EXPECT_EQ(t.find(8, 10), nullptr);  // the one expiring first
  for (std::uint64_t k = 2; k <= WatchTable::kProbe; ++k) EXPECT_NE(t.find(k * 8, 10), nullptr);
  EXPECT_NE(t.find(1000, 10), nullptr);
  // An expired entry is reused without counting an eviction.
  EXPECT_EQ(t.mark(2000, 1, 1, 1002, 6000), R::added);
  EXPECT_EQ(t.find(16, 10), nullptr);
}

TEST(WatchTable, CapacityRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(WatchTable(1).capacity(), WatchTable::kProbe);
  EXPECT_EQ(WatchTable(100).capacity(), 128u);
}

}  // namespace
}  // namespace sipwall::watch
