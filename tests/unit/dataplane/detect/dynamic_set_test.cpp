// DynamicSet: lookup by (detector, key), per-worker counts, refusal of bad input.
#include "dataplane/detect/dynamic_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace sipwall::detect {
namespace {

DynamicEntry entry(std::uint64_t det, std::uint64_t key, std::uint32_t count) {
  DynamicEntry e{};
  e.detector = det;
  e.key = key;
  e.count = count;
  return e;
}

TEST(DynamicSet, FindsEveryEntryAndOnlyThose) {
  std::vector<DynamicEntry> entries;
  std::vector<WorkerCount> counts;
  for (std::uint32_t i = 1; i <= 1000; ++i) {
    entries.push_back(entry(i % 3, i * 7919, i));
    counts.push_back({i, 0});
    counts.push_back({0, i});
  }
  const DynamicSet s(5, 2, entries, counts, {{1, 2, 3}}, 3);
  EXPECT_EQ(s.sequence(), 5u);
  EXPECT_EQ(s.lift_seq(), 3u);
  ASSERT_EQ(s.lifts().size(), 1u);
  EXPECT_EQ(s.entries().size(), 1000u);
  for (std::uint32_t i = 1; i <= 1000; ++i) {
    const DynamicEntry* e = s.find(i % 3, i * 7919);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->count, i);
    EXPECT_EQ(s.own(*e, 0).count, i);
    EXPECT_EQ(s.own(*e, 1).count2, i);
    EXPECT_EQ(s.own(*e, 2).count, 0u);                  // no such worker
    EXPECT_EQ(s.find((i + 1) % 3, i * 7919), nullptr);  // same key, other detector
  }
  EXPECT_EQ(s.find(0, 1), nullptr);
}

TEST(DynamicSet, EmptySetFindsNothing) {
  const DynamicSet s(1, 4, {}, {}, {}, 0);
  EXPECT_EQ(s.find(1, 1), nullptr);
  EXPECT_TRUE(s.entries().empty());
}

TEST(DynamicSet, RefusesMismatchedCountsAndDuplicates) {
  EXPECT_THROW(DynamicSet(1, 2, {entry(1, 1, 1)}, {{1, 0}}, {}, 0), std::invalid_argument);
  EXPECT_THROW(DynamicSet(1, 1, {entry(1, 1, 1), entry(1, 1, 2)}, {{1, 0}, {2, 0}}, {}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace sipwall::detect
