// Link following's decisions (dataplane/app/link_follow.h; issue 17): a
// port that loses link takes its partner down, the partner comes back with
// the link, a port we took down is not read, a port settling after start or
// after being brought up is not followed, a refused take-down is not retried
// for the same loss, a pair with link_follow off is left alone.
#include "dataplane/app/link_follow.h"

#include <gtest/gtest.h>

namespace sipwall::dataplane {
namespace {

using namespace std::chrono_literals;
using Act = LinkFollow::Act;
const LinkFollow::Clock::time_point t0{};

LinkFollow pair(bool follow = true) {
  return LinkFollow({1, 0}, {follow, follow}, 5s, t0);
}

void apply(LinkFollow& f, const std::vector<LinkFollow::Action>& acts, bool ok, LinkFollow::Clock::time_point now) {
  for (const auto& a : acts) f.done(a, ok, now);
}

TEST(LinkFollow, APortThatLosesLinkTakesItsPartnerDownAndBack) {
  LinkFollow f = pair();
  EXPECT_TRUE(f.poll({true, true}, t0 + 6s).empty());
  auto acts = f.poll({false, true}, t0 + 7s);
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(acts[0].act, Act::take_down);
  EXPECT_EQ(acts[0].port, 1);
  EXPECT_EQ(acts[0].cause, 0);
  apply(f, acts, true, t0 + 7s);
  EXPECT_TRUE(f.forced_down(1));
  // The partner now reads down because of us: nothing more to do, and it
  // does not take port 0 down in turn.
  EXPECT_TRUE(f.poll({false, false}, t0 + 8s).empty());
  acts = f.poll({true, false}, t0 + 9s);
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(acts[0].act, Act::bring_up);
  EXPECT_EQ(acts[0].port, 1);
  apply(f, acts, true, t0 + 9s);
  EXPECT_FALSE(f.forced_down(1));
}

TEST(LinkFollow, APortComingUpIsNotFollowedWhileItSettles) {
  LinkFollow f = pair();
  EXPECT_TRUE(f.poll({false, true}, t0 + 1s).empty());  // just started
  auto acts = f.poll({false, true}, t0 + 6s);           // still down after settling: real
  ASSERT_EQ(acts.size(), 1u);
  apply(f, acts, true, t0 + 6s);
  acts = f.poll({true, false}, t0 + 10s);
  apply(f, acts, true, t0 + 10s);
  // Port 1 was brought up at 10 s; its autonegotiation takes a while.
  EXPECT_TRUE(f.poll({true, false}, t0 + 12s).empty());
  acts = f.poll({true, false}, t0 + 16s);  // still down after 5 s: its own loss
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(acts[0].port, 0);
}

TEST(LinkFollow, ARefusedTakeDownIsNotRetriedForTheSameLoss) {
  LinkFollow f = pair();
  auto acts = f.poll({false, true}, t0 + 6s);
  ASSERT_EQ(acts.size(), 1u);
  apply(f, acts, false, t0 + 6s);  // the driver cannot
  EXPECT_FALSE(f.forced_down(1));
  EXPECT_TRUE(f.poll({false, true}, t0 + 7s).empty());
  EXPECT_TRUE(f.poll({true, true}, t0 + 8s).empty());    // link back: nothing to bring up
  EXPECT_EQ(f.poll({false, true}, t0 + 9s).size(), 1u);  // a new loss: tried again
}

TEST(LinkFollow, PairsWithoutLinkFollowAreLeftAlone) {
  LinkFollow f = pair(false);
  EXPECT_TRUE(f.poll({false, true}, t0 + 6s).empty());
  LinkFollow unpaired({LinkFollow::kNone}, {true}, 5s, t0);
  EXPECT_TRUE(unpaired.poll({false}, t0 + 6s).empty());
}

TEST(LinkFollow, AFailedBringUpIsRetried) {
  LinkFollow f = pair();
  apply(f, f.poll({false, true}, t0 + 6s), true, t0 + 6s);
  auto acts = f.poll({true, false}, t0 + 7s);
  apply(f, acts, false, t0 + 7s);
  EXPECT_TRUE(f.forced_down(1));
  EXPECT_EQ(f.poll({true, false}, t0 + 8s).size(), 1u);
}

}  // namespace
}  // namespace sipwall::dataplane
