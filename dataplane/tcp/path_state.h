// SIP over TCP on the packet path (docs/packet-handling.md §6.6-6.8): the
// state one worker keeps for it, and the types of one "unit" (the segments
// inspected together). DPDK-free: the packets are the host's (sip_tcp_path.h
// says what a host is), so the same code runs on rte_mbufs in the data plane
// and on byte buffers in the unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>

#include "dataplane/net/identity_marks.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/tcp_reassembly.h"
#include "dataplane/net/tcp_seqadj.h"
#include "dataplane/tcp/core_tails.h"
#include "dataplane/watch/watch_table.h"

namespace sipwall::dataplane::tcp {

// Edits (drop/reject/tag verdicts, fail-closed removals of malformed
// messages) applied per unit: one segment, or held segments plus the one
// that completes their message. More are counted (tcp_verdict_not_applied).
inline constexpr unsigned kMaxEdits = 8;
inline constexpr std::size_t kMaxResponse = 2048;  // bytes of one 603/608 text
// A SIP message that arrived in several segments is presented to the
// sequence-adjust table as one segment built here: headers + the message.
inline constexpr std::size_t kViewBytes = 65536 + 512;
// One segment's payload, at most (a 16-bit IP length).
inline constexpr std::size_t kMaxSegmentPayload = 65536;
// A core-side message's kept end and the segment that continues it, joined (core_side.h).
inline constexpr std::size_t kCoreJoinedBytes = CoreTails::kTailBytes + kMaxSegmentPayload;
// A tag's marks rendered as one replacement (send.h tag_piece): at most a
// segment's payload plus what the marks add (header line, labels, verstats).
inline constexpr std::size_t kTagOutBytes = kMaxSegmentPayload + net::kMaxMarkLine + 2 +
                                            (net::kMaxMarks - 1) * (net::kMaxMarkLabel + net::kMaxMarkVerstat + 16);

// One received segment taking part in a unit.
template <class Packet>
struct Seg {
  Packet m = nullptr;
  std::uint8_t* frame = nullptr;
  net::DecodedPacket d;
  std::uint32_t begin = 0;  // its payload is [begin, end) of the unit's stream
  std::uint32_t end = 0;
  bool owes = false;      // its disposition is not counted yet
  bool used = false;      // a piece took its packet, or it was sent/freed
  bool was_held = false;  // it came out of the hold table
};

// A piece of a segment, ready to go: its own packet (or the segment's).
template <class Packet>
struct Piece {
  Packet m = nullptr;
  std::uint8_t* frame = nullptr;
  net::DecodedPacket d;
  bool owes = false;
  bool was_held = false;
};

enum class EditKind : std::uint8_t { drop, reject, tag, malformed };

// What a verdict (or the fail-closed policy) does to one message of the unit.
struct Edit {
  net::StreamEdit se;
  EditKind kind = EditKind::drop;
  std::uint16_t reply_len = 0;  // reject: bytes of the response in PathState::reply[slot]
  std::uint8_t slot = 0;
  watch::WatchMark watch;  // reject: the call's watch mark, if watched (its response is copied too)
  net::TagSpec tag;        // tag: what to write
  net::TagPlan plan;       // tag: where, from the message's first byte
};

struct PathConfig {
  net::SeqAdjConfig seqadj;
  net::TcpHoldConfig hold;
};

// Everything one worker keeps for SIP over TCP: the sequence-adjust table
// (every TCP flow on a SIP port), the flows holding segments, and scratch for
// one unit, sized once for hold.max_segments + 1 segments. Allocated in the
// constructor; nothing allocates afterwards.
template <class Packet>
struct PathState {
  static_assert(std::is_pointer_v<Packet>, "a packet is a pointer (the hold table keeps it as a void*)");

  explicit PathState(const PathConfig& cfg)
      : seqadj(cfg.seqadj),
        hold(cfg.hold),
        stream_cap(std::size_t{cfg.hold.max_bytes} + kMaxSegmentPayload),
        stream(std::make_unique<std::uint8_t[]>(stream_cap)),
        view(std::make_unique<std::uint8_t[]>(kViewBytes)),
        tag_out(std::make_unique<char[]>(kTagOutBytes)),
        core_joined(std::make_unique<char[]>(kCoreJoinedBytes)),
        seg_cap(std::size_t{cfg.hold.max_segments} + 1),
        piece_cap(net::max_stream_pieces(seg_cap, kMaxEdits)),
        segs(std::make_unique<Seg<Packet>[]>(seg_cap)),
        holds(std::make_unique<Seg<Packet>[]>(seg_cap)),
        prepared(std::make_unique<Piece<Packet>[]>(piece_cap)),
        ranges(std::make_unique<net::StreamRange[]>(seg_cap)),
        pieces(std::make_unique<net::StreamPiece[]>(piece_cap)),
        spare(std::make_unique<Packet[]>(piece_cap)) {}

  net::SeqAdjTable seqadj;
  net::TcpHoldTable hold;
  // The unit's stream: the held bytes plus one segment, copied out.
  std::size_t stream_cap;
  std::unique_ptr<std::uint8_t[]> stream;
  // The one-segment view of a message that spans segments (kViewBytes).
  std::unique_ptr<std::uint8_t[]> view;
  // A tag's replacement bytes (kTagOutBytes): SeqAdjTable::edit() takes them from outside the frame.
  std::unique_ptr<char[]> tag_out;
  // The core side (never held): the unfinished end of each flow's last
  // message, and where one is joined with the segment that continues it.
  CoreTails core_tails;
  std::unique_ptr<char[]> core_joined;  // kCoreJoinedBytes
  // One unit: its segments, the segments it leaves on hold, its pieces (as
  // planned and as prepared for sending) and the packets for extra pieces.
  std::size_t seg_cap;
  std::size_t piece_cap;
  std::unique_ptr<Seg<Packet>[]> segs;
  std::unique_ptr<Seg<Packet>[]> holds;
  std::unique_ptr<Piece<Packet>[]> prepared;
  std::unique_ptr<net::StreamRange[]> ranges;
  std::unique_ptr<net::StreamPiece[]> pieces;
  std::unique_ptr<Packet[]> spare;
  // Responses built while the unit is parsed (the message they answer is
  // overwritten by the next parse).
  char reply[kMaxEdits][kMaxResponse];
};

}  // namespace sipwall::dataplane::tcp
