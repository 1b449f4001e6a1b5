#include "dataplane/detect/call_table.h"

#include <bit>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipwall::detect {

namespace {

constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

constexpr std::uint64_t add_sat(std::uint64_t t, std::uint64_t d) noexcept {
  return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

constexpr std::uint32_t span_ms(std::uint64_t from, std::uint64_t to) noexcept {
  if (to <= from) return 0;  // time went backwards: no negative durations
  const std::uint64_t d = to - from;
  return d > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(d);
}

// 401/407 ask the caller to authenticate; it normally retries in the same
// call (same Call-ID, next CSeq), so they are no outcome.
constexpr bool is_challenge(unsigned code) noexcept {
  return code == 401 || code == 407;
}

// Final responses after which a caller retries the same call with the same
// Call-ID and the next CSeq (RFC 3261 8.1.3.4 redirects, RFC 4028 422,
// RFC 3261 14.1 491): the retry is not a new call.
constexpr bool asks_retry(unsigned code) noexcept {
  return (code >= 300 && code <= 399) || code == 422 || code == 491;
}

// Marks the call unanswered (and its asr attempt) unless already done.
void fail(CallRecord& r, Outcome& o) noexcept {
  if ((r.emitted & Outcome::kUnanswered) == 0) o.events |= Outcome::kUnanswered;
  if ((r.emitted & Outcome::kAttempt) == 0) o.events |= Outcome::kAttempt;
  r.emitted |= o.events;
}

}  // namespace

static_assert(sizeof(CallRecord) == 104, "CallRecord layout: docs/detection.md quotes its size");

CallTable::CallTable(const CallTableOptions& options) : options_(options) {
  if (options.capacity == 0 || options.capacity > kMaxCapacity) throw std::invalid_argument("CallTable: capacity");
  const std::uint32_t groups = (options.capacity + kGroup - 1) / kGroup;
  slots_ = groups * kGroup;
  groups_ = TableArray<Group>(groups);
  records_ = TableArray<CallRecord>(slots_);
}

std::size_t CallTable::memory_bytes() const noexcept {
  return sizeof(Group) * (slots_ / kGroup) + sizeof(CallRecord) * std::size_t{slots_};
}

std::uint32_t CallTable::tag_mask(std::uint32_t group, std::uint32_t value) const noexcept {
#if defined(__SSE2__)
  // The group's 8 tags in two compares (SSE2 is in every x86-64).
  const __m128i v = _mm_set1_epi32(static_cast<int>(value));
  const auto* tags = reinterpret_cast<const __m128i*>(groups_[group].tag);
  const int lo = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_load_si128(tags), v)));
  const int hi = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_load_si128(tags + 1), v)));
  return static_cast<std::uint32_t>(lo | (hi << 4));
#else
  std::uint32_t m = 0;
  for (unsigned i = 0; i < kGroup; ++i) m |= std::uint32_t{groups_[group].tag[i] == value} << i;
  return m;
#endif
}

std::uint32_t CallTable::slot_of(std::uint64_t call_id_hash) const noexcept {
  const std::uint64_t t = tag_of(call_id_hash);
  const std::uint32_t g = group_of(t);
  for (std::uint32_t m = tag_mask(g, short_tag(t)); m != 0; m &= m - 1) {
    const std::uint32_t s = g * kGroup + static_cast<std::uint32_t>(std::countr_zero(m));
    if (holds(s, t)) return s;
  }
  return kNoSlot;
}

const CallRecord* CallTable::find(std::uint64_t call_id_hash) const noexcept {
  const std::uint32_t s = slot_of(call_id_hash);
  return s == kNoSlot ? nullptr : &records_[s];
}

std::uint32_t CallTable::lookup(std::uint64_t call_id_hash) noexcept {
  const std::uint32_t s = slot_of(call_id_hash);
  if (s == kNoSlot) ++unknown_;
  return s;
}

std::uint64_t CallTable::expiry_ms(const CallRecord& r) const noexcept {
  if (r.has(CallRecord::kBye)) return add_sat(r.bye_ms, options_.linger_ms);
  if (r.has(CallRecord::kAnswered)) return add_sat(r.answer_ms, options_.answered_timeout_ms);
  if (r.has(CallRecord::kFinal) || r.has(CallRecord::kCancelled)) {
    std::uint64_t last = 0;
    if (r.has(CallRecord::kFinal)) last = r.final_ms;
    if (r.has(CallRecord::kCancelled) && r.cancel_ms > last) last = r.cancel_ms;
    return add_sat(last, options_.linger_ms);
  }
  return add_sat(r.invite_ms, options_.ringing_timeout_ms);
}

Outcome CallTable::expiry_outcome(CallRecord& r) const noexcept {
  Outcome o;
  if (!r.has(CallRecord::kAnswered)) fail(r, o);  // ringing timeout (a no-op if it failed before)
  return o;
}

void CallTable::remove(std::uint32_t slot) noexcept {
  tag(slot) = 0;
  records_[slot] = CallRecord{};
  --size_;
}

std::uint32_t CallTable::first_to_expire(std::uint32_t base, std::uint64_t now_ms,
                                         std::int32_t& remaining_ms) const noexcept {
  // Branch-free (cmov): which slot expires first is a coin toss to the
  // branch predictor.
  std::uint32_t victim = base;
  std::int32_t first = remaining(base, now_ms);
  for (unsigned i = 1; i < kGroup; ++i) {
    const std::int32_t e = remaining(base + i, now_ms);
    const bool earlier = e < first;
    first = earlier ? e : first;
    victim = earlier ? base + i : victim;
  }
  remaining_ms = first;
  return victim;
}

InviteResult CallTable::on_invite(const InviteKeys& keys, std::uint64_t now_ms) noexcept {
  last_invite_ = invite(keys, now_ms);
  return last_invite_;
}

InviteResult CallTable::invite(const InviteKeys& keys, std::uint64_t now_ms) noexcept {
  InviteResult res;
  const std::uint64_t t = tag_of(keys.call_id_hash);
  const std::uint32_t st = short_tag(t);
  const std::uint32_t group = group_of(t);
  const std::uint32_t base = group * kGroup;
  for (std::uint32_t m = tag_mask(group, st); m != 0; m &= m - 1) {
    const std::uint32_t i = static_cast<std::uint32_t>(std::countr_zero(m));
    if (holds(base + i, t)) {
      CallRecord& r = records_[base + i];
      if (r.keys.cseq == keys.cseq) {
        res.kind = InviteKind::retransmit;
        ++retransmits_;
      } else if (keys.in_dialog || r.has(CallRecord::kChallenged) ||
                 (r.has(CallRecord::kFinal) && !r.has(CallRecord::kAnswered) && asks_retry(r.final_code))) {
        res.kind = InviteKind::reinvite;  // in-dialog, or a retry the last response asked for: the same call
        ++reinvites_;
      } else {
        // A dialog-creating INVITE (no To tag) with a new CSeq that nothing
        // asked for: a new call on a reused Call-ID. Counting it keeps a
        // caller from hiding a call bombing behind one Call-ID. The last
        // call's outcome, if still open, completes as on expiry.
        victim_ = r;
        res.victim_outcome = expiry_outcome(victim_);
        res.victim = &victim_;
        ++reused_;
        ++expired_;
        --size_;
        return start_call(res, base + i, keys, now_ms);
      }
      res.call = &r;
      return res;
    }
  }
  const std::uint32_t empties = tag_mask(group, 0);
  std::uint32_t empty = empties != 0 ? base + static_cast<std::uint32_t>(std::countr_zero(empties)) : kNoSlot;
  if (empty == kNoSlot) {
    // Full group: drop the record that expires first.
    std::int32_t first = 0;
    const std::uint32_t victim = first_to_expire(base, now_ms, first);
    if (first <= 0) {
      victim_ = records_[victim];
      res.victim_outcome = expiry_outcome(victim_);
      res.victim = &victim_;
      ++expired_;
    } else {
      res.evicted_live = true;  // its record is not read (unless asked): on a big table that is a cache miss
      ++evicted_live_;
      if (options_.copy_live_victim) {
        victim_ = records_[victim];
        res.victim = &victim_;
      }
    }
    --size_;
    empty = victim;
  }
  tag(empty) = st;
  return start_call(res, empty, keys, now_ms);
}

InviteResult& CallTable::start_call(InviteResult& res, std::uint32_t slot, const InviteKeys& keys,
                                    std::uint64_t now_ms) noexcept {
  // Written, never read back here: the stores retire while the worker goes
  // on, where a read would wait for the line.
  // Field by field: a whole-record clear compiles to `rep stos`, which costs
  // more than the rest of the insert.
  CallRecord& r = records_[slot];
  r.keys = keys;
  r.invite_ms = now_ms;
  r.ring_ms = r.answer_ms = r.final_ms = r.cancel_ms = r.bye_ms = 0;
  r.final_code = r.seen = r.emitted = 0;
  groups_[slot / kGroup].expiry[slot % kGroup] =
      static_cast<std::uint32_t>(add_sat(now_ms, options_.ringing_timeout_ms));
  ++size_;
  ++inserted_;
  res.call = &r;
  res.kind = InviteKind::new_call;
  return res;
}

// ---- what each message does to a record (and the outcome it completes) ----

namespace {

Outcome apply_response(CallRecord& r, unsigned code, std::uint64_t now_ms) noexcept {
  Outcome o;
  if (code < 200) {
    // 18x rings; a 18x after the answer, a final response or a CANCEL is
    // late (or another fork) and changes nothing.
    const bool ring = code >= 180 && code <= 189;
    if (ring &&
        (r.seen & (CallRecord::kRinging | CallRecord::kFinal | CallRecord::kAnswered | CallRecord::kCancelled)) == 0) {
      r.seen |= CallRecord::kRinging;
      r.ring_ms = now_ms;
    }
    return o;
  }
  if (code < 300) {
    if (r.has(CallRecord::kAnswered)) return o;  // 2xx retransmission, another fork, re-INVITE
    // An answer after a failure or a CANCEL (another fork, or the CANCEL
    // lost the race) still answers the call.
    r.seen |= CallRecord::kAnswered | CallRecord::kFinal;
    r.answer_ms = now_ms;
    r.final_ms = now_ms;
    r.final_code = static_cast<std::uint16_t>(code);
    if ((r.emitted & Outcome::kAnswered) == 0) o.events |= Outcome::kAnswered;
    if ((r.emitted & Outcome::kAttempt) == 0) o.events |= Outcome::kAttempt;
    r.emitted |= o.events;
    return o;
  }
  if (is_challenge(code)) {
    r.seen |= CallRecord::kChallenged;  // the next CSeq without a To tag is the same call
    return o;
  }
  if (r.has(CallRecord::kAnswered) || r.has(CallRecord::kFinal)) return o;  // re-INVITE failure, retransmission
  r.seen |= CallRecord::kFinal;
  r.final_ms = now_ms;
  r.final_code = static_cast<std::uint16_t>(code);
  fail(r, o);
  return o;
}

Outcome apply_cancel(CallRecord& r, std::uint64_t now_ms) noexcept {
  Outcome o;
  if (r.has(CallRecord::kCancelled)) return o;  // retransmission
  r.seen |= CallRecord::kCancelled;
  r.cancel_ms = now_ms;
  // A CANCEL after the answer or after a final response cancels nothing.
  if (r.has(CallRecord::kAnswered) || r.has(CallRecord::kFinal)) return o;
  if (r.has(CallRecord::kRinging) && (r.emitted & Outcome::kCancelledRinging) == 0) {
    o.events |= Outcome::kCancelledRinging;
    o.ring_to_cancel_ms = span_ms(r.ring_ms, now_ms);
  }
  fail(r, o);
  return o;
}

Outcome apply_bye(CallRecord& r, std::uint64_t now_ms) noexcept {
  Outcome o;
  if (r.has(CallRecord::kBye)) return o;  // retransmission, or the other side's BYE
  r.seen |= CallRecord::kBye;
  r.bye_ms = now_ms;
  // A BYE without a 2xx seen (it took another path) gives no talk time.
  if (r.has(CallRecord::kAnswered) && (r.emitted & Outcome::kEnded) == 0) {
    o.events |= Outcome::kEnded;
    o.talk_ms = span_ms(r.answer_ms, now_ms);
    r.emitted |= Outcome::kEnded;
  }
  return o;
}

}  // namespace

EventResult CallTable::on_response(std::uint64_t call_id_hash, unsigned code, bool to_invite,
                                   std::uint64_t now_ms) noexcept {
  EventResult res;
  if (!to_invite || code < 100 || code > 699) {
    ++ignored_;
    return res;
  }
  const std::uint32_t s = lookup(call_id_hash);
  if (s == kNoSlot) return res;
  res.call = &records_[s];
  res.outcome = apply_response(records_[s], code, now_ms);
  refresh_expiry(s);
  return res;
}

EventResult CallTable::on_cancel(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept {
  EventResult res;
  const std::uint32_t s = lookup(call_id_hash);
  if (s == kNoSlot) return res;
  res.call = &records_[s];
  res.outcome = apply_cancel(records_[s], now_ms);
  refresh_expiry(s);
  return res;
}

EventResult CallTable::on_ack(std::uint64_t call_id_hash, std::uint64_t /*now_ms*/) noexcept {
  EventResult res;
  const std::uint32_t s = lookup(call_id_hash);
  if (s == kNoSlot) return res;
  records_[s].seen |= CallRecord::kAcked;
  res.call = &records_[s];
  return res;
}

EventResult CallTable::on_bye(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept {
  EventResult res;
  const std::uint32_t s = lookup(call_id_hash);
  if (s == kNoSlot) return res;
  res.call = &records_[s];
  res.outcome = apply_bye(records_[s], now_ms);
  refresh_expiry(s);
  return res;
}

bool CallTable::check() const noexcept {
  std::uint32_t used = 0;
  for (std::uint32_t s = 0; s < slots_; ++s) {
    if (tag(s) == 0) continue;
    ++used;
    const CallRecord& r = records_[s];
    const std::uint64_t t = tag_of(r.keys.call_id_hash);
    if (short_tag(t) != tag(s)) return false;
    if (group_of(t) != s / kGroup) return false;
    for (std::uint32_t u = (s / kGroup) * kGroup; u < s; ++u)
      if (tag(u) != 0 && holds(u, t)) return false;
    // Outcome bits only follow what was seen.
    if ((r.emitted & Outcome::kAnswered) && !r.has(CallRecord::kAnswered)) return false;
    if ((r.emitted & Outcome::kEnded) && !(r.has(CallRecord::kAnswered) && r.has(CallRecord::kBye))) return false;
    if ((r.emitted & Outcome::kCancelledRinging) && !(r.has(CallRecord::kRinging) && r.has(CallRecord::kCancelled)))
      return false;
    if ((r.emitted & (Outcome::kAnswered | Outcome::kUnanswered)) && !(r.emitted & Outcome::kAttempt)) return false;
    if (r.has(CallRecord::kAnswered) && !r.has(CallRecord::kFinal)) return false;
    if (cached_expiry(s) != static_cast<std::uint32_t>(expiry_ms(r))) return false;
  }
  return used == size_ && inserted_ == size_ + expired_ + evicted_live_;
}

}  // namespace sipwall::detect
