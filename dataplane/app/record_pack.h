// Call records inside the data plane: how a worker packs them into its
// record ring and how the main lcore reads them back (docs/records.md "How
// records travel").
//
// The records socket carries fixed 400-byte records (protocol::CallRecordWire)
// so sipwall-control checks fixed fields. Between a worker and the main lcore
// that size is what the worker pays for: a call's invite and outcome records
// are 800 bytes, 13 cache lines written per call on the packet path, most of
// them padding (an outcome holds 48 bytes of facts; the texts of an invite
// are typically a fifth of their fields). So the ring holds 64-byte units
// instead: one head unit per record with every fixed field, then, for an
// invite, its nine texts back to back (no padding between them) in as many
// units as they take. A typical call is 4 units (256 bytes): 1-3 for the
// invite's texts plus its head, 1 for the outcome. The worker stamps the TSC
// of its loop turn (no clock_gettime); the main lcore expands each record
// into a CallRecordWire and gives it wall time (tsc_clock.h).
//
// A turn's records go into the ring in one bulk enqueue (record_batch.h; all
// or nothing, else record by record), so the ring only ever holds whole
// records. Plain C++ (no DPDK): the unit tests pack, unpack, and read
// records across a simulated ring's end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/protocol/call_record.h"
#include "rules/text/safe_text.h"

namespace sipwall::dataplane {

inline constexpr std::size_t kRecordUnit = 64;  // the ring's element size: one cache line

// The texts of an invite record, in this order; each cut (never inside a
// UTF-8 sequence) to what its CallRecordWire field holds.
enum InviteText : unsigned {
  kTrunk,
  kRule,
  kDetector,
  kRulesetVersion,
  kCaller,
  kCallee,
  kCallerRaw,
  kCalleeRaw,
  kCallId,
  kInviteTextCount
};

// Every field's capacity (its CallRecordWire array less the NUL).
inline constexpr std::uint8_t kInviteTextMax[kInviteTextCount] = {
    sizeof(protocol::CallRecordWire::trunk) - 1,      sizeof(protocol::CallRecordWire::rule) - 1,
    sizeof(protocol::CallRecordWire::detector) - 1,   sizeof(protocol::CallRecordWire::ruleset_version) - 1,
    sizeof(protocol::CallRecordWire::caller) - 1,     sizeof(protocol::CallRecordWire::callee) - 1,
    sizeof(protocol::CallRecordWire::caller_raw) - 1, sizeof(protocol::CallRecordWire::callee_raw) - 1,
    sizeof(protocol::CallRecordWire::call_id) - 1};

// The head unit of every record. The facts are the CallRecordWire fields of
// the same names: an invite's or an outcome's, never both.
struct PackedInviteFacts {
  std::uint8_t in_port;
  std::uint8_t ip_version;
  std::uint8_t transport;
  std::uint8_t action;
  std::uint8_t detector_level;
  std::uint8_t text_len[kInviteTextCount];  // bytes of each text, in InviteText order
  std::uint16_t src_port;
  std::uint16_t reject_code;
  std::uint8_t src[16];
};

struct PackedOutcomeFacts {
  std::uint8_t end;
  std::uint16_t final_code;
  std::uint16_t seen;
  std::uint32_t ring_ms;
  std::uint32_t answer_ms;
  std::uint32_t talk_ms;
  std::uint32_t duration_ms;
};

struct PackedRecordHead {
  std::uint64_t call_hash;
  std::uint64_t start_ms;
  std::uint64_t tsc;   // rte_rdtsc() at the verdict (invite) or when the call left the table (outcome)
  std::uint8_t kind;   // protocol::CallRecordKind: which of the facts below
  std::uint8_t units;  // this record's units, the head included: 1..kMaxRecordUnits
  std::uint8_t worker;
  union {
    PackedInviteFacts invite;
    PackedOutcomeFacts outcome;
  };
};
static_assert(sizeof(PackedRecordHead) <= kRecordUnit, "the head is one unit");

inline constexpr unsigned kMaxInviteTextBytes = [] {
  unsigned n = 0;
  for (unsigned i = 0; i < kInviteTextCount; ++i) n += kInviteTextMax[i];
  return n;
}();
inline constexpr unsigned kMaxRecordUnits = 1 + (kMaxInviteTextBytes + kRecordUnit - 1) / kRecordUnit;

// An invite's texts, already cut to fit: measured before the ring is asked
// for units, written after.
struct InviteTexts {
  std::string_view text[kInviteTextCount];
  unsigned bytes = 0;  // their sum

  // Sets text `i` to `s` cut to kInviteTextMax[i] (never inside a UTF-8
  // sequence). Inline: nine per INVITE, most of them a length check.
  void set(InviteText i, std::string_view s) noexcept {
    bytes -= static_cast<unsigned>(text[i].size());
    text[i] = s.substr(0, sipwall::text::utf8_cut(s, kInviteTextMax[i]));
    bytes += static_cast<unsigned>(text[i].size());
  }
  unsigned units() const noexcept { return 1 + static_cast<unsigned>((bytes + kRecordUnit - 1) / kRecordUnit); }
};

// Writes the texts after the head at `record` (units() * kRecordUnit bytes)
// and their lengths into the head. The head's other fields are the caller's.
void pack_texts(std::uint8_t* record, const InviteTexts& t) noexcept;

// Expands the record whose head unit is at `record` (`available` units
// readable from there, contiguous) into `out`, with time_ns = the head's
// TSC stamp (the caller converts it). Returns nullptr and the record's units
// in `units`, or why the units are not a record (then nothing is usable from
// here on). The ring is the worker's own memory, not outside bytes, but a
// bad record must not make the main lcore read past what it holds.
const char* unpack_record(const std::uint8_t* record, unsigned available, protocol::CallRecordWire& out,
                          unsigned& units) noexcept;

// Units in a ring as its zero-copy calls hand them out: `n` units, the first
// `n1` at `ptr1`, the rest (after the ring's end) at `ptr2`.
struct RingUnits {
  std::uint8_t* ptr1 = nullptr;
  unsigned n1 = 0;
  std::uint8_t* ptr2 = nullptr;
  unsigned n = 0;
};

// The producer's side: `n` units from `from` into `to` (to.n == n).
void copy_units(const RingUnits& to, const std::uint8_t* from) noexcept;

// The consumer's side: at most max_records whole records from `from`
// expanded into CallRecordWire records at `out` (unaligned bytes; time_ns
// is the TSC stamp), a record across the ring's end put back together.
// Sets `used` to the units read (to hand back to the ring) and returns the
// records written. Units that frame no record are skipped and added to
// `unreadable`; a bad unit count makes the rest of `from` unreadable (no
// record boundary is left to find). Ask the ring for max_records *
// kMaxRecordUnits units: then no record is cut by the ask itself.
unsigned unpack_units(const RingUnits& from, unsigned max_records, std::uint8_t* out, unsigned& used,
                      std::uint64_t& unreadable) noexcept;

}  // namespace sipwall::dataplane
