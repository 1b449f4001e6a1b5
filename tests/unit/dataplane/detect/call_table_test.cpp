// CallTable: every outcome path, retransmissions, expiry, eviction, a full table.
#include "dataplane/detect/call_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/dataplane/detect/detect_test_util.h"

namespace sipwall::detect {
namespace {

using testing::invite;
using testing::number;

constexpr std::uint8_t kAttempt = Outcome::kAttempt;
constexpr std::uint8_t kAnswered = Outcome::kAnswered;
constexpr std::uint8_t kUnanswered = Outcome::kUnanswered;
constexpr std::uint8_t kOneRing = Outcome::kCancelledRinging;
constexpr std::uint8_t kEnded = Outcome::kEnded;

CallTableOptions small(std::uint32_t capacity = 64) {
  CallTableOptions o;
  o.capacity = capacity;
  return o;
}

struct Expired {
  std::uint64_t call_id;
  std::uint8_t events;
};

std::vector<Expired> sweep(CallTable& t, std::uint64_t now) {
  std::vector<Expired> out;
  t.expire(now, t.capacity(), [&](const CallRecord& r, const Outcome& o) {
    out.push_back({r.keys.call_id_hash, o.events});
  });
  return out;
}

TEST(CallTable, OneRingCancelAfterRinging) {
  CallTable t(small());
  const InviteResult r = t.on_invite(invite(number(1), number(2), 100), 10'000);
  EXPECT_EQ(r.kind, InviteKind::new_call);
  ASSERT_NE(r.call, nullptr);
  EXPECT_EQ(t.on_response(100, 100, true, 10'010).outcome.events, 0);  // Trying
  EXPECT_EQ(t.on_response(100, 180, true, 10'500).outcome.events, 0);
  const EventResult c = t.on_cancel(100, 11'700);
  EXPECT_EQ(c.outcome.events, kOneRing | kUnanswered | kAttempt);
  EXPECT_EQ(c.outcome.ring_to_cancel_ms, 1'200u);
  EXPECT_EQ(t.on_response(100, 487, true, 11'720).outcome.events, 0);  // Request Terminated
  const CallRecord* rec = t.find(100);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->invite_ms, 10'000u);
  EXPECT_EQ(rec->ring_ms, 10'500u);
  EXPECT_EQ(rec->cancel_ms, 11'700u);
  EXPECT_EQ(rec->final_code, 487);
  EXPECT_TRUE(rec->has(CallRecord::kRinging) && rec->has(CallRecord::kCancelled) && rec->has(CallRecord::kFinal));
  EXPECT_FALSE(rec->has(CallRecord::kAnswered));
  EXPECT_EQ(rec->keys.caller, number(1));
  EXPECT_TRUE(t.check());
}

TEST(CallTable, SessionProgressRingsToo) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 1), 0);
  t.on_response(1, 183, true, 300);
  t.on_response(1, 180, true, 900);  // the first 18x counts
  const EventResult c = t.on_cancel(1, 1'000);
  EXPECT_EQ(c.outcome.ring_to_cancel_ms, 700u);
}

TEST(CallTable, CancelBeforeRingingIsUnansweredNotOneRing) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 1), 0);
  EXPECT_EQ(t.on_cancel(1, 500).outcome.events, kUnanswered | kAttempt);
  EXPECT_EQ(t.on_response(1, 180, true, 600).outcome.events, 0);  // late 18x: no ring
  EXPECT_FALSE(t.find(1)->has(CallRecord::kRinging));
}

TEST(CallTable, ShortCallAnsweredThenBye) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 7), 0);
  t.on_response(7, 180, true, 200);
  const EventResult a = t.on_response(7, 200, true, 4'000);
  EXPECT_EQ(a.outcome.events, kAnswered | kAttempt);
  EXPECT_EQ(t.on_ack(7, 4'010).outcome.events, 0);
  EXPECT_TRUE(t.find(7)->has(CallRecord::kAcked));
  const EventResult b = t.on_bye(7, 6'500);
  EXPECT_EQ(b.outcome.events, kEnded);
  EXPECT_EQ(b.outcome.talk_ms, 2'500u);
  EXPECT_EQ(t.find(7)->final_code, 200);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, LongCallReportsItsTalkTime) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 7), 0);
  t.on_response(7, 200, true, 1'000);
  const EventResult b = t.on_bye(7, 601'000);
  EXPECT_EQ(b.outcome.events, kEnded);
  EXPECT_EQ(b.outcome.talk_ms, 600'000u);
}

TEST(CallTable, UnansweredByBusyAndByDecline) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 1), 0);
  const EventResult busy = t.on_response(1, 486, true, 300);
  EXPECT_EQ(busy.outcome.events, kUnanswered | kAttempt);
  EXPECT_EQ(t.find(1)->final_code, 486);
  t.on_invite(invite(number(1), number(3), 2), 0);
  t.on_response(2, 180, true, 100);
  const EventResult decline = t.on_response(2, 603, true, 5'000);
  EXPECT_EQ(decline.outcome.events, kUnanswered | kAttempt);        // not one-ring: no CANCEL
  EXPECT_EQ(t.on_response(2, 603, true, 5'500).outcome.events, 0);  // retransmission
  EXPECT_EQ(t.on_cancel(2, 5'600).outcome.events, 0);               // after the final: cancels nothing
  EXPECT_TRUE(t.check());
}

TEST(CallTable, UnansweredByRingingTimeout) {
  CallTableOptions o = small();
  o.ringing_timeout_ms = 180'000;
  CallTable t(o);
  t.on_invite(invite(number(1), number(2), 5), 1'000);
  t.on_response(5, 180, true, 1'100);
  EXPECT_TRUE(sweep(t, 180'999).empty());
  const std::vector<Expired> e = sweep(t, 181'000);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].call_id, 5u);
  EXPECT_EQ(e[0].events, kUnanswered | kAttempt);
  EXPECT_EQ(t.find(5), nullptr);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.expired(), 1u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, CancelAfterAnswerIsNoOneRing) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 9), 0);
  t.on_response(9, 180, true, 100);
  t.on_response(9, 200, true, 500);
  EXPECT_EQ(t.on_cancel(9, 900).outcome.events, 0);
  EXPECT_TRUE(t.find(9)->has(CallRecord::kCancelled));
  EXPECT_EQ(t.on_bye(9, 10'000).outcome.events, kEnded);
}

TEST(CallTable, AnswerAfterCancelStillAnswers) {
  // The CANCEL lost the race with the 200: the call was answered.
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 9), 0);
  t.on_response(9, 180, true, 100);
  EXPECT_EQ(t.on_cancel(9, 900).outcome.events, kOneRing | kUnanswered | kAttempt);
  EXPECT_EQ(t.on_response(9, 200, true, 905).outcome.events, kAnswered);  // no second attempt
  EXPECT_EQ(t.on_bye(9, 1'500).outcome.talk_ms, 595u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, ResponsesToOtherMethodsAreIgnored) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 3), 0);
  const EventResult r = t.on_response(3, 200, false, 100);  // e.g. 200 to an OPTIONS or PRACK
  EXPECT_EQ(r.call, nullptr);
  EXPECT_EQ(r.outcome.events, 0);
  EXPECT_EQ(t.on_response(3, 486, false, 100).outcome.events, 0);
  EXPECT_EQ(t.on_response(3, 99, true, 100).outcome.events, 0);
  EXPECT_EQ(t.on_response(3, 700, true, 100).outcome.events, 0);
  EXPECT_EQ(t.ignored(), 4u);
  EXPECT_FALSE(t.find(3)->has(CallRecord::kAnswered));
  EXPECT_FALSE(t.find(3)->has(CallRecord::kFinal));
  // After the answer, a 200 to the BYE is no second answer either.
  t.on_response(3, 200, true, 200);
  t.on_bye(3, 300);
  EXPECT_EQ(t.on_response(3, 200, false, 310).outcome.events, 0);
}

TEST(CallTable, RetransmissionsCountOnce) {
  CallTable t(small());
  const InviteKeys k = invite(number(1), number(2), 11, 1);
  EXPECT_EQ(t.on_invite(k, 0).kind, InviteKind::new_call);
  EXPECT_EQ(t.on_invite(k, 500).kind, InviteKind::retransmit);
  EXPECT_EQ(t.on_invite(k, 1'500).kind, InviteKind::retransmit);
  EXPECT_EQ(t.find(11)->invite_ms, 0u);
  t.on_response(11, 180, true, 100);
  t.on_response(11, 180, true, 700);
  EXPECT_EQ(t.find(11)->ring_ms, 100u);
  EXPECT_EQ(t.on_response(11, 200, true, 1'000).outcome.events, kAnswered | kAttempt);
  EXPECT_EQ(t.on_response(11, 200, true, 1'500).outcome.events, 0);
  EXPECT_EQ(t.find(11)->answer_ms, 1'000u);
  EXPECT_EQ(t.on_bye(11, 2'000).outcome.events, kEnded);
  EXPECT_EQ(t.on_bye(11, 2'500).outcome.events, 0);  // retransmission or the other side's BYE
  EXPECT_EQ(t.retransmits(), 2u);
  EXPECT_EQ(t.inserted(), 1u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, ReInviteAndAuthRetryAreTheSameCall) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 12, 1), 0);
  // 407 asks for credentials: no outcome; the retry is the same call.
  EXPECT_EQ(t.on_response(12, 407, true, 50).outcome.events, 0);
  EXPECT_EQ(t.on_invite(invite(number(1), number(2), 12, 2), 60).kind, InviteKind::reinvite);
  t.on_response(12, 180, true, 100);
  EXPECT_EQ(t.on_response(12, 200, true, 900).outcome.events, kAnswered | kAttempt);
  // A re-INVITE in the dialog (To has a tag), refused: not an outcome.
  InviteKeys re = invite(number(1), number(2), 12, 3);
  re.in_dialog = true;
  EXPECT_EQ(t.on_invite(re, 30'000).kind, InviteKind::reinvite);
  EXPECT_EQ(t.on_response(12, 488, true, 30'010).outcome.events, 0);
  EXPECT_EQ(t.find(12)->final_code, 200);
  EXPECT_EQ(t.reinvites(), 2u);
  EXPECT_EQ(t.reused(), 0u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, RedirectAndRetryAfterAreTheSameCall) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 13, 1), 0);
  t.on_response(13, 302, true, 50);
  EXPECT_EQ(t.on_invite(invite(number(1), number(3), 13, 2), 60).kind, InviteKind::reinvite);
  t.on_invite(invite(number(1), number(2), 14, 1), 0);
  t.on_response(14, 422, true, 50);
  EXPECT_EQ(t.on_invite(invite(number(1), number(2), 14, 2), 60).kind, InviteKind::reinvite);
  EXPECT_EQ(t.reused(), 0u);
}

// One Call-ID, a new CSeq and no To tag, nothing asked for a retry: a new
// call each time (a caller must not hide a call bombing behind one Call-ID).
TEST(CallTable, ReusedCallIdWithoutToTagIsANewCall) {
  CallTable t(small());
  t.on_invite(invite(number(1), number(2), 15, 1), 0);
  t.on_response(15, 180, true, 10);
  // Still ringing, and a new INVITE on the same Call-ID: the first call's
  // open outcome completes (unanswered) and a new call starts.
  InviteResult r = t.on_invite(invite(number(1), number(2), 15, 2), 100);
  EXPECT_EQ(r.kind, InviteKind::new_call);
  ASSERT_NE(r.victim, nullptr);
  EXPECT_EQ(r.victim->keys.cseq, 1u);
  EXPECT_EQ(r.victim_outcome.events, kUnanswered | kAttempt);
  EXPECT_EQ(r.call->invite_ms, 100u);
  EXPECT_EQ(r.call->seen, 0);
  // After a busy: a new call again; its old outcome was already given.
  EXPECT_EQ(t.on_response(15, 486, true, 200).outcome.events, kUnanswered | kAttempt);
  r = t.on_invite(invite(number(1), number(2), 15, 3), 300);
  EXPECT_EQ(r.kind, InviteKind::new_call);
  EXPECT_EQ(r.victim_outcome.events, 0);
  // Its retransmission is not.
  EXPECT_EQ(t.on_invite(invite(number(1), number(2), 15, 3), 310).kind, InviteKind::retransmit);
  EXPECT_EQ(t.reused(), 2u);
  EXPECT_EQ(t.inserted(), 3u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, UnknownCallIdsAreCounted) {
  CallTable t(small());
  EXPECT_EQ(t.on_response(77, 180, true, 0).call, nullptr);
  EXPECT_EQ(t.on_cancel(77, 0).call, nullptr);
  EXPECT_EQ(t.on_ack(77, 0).call, nullptr);
  EXPECT_EQ(t.on_bye(77, 0).call, nullptr);
  EXPECT_EQ(t.unknown(), 4u);
}

TEST(CallTable, CallIdHashZeroIsAKeyLikeAnyOther) {
  CallTable t(small());
  EXPECT_EQ(t.on_invite(invite(number(1), number(2), 0), 0).kind, InviteKind::new_call);
  EXPECT_EQ(t.on_invite(invite(number(1), number(2), 0), 1).kind, InviteKind::retransmit);
  ASSERT_NE(t.find(0), nullptr);
  EXPECT_EQ(t.on_response(0, 486, true, 5).outcome.events, kUnanswered | kAttempt);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, ExpiryTimesPerState) {
  CallTableOptions o = small();
  o.ringing_timeout_ms = 100'000;
  o.answered_timeout_ms = 1'000'000;
  o.linger_ms = 30'000;
  CallTable t(o);
  t.on_invite(invite(number(1), number(2), 1), 0);  // ringing: 100 000
  t.on_invite(invite(number(1), number(2), 2), 0);
  t.on_response(2, 486, true, 5'000);  // failed: 35 000
  t.on_invite(invite(number(1), number(2), 3), 0);
  t.on_response(3, 200, true, 2'000);  // answered: 1 002 000
  t.on_invite(invite(number(1), number(2), 4), 0);
  t.on_response(4, 200, true, 2'000);
  t.on_bye(4, 50'000);  // ended: 80 000
  t.on_invite(invite(number(1), number(2), 5), 0);
  t.on_cancel(5, 10'000);  // cancelled: 40 000
  EXPECT_EQ(t.expiry_ms(*t.find(1)), 100'000u);
  EXPECT_EQ(t.expiry_ms(*t.find(2)), 35'000u);
  EXPECT_EQ(t.expiry_ms(*t.find(3)), 1'002'000u);
  EXPECT_EQ(t.expiry_ms(*t.find(4)), 80'000u);
  EXPECT_EQ(t.expiry_ms(*t.find(5)), 40'000u);
  std::vector<Expired> e = sweep(t, 40'000);
  ASSERT_EQ(e.size(), 2u);  // 2 and 5; their outcomes were reported when they happened
  EXPECT_EQ(e[0].events | e[1].events, 0);
  e = sweep(t, 100'000);
  ASSERT_EQ(e.size(), 2u);  // 4 (nothing left to report) and 1 (ringing timeout)
  for (const Expired& x : e) EXPECT_EQ(x.events, x.call_id == 1 ? (kUnanswered | kAttempt) : 0);
  e = sweep(t, 1'002'000);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].events, 0);  // answered, BYE never seen: no talk time
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, ExpireVisitsAtMostMaxVisitsSlots) {
  CallTableOptions o = small(64);
  o.ringing_timeout_ms = 1'000;
  CallTable t(o);
  for (std::uint64_t id = 1; id <= 20; ++id) t.on_invite(invite(number(1), number(2), id), 0);
  const std::size_t calls = t.size();
  std::size_t dropped = 0;
  for (int i = 0; i < 64 / 8; ++i) {  // one pass over the table, 8 slots at a time
    const std::size_t d = t.expire(5'000, 8, [](const CallRecord&, const Outcome&) {});
    EXPECT_LE(d, 8u);
    dropped += d;
  }
  EXPECT_EQ(dropped, calls);
  EXPECT_EQ(t.size(), 0u);
}

TEST(CallTable, FullGroupDropsTheCallThatExpiresFirst) {
  CallTableOptions o = small(8);  // one group of 8
  o.linger_ms = 30'000;
  o.ringing_timeout_ms = 180'000;
  CallTable t(o);
  ASSERT_EQ(t.capacity(), 8u);
  for (std::uint64_t id = 1; id <= 8; ++id) t.on_invite(invite(number(1), number(2), id), id);
  t.on_response(5, 486, true, 10);  // expires at 30 010, before the ringing ones
  InviteResult r = t.on_invite(invite(number(1), number(2), 9), 20);
  EXPECT_TRUE(r.evicted_live);
  EXPECT_EQ(r.victim, nullptr);
  EXPECT_EQ(t.find(5), nullptr);
  EXPECT_EQ(t.evicted_live(), 1u);
  // Past call 1's ringing timeout, the victim has expired: its outcome comes back.
  r = t.on_invite(invite(number(1), number(2), 10), 180'001);
  EXPECT_FALSE(r.evicted_live);
  ASSERT_NE(r.victim, nullptr);
  EXPECT_EQ(r.victim->keys.call_id_hash, 1u);
  EXPECT_EQ(r.victim_outcome.events, kUnanswered | kAttempt);
  EXPECT_EQ(t.expired(), 1u);
  EXPECT_EQ(t.size(), 8u);
  EXPECT_TRUE(t.check());
}

TEST(CallTable, FullTableStaysWithinCapacity) {
  CallTable t(small(256));
  const std::size_t mem = t.memory_bytes();
  EXPECT_EQ(mem, 256u * (8 + sizeof(CallRecord)));  // 32-bit tag + 32-bit expiry + record
  for (std::uint64_t id = 1; id <= 100'000; ++id) {
    const InviteResult r = t.on_invite(invite(number(id), number(id + 1), id * 0x9E3779B97F4A7C15ULL), id);
    ASSERT_NE(r.call, nullptr);
    if (id % 3 == 0) t.on_response(r.call->keys.call_id_hash, 200, true, id);
  }
  EXPECT_EQ(t.size(), 256u);
  EXPECT_EQ(t.inserted(), 100'000u);
  EXPECT_EQ(t.inserted(), t.size() + t.expired() + t.evicted_live());
  EXPECT_GT(t.evicted_live(), 0u);
  EXPECT_EQ(t.memory_bytes(), mem);
  std::size_t seen = 0;
  t.for_each([&](const CallRecord&) { ++seen; });
  EXPECT_EQ(seen, 256u);
  EXPECT_TRUE(t.check());
}

// A slot freed by expiry and taken by a new call: nothing of the call that
// had it before (its 18x, answer and BYE) may show in the new one.
TEST(CallTable, ASlotTakenAgainStartsWithNothingSeen) {
  CallTableOptions o = small(8);  // one group: the new call takes the freed slot
  o.linger_ms = 1'000;
  CallTable t(o);
  t.on_invite(invite(number(1), number(2), 1), 0);
  t.on_response(1, 180, true, 100);
  t.on_response(1, 200, true, 200);
  t.on_bye(1, 5'000);
  EXPECT_EQ(sweep(t, 6'000).size(), 1u);
  ASSERT_EQ(t.size(), 0u);
  const InviteResult r = t.on_invite(invite(number(3), number(4), 2), 7'000);
  ASSERT_NE(r.call, nullptr);
  EXPECT_EQ(r.call->seen, 0);
  EXPECT_EQ(r.call->emitted, 0);
  EXPECT_EQ(r.call->final_code, 0);
  EXPECT_EQ(t.expiry_ms(*r.call), 7'000u + o.ringing_timeout_ms);
  // A CANCEL before any 18x: unanswered, not a one-ring (the last call rang).
  EXPECT_EQ(t.on_cancel(2, 8'000).outcome.events, kUnanswered | kAttempt);
  EXPECT_TRUE(t.check());
}

// Call records: with copy_live_victim the call evicted before it expired is
// handed back too (its record is written as an outcome so far), and
// last_invite() repeats what the last on_invite() returned.
TEST(CallTable, LiveVictimIsCopiedWhenAskedAndLastInviteRepeatsTheResult) {
  CallTableOptions o = small(8);
  o.copy_live_victim = true;
  CallTable t(o);
  for (std::uint64_t id = 1; id <= 8; ++id) t.on_invite(invite(number(1), number(2), id), id);
  t.on_response(5, 180, true, 9);
  t.on_response(5, 486, true, 10);  // expires first (linger), not yet expired at 20
  const InviteResult r = t.on_invite(invite(number(1), number(2), 9), 20);
  EXPECT_TRUE(r.evicted_live);
  ASSERT_NE(r.victim, nullptr);
  EXPECT_EQ(r.victim->keys.call_id_hash, 5u);
  EXPECT_EQ(r.victim->final_code, 486);
  // Its times come with it.
  EXPECT_TRUE(r.victim->has(CallRecord::kRinging) && r.victim->has(CallRecord::kFinal));
  EXPECT_EQ(r.victim->ring_ms, 9u);
  EXPECT_EQ(r.victim->final_ms, 10u);
  EXPECT_EQ(r.victim_outcome.events, 0);  // nothing for the detectors
  EXPECT_EQ(t.last_invite().victim, r.victim);
  EXPECT_EQ(t.last_invite().kind, InviteKind::new_call);
  EXPECT_EQ(t.last_invite().call->keys.call_id_hash, 9u);
  t.on_invite(invite(number(1), number(2), 9), 21);
  EXPECT_EQ(t.last_invite().kind, InviteKind::retransmit);
  EXPECT_TRUE(t.check());
}

}  // namespace
}  // namespace sipwall::detect

namespace sipwall::detect {
namespace {

// The group line keeps 32 bits of each key; two calls whose keys share them
// and their group are still two calls (the record holds the whole key).
TEST(CallTable, KeysSharingTheirShortTagAndGroupAreTwoCalls) {
  CallTable t(small());
  const std::uint32_t groups = t.capacity() / CallTable::kGroup;
  const std::uint64_t a = 0x1234567800000001ULL;
  std::uint64_t b = a + 1;
  while (group_index(b, groups) != group_index(a, groups)) ++b;  // same high 32 bits, same group
  ASSERT_EQ(a >> 32, b >> 32);
  EXPECT_EQ(t.on_invite(invite(number(1), number(2), a), 1'000).kind, InviteKind::new_call);
  EXPECT_EQ(t.on_invite(invite(number(3), number(4), b), 1'000).kind, InviteKind::new_call);
  EXPECT_EQ(t.size(), 2u);
  ASSERT_NE(t.find(a), nullptr);
  ASSERT_NE(t.find(b), nullptr);
  EXPECT_EQ(t.find(a)->keys.caller, number(1));
  EXPECT_EQ(t.find(b)->keys.caller, number(3));
  EXPECT_TRUE(t.on_response(b, 486, true, 1'100).outcome.has(Outcome::kUnanswered));
  EXPECT_FALSE(t.find(a)->has(CallRecord::kFinal));
  EXPECT_EQ(t.find(b)->final_code, 486u);
  // A key with the same short tag that was never seen is unknown.
  std::uint64_t c = b + 1;
  while (group_index(c, groups) != group_index(a, groups)) ++c;
  EXPECT_EQ(t.find(c), nullptr);
  EXPECT_TRUE(t.check());
}

// Expiry times are kept to 32 bits of milliseconds: a clock that crosses a
// multiple of 2^32 ms (49.7 days of uptime) still expires calls on time.
TEST(CallTable, ExpiryIsRightAcrossThe32BitWrap) {
  CallTable t(small());
  const std::uint64_t t0 = (std::uint64_t{7} << 32) - 60'000;  // a minute before the low 32 bits wrap
  t.on_invite(invite(number(1), number(2), 42), t0);
  const std::uint64_t ringing = t.options().ringing_timeout_ms;
  // Before the wrap the expiry's low 32 bits are smaller than now's: not expired for all that.
  std::size_t dropped = t.expire(t0 + 1'000, t.capacity(), [](const CallRecord&, const Outcome&) {});
  EXPECT_EQ(dropped, 0u);
  dropped = t.expire(t0 + ringing - 1, t.capacity(), [](const CallRecord&, const Outcome&) {});
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(t.size(), 1u);
  dropped = t.expire(t0 + ringing, t.capacity(), [](const CallRecord&, const Outcome&) {});
  EXPECT_EQ(dropped, 1u);
  EXPECT_TRUE(t.check());
}

}  // namespace
}  // namespace sipwall::detect
