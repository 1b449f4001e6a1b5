// SIP over TCP: the decisions of bounded reassembly that touch no packet
// buffer (docs/packet-handling.md §6.6-6.8), in plain C++ so the data plane's
// worker and sipwallctl decide alike:
//
// * plan_held_arrival(): what a client segment arriving at a flow that holds
//   the start of a message is (the table of §6.7: in order, a retransmission
//   of held bytes, repacketised, before the held bytes, after a gap, an ACK,
//   SYN/RST).
// * scan_unit(): how the stream of a unit (the held segments plus the new
//   one, or a segment alone) is framed into messages, and how it ends: every
//   byte in whole messages, an incomplete message to hold, the middle of a
//   message whose start was not seen (§6.8), a message the parser refused
//   before framing it, a stream that ends (FIN) inside a message.
//
// What to do with the result (edit, forward, hold, reset) is the caller's:
// the worker cuts packets (dataplane/tcp/), sipwallctl shows the
// messages (control/common/tcp_follower.h). No allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/net/packet_decode.h"
#include "dataplane/net/tcp_reassembly.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::net {

// --- a segment of a flow that holds ----------------------------------------------

enum class HeldArrival : std::uint8_t {
  abort,           // SYN or RST: the held bytes can never complete; give them up, then
                   // handle the segment as one of a flow that holds nothing (never held)
  control,         // no payload and no FIN (an ACK, a window update): nothing to inspect
  before_held,     // starts before the held bytes: a retransmission of bytes already handled.
                   // Payload [begin, end) (the part before the held message) is inspected
                   // alone, never held; the rest is dropped
  retransmission,  // repeats held bytes only: dropped (the originals are held)
  gap,             // starts after the next expected byte: dropped (the client sends it again)
  in_order,        // payload [begin, end) continues the held bytes (begin > 0: repacketised,
                   // the first bytes repeat held ones and are cut off)
};

struct HeldArrivalPlan {
  HeldArrival what = HeldArrival::in_order;
  std::uint32_t begin = 0;  // the payload bytes that go on, for before_held and in_order
  std::uint32_t end = 0;
  bool repeats_held = false;  // before_held that also repeats held bytes (tcp_retransmit_dropped)
};

// `d` is a client segment of flow `f` (which holds at least one segment).
HeldArrivalPlan plan_held_arrival(const TcpHoldFlow& f, const DecodedPacket& d) noexcept;

// --- framing a unit ------------------------------------------------------------------

// A parse error in the first line: these bytes are not the start of a SIP
// message at all (the middle of one whose start was not seen).
bool error_in_start_line(std::string_view buf, std::size_t error_offset) noexcept;

// Whether stream bytes [b, e) lie in more than one of the unit's segments
// (any type with `begin` and `end`: StreamRange here, the worker's Seg).
template <class Segment>
bool spans_segments(const Segment* segs, std::size_t n, std::uint32_t b, std::uint32_t e) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (segs[i].begin <= b && b < segs[i].end) return e > segs[i].end;
  }
  return false;
}

enum class UnitEnd : std::uint8_t {
  complete,     // every byte is in whole messages (or CRLF keep-alives at the end)
  hold,         // an incomplete message starts at `stop`: hold it
  partial,      // an incomplete message starts at `stop` but may not be held: it goes on as is
  truncated,    // the stream ends (FIN) inside the message at `stop`: malformed
  unframed,     // the parser refused the message at `stop` before its length was known:
                // malformed, and nothing after it can be framed
  unframeable,  // the unit does not start with a message (§6.8): goes on uninspected
};

struct UnitScan {
  UnitEnd end = UnitEnd::complete;
  std::uint32_t stop = 0;                         // see UnitEnd; when complete: the stream's size, or
                                                  // where the CRLFs of a keep-alive start
  sip::ParseError error = sip::ParseError::none;  // for hold/partial/truncated/unframed
  std::uint32_t messages = 0;                     // whole messages parsed without error
  std::uint32_t spanning = 0;                     // of them, in more than one segment
  bool keepalive = false;                         // CRLFs after the last message

  // Where the held bytes start (the stream's size if nothing is to be held).
  std::uint32_t hold_from(std::uint32_t total) const noexcept { return end == UnitEnd::hold ? stop : total; }
};

// Frames `stream`, the unit's bytes (segments `segs[0, n)` in stream order,
// their [begin, end) ranges contiguous from 0), from its start, which is where a message
// starts if the flow was seen from a message boundary. For every message:
//
//   visit.message(begin, end)              parsed without error; `msg` holds it
//   visit.malformed(begin, end, error)     refused after framing (a semantic
//                                          error such as a missing Call-ID):
//                                          its length is known, the scan goes on
//
// `fin`: the unit's last segment carries FIN (an incomplete message then can
// never complete). `holdable`: an incomplete message at the end may be held.
// `first`: the parse of the stream's first message when the caller already
// has it in `msg` (nullptr to parse it here).
template <class Segment, class Visitor>
UnitScan scan_unit(std::string_view stream, const Segment* segs, std::size_t n, bool fin, bool holdable,
                   sip::Message& msg, const sip::ParseError* first, Visitor&& visit) {
  UnitScan r;
  const auto total = static_cast<std::uint32_t>(stream.size());
  r.stop = total;
  std::uint32_t off = 0;
  while (off < total) {
    const std::string_view rest = stream.substr(off);
    const sip::ParseError e =
        (off == 0 && first != nullptr) ? *first : sip::parse_message(rest, msg, sip::Transport::stream);
    if (e == sip::ParseError::empty) {
      // The rest is CRLFs: a keep-alive (RFC 5626 §3.5.1); it travels on.
      r.keepalive = true;
      r.stop = off;
      break;
    }
    if (e == sip::ParseError::none) {
      ++r.messages;
      const auto me = static_cast<std::uint32_t>(off + msg.length);
      if (n > 1 && spans_segments(segs, n, off, me)) ++r.spanning;
      visit.message(off, me);
      if (msg.length == 0) break;
      off = me;
      continue;
    }
    if (e == sip::ParseError::headers_unterminated || e == sip::ParseError::body_truncated) {
      // The parser's "not complete yet" on a stream.
      r.end = fin ? UnitEnd::truncated : holdable ? UnitEnd::hold : UnitEnd::partial;
      r.stop = off;
      r.error = e;
      break;
    }
    // An error in the first line at the start of the unit, with no length:
    // these bytes are not the start of a message (not a parse error of one).
    if (off == 0 && msg.length == 0 && error_in_start_line(rest, msg.error_offset)) {
      r.end = UnitEnd::unframeable;
      r.stop = 0;
      r.error = e;
      break;
    }
    if (msg.length > 0 && msg.length <= rest.size()) {
      const auto me = static_cast<std::uint32_t>(off + msg.length);
      visit.malformed(off, me, e);
      off = me;
      continue;
    }
    r.end = UnitEnd::unframed;
    r.stop = off;
    r.error = e;
    break;
  }
  return r;
}

}  // namespace sipwall::net
