// Merger + WorkerDetect across workers: the estimate formula, a key spread
// over workers crossing at the merge, the penalty box (block_for, while
// over, expiry), lifts, stale reports, reloads, bounds.
#include "dataplane/detect/merger.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/worker_detect.h"
#include "tests/unit/dataplane/detect/detect_test_util.h"

namespace sipwall::detect {
namespace {

using testing::call_bombing;
using testing::invite;
using testing::make_spec;
using testing::number;

const std::uint64_t A = number(1), B = number(2);

// N workers and a merger, wired the way the app wires them; old sets are
// kept alive (as RCU would until every worker moved on).
class Cluster {
 public:
  Cluster(std::vector<DetectorSpec> specs, std::uint32_t n, MergerOptions mo = {}) : specs_(std::move(specs)) {
    mo.workers = n;
    merger = std::make_unique<Merger>(specs_, mo);
    for (std::uint32_t i = 0; i < n; ++i) {
      WorkerOptions o;
      o.worker_index = i;
      o.workers = n;
      workers.push_back(std::make_unique<WorkerDetect>(specs_, o));
    }
  }

  const DetectorLevel& call(std::uint32_t w, std::uint64_t caller, std::uint64_t callee, std::uint64_t t,
                            std::uint32_t detector = 0) {
    workers[w]->on_invite(invite(caller, callee, ++next_id_), t, out);
    return out.d[detector];
  }

  const DynamicSet& merge(std::uint64_t now) {
    for (std::uint32_t i = 0; i < workers.size(); ++i) merger->take(i, workers[i]->reports());
    sets.push_back(merger->merge(now));
    for (auto& w : workers) w->set_dynamic(sets.back().get());
    return *sets.back();
  }

  std::vector<DetectorSpec> specs_;
  std::unique_ptr<Merger> merger;
  std::vector<std::unique_ptr<WorkerDetect>> workers;
  std::vector<std::unique_ptr<DynamicSet>> sets;
  Levels out;

 private:
  std::uint64_t next_id_ = 0;
};

std::uint64_t pair_key(std::uint64_t caller, std::uint64_t callee) {
  return key_hash(DetectKey::caller_callee, KeyParts{caller, callee, true});
}

TEST(Merger, OneWorkerEstimateIsItsLocalCount) {
  Cluster c({call_bombing()}, 1);
  for (int i = 0; i < 7; ++i) c.call(0, A, B, i);
  const DynamicSet& s = c.merge(100);
  const DynamicEntry* e = s.find(call_bombing().definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 7u);
  EXPECT_EQ(e->level, Level::none);
  for (std::uint32_t i = 8; i <= 12; ++i) {
    const DetectorLevel& d = c.call(0, A, B, 100 + i);
    EXPECT_EQ(d.count, i);
    EXPECT_EQ(d.local, i);
  }
}

TEST(Merger, KeySpreadOverWorkersCrossesTheGlobalThresholdAtTheMerge) {
  Cluster c({call_bombing()}, 4);  // > 10 in 60 s; report_min = max(2, 10 / 8) = 2
  EXPECT_EQ(c.workers[0]->report_min(0), 2u);
  for (int i = 0; i < 8; ++i) c.call(i % 4, A, B, i);  // 2 per worker
  const DynamicSet& s1 = c.merge(100);
  const DynamicEntry* e = s1.find(call_bombing().definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 8u);
  for (std::uint32_t w = 0; w < 4; ++w) EXPECT_EQ(s1.own(*e, w).count, 2u);
  EXPECT_EQ(e->a, A);
  EXPECT_EQ(e->b, B);

  // estimate = local + (merged - own at merge): 3 + (8 - 2) = 9 on each of
  // three workers; the true count reaches 11, but no worker sees it yet.
  for (std::uint32_t w = 0; w < 3; ++w) {
    const DetectorLevel& d = c.call(w, A, B, 200 + w);
    EXPECT_EQ(d.local, 3u);
    EXPECT_EQ(d.count, 9u);
    EXPECT_EQ(d.level, Level::none);
  }
  // The merge sums 3 + 3 + 3 + 2 = 11 > 10: held at block, on every worker.
  const DynamicSet& s2 = c.merge(300);
  e = s2.find(call_bombing().definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 11u);
  EXPECT_EQ(e->level, Level::block);
  EXPECT_EQ(e->fired_ms, 300u);
  EXPECT_EQ(e->expiry_ms, 300u + 600'000u);
  EXPECT_EQ(c.merger->stats(0).fires, 1u);
  EXPECT_EQ(c.merger->stats(0).active, 1u);
  const DetectorLevel& d3 = c.call(3, A, B, 400);
  EXPECT_EQ(d3.local, 3u);
  EXPECT_EQ(d3.count, 12u);  // 3 + (11 - 2)
  EXPECT_EQ(d3.level, Level::block);
  EXPECT_EQ(d3.held, Level::block);
  EXPECT_EQ(c.call(0, A, B, 401).held, Level::block);
  // Another callee is another key: untouched.
  EXPECT_EQ(c.call(1, A, number(3), 402).level, Level::none);
}

TEST(Merger, AWorkersOwnCrossingIsHeldEvenIfTheSumIsNotOver) {
  Cluster c({call_bombing()}, 2);
  for (int i = 0; i < 6; ++i) c.call(1, A, B, i);
  c.merge(100);  // 6 from worker 1
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.call(0, A, B, 59'000 + i).level, Level::none);
  EXPECT_EQ(c.call(0, A, B, 59'010).count, 11u);  // 5 + 6
  EXPECT_EQ(c.out.d[0].level, Level::block);
  // At 60.1 s worker 1's report is a window old: the sum is 5, but worker 0
  // acted on its estimate, so the key is held.
  const DynamicSet& s = c.merge(60'100);
  const DynamicEntry* e = s.find(call_bombing().definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 5u);
  EXPECT_EQ(e->level, Level::block);
}

TEST(Merger, ExternalHoldBlocksAKeyWithoutCountsUntilItsExpiryOrALift) {
  Cluster c({call_bombing()}, 2);
  const std::uint64_t det = call_bombing().definition_hash;
  // A block decided elsewhere (an operator, the fleet): no call counted here.
  ASSERT_TRUE(c.merger->hold(det, pair_key(A, B), A, B, Level::block, 5'000, 100));
  EXPECT_FALSE(c.merger->hold(det + 1, pair_key(A, B), A, B, Level::block, 5'000, 100));  // no such detector
  const DynamicSet& s = c.merge(100);
  const DynamicEntry* e = s.find(det, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->external);
  EXPECT_EQ(e->level, Level::block);
  EXPECT_EQ(e->expiry_ms, 5'000u);
  // Every worker acts on it from its first call, the count far below the threshold.
  EXPECT_EQ(c.call(0, A, B, 200).level, Level::block);
  EXPECT_EQ(c.call(1, A, B, 200).level, Level::block);
  EXPECT_EQ(c.call(1, A, number(3), 200).level, Level::none);  // another key
  // Merges do not end it while it lasts; it ends at its expiry.
  c.merge(4'000);
  EXPECT_EQ(c.call(0, A, B, 4'999).level, Level::block);
  EXPECT_EQ(c.call(0, A, B, 5'000).level, Level::none);
  const DynamicSet& s2 = c.merge(5'100);
  const DynamicEntry* e2 = s2.find(det, pair_key(A, B));
  EXPECT_TRUE(e2 == nullptr || (!e2->external && e2->level == Level::none));
  // A lift ends one early.
  ASSERT_TRUE(c.merger->hold(det, pair_key(A, B), A, B, Level::block, 60'000, 6'000));
  c.merge(6'000);
  EXPECT_EQ(c.call(0, A, B, 6'100).level, Level::block);
  c.merger->lift(det, pair_key(A, B), 6'200);
  c.merge(6'200);
  EXPECT_EQ(c.call(0, A, B, 6'300).level, Level::none);
}

TEST(Merger, PenaltyHoldsForBlockForAfterTheCountFallsThenExpires) {
  Cluster c({call_bombing()}, 1);  // block_for 10 min
  for (int i = 0; i < 11; ++i) c.call(0, A, B, i);
  ASSERT_EQ(c.out.d[0].level, Level::block);
  c.merge(100);
  // A window later the count is 1, but the key is held.
  const DetectorLevel& d = c.call(0, A, B, 61'000);
  EXPECT_EQ(d.local, 1u);
  EXPECT_EQ(d.count, 1u);
  EXPECT_EQ(d.level, Level::block);
  EXPECT_EQ(d.held, Level::block);
  // That INVITE told the merger the key cooled (count 1); the hold stays.
  const DynamicSet& s = c.merge(61'100);
  const DynamicEntry* e = s.find(call_bombing().definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 1u);
  EXPECT_EQ(e->level, Level::block);
  EXPECT_EQ(c.call(0, A, B, 600'099).level, Level::block);
  // Expiry is checked by the worker too, before any merge.
  EXPECT_EQ(c.call(0, A, B, 600'100).level, Level::none);
  EXPECT_EQ(c.out.d[0].held, Level::none);
  // The next merge forgets the key.
  const DynamicSet& s2 = c.merge(600'200);
  EXPECT_EQ(s2.find(call_bombing().definition_hash, pair_key(A, B)), nullptr);
  EXPECT_EQ(c.merger->stats(0).active, 0u);
}

TEST(Merger, WithoutBlockForTheHoldLastsWhileOver) {
  DetectorSpec s = call_bombing();
  s.block_for_ms = 0;
  MergerOptions mo;
  mo.over_grace_ms = 1'000;
  Cluster c({s}, 1, mo);
  for (int i = 0; i < 11; ++i) c.call(0, A, B, 10);
  const DynamicEntry* e = c.merge(100).find(s.definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->expiry_ms, 1'100u);  // one grace after the merge
  // Merging every 500 ms while the count stays over extends the hold.
  std::uint64_t t = 600;
  for (; t < 60'000; t += 500) {
    e = c.merge(t).find(s.definition_hash, pair_key(A, B));
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(e->level, Level::block);
    ASSERT_EQ(e->expiry_ms, t + 1'000);
  }
  EXPECT_EQ(c.merger->stats(0).fires, 1u);  // one hold, extended, not fired again
  // The report (t = 10) is a window old from 60 010: no longer over, but
  // held until the grace after the last merge at which it was.
  const std::uint64_t last_over = t - 500;
  e = c.merge(60'100).find(s.definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 0u);
  EXPECT_EQ(e->level, Level::block);
  EXPECT_EQ(c.merge(last_over + 1'000).find(s.definition_hash, pair_key(A, B)), nullptr);
}

TEST(Merger, LiftedKeyDoesNotFireOnOldCountsButOnNewOnes) {
  Cluster c({call_bombing()}, 2);
  for (int i = 0; i < 12; ++i) c.call(i % 2, A, B, i);  // 6 + 6
  c.merge(100);
  ASSERT_EQ(c.call(0, A, B, 200).level, Level::block);
  c.call(1, A, B, 201);  // a report still in worker 1's queue when the lift comes
  const std::uint64_t det = call_bombing().definition_hash;
  EXPECT_TRUE(c.merger->lift(det, pair_key(A, B), 300));
  EXPECT_EQ(c.merger->lift_seq(), 1u);
  bool listed = false;
  c.merger->for_each([&](const DynamicEntry& e) { listed |= e.key == pair_key(A, B); });
  EXPECT_FALSE(listed);  // gone from the listing at once
  const DynamicSet& s = c.merge(400);
  EXPECT_GE(c.merger->dropped_lifted(), 1u);
  ASSERT_EQ(s.lifts().size(), 1u);
  EXPECT_EQ(s.lifts()[0].key, pair_key(A, B));
  EXPECT_EQ(s.find(det, pair_key(A, B)), nullptr);
  EXPECT_EQ(c.workers[0]->lift_resets(), 1u);
  EXPECT_EQ(c.workers[1]->lift_resets(), 1u);
  // Old counts are gone on both workers.
  const DetectorLevel& d = c.call(0, A, B, 500);
  EXPECT_EQ(d.count, 1u);
  EXPECT_EQ(d.level, Level::none);
  // New calls count up again and fire again: 10 more on worker 0 makes 11.
  for (int i = 0; i < 9; ++i) c.call(0, A, B, 600 + i);
  EXPECT_EQ(c.out.d[0].level, Level::none);
  EXPECT_EQ(c.call(0, A, B, 700).level, Level::block);
  EXPECT_EQ(c.out.d[0].count, 11u);
  // And the merge holds it again, with the lift's generation.
  const DynamicEntry* e = c.merge(800).find(det, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->level, Level::block);
  EXPECT_EQ(e->lift_generation, 1u);
  // A set seen twice does not lift twice.
  c.workers[0]->set_dynamic(c.sets[c.sets.size() - 2].get());
  c.workers[0]->set_dynamic(c.sets.back().get());
  EXPECT_EQ(c.workers[0]->lift_resets(), 1u);
}

TEST(Merger, LiftsAWorkerMissedResetEverything) {
  MergerOptions mo;
  mo.lift_log = 1;
  Cluster c({call_bombing(), make_spec(2, DetectKey::caller, DetectCount::invites, 60'000, 0, 100)}, 1, mo);
  for (int i = 0; i < 5; ++i) c.call(0, A, B, i);
  c.merger->lift(1, 111, 10);
  c.merger->lift(1, 222, 10);  // the log keeps only this one
  const DynamicSet& s = c.merge(100);
  ASSERT_EQ(s.lifts().size(), 1u);
  EXPECT_EQ(s.lifts()[0].seq, 2u);
  EXPECT_EQ(c.workers[0]->lift_gaps(), 1u);
  EXPECT_EQ(c.call(0, A, B, 200).count, 1u);
  EXPECT_EQ(c.out.d[1].count, 1u);
}

TEST(Merger, LiftLogAgesOut) {
  MergerOptions mo;
  mo.lift_log_ms = 10'000;
  Cluster c({call_bombing()}, 1, mo);
  c.merger->lift(call_bombing().definition_hash, 5, 0);
  EXPECT_EQ(c.merge(9'999).lifts().size(), 1u);
  const DynamicSet& s = c.merge(10'000);
  EXPECT_TRUE(s.lifts().empty());
  EXPECT_EQ(s.lift_seq(), 1u);
  // A worker that saw the lift is not reset again; a new one (lift_seen 0) is.
  EXPECT_EQ(c.workers[0]->lift_gaps(), 0u);
  WorkerDetect fresh(c.specs_, WorkerOptions{});
  fresh.set_dynamic(&s);
  EXPECT_EQ(fresh.lift_gaps(), 1u);
}

TEST(Merger, LiftPartLiftsEveryDetectorKeyWithThatNumber) {
  Cluster c({call_bombing(), make_spec(2, DetectKey::caller, DetectCount::invites, 60'000, 0, 5)}, 1);
  for (int i = 0; i < 11; ++i) c.call(0, A, B, i);
  for (int i = 0; i < 6; ++i) c.call(0, number(9), B, 20 + i);
  c.merge(100);
  EXPECT_EQ(c.merger->lift_part(A, 200), 2u);  // (A, B) for bombing, A for the caller detector
  const DynamicSet& s = c.merge(300);
  EXPECT_EQ(s.lifts().size(), 2u);
  std::size_t held = 0;
  for (const DynamicEntry& e : s.entries()) held += e.level != Level::none ? 1 : 0;
  EXPECT_EQ(held, 1u);  // number(9) on the caller detector
  EXPECT_EQ(c.call(0, A, B, 400).count, 1u);
}

TEST(Merger, ReportsAgeOutAfterAWindow) {
  Cluster c({make_spec(1, DetectKey::caller, DetectCount::invites, 16'000, 0, 100)},
            2);  // report_min 25
  for (int i = 0; i < 25; ++i) c.call(1, A, number(i), 5);
  const std::uint64_t key = key_hash(DetectKey::caller, KeyParts{A, 0, true});
  const DynamicEntry* e = c.merge(100).find(1, key);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->count, 25u);
  EXPECT_EQ(e->first_seen_ms, 5u);
  EXPECT_EQ(e->last_seen_ms, 5u);
  EXPECT_NE(c.merge(16'004).find(1, key), nullptr);
  EXPECT_EQ(c.merge(16'005).find(1, key), nullptr);  // 16 buckets of 1 s after the report
  EXPECT_EQ(c.merger->tracked(), 0u);
}

TEST(Merger, ReloadKeepsDetectorsThatDidNotChange) {
  const DetectorSpec other = make_spec(2, DetectKey::caller, DetectCount::invites, 60'000, 0, 5);
  Cluster c({call_bombing(), other}, 1);
  for (int i = 0; i < 11; ++i) c.call(0, A, B, i);
  c.merge(100);
  EXPECT_EQ(c.merger->tracked(), 2u);
  const DetectorSpec bombing = call_bombing();
  c.merger->set_specs(std::span(&bombing, 1));
  EXPECT_EQ(c.merger->tracked(), 1u);
  EXPECT_EQ(c.merger->stats(0).fires, 1u);
  const std::unique_ptr<DynamicSet> set = c.merger->merge(200);
  const DynamicEntry* e = set->find(bombing.definition_hash, pair_key(A, B));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->level, Level::block);
}

TEST(Merger, BoundedAndDefensive) {
  MergerOptions mo;
  mo.max_entries = 2;
  mo.workers = 2;
  const DetectorSpec s = call_bombing();
  Merger merger(std::span(&s, 1), mo);
  HotKeyReport r{s.definition_hash, 1, 0, 0, 10, 5, 0, 0, Level::none};
  merger.apply(0, r);
  r.key = 2;
  merger.apply(1, r);
  r.key = 3;
  merger.apply(0, r);
  EXPECT_EQ(merger.dropped_full(), 1u);
  EXPECT_EQ(merger.tracked(), 2u);
  merger.apply(2, r);  // no such worker
  r.detector = 999;    // no such detector
  merger.apply(0, r);
  EXPECT_EQ(merger.dropped_unknown(), 2u);
  const std::unique_ptr<DynamicSet> set = merger.merge(100);
  EXPECT_EQ(set->entries().size(), 2u);
  EXPECT_EQ(set->workers(), 2u);
  EXPECT_GT(set->memory_bytes(), 2 * sizeof(DynamicEntry));
  // Slots and per-worker views for max_entries are taken at construction.
  EXPECT_GT(merger.memory_bytes(), 2 * (sizeof(DynamicEntry) + 2 * sizeof(WorkerCount)));
  mo.workers = 0;
  EXPECT_THROW(Merger(std::span(&s, 1), mo), std::invalid_argument);
}

}  // namespace
}  // namespace sipwall::detect
