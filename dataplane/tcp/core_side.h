// SIP over TCP from the core side (docs/packet-handling.md §6.6): never held,
// inspected or classified, but its messages complete calls (the call table,
// docs/detection.md) and belong to watched calls (copies, docs/export.md).
// Both read the same messages, framed once here: the segment's payload, with
// the unfinished end of the flow's last message (CoreTails) put in front when
// this segment continues it in sequence. So a 200 OK the core's stack cut
// across two segments reaches the call table and, if its call is watched, is
// copied whole (as one segment of its own, like any other message) when its
// last byte arrives; the segments themselves leave as they came.
//
// Runs only while the host follows calls or a watch is in force; bounded
// (16 messages a segment); no allocation (PathState's buffers).
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/net/flow_hash.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/sip/sip_message.h"
#include "dataplane/tcp/core_tails.h"
#include "dataplane/tcp/path_context.h"
#include "dataplane/tcp/watch_message.h"

namespace sipwall::dataplane::tcp {

// One core-side segment with payload, before anything may rewrite it.
// `follow`: the host's call table wants the messages (Host::core_message);
// `watch`: a watch is in force (each message of a watched call is copied).
template <class Host>
void core_segment(Ctx<Host>& x, const std::uint8_t* frame, const net::DecodedPacket& d, bool follow, bool watch) {
  const std::uint64_t flow = net::flow_hash(d.src, d.dst, d.src_port, d.dst_port);
  const std::string_view payload = d.payload(frame);
  const CoreTails::Joined j = x.st.core_tails.join(flow, d.tcp_seq, payload, x.st.core_joined.get(), kCoreJoinedBytes);
  if (j.lost) x.c.core_tcp_tails_lost++;
  if (j.repeat) return;  // a retransmission of bytes already framed (and copied)
  if (j.joined) x.c.core_tcp_tails_joined++;
  // The sequence number of the first byte of j.bytes: the kept end's, when one was put in front.
  const std::uint32_t first_seq = d.tcp_seq - static_cast<std::uint32_t>(j.bytes.size() - payload.size());
  std::string_view unfinished;
  std::size_t off = 0;
  // Bounded: each message consumes at least one byte, a segment holds at most
  // a few; a parse error ends the segment (nothing after it can be framed).
  for (int n = 0; n < 16 && off < j.bytes.size(); ++n) {
    const std::string_view rest = j.bytes.substr(off);
    const sip::ParseError e = sip::parse_message(rest, x.msg, sip::Transport::stream);
    if (e != sip::ParseError::none) {
      // A message whose end is in a later segment: kept until it comes.
      if (e == sip::ParseError::headers_unterminated || e == sip::ParseError::body_truncated) unfinished = rest;
      break;
    }
    if (follow) x.host.core_message(x.msg);
    if (x.msg.length == 0 || x.msg.length > rest.size()) break;
    if (watch) [[unlikely]]
      watch_copy_message(x, frame, d, first_seq + static_cast<std::uint32_t>(off), rest.substr(0, x.msg.length),
                         nullptr);
    off += x.msg.length;
  }
  if (!x.st.core_tails.keep(flow, d.tcp_seq + static_cast<std::uint32_t>(payload.size()), unfinished))
    x.c.core_tcp_tails_lost++;
}

}  // namespace sipwall::dataplane::tcp
