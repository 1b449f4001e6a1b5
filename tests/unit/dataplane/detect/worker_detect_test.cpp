// WorkerDetect on one worker: threshold and window semantics per INVITE,
// distinct counts, outcome detectors fed by call events, report mode,
// reports to the merger, adopt() across reloads.
#include "dataplane/detect/worker_detect.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/dataplane/detect/detect_test_util.h"

namespace sipwall::detect {
namespace {

using testing::call_bombing;
using testing::invite;
using testing::low_asr;
using testing::make_spec;
using testing::mass_calling;
using testing::number;
using testing::one_ring;

class Worker {
 public:
  explicit Worker(std::vector<DetectorSpec> specs, WorkerOptions o = {}) : specs_(std::move(specs)), w(specs_, o) {}

  // A new call from caller to callee at t; its levels.
  const Levels& call(std::uint64_t caller, std::uint64_t callee, std::uint64_t t) {
    w.on_invite(invite(caller, callee, ++next_id_), t, out);
    return out;
  }
  std::uint64_t last_id() const { return next_id_; }
  std::vector<HotKeyReport> drain() {
    std::vector<HotKeyReport> r;
    HotKeyReport x;
    while (w.reports().try_pop(x)) r.push_back(x);
    return r;
  }

  std::vector<DetectorSpec> specs_;
  WorkerDetect w;
  Levels out;

 private:
  std::uint64_t next_id_ = 1000;
};

const std::uint64_t A = number(1), B = number(2);

TEST(WorkerDetect, FiresOnTheInviteThatMakesTheCountExceedTheThreshold) {
  Worker k({call_bombing()});  // > 10 in 60 s
  for (int i = 1; i <= 10; ++i) {
    const DetectorLevel& d = k.call(A, B, 1'000 + i).d[0];
    EXPECT_EQ(d.count, static_cast<std::uint32_t>(i));
    EXPECT_EQ(d.level, Level::none) << "count " << i << " equal to or under the threshold";
    EXPECT_FALSE(d.rose);
  }
  const DetectorLevel& fire = k.call(A, B, 1'011).d[0];
  EXPECT_EQ(fire.count, 11u);
  EXPECT_EQ(fire.local, 11u);
  EXPECT_EQ(fire.level, Level::block);
  EXPECT_TRUE(fire.rose);
  EXPECT_EQ(k.out.enforced_level(), Level::block);
  const DetectorLevel& again = k.call(A, B, 1'012).d[0];
  EXPECT_EQ(again.level, Level::block);
  EXPECT_FALSE(again.rose);
  // Another pair is another key.
  EXPECT_EQ(k.call(A, number(3), 1'013).d[0].count, 1u);
  EXPECT_EQ(k.out.d[0].level, Level::none);
}

TEST(WorkerDetect, WarnThenBlock) {
  Worker k({make_spec(1, DetectKey::caller, DetectCount::invites, 60'000, 3, 5)});
  std::vector<Level> levels;
  std::vector<bool> rose;
  for (int i = 1; i <= 7; ++i) {
    const DetectorLevel& d = k.call(A, number(100 + i), i).d[0];
    levels.push_back(d.level);
    rose.push_back(d.rose);
  }
  EXPECT_EQ(levels, (std::vector<Level>{Level::none, Level::none, Level::none, Level::warn, Level::warn, Level::block,
                                        Level::block}));
  EXPECT_EQ(rose, (std::vector<bool>{false, false, false, true, false, true, false}));
}

TEST(WorkerDetect, CountsLeaveTheWindow) {
  Worker k({call_bombing()});  // window 60 s: buckets of 3.75 s
  for (int i = 0; i < 11; ++i) k.call(A, B, 0);
  EXPECT_EQ(k.out.d[0].level, Level::block);
  EXPECT_EQ(k.call(A, B, 59'999).d[0].count, 12u);  // bucket 15: the first 11 are still in
  EXPECT_EQ(k.call(A, B, 60'000).d[0].count, 2u);   // bucket 16: bucket 0 left
  EXPECT_EQ(k.out.d[0].level, Level::none);
}

TEST(WorkerDetect, RetransmissionsAndReInvitesCountNothing) {
  Worker k({call_bombing()});
  k.call(A, B, 0);
  const InviteKeys same = invite(A, B, k.last_id(), 1);
  k.w.on_invite(same, 500, k.out);
  EXPECT_EQ(k.out.call, InviteKind::retransmit);
  EXPECT_EQ(k.out.d[0].count, 1u);
  InviteKeys re = invite(A, B, k.last_id(), 2);
  re.in_dialog = true;
  k.w.on_invite(re, 900, k.out);
  EXPECT_EQ(k.out.call, InviteKind::reinvite);
  EXPECT_EQ(k.out.d[0].count, 1u);
  EXPECT_EQ(k.call(A, B, 1'000).d[0].count, 2u);
  EXPECT_EQ(k.out.call, InviteKind::new_call);
}

// A bomber reusing one Call-ID with a rising CSeq and no To tag is counted
// call by call and fires at the 11th, as with fresh Call-IDs.
TEST(WorkerDetect, BomberReusingOneCallIdIsCounted) {
  Worker k({call_bombing()});
  for (std::uint32_t c = 1; c <= 11; ++c) k.w.on_invite(invite(A, B, 999, c), c * 100, k.out);
  EXPECT_EQ(k.out.call, InviteKind::new_call);
  EXPECT_EQ(k.out.d[0].count, 11u);
  EXPECT_EQ(k.out.d[0].level, Level::block);
}

TEST(WorkerDetect, RetransmissionOfTheFiringInviteSeesTheSameLevel) {
  Worker k({call_bombing()});
  for (int i = 0; i < 11; ++i) k.call(A, B, i);
  ASSERT_EQ(k.out.d[0].level, Level::block);
  k.w.on_invite(invite(A, B, k.last_id(), 1), 600, k.out);
  EXPECT_EQ(k.out.call, InviteKind::retransmit);
  EXPECT_EQ(k.out.d[0].level, Level::block);
  EXPECT_EQ(k.out.d[0].count, 11u);
  EXPECT_FALSE(k.out.d[0].rose);
}

TEST(WorkerDetect, ReportModeIsReportedAndNotEnforced) {
  DetectorSpec s = call_bombing();
  s.report_only = true;
  Worker k({s});
  for (int i = 0; i < 11; ++i) k.call(A, B, i);
  EXPECT_TRUE(k.out.d[0].report_only);
  EXPECT_EQ(k.out.d[0].level, Level::block);  // levels are reported the same way
  EXPECT_TRUE(k.out.d[0].rose);
  EXPECT_EQ(k.out.enforced_level(), Level::none);  // the classifier passes the call
  Worker plain({call_bombing()});
  plain.call(A, B, 0);
  EXPECT_FALSE(plain.out.d[0].report_only);
}

TEST(WorkerDetect, MissingKeyPartsSkipTheDetector) {
  Worker k({call_bombing(), make_spec(2, DetectKey::trunk, DetectCount::invites, 60'000, 0, 1)});
  k.w.on_invite(invite(0, B, 1), 0, k.out);  // no caller
  EXPECT_EQ(k.out.n, 2u);
  EXPECT_EQ(k.out.d[0].key, 0u);
  EXPECT_EQ(k.out.d[0].count, 0u);
  EXPECT_NE(k.out.d[1].key, 0u);
  InviteKeys no_trunk = invite(A, B, 2);
  no_trunk.trunk = kNoTrunk;
  k.w.on_invite(no_trunk, 0, k.out);
  EXPECT_EQ(k.out.d[1].key, 0u);
  EXPECT_EQ(k.out.d[0].count, 1u);
}

TEST(WorkerDetect, LevelsCountsNothing) {
  Worker k({call_bombing()});
  for (int i = 0; i < 11; ++i) k.call(A, B, i);
  Levels out;
  k.w.levels(invite(A, B, 999'999), 20, out);
  EXPECT_EQ(out.d[0].count, 11u);
  EXPECT_EQ(out.d[0].level, Level::block);
  k.w.levels(invite(A, B, 999'999), 20, out);
  EXPECT_EQ(out.d[0].count, 11u);
  EXPECT_EQ(k.w.calls().find(999'999), nullptr);
}

// ---- distinct counts -------------------------------------------------------------

// prefetch(keys, p) + on_invite(keys, p) is on_invite(keys) in two steps:
// the same levels, counts and reports, INVITE after INVITE, for every kind of
// count (invites, distinct, outcome-fed).
TEST(WorkerDetect, PreparedInviteIsTheSameAsOnInvite) {
  Worker one({call_bombing(), mass_calling(), one_ring()});
  Worker two({call_bombing(), mass_calling(), one_ring()});
  WorkerDetect::Prepared p;
  bool blocked[2] = {false, false};
  for (std::uint64_t i = 0; i < 600; ++i) {
    // Every 5th a bomber (7 -> 8, a new call each time); the rest two mass
    // callers, each INVITE sent twice (a retransmission: counted once).
    const InviteKeys k = i % 5 == 4 ? invite(number(7), number(8), 90'000 + i)
                                    : invite(number(i / 300), number(1000 + i / 2), 5000 + i / 2);
    const std::uint64_t t = i * 50;
    one.w.on_invite(k, t, one.out);
    two.w.prefetch(k, p);
    two.w.on_invite(k, p, t, two.out);
    ASSERT_EQ(one.out.n, two.out.n);
    ASSERT_EQ(one.out.call, two.out.call) << i;
    for (std::uint32_t d = 0; d < one.out.n; ++d) {
      ASSERT_EQ(one.out.d[d].key, two.out.d[d].key) << i << " " << d;
      ASSERT_EQ(one.out.d[d].local, two.out.d[d].local) << i << " " << d;
      ASSERT_EQ(one.out.d[d].count, two.out.d[d].count) << i << " " << d;
      ASSERT_EQ(one.out.d[d].level, two.out.d[d].level) << i << " " << d;
      ASSERT_EQ(one.out.d[d].rose, two.out.d[d].rose) << i << " " << d;
    }
    for (int d = 0; d < 2; ++d) blocked[d] |= one.out.d[d].level == Level::block;
  }
  // Both counts reached a level, so the comparison covered one.
  EXPECT_TRUE(blocked[0]);
  EXPECT_TRUE(blocked[1]);
  EXPECT_EQ(one.drain().size(), two.drain().size());
}

TEST(WorkerDetect, DistinctCalleesCountEachCalleeOnce) {
  Worker k({mass_calling()});  // > 100 distinct callees in 60 s
  for (int i = 1; i <= 100; ++i) k.call(A, number(1000 + i), i);
  EXPECT_EQ(k.out.d[0].count, 100u);
  EXPECT_EQ(k.out.d[0].level, Level::none);
  // The same callees again, in new calls: not new in the window.
  for (int i = 1; i <= 100; ++i) k.call(A, number(1000 + i), 200 + i);
  EXPECT_EQ(k.out.d[0].count, 100u);
  EXPECT_EQ(k.out.d[0].level, Level::none);
  const DetectorLevel& d = k.call(A, number(5000), 400).d[0];
  EXPECT_EQ(d.count, 101u);
  EXPECT_EQ(d.level, Level::block);
  EXPECT_TRUE(d.rose);
}

TEST(WorkerDetect, DistinctValueCountsForAWindowFromItsLatestSighting) {
  Worker k({mass_calling()});
  k.call(A, number(1), 0);
  k.call(A, number(2), 0);
  k.call(A, number(1), 50'000);  // seen again: its unit moves to now
  EXPECT_EQ(k.out.d[0].count, 2u);
  // At 61 s the t=0 sightings left the window; callee 1's sighting at 50 s has not.
  EXPECT_EQ(k.call(A, number(3), 61'000).d[0].count, 2u);
  EXPECT_EQ(k.call(A, number(2), 62'000).d[0].count, 3u);  // callee 2 counts again
}

TEST(WorkerDetect, DistinctCallersPerCallee) {
  Worker k({make_spec(9, DetectKey::callee, DetectCount::distinct_callers, 60'000, 0, 3)});
  for (int i = 1; i <= 3; ++i) k.call(number(100 + i), B, i);
  k.call(number(101), B, 10);
  EXPECT_EQ(k.out.d[0].count, 3u);
  EXPECT_EQ(k.call(number(104), B, 11).d[0].level, Level::block);
}

// ---- outcome detectors ----------------------------------------------------------------

// INVITE, 180 at +100, CANCEL at +100+ring.
void one_ring_call(Worker& k, std::uint64_t caller, std::uint64_t t, std::uint64_t ring) {
  k.call(caller, number(t), t);
  const std::uint64_t id = k.last_id();
  k.w.on_response(id, 180, true, t + 100);
  k.w.on_cancel(id, t + 100 + ring);
  k.w.on_response(id, 487, true, t + 110 + ring);
}

TEST(WorkerDetect, OneRingCountsCancelsWithinNOfTheFirstRing) {
  Worker k({one_ring()});  // > 20 cancelled within 3 s of a 18x in 300 s
  for (int i = 0; i < 20; ++i) one_ring_call(k, A, 1'000 * i, i == 0 ? 3'000 : 1'000);  // 3 s exactly counts
  one_ring_call(k, A, 30'000, 3'001);                                                   // just too long
  k.call(A, number(1), 40'000);
  EXPECT_EQ(k.out.d[0].count, 20u);
  EXPECT_EQ(k.out.d[0].level, Level::none);
  one_ring_call(k, A, 41'000, 500);
  // The count rose at the CANCEL; the next INVITE is the one that sees it.
  const DetectorLevel& d = k.call(A, number(2), 50'000).d[0];
  EXPECT_EQ(d.count, 21u);
  EXPECT_EQ(d.level, Level::block);
  EXPECT_TRUE(d.rose);
}

// The RecentKeys filter in front of the outcome detectors' tables only saves
// lookups: the same traffic through a worker with it and one without gives
// the same levels on every INVITE. Many callers over several windows (so
// the filter's generations turn), a few of them ring-and-cancel, short
// calls, rejected calls and unanswered ones; small tables, so keys are
// evicted and bits are shared.
TEST(WorkerDetect, OutcomeFilterChangesNoLevel) {
  DetectorSpec shorts = make_spec(5, DetectKey::caller, DetectCount::short_calls, 20'000, 2, 4, 64);
  shorts.within_ms = 5'000;
  DetectorSpec unanswered = make_spec(6, DetectKey::caller, DetectCount::unanswered, 10'000, 2, 3, 64);
  DetectorSpec ring = one_ring();
  ring.window_ms = 30'000;
  ring.warn = 1;
  ring.block = 3;
  ring.capacity = 64;
  DetectorSpec asr = low_asr();
  asr.window_ms = 40'000;
  asr.min_attempts = 3;
  asr.capacity = 64;
  const std::vector<DetectorSpec> specs{call_bombing(), ring, shorts, unanswered, asr};
  WorkerOptions plain;
  plain.outcome_filter = false;
  plain.calls.capacity = 256;
  WorkerOptions filtered = plain;
  filtered.outcome_filter = true;
  Worker with(specs, filtered);
  Worker without(specs, plain);
  std::uint64_t seed = 12345;
  auto rnd = [&seed](std::uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  unsigned at_level = 0;
  for (std::uint64_t i = 0; i < 20'000; ++i) {
    const std::uint64_t t = i * 11;  // 220 s: 7 windows of the longest detector
    // Callers 0..9 misbehave (their outcomes fill the tables); 10..2009 call once in a while.
    const bool bad = rnd(4) == 0;
    const std::uint64_t caller = number(bad ? rnd(10) : 10 + rnd(2000));
    const std::uint64_t callee = number(5000 + rnd(50));
    const Levels& a = with.call(caller, callee, t);
    const Levels& b = without.call(caller, callee, t);
    ASSERT_EQ(a.n, b.n);
    for (std::uint32_t d = 0; d < a.n; ++d) {
      ASSERT_EQ(a.d[d].key, b.d[d].key) << i << " " << d;
      ASSERT_EQ(a.d[d].local, b.d[d].local) << i << " " << d;
      ASSERT_EQ(a.d[d].local2, b.d[d].local2) << i << " " << d;
      ASSERT_EQ(a.d[d].count, b.d[d].count) << i << " " << d;
      ASSERT_EQ(a.d[d].level, b.d[d].level) << i << " " << d;
      at_level += d > 0 && a.d[d].level != Level::none;
    }
    // What happens to the call: the same in both.
    const unsigned fate = bad ? static_cast<unsigned>(rnd(4)) : 4;
    for (Worker* k : {&with, &without}) {
      const std::uint64_t id = k->last_id();
      switch (fate) {
        case 0:  // one ring
          k->w.on_response(id, 180, true, t + 2);
          k->w.on_cancel(id, t + 5);
          break;
        case 1:  // a short call
          k->w.on_response(id, 200, true, t + 2);
          k->w.on_bye(id, t + 7);
          break;
        case 2:  // rejected
          k->w.on_response(id, 486, true, t + 3);
          break;
        case 3:  // left ringing: unanswered at the sweep
          k->w.on_response(id, 180, true, t + 3);
          break;
        default:  // a benign caller's answered call
          k->w.on_response(id, 200, true, t + 4);
          break;
      }
      if (i % 64 == 0) k->w.expire(t + 8, 64);
    }
  }
  // The comparison saw outcome detectors at a level, and the filter did skip lookups.
  EXPECT_GT(at_level, 100u);
  EXPECT_GT(with.w.outcome_lookups_skipped(), 10'000u);
  EXPECT_EQ(without.w.outcome_lookups_skipped(), 0u);
}

TEST(WorkerDetect, ShortCallsAndUnanswered) {
  DetectorSpec shorts = make_spec(5, DetectKey::caller, DetectCount::short_calls, 600'000, 0, 1);
  shorts.within_ms = 10'000;
  DetectorSpec unanswered = make_spec(6, DetectKey::caller, DetectCount::unanswered, 600'000, 0, 2);
  Worker k({shorts, unanswered});
  // Answered, BYE after 10 s (counts) and after 10.001 s (does not).
  for (std::uint64_t talk : {10'000u, 10'001u}) {
    k.call(A, B, 0);
    k.w.on_response(k.last_id(), 200, true, 1'000);
    k.w.on_bye(k.last_id(), 1'000 + talk);
  }
  // Unanswered: busy, cancelled, ringing timeout.
  k.call(A, B, 0);
  k.w.on_response(k.last_id(), 486, true, 500);
  k.call(A, B, 0);
  k.w.on_cancel(k.last_id(), 500);
  k.call(A, B, 0);
  k.w.on_response(k.last_id(), 180, true, 100);
  k.call(A, B, 1'000);
  EXPECT_EQ(k.out.d[0].count, 1u);
  EXPECT_EQ(k.out.d[1].count, 2u);
  EXPECT_EQ(k.out.d[1].level, Level::none);
  // Sweep at 181 s: the ringing calls of t=0 and t=1000 time out.
  const std::size_t dropped = k.w.expire(181'001, k.w.calls().capacity());
  EXPECT_GE(dropped, 2u);
  const DetectorLevel& d = k.call(A, B, 182'000).d[1];
  EXPECT_EQ(d.count, 4u);
  EXPECT_EQ(d.level, Level::block);
}

TEST(WorkerDetect, AsrFiresOnceMinAttemptsAreSeen) {
  Worker k({low_asr()});  // warn < 300 permille, block < 100, min 20 attempts
  for (int i = 0; i < 19; ++i) {
    k.call(A, B, i);
    k.w.on_response(k.last_id(), 486, true, i + 1);
  }
  k.call(A, B, 100);  // in flight: no attempt yet
  EXPECT_EQ(k.out.d[0].count, 19u);
  EXPECT_EQ(k.out.d[0].level, Level::none);  // 0 % but under 20 attempts
  k.w.on_response(k.last_id(), 200, true, 200);
  EXPECT_EQ(k.call(A, B, 300).d[0].count, 20u);
  EXPECT_EQ(k.out.d[0].count2, 1u);
  EXPECT_EQ(k.out.d[0].level, Level::block);  // 50 permille
  for (int i = 0; i < 4; ++i) {
    k.w.on_response(k.last_id(), 200, true, 400 + i);
    k.call(A, B, 500 + i);
  }
  // 5 answered of 24 attempts (the last call in flight): 208 permille.
  EXPECT_EQ(k.out.d[0].count, 24u);
  EXPECT_EQ(k.out.d[0].count2, 5u);
  EXPECT_EQ(k.out.d[0].level, Level::warn);
}

// ---- reports -------------------------------------------------------------------------------

TEST(WorkerDetect, ReportsHotKeysWhenTheirCountChangesEnough) {
  Worker k({make_spec(1, DetectKey::caller, DetectCount::invites, 60'000, 0, 40)});  // report_min 20
  EXPECT_EQ(k.w.report_min(0), 20u);
  std::vector<std::uint32_t> reported;
  for (int i = 1; i <= 60; ++i) {
    k.call(A, B, i);
    for (const HotKeyReport& r : k.drain()) {
      EXPECT_EQ(r.detector, 1u);
      EXPECT_EQ(r.a, A);
      EXPECT_EQ(r.key, k.out.d[0].key);
      reported.push_back(r.count);
      EXPECT_EQ(r.level, r.count > 40 ? Level::block : Level::none);
    }
  }
  // From 20 (steps of max(1, last/8)): 20, 22, 24, 27, 30, 33, 37, 41 (level change), 46, 51, 57.
  EXPECT_EQ(reported, (std::vector<std::uint32_t>{20, 22, 24, 27, 30, 33, 37, 41, 46, 51, 57}));
  EXPECT_EQ(k.w.reports_pushed(), reported.size());
  // The count falls below report_min: told once, then silence.
  k.call(A, B, 70'000);
  std::vector<HotKeyReport> r = k.drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].count, 1u);
  k.call(A, B, 70'001);
  EXPECT_TRUE(k.drain().empty());
}

// detection.report_percent (a fleet's view wants keys well under a
// threshold in the merge): the report minimum follows it, floor 2.
TEST(WorkerDetect, ReportMinimumFollowsReportPercent) {
  const DetectorSpec spec = make_spec(1, DetectKey::caller, DetectCount::invites, 60'000, 0, 40);
  WorkerOptions o;
  EXPECT_EQ(Worker({spec}, o).w.report_min(0), 20u);  // 50 % by default
  o.report_percent = 20;
  Worker k({spec}, o);
  EXPECT_EQ(k.w.report_min(0), 8u);
  for (int i = 1; i <= 8; ++i) k.call(A, B, i);
  const std::vector<HotKeyReport> r = k.drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].count, 8u);
  o.report_percent = 1;
  EXPECT_EQ(Worker({spec}, o).w.report_min(0), 2u);  // the floor
  o.workers = 4;
  o.report_percent = 100;
  EXPECT_EQ(Worker({spec}, o).w.report_min(0), 10u);
  o.report_percent = 0;
  EXPECT_NE(WorkerDetect::validate(std::span<const DetectorSpec>(&spec, 1), o), nullptr);
}

TEST(WorkerDetect, FullReportQueueIsCountedAndRetried) {
  WorkerOptions o;
  o.report_queue = 2;
  Worker k({make_spec(1, DetectKey::caller, DetectCount::invites, 60'000, 0, 4)},
           o);                                  // report_min 2
  for (int i = 0; i < 4; ++i) k.call(A, B, i);  // reports at 2, 3; 4 does not fit
  EXPECT_EQ(k.w.reports_pushed(), 2u);
  EXPECT_EQ(k.w.reports_dropped(), 1u);
  k.drain();
  k.call(A, B, 10);  // 5: the key is reported again (its mark still says 3)
  const std::vector<HotKeyReport> r = k.drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].count, 5u);
}

TEST(WorkerDetect, KeysBelowTheReportMinimumStayOutOfTheQueue) {
  Worker k({mass_calling(), call_bombing()});
  for (std::uint64_t i = 1; i <= 10'000; ++i) k.call(number(i), number(i + 1), i);
  EXPECT_EQ(k.w.reports_pushed(), 0u);
}

// ---- reloads, memory, validation --------------------------------------------------------------

TEST(WorkerDetect, AdoptKeepsUnchangedDetectorsAndDropsChangedOnes) {
  DetectorSpec kept = make_spec(1, DetectKey::caller, DetectCount::invites, 60'000, 0, 100);
  DetectorSpec changed = make_spec(2, DetectKey::caller, DetectCount::invites, 60'000, 0, 100);
  DetectorSpec rings = one_ring();
  Worker old({kept, changed, rings});
  for (int i = 0; i < 7; ++i) old.call(A, B, i);
  old.call(A, B, 10);
  const std::uint64_t ringing = old.last_id();
  old.w.on_response(ringing, 180, true, 20);

  DetectorSpec changed2 = changed;
  changed2.block = 50;
  changed2.definition_hash = 3;  // a new definition, a new hash
  const DetectorSpec added = make_spec(4, DetectKey::callee, DetectCount::invites, 60'000, 0, 100);
  Worker next({added, changed2, kept, rings});
  next.w.adopt(old.w);
  EXPECT_EQ(next.w.adopted(), 2u);  // kept and rings
  EXPECT_EQ(next.w.calls().size(), 8u);
  // The call ringing across the reload ends as a one-ring in the new tables.
  next.w.on_cancel(ringing, 1'000);
  next.w.on_invite(invite(A, B, 77), 1'100, next.out);
  EXPECT_EQ(next.out.d[0].count, 1u);  // added: empty
  EXPECT_EQ(next.out.d[1].count, 1u);  // changed: starts empty
  EXPECT_EQ(next.out.d[2].count, 9u);  // kept: 8 before + this one
  EXPECT_EQ(next.out.d[3].count, 1u);  // one-ring: the cancel after the reload
  // The old object is left empty and usable.
  EXPECT_EQ(old.w.calls().size(), 0u);
  EXPECT_EQ(old.w.counter(0).size(), 0u);
}

// The data plane's worker owns its call table for the process lifetime and
// lends it to each rule set's WorkerDetect: adopt() leaves it where it is,
// a call ringing across the reload still ends as a one-ring, and the table
// is not counted in either object's memory.
TEST(WorkerDetect, AdoptLeavesTheWorkersCallTableInPlace) {
  CallTableOptions co;
  co.capacity = 1024;
  CallTable table(co);
  const std::vector<DetectorSpec> specs{one_ring()};
  WorkerDetect old(specs, WorkerOptions{}, &table);
  Levels out;
  old.on_invite(invite(A, B, 1), 10, out);
  old.on_response(1, 180, true, 20);
  EXPECT_EQ(table.size(), 1u);
  WorkerOptions owned;
  owned.calls.capacity = 1024;
  EXPECT_EQ(old.memory_bytes() + table.memory_bytes(), WorkerDetect(specs, owned).memory_bytes());

  WorkerDetect next(specs, WorkerOptions{}, &table);
  next.adopt(old);
  EXPECT_EQ(&next.calls(), &table);
  EXPECT_EQ(&old.calls(), &table);  // nothing moved
  EXPECT_EQ(table.size(), 1u);
  next.on_cancel(1, 1'000);
  next.on_invite(invite(A, B, 2), 1'100, out);
  EXPECT_EQ(out.d[0].count, 1u);  // the cancel after the reload, counted by the new state
}

// A worker that sweeps its own table feeds each departing call's outcome
// through on_expired(), as expire() would.
TEST(WorkerDetect, OnExpiredFeedsWhatTheOwnersSweepFound) {
  CallTableOptions co;
  co.capacity = 64;
  co.ringing_timeout_ms = 1'000;
  CallTable table(co);
  WorkerDetect w(std::vector<DetectorSpec>{make_spec(1, DetectKey::caller, DetectCount::unanswered, 60'000, 0, 100)},
                 WorkerOptions{}, &table);
  Levels out;
  w.on_invite(invite(A, B, 1), 0, out);
  std::size_t left = table.expire(5'000, 64, [&](const CallRecord& c, const Outcome& o) { w.on_expired(c, o, 5'000); });
  EXPECT_EQ(left, 1u);
  w.levels(invite(A, B, 2), 5'001, out);
  EXPECT_EQ(out.d[0].count, 1u);  // the ringing timeout counted as unanswered
}

TEST(WorkerDetect, MemoryIsFixedAtConstruction) {
  WorkerOptions o;
  o.calls.capacity = 4096;
  Worker k({call_bombing(), mass_calling(), one_ring(), low_asr()}, o);
  const std::size_t mem = k.w.memory_bytes();
  // 4 x 1024 keys: 84 B each (asr 148 B), mass calling's 4096 pairs x 16 B,
  // 4096 calls x 112 B, 8192 reports x 64 B; one_ring's and asr's RecentKeys
  // (1 KB each) are in the slack.
  EXPECT_GT(mem, 3 * 1024 * 84 + 1024 * 148 + 4096 * 16 + 4096 * 112 + 8192 * 64 - 1);
  EXPECT_LT(mem, 3 * 1024 * 84 + 1024 * 148 + 4096 * 16 + 4096 * 112 + 8192 * 64 + 16'384);
  for (std::uint64_t i = 1; i <= 100'000; ++i) {
    k.call(number(i % 5000), number(i), i);
    if (i % 2) k.w.on_response(k.last_id(), 180, true, i);
    if (i % 4 == 1) k.w.on_cancel(k.last_id(), i + 1);
    if (i % 4 == 3) k.w.on_response(k.last_id(), 200, true, i + 1);
    k.w.expire(i, 16);
    k.drain();
  }
  EXPECT_EQ(k.w.memory_bytes(), mem);
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_LE(k.w.counter(i).size(), k.w.counter(i).capacity());
    EXPECT_TRUE(k.w.counter(i).check());
  }
  EXPECT_TRUE(k.w.calls().check());
}

TEST(WorkerDetect, ValidateRefusesBadSpecsAndOptions) {
  std::vector<DetectorSpec> specs(33, call_bombing());
  EXPECT_NE(WorkerDetect::validate(specs, {}), nullptr);
  specs.resize(32);
  EXPECT_EQ(WorkerDetect::validate(specs, {}), nullptr);
  DetectorSpec bad = call_bombing();
  bad.window_ms = 999;
  EXPECT_STREQ(WorkerDetect::validate(std::span(&bad, 1), {}), "window must be 1 s .. 24 h");
  bad = one_ring();
  bad.within_ms = 0;
  EXPECT_NE(WorkerDetect::validate(std::span(&bad, 1), {}), nullptr);
  bad = low_asr();
  bad.block = 1001;
  EXPECT_NE(WorkerDetect::validate(std::span(&bad, 1), {}), nullptr);
  bad = call_bombing();
  bad.count = static_cast<DetectCount>(99);
  EXPECT_NE(WorkerDetect::validate(std::span(&bad, 1), {}), nullptr);
  WorkerOptions o;
  o.workers = 2;
  o.worker_index = 2;
  EXPECT_NE(WorkerDetect::validate({}, o), nullptr);
  EXPECT_THROW(WorkerDetect(specs, o), std::invalid_argument);
}

}  // namespace
}  // namespace sipwall::detect
