#include "control/fleet/fleet_lifts.h"

#include <gtest/gtest.h>

namespace sipwall::fleet {
namespace {

// A lift of a number ends its pairs in the data plane too: the fleet's
// entries of those pairs must leave the blocks hash with it, and nothing else.
TEST(FleetLifts, CoversTheKeyAndThePairsItIsPartOf) {
  const std::string z = "+8613800138077";
  EXPECT_TRUE(lift_covers(z, z));
  EXPECT_TRUE(lift_covers(z, z + " -> +8613900139011"));
  EXPECT_TRUE(lift_covers(z, "+8613900139011 -> " + z));
  EXPECT_TRUE(lift_covers(z + " -> +8613900139011", z + " -> +8613900139011"));
  EXPECT_FALSE(lift_covers(z, "+86138001380770"));
  EXPECT_FALSE(lift_covers(z, "+861380013807 -> +8613900139011"));
  EXPECT_FALSE(lift_covers(z, "+8613900139011 -> +86138001380771"));
  EXPECT_FALSE(lift_covers(z + " -> +8613900139011", z));
  EXPECT_FALSE(lift_covers("192.0.2.7", "192.0.2.77"));
}

}  // namespace
}  // namespace sipwall::fleet
