#include "control/fleet/backoff.h"

#include <gtest/gtest.h>

namespace sipwall::fleet {
namespace {

TEST(Backoff, DoublesUpToTheCeilingAndResetsOnSuccess) {
  Backoff b(500, 4000);
  EXPECT_TRUE(b.due(0));
  b.failed(1000);
  EXPECT_FALSE(b.due(1499));
  EXPECT_TRUE(b.due(1500));
  b.failed(1500);  // waits 1000
  EXPECT_EQ(b.next_ms(), 2500);
  b.failed(2500);  // 2000
  EXPECT_EQ(b.next_ms(), 4500);
  b.failed(4500);  // 4000
  EXPECT_EQ(b.next_ms(), 8500);
  b.failed(8500);  // still 4000: the ceiling
  EXPECT_EQ(b.next_ms(), 12500);
  EXPECT_EQ(b.failures(), 5u);
  b.succeeded();
  EXPECT_TRUE(b.due(0));
  EXPECT_EQ(b.failures(), 0u);
  b.failed(20000);
  EXPECT_EQ(b.next_ms(), 20500);  // back to the first delay
}

TEST(Backoff, NonsenseLimitsAreClamped) {
  Backoff b(0, -5);  // a zero delay would retry in a busy loop
  b.failed(100);
  EXPECT_EQ(b.next_ms(), 101);
  b.failed(101);
  EXPECT_EQ(b.next_ms(), 102);  // ceiling = first delay
}

}  // namespace
}  // namespace sipwall::fleet
