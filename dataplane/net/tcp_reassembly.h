// SIP over TCP: the per-worker state for messages split across segments
// (docs/packet-handling.md §6.7). Two plain-C++ pieces the data plane's
// worker builds on:
//
// * TcpHoldTable: client->core flows that currently HOLD segments (the start
//   of a SIP message whose end has not arrived). Fixed capacity, allocated in
//   the constructor; nothing allocates afterwards. Segments are opaque handles
//   (the app stores rte_mbuf pointers), kept in stream order.
//
// * plan_stream(): given the byte ranges of a run of consecutive segments (a
//   "unit": the held ones plus the new one), the edits the classifier asked
//   for (remove a whole message, insert a tag line) and where an incomplete
//   tail starts, says how to cut the segments so that every piece carries at
//   most one edit, a removal that spans segments is done once, and the tail is
//   held. SeqAdjTable edits one range per segment call; the plan is what lets
//   several messages of one segment, or one message in several segments, be
//   edited with it.
//
// Not thread-safe: one table per worker lcore (both directions of a flow
// reach the same worker through symmetric RSS; only the client->core
// direction is ever held).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/net/packet_decode.h"

namespace sipwall::net {

struct TcpHoldConfig {
  std::uint32_t flows = 1024;           // flows holding segments at once
  std::uint32_t max_bytes = 65536;      // payload bytes held per flow
  std::uint32_t max_segments = 64;      // segments held per flow
  std::uint32_t total_segments = 4096;  // segments held by the whole table (its mbuf budget)
};

struct HeldSegment {
  void* handle = nullptr;
  std::uint16_t payload_offset = 0;  // in the frame the handle stands for
  std::uint16_t payload_length = 0;
  // The received frame this segment is (or was cut from) has not been
  // counted in a disposition yet (see the counter invariant in counters.h).
  bool owes = false;
};

struct TcpHoldFlow {
  // Key: the sender (client) endpoint and the receiver (core) endpoint.
  std::array<std::uint8_t, 16> src{};
  std::array<std::uint8_t, 16> dst{};
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint16_t in_port = 0;    // port index the segments came in on
  std::uint16_t count = 0;      // segments held
  std::uint32_t first_seq = 0;  // sender-space seq of the first held byte (a message start)
  std::uint32_t next_seq = 0;   // sender-space seq right after the last held byte
  std::uint32_t bytes = 0;      // payload bytes held
  std::uint64_t since = 0;      // when the held message's first byte was held (caller units)
  HeldSegment* segs = nullptr;  // [max_segments], stream order
};

enum class HoldAppend : std::uint8_t {
  ok,
  too_many_segments,  // the flow holds max_segments already
  too_many_bytes,     // the flow would hold more than max_bytes
  budget,             // the table holds total_segments already
};

class TcpHoldTable {
 public:
  explicit TcpHoldTable(const TcpHoldConfig& cfg);
  ~TcpHoldTable();
  TcpHoldTable(const TcpHoldTable&) = delete;
  TcpHoldTable& operator=(const TcpHoldTable&) = delete;

  // The flow whose sender is pkt.src:pkt.src_port and receiver pkt.dst:pkt.dst_port.
  TcpHoldFlow* find(const DecodedPacket& pkt) noexcept;
  // A new, empty flow for that key (the caller has checked find() is null).
  // nullptr if `flows` flows are held already.
  TcpHoldFlow* create(const DecodedPacket& pkt, std::uint16_t in_port, std::uint64_t now) noexcept;
  // Whether one more segment of `payload_length` bytes may be held.
  HoldAppend can_append(const TcpHoldFlow& f, std::uint32_t payload_length) const noexcept;
  // Whether a new flow may hold `segments` segments of `bytes` bytes in all.
  HoldAppend can_hold(std::uint32_t segments, std::uint32_t bytes) const noexcept;
  // Appends a segment whose seq is f.next_seq (the first one sets first_seq
  // to `seq`). The caller has checked can_append().
  void append(TcpHoldFlow& f, std::uint32_t seq, const HeldSegment& s) noexcept;
  // Forgets the flow (its segments must have been taken by the caller).
  void erase(TcpHoldFlow* f) noexcept;

  // Flows held since before now - timeout (oldest first not guaranteed), at
  // most `max` of them into `out`. Erasing them afterwards is allowed.
  std::size_t expired(std::uint64_t now, std::uint64_t timeout, TcpHoldFlow** out, std::size_t max) noexcept;
  // Any held flow (for draining at shutdown), or nullptr.
  TcpHoldFlow* any() noexcept;

  std::size_t size() const noexcept { return active_n_; }
  std::size_t held_segments() const noexcept { return held_segments_; }
  const TcpHoldConfig& config() const noexcept { return cfg_; }

 private:
  std::size_t slot_of(const std::array<std::uint8_t, 16>& src, const std::array<std::uint8_t, 16>& dst,
                      std::uint16_t sport, std::uint16_t dport) const noexcept;

  TcpHoldConfig cfg_;
  std::unique_ptr<TcpHoldFlow[]> flows_;
  std::unique_ptr<HeldSegment[]> seg_store_;     // flows * max_segments
  std::unique_ptr<std::uint32_t[]> index_;       // open addressing: flow index + 1, 0 = empty
  std::unique_ptr<std::uint32_t[]> free_;        // stack of free flow indexes
  std::unique_ptr<std::uint32_t[]> active_;      // dense list of used flow indexes
  std::unique_ptr<std::uint32_t[]> active_pos_;  // flow index -> position in active_
  std::size_t index_mask_ = 0;
  std::size_t free_n_ = 0;
  std::size_t active_n_ = 0;
  std::size_t held_segments_ = 0;
};

// --- the plan --------------------------------------------------------------------

// A segment of a unit: its payload is bytes [begin, end) of the unit's stream.
struct StreamRange {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// One edit on a whole message [msg_begin, msg_end) of the stream: remove it,
// or insert (a tag line) at `at` (msg_begin <= at < msg_end).
struct StreamEdit {
  std::uint32_t msg_begin = 0;
  std::uint32_t msg_end = 0;
  std::uint32_t at = 0;
  bool remove = false;
};

enum class PieceKind : std::uint8_t {
  keep,             // bytes [begin, end) of segment `seg` go on, with edit `edit` (or none) applied in place
  spanning_remove,  // edit `edit` removes a message that spans segments; `seg` holds its last byte
  hold,             // bytes [begin, end) of segment `seg` (up to its end) are held
};

struct StreamPiece {
  PieceKind kind = PieceKind::keep;
  std::uint16_t seg = 0;
  std::int16_t edit = -1;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// Pieces needed at most for `segs` segments and `edits` edits.
constexpr std::size_t max_stream_pieces(std::size_t segs, std::size_t edits) noexcept {
  return 2 * segs + 2 * edits + 1;
}

// Plans the pieces, in stream order; returns how many were written (0 if the
// input is inconsistent: segments not contiguous from 0, an empty segment
// other than the last, edits out of order, overlapping or past `hold_from`,
// or `cap` too small). Every byte of
// [0, hold_from) lies in exactly one keep piece or spanning removal, every
// byte of [hold_from, end) in a hold piece; a keep piece never spans two
// segments and carries at most one edit (a removal inside it, or a tag point);
// pieces of one segment are cut at the start of an edited message. A segment
// without payload (a FIN) gets an empty piece: keep, or hold if it follows
// held bytes.
std::size_t plan_stream(const StreamRange* segs, std::size_t n_segs, const StreamEdit* edits, std::size_t n_edits,
                        std::uint32_t hold_from, StreamPiece* out, std::size_t cap) noexcept;

}  // namespace sipwall::net
