// RecentKeys: a noted key stays "maybe" for at least one whole window after
// the note, and is forgotten once notes have moved two generations on.
#include "dataplane/detect/recent_keys.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "dataplane/detect/key_hash.h"

namespace sipwall::detect {
namespace {

std::uint64_t key(std::uint64_t n) {
  return mix64(n + 1);
}

TEST(RecentKeys, UnnotedKeysAreAbsent) {
  RecentKeys r(1024);
  for (std::uint64_t n = 0; n < 1000; ++n) EXPECT_FALSE(r.maybe(key(n))) << n;
}

TEST(RecentKeys, NotedKeysStayForTheirWindowAndLeaveTwoGenerationsOn) {
  RecentKeys r(1024);
  // Epochs are WindowCounter buckets: 16 per window, so generation = epoch / 16.
  r.note(key(1), 31);  // the last bucket of generation 1
  EXPECT_TRUE(r.maybe(key(1)));
  r.note(key(2), 32);  // generation 2: key 1's count may live until bucket 46
  EXPECT_TRUE(r.maybe(key(1)));
  EXPECT_TRUE(r.maybe(key(2)));
  r.note(key(3), 47);  // still generation 2
  EXPECT_TRUE(r.maybe(key(1)));
  r.note(key(3), 48);  // generation 3: key 1 (bucket 31) has left every window
  EXPECT_FALSE(r.maybe(key(1)));
  EXPECT_TRUE(r.maybe(key(2)));
  EXPECT_TRUE(r.maybe(key(3)));
}

TEST(RecentKeys, AJumpForgetsEverything) {
  RecentKeys r(1024);
  r.note(key(1), 16);
  r.note(key(2), 16 * 5);
  EXPECT_FALSE(r.maybe(key(1)));
  EXPECT_TRUE(r.maybe(key(2)));
}

TEST(RecentKeys, AnEarlierTimeIsKeptInTheCurrentGeneration) {
  RecentKeys r(1024);
  r.note(key(1), 100);  // generation 6
  r.note(key(2), 20);   // time went back: kept as generation 6
  r.note(key(3), 7 * 16);
  EXPECT_TRUE(r.maybe(key(2)));
  r.note(key(3), 8 * 16);
  EXPECT_FALSE(r.maybe(key(2)));
}

TEST(RecentKeys, SizeFollowsTheCapacity) {
  EXPECT_EQ(RecentKeys(16).memory_bytes(), 2u * 4096 / 8);
  EXPECT_EQ(RecentKeys(65536).memory_bytes(), 2u * 131072 / 8);
  EXPECT_FALSE(RecentKeys());
  EXPECT_TRUE(RecentKeys(16));
}

}  // namespace
}  // namespace sipwall::detect
