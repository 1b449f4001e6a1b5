// One call record as it leaves the data plane (docs/records.md): what the
// worker writes into its record ring, what the main lcore sends to
// sipwall-control in frames over the records socket, and what the control
// process checks before it stores anything. Fixed size, no pointers, plain
// bytes, so a worker copies it by value and a rule set replaced later cannot
// leave it pointing at freed strings.
//
// Two kinds, joined by the store on (worker, call_hash, start_ms):
//   * invite: written at the verdict of every INVITE that starts a call (not
//     retransmissions, not re-INVITEs): where it came from, the numbers, the
//     verdict. A call the data plane ended itself (reject, drop) is complete
//     here: the verdict is its outcome.
//   * outcome: written when the call leaves the worker's call table (timeout,
//     end of the linger after its final response / CANCEL / BYE, or evicted
//     to make room): the final code, ring time, answer, cancel, talk time.
// A call with an invite record and no outcome record yet is in progress (or
// its outcome record was lost: counted in call_records_dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "rules/text/safe_text.h"

namespace sipwall::protocol {

enum class CallRecordKind : std::uint8_t { invite = 1, outcome = 2 };

// How an outcome record's call left the table.
enum class CallEnd : std::uint8_t {
  none = 0,      // invite records
  expired = 1,   // swept: ringing / answered timeout, or the linger after its end ran out
  replaced = 2,  // had expired, dropped to make room for a new call (same outcome as swept)
  evicted = 3,   // had NOT expired: dropped to make room; what was seen so far
};

struct CallRecordWire {
  // What the outcome saw (bits of `seen`; the same as detect::CallRecord's).
  static constexpr std::uint16_t kRinging = 1 << 0;
  static constexpr std::uint16_t kAnswered = 1 << 1;
  static constexpr std::uint16_t kFinal = 1 << 2;
  static constexpr std::uint16_t kCancelled = 1 << 3;
  static constexpr std::uint16_t kAcked = 1 << 4;
  static constexpr std::uint16_t kBye = 1 << 5;
  static constexpr std::uint16_t kSeenMask = 0x3F;

  std::uint64_t call_hash;  // the call table's hash of the Call-ID (never 0)
  std::uint64_t start_ms;   // the worker's clock (ms) at the INVITE: part of the join key
  std::uint64_t time_ns;    // CLOCK_REALTIME: invite: the verdict; outcome: when the call left the table
  std::uint8_t kind;        // CallRecordKind
  std::uint8_t worker;
  std::uint8_t in_port;     // invite: port index the INVITE arrived on
  std::uint8_t ip_version;  // invite: 4 or 6
  std::uint8_t transport;   // invite: 17 UDP, 6 TCP
  std::uint8_t action;      // invite: rules::ActionKind of the verdict (pass, drop, reject, tag)
  std::uint8_t detector_level;
  std::uint8_t end;  // outcome: CallEnd
  std::uint16_t src_port;
  std::uint16_t reject_code;  // invite: 603/608 with reject
  std::uint16_t final_code;   // outcome: the first final response (0: none)
  std::uint16_t seen;         // outcome: k* bits
  std::uint32_t ring_ms;      // outcome with kRinging: INVITE -> first 18x
  std::uint32_t answer_ms;    // outcome with kAnswered: INVITE -> 2xx
  std::uint32_t talk_ms;      // outcome with kAnswered and kBye: 2xx -> BYE
  std::uint32_t duration_ms;  // outcome: INVITE -> final response, CANCEL or BYE (0: none seen)
  std::uint8_t src[16];       // invite: source address, IPv4 mapped into IPv6
  // Text fields: bytes as they came (cut to fit, never inside a UTF-8
  // sequence), NUL-padded. Whatever is not UTF-8 is replaced when a record
  // is shown or serialised (text::dump_json), never here.
  char trunk[32];
  char rule[64];
  char detector[32];
  char ruleset_version[32];
  char caller[20];  // E.164 with '+' (empty: not a number the dial plan knows)
  char callee[20];
  char caller_raw[32];  // the caller's user part as written (P-Asserted-Identity, else From)
  char callee_raw[32];  // the callee's as written (Request-URI, else To)
  char call_id[64];
};
static_assert(sizeof(CallRecordWire) == 400, "the wire size is part of the protocol (kRecordFrameVersion)");
static_assert(sizeof(CallRecordWire) % 8 == 0, "ring elements must be a multiple of 4 bytes");

// Copies `s` into a fixed field, cut to fit (never inside a UTF-8 sequence),
// NUL-padded. Packet path: no allocation.
template <std::size_t N>
inline void set_text(char (&dst)[N], std::string_view s) noexcept {
  const std::size_t n = text::utf8_cut(s, N - 1);
  std::memcpy(dst, s.data(), n);
  std::memset(dst + n, 0, N - n);
}

// The same into a field already zeroed (a record cleared once, then filled:
// one memset for the record instead of one per field).
template <std::size_t N>
inline void put_text(char (&dst)[N], std::string_view s) noexcept {
  std::memcpy(dst, s.data(), text::utf8_cut(s, N - 1));
}

// A field read back: up to its first NUL, never past its end (a hostile
// frame need not terminate it).
template <std::size_t N>
inline std::string_view get_text(const char (&src)[N]) noexcept {
  std::size_t n = 0;
  while (n < N && src[n] != '\0') ++n;
  return {src, n};
}

// A frame on the records socket (SOCK_SEQPACKET: one send, one frame):
// this header, then `count` records.
struct RecordFrameHeader {
  std::uint32_t magic;        // kRecordFrameMagic
  std::uint16_t version;      // kRecordFrameVersion
  std::uint16_t count;        // records that follow, 1..kRecordsPerFrame
  std::uint32_t record_size;  // sizeof(CallRecordWire)
  std::uint32_t reserved;     // 0
};
inline constexpr std::uint32_t kRecordFrameMagic = 0x31524353;  // "SCR1" little-endian
inline constexpr std::uint16_t kRecordFrameVersion = 1;
inline constexpr std::uint16_t kRecordsPerFrame = 64;
inline constexpr std::size_t kRecordFrameMax = sizeof(RecordFrameHeader) + kRecordsPerFrame * sizeof(CallRecordWire);

// Why a record (or a frame) is refused; nullptr when it is usable. Checks
// every field a consumer reads: kind, end, action, seen bits, call_hash.
const char* record_problem(const CallRecordWire& r) noexcept;

// Checks a received frame (hostile bytes: any length, any content) and
// appends its records to `out`. Returns nullptr, or why the frame was refused
// (then nothing is appended).
const char* decode_record_frame(std::span<const std::uint8_t> frame, std::vector<CallRecordWire>& out);

// Writes the header for `count` records at `buf` (kRecordFrameMax bytes).
void encode_record_frame_header(std::uint8_t* buf, std::uint16_t count) noexcept;

}  // namespace sipwall::protocol
