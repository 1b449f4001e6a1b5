// CallTable: one worker's calls, followed from INVITE to outcome by Call-ID.
//
// Responses, CANCEL, ACK and BYE of both directions meet the INVITE here
// (RSS must be symmetric: docs/detection.md). Each event returns the outcome
// events it completed, once per call, so the caller can add them to the
// outcome-based detectors; the table itself knows nothing of detectors.
// The call-record work reads the table through find() and for_each().
//
// Layout: a call lives in the group of 8 its hash picks; a group is one
// cache line: 8 Call-ID tags (32 bits of the hash) and their 8 expiry times
// (32 bits of the time in ms, compared by signed difference, so they read
// right within 24 days of now; timeouts are at most a day and the sweep
// visits every slot within seconds). The records (104 bytes, holding the
// whole 64-bit hash) are beside them. A lookup reads the group's line, and
// the record of a slot whose tag matches (which an event on the call reads
// anyway) to confirm the whole hash; a new call reads only the line. A new
// call in a full group replaces the call that expires first, chosen from the
// line without reading any record; if that one had not expired yet, its
// outcome is lost and counted in evicted_live(). Memory is fixed at
// construction. Per event: no allocation, no exceptions, no locks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/table_memory.h"
#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

struct CallTableOptions {
  std::uint32_t capacity = 65536;                  // calls tracked per worker (rounded up to 8)
  std::uint32_t ringing_timeout_ms = 180'000;      // no final response: unanswered after this (RFC 3261 Timer C)
  std::uint32_t answered_timeout_ms = 14'400'000;  // answered without a BYE seen: forgotten after 4 h
  std::uint32_t linger_ms = 32'000;                // after the last final/CANCEL/BYE: kept for retransmissions (64*T1)
  // A call dropped before it expired to make room (evicted_live) is copied
  // to InviteResult::victim too, so the owner can write its call record.
  // Off by default: on a big table that read is a cache miss per eviction.
  bool copy_live_victim = false;
};

struct CallRecord {
  // What was seen (bits of `seen`).
  static constexpr std::uint16_t kRinging = 1 << 0;   // a 18x to the INVITE
  static constexpr std::uint16_t kAnswered = 1 << 1;  // a 2xx to the INVITE
  static constexpr std::uint16_t kFinal = 1 << 2;     // a final response (>= 200) to the INVITE
  static constexpr std::uint16_t kCancelled = 1 << 3;
  static constexpr std::uint16_t kAcked = 1 << 4;
  static constexpr std::uint16_t kBye = 1 << 5;
  static constexpr std::uint16_t kChallenged = 1 << 6;  // a 401/407 to the INVITE

  InviteKeys keys;           // as of the first INVITE; keys.call_id_hash is the table key
  std::uint64_t invite_ms;   // first INVITE
  std::uint64_t ring_ms;     // first 18x            (valid with kRinging)
  std::uint64_t answer_ms;   // first 2xx            (valid with kAnswered)
  std::uint64_t final_ms;    // first final response (valid with kFinal)
  std::uint64_t cancel_ms;   // first CANCEL         (valid with kCancelled)
  std::uint64_t bye_ms;      // first BYE            (valid with kBye)
  std::uint16_t final_code;  // code of the first final response (0: none yet)
  std::uint16_t seen;        // k* bits above
  std::uint16_t emitted;     // Outcome::k* bits already returned for this call (each once)

  bool has(std::uint16_t bit) const noexcept { return (seen & bit) != 0; }
};

// The outcome events one message (or an expiry) completed for one call.
struct Outcome {
  static constexpr std::uint8_t kAttempt = 1 << 0;           // first of answered/unanswered: an asr attempt
  static constexpr std::uint8_t kAnswered = 1 << 1;          // first 2xx
  static constexpr std::uint8_t kUnanswered = 1 << 2;        // final >= 300, CANCEL before answer, or ringing timeout
  static constexpr std::uint8_t kCancelledRinging = 1 << 3;  // CANCEL before answer after a 18x
  static constexpr std::uint8_t kEnded = 1 << 4;             // BYE after the answer

  std::uint8_t events = 0;
  std::uint32_t ring_to_cancel_ms = 0;  // with kCancelledRinging: CANCEL - first 18x
  std::uint32_t talk_ms = 0;            // with kEnded: BYE - answer

  bool has(std::uint8_t bit) const noexcept { return (events & bit) != 0; }
};

enum class InviteKind : std::uint8_t { new_call, retransmit, reinvite };

struct InviteResult {
  const CallRecord* call = nullptr;  // the call (valid until the table changes)
  InviteKind kind = InviteKind::new_call;
  bool evicted_live = false;  // a call that had not expired was dropped to make room
  // A call that had expired was dropped to make room: a copy of its record
  // (valid until the table changes) and the outcome its expiry completed,
  // as expire() would have reported them. With copy_live_victim, also the
  // call evicted live (victim_outcome then empty).
  const CallRecord* victim = nullptr;
  Outcome victim_outcome{};
};

struct EventResult {
  const CallRecord* call = nullptr;  // nullptr: unknown Call-ID (or ignored); valid until the table changes
  Outcome outcome{};
};

class CallTable {
 public:
  static constexpr unsigned kGroup = 8;

  explicit CallTable(const CallTableOptions& options);
  CallTable(CallTable&&) noexcept = default;
  CallTable& operator=(CallTable&&) noexcept = default;

  // An INVITE. A Call-ID not in the table is a new call; the same Call-ID
  // with the same CSeq a retransmission; with another CSeq a re-INVITE if
  // To has a tag (keys.in_dialog) or the call's last response asked for a
  // retry (401/407, 3xx, 422, 491), else a new call that replaces the old
  // record (its open outcome, if any, comes back as the victim's, as on
  // expiry; counted in reused()).
  InviteResult on_invite(const InviteKeys& keys, std::uint64_t now_ms) noexcept;
  // A response. to_invite: its CSeq method is INVITE (responses to BYE,
  // CANCEL, PRACK, ... are no call outcome and are ignored). 100 is ignored;
  // 180..189 ring; 2xx answers; >= 300 fails the call unless it was answered.
  EventResult on_response(std::uint64_t call_id_hash, unsigned code, bool to_invite, std::uint64_t now_ms) noexcept;
  EventResult on_cancel(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept;
  EventResult on_ack(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept;
  EventResult on_bye(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept;

  const CallRecord* find(std::uint64_t call_id_hash) const noexcept;

  // What the last on_invite() returned (valid until the table changes): the
  // owner reads it after a WorkerDetect made the call for it.
  const InviteResult& last_invite() const noexcept { return last_invite_; }

  // Starts loading the call's group (see WorkerDetect::on_invite).
  void prefetch(std::uint64_t call_id_hash) const noexcept {
    __builtin_prefetch(&groups_[group_of(tag_of(call_id_hash))]);
  }

  // When a record may be dropped: ringing_timeout after the INVITE with no
  // final response; answered_timeout after the answer with no BYE; linger
  // after the BYE or after the final response / CANCEL of an unanswered call.
  std::uint64_t expiry_ms(const CallRecord& r) const noexcept;

  // Visits up to max_visits slots from where the last call stopped (a full
  // pass takes capacity()/max_visits calls), drops the records that expired
  // by now_ms and calls on_expired(const CallRecord&, const Outcome&) for
  // each, before dropping it (a ringing timeout completes kUnanswered).
  // Returns the number dropped.
  template <class F>
  std::size_t expire(std::uint64_t now_ms, std::uint32_t max_visits, F&& on_expired) noexcept {
    std::size_t dropped = 0;
    if (max_visits > slots_) max_visits = slots_;
    for (std::uint32_t v = 0; v < max_visits; ++v) {
      const std::uint32_t s = cursor_;
      cursor_ = cursor_ + 1 == slots_ ? 0 : cursor_ + 1;
      if (tag(s) == 0 || !expired_by(s, now_ms)) continue;
      CallRecord& r = records_[s];
      const Outcome o = expiry_outcome(r);
      on_expired(static_cast<const CallRecord&>(r), o);
      remove(s);
      ++expired_;
      ++dropped;
    }
    return dropped;
  }

  // Every call, read-only, in table order.
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t s = 0; s < slots_; ++s)
      if (tag(s) != 0) f(static_cast<const CallRecord&>(records_[s]));
  }

  const CallTableOptions& options() const noexcept { return options_; }
  std::uint32_t capacity() const noexcept { return slots_; }
  std::uint32_t size() const noexcept { return size_; }
  std::uint64_t inserted() const noexcept { return inserted_; }
  std::uint64_t expired() const noexcept { return expired_; }            // by expire() or as a victim
  std::uint64_t evicted_live() const noexcept { return evicted_live_; }  // dropped before expiry
  std::uint64_t retransmits() const noexcept { return retransmits_; }
  std::uint64_t reinvites() const noexcept { return reinvites_; }
  std::uint64_t reused() const noexcept { return reused_; }    // new calls on a Call-ID still in the table
  std::uint64_t unknown() const noexcept { return unknown_; }  // events for a Call-ID not in the table
  std::uint64_t ignored() const noexcept { return ignored_; }  // responses to non-INVITE, 100, codes outside 100..699
  std::size_t memory_bytes() const noexcept;

  // Internal consistency (tags match records, each call once, size() and the
  // counters add up): for tests and the fuzzer. O(capacity).
  bool check() const noexcept;

 private:
  struct alignas(64) Group {
    std::uint32_t tag[kGroup];     // short_tag() of the record's key; 0 = empty
    std::uint32_t expiry[kGroup];  // expiry_ms() of the slot's record, low 32 bits, kept current
  };
  static_assert(sizeof(Group) == 64, "a group is one cache line");

  // The full key (records_[s].keys.call_id_hash holds it): never 0.
  static std::uint64_t tag_of(std::uint64_t call_id_hash) noexcept { return call_id_hash != 0 ? call_id_hash : 1; }
  // What the group line keeps of it: 32 bits the group index does not use
  // up (group_index() mixes the whole key), never 0.
  static std::uint32_t short_tag(std::uint64_t t) noexcept {
    const auto x = static_cast<std::uint32_t>(t >> 32);
    return x != 0 ? x : 1;
  }
  std::uint32_t& tag(std::uint32_t slot) noexcept { return groups_[slot / kGroup].tag[slot % kGroup]; }
  std::uint32_t tag(std::uint32_t slot) const noexcept { return groups_[slot / kGroup].tag[slot % kGroup]; }
  // The slot holds the call of full key t (its short tag matched: confirm).
  bool holds(std::uint32_t slot, std::uint64_t t) const noexcept {
    return tag_of(records_[slot].keys.call_id_hash) == t;
  }
  // Milliseconds until the slot's record expires (<= 0: expired), from the
  // 32-bit expiry by signed difference.
  std::int32_t remaining(std::uint32_t slot, std::uint64_t now_ms) const noexcept {
    return static_cast<std::int32_t>(groups_[slot / kGroup].expiry[slot % kGroup] - static_cast<std::uint32_t>(now_ms));
  }
  bool expired_by(std::uint32_t slot, std::uint64_t now_ms) const noexcept { return remaining(slot, now_ms) <= 0; }
  std::uint32_t cached_expiry(std::uint32_t slot) const noexcept {
    return groups_[slot / kGroup].expiry[slot % kGroup];
  }
  void refresh_expiry(std::uint32_t slot) noexcept {
    groups_[slot / kGroup].expiry[slot % kGroup] = static_cast<std::uint32_t>(expiry_ms(records_[slot]));
  }
  std::uint32_t group_of(std::uint64_t t) const noexcept { return group_index(t, slots_ / kGroup); }
  // Bit i set: slot i of `group` has tag `value` (0: empty).
  std::uint32_t tag_mask(std::uint32_t group, std::uint32_t value) const noexcept;
  // The slot of a full group (first at `base`) that expires first: a new
  // call takes it.
  std::uint32_t first_to_expire(std::uint32_t base, std::uint64_t now_ms, std::int32_t& remaining_ms) const noexcept;
  std::uint32_t slot_of(std::uint64_t call_id_hash) const noexcept;            // or UINT32_MAX
  std::uint32_t lookup(std::uint64_t call_id_hash) noexcept;                   // slot_of, counting unknown_
  InviteResult invite(const InviteKeys& keys, std::uint64_t now_ms) noexcept;  // on_invite's work
  Outcome expiry_outcome(CallRecord& r) const noexcept;
  InviteResult& start_call(InviteResult& res, std::uint32_t slot, const InviteKeys& keys,
                           std::uint64_t now_ms) noexcept;
  void remove(std::uint32_t slot) noexcept;

  CallTableOptions options_;
  CallRecord victim_{};  // the last expired victim (InviteResult::victim points here)
  InviteResult last_invite_{};
  TableArray<Group> groups_;
  TableArray<CallRecord> records_;
  std::uint32_t slots_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t cursor_ = 0;
  std::uint64_t inserted_ = 0;
  std::uint64_t expired_ = 0;
  std::uint64_t evicted_live_ = 0;
  std::uint64_t retransmits_ = 0;
  std::uint64_t reinvites_ = 0;
  std::uint64_t reused_ = 0;
  std::uint64_t unknown_ = 0;
  std::uint64_t ignored_ = 0;
};

}  // namespace sipwall::detect
