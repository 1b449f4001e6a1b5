// DetectReplay: detection on a capture's clock, as the data plane runs it
// (one worker, the merge every merge_ms of capture time, call events).
#include "control/common/detect_replay.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/detect/key_hash.h"
#include "tests/unit/dataplane/detect/detect_test_util.h"

namespace sipwall::control {
namespace {

using detect::Level;
using detect::testing::invite;
using detect::testing::number;

// One INVITE at `t` through the replay's context, as classify() counts it.
detect::DetectorLevel call(DetectReplay& r, std::uint64_t t, std::uint64_t caller, std::uint64_t callee,
                           const std::string& call_id) {
  r.advance(t);
  classify::DetectContext* c = r.context();
  EXPECT_NE(c, nullptr);
  c->worker->on_invite(invite(caller, callee, detect::call_id_hash(call_id)), c->now_ms, c->levels);
  return c->levels.d[0];
}

TEST(DetectReplay, NoDetectorsNoContext) {
  DetectReplay r({});
  EXPECT_FALSE(r.active());
  r.advance(1'000);
  EXPECT_EQ(r.context(), nullptr);
}

TEST(DetectReplay, BomberFiresAtTheEleventhCallAndIsHeldAfterwards) {
  const detect::DetectorSpec spec = detect::testing::call_bombing();  // > 10 in 60 s, held 10 min
  DetectReplay r({&spec, 1});
  const std::uint64_t t0 = 1'764'320'400'000;
  for (int i = 1; i <= 10; ++i)
    EXPECT_EQ(call(r, t0 + 2'000 * i, number(1), number(2), "b" + std::to_string(i)).level, Level::none) << i;
  const detect::DetectorLevel eleventh = call(r, t0 + 22'000, number(1), number(2), "b11");
  EXPECT_EQ(eleventh.level, Level::block);
  EXPECT_TRUE(eleventh.rose);
  EXPECT_EQ(eleventh.count, 11u);
  // Three minutes later the window holds nothing, but the penalty box does:
  // the merge ran on the capture's clock.
  const detect::DetectorLevel later = call(r, t0 + 200'000, number(1), number(2), "b12");
  EXPECT_EQ(later.count, 1u);
  EXPECT_EQ(later.held, Level::block);
  EXPECT_EQ(later.level, Level::block);
  // Past block_for (10 min after the fire): released.
  EXPECT_EQ(call(r, t0 + 22'000 + 600'000 + 1'000, number(1), number(2), "b13").level, Level::none);
  // Another pair was never affected.
  EXPECT_EQ(call(r, t0 + 700'000, number(1), number(3), "other").level, Level::none);
}

TEST(DetectReplay, RingingTimeoutsCountAsUnansweredOnTheCapturesClock) {
  // Calls that never got a final response: the replay's sweep (once a second
  // of capture time) times them out after the ringing timeout, as the data
  // plane's per-loop sweep does, and the unanswered detector counts them.
  const detect::DetectorSpec spec =
      detect::testing::make_spec(0x0A, detect::DetectKey::caller, detect::DetectCount::unanswered, 3'600'000, 0, 1);
  DetectReplay r({&spec, 1});
  const std::uint64_t t0 = 1'764'320'400'000;
  EXPECT_EQ(call(r, t0, number(1), number(2), "u1").level, Level::none);
  EXPECT_EQ(call(r, t0 + 1'000, number(1), number(3), "u2").level, Level::none);
  // Before the timeout (180 s): nothing counted yet.
  EXPECT_EQ(call(r, t0 + 100'000, number(1), number(4), "u3").count, 0u);
  // Past it: u1 and u2 timed out unanswered (count 2 > 1).
  const detect::DetectorLevel after = call(r, t0 + 182'000, number(1), number(5), "u4");
  EXPECT_EQ(after.count, 2u);
  EXPECT_EQ(after.level, Level::block);
}

TEST(DetectReplay, TimeNeverGoesBackwards) {
  const detect::DetectorSpec spec = detect::testing::call_bombing();
  DetectReplay r({&spec, 1});
  r.advance(50'000);
  r.advance(10'000);  // an older timestamp counts as the newest seen
  EXPECT_EQ(r.now_ms(), 50'000u);
  EXPECT_EQ(r.context()->now_ms, 50'000u);
}

TEST(DetectReplay, SpecsWithoutCapacityGetTheDefault) {
  detect::DetectorSpec spec = detect::testing::call_bombing();
  spec.capacity = 0;
  DetectReplayOptions o;
  o.capacity = 64;
  DetectReplay r({&spec, 1}, o);
  ASSERT_TRUE(r.active());
  EXPECT_EQ(r.worker()->specs()[0].capacity, 64u);
}

}  // namespace
}  // namespace sipwall::control
