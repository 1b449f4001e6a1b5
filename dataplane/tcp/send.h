// SIP over TCP: how a segment or a piece leaves -- forwarded (numbers mapped
// by the sequence-adjust table), freed, or edited in place (a tag line in, a
// message out) with the answer toward the client. Each counts the frame's
// disposition once (counters.h).
#pragma once

#include <cstring>
#include <string_view>

#include "dataplane/net/reply_frame.h"
#include "dataplane/tcp/path_context.h"

namespace sipwall::dataplane::tcp {

template <class Host>
inline void settle(Ctx<Host>& x, bool& owes, Fate f) {
  if (!owes) return;
  owes = false;
  if (f == Fate::forwarded)
    x.c.forwarded++;
  else if (f == Fate::dropped)
    x.c.dropped++;
  else
    x.c.rejected++;
}

// To the paired port (freed if there is none).
template <class Host>
void send_on(Ctx<Host>& x, typename Host::Packet m, bool& owes) {
  if (!x.host.has_core(x.in)) [[unlikely]] {
    settle(x, owes, Fate::dropped);
    x.host.free(m);
    return;
  }
  settle(x, owes, Fate::forwarded);
  x.host.to_core(x.in, m);
}

template <class Host>
void discard(Ctx<Host>& x, typename Host::Packet m, bool& owes, Fate f) {
  settle(x, owes, f);
  x.host.free(m);
}

// A segment forwarded without an edit: numbers mapped if the flow carries
// edits; dropped if it only repeats bytes we removed (§6.2).
template <class Host>
void pass_segment(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, const net::DecodedPacket& d, bool& owes) {
  const net::SeqAdjResult r = x.st.seqadj.forward(frame, d, x.now, true);
  if (r == net::SeqAdjResult::retransmit_removed) [[unlikely]] {
    discard(x, m, owes, Fate::dropped);
    return;
  }
  if (r == net::SeqAdjResult::table_full) x.c.tcp_flow_table_full++;
  send_on(x, m, owes);
}

// Core side, and client segments without payload (ACK, SYN, FIN, RST): not
// inspected, numbers mapped when the flow carries edits.
template <class Host>
void pass_control(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, const net::DecodedPacket& d) {
  bool owes = true;
  const net::SeqAdjResult r = x.st.seqadj.forward(frame, d, x.now, false);
  if (r == net::SeqAdjResult::retransmit_removed) [[unlikely]] {
    discard(x, m, owes, Fate::dropped);
    return;
  }
  send_on(x, m, owes);
}

// Sends what remove() planned toward the client: the response (reject) or a
// pure ACK. True if a response went. A response to a watched call's INVITE
// (`e.watch`) is copied as it leaves (docs/export.md).
template <class Host>
bool answer(Ctx<Host>& x, const std::uint8_t* frame, const net::DecodedPacket& d, const net::TcpEditOutcome& out,
            std::string_view text, const Edit& e) {
  const bool reject = !text.empty();
  typename Host::Packet rep = x.host.alloc();
  if (rep == nullptr) [[unlikely]] {
    if (reject) x.c.reply_failed++;
    return false;
  }
  net::ReplyOptions ro;
  ro.ip_id = x.host.next_ip_id();
  const net::ReplyLayout lay =
      net::build_tcp_reply(frame, d, out.reply.spec, out.reply.send_payload ? text : std::string_view(),
                           x.host.frame(rep), x.host.room(rep), ro);
  if (lay.result != net::ReplyResult::ok) [[unlikely]] {
    x.host.free(rep);
    if (reject) x.c.reply_failed++;
    return false;
  }
  x.host.set_length(rep, lay.length);
  if (reject) x.c.replies_sent++;
  if (reject && e.watch.mask != 0) [[unlikely]]
    x.host.watch_copy(e.watch, x.host.frame(rep), lay.length, x.in);
  x.host.to_client(x.in, rep);
  return reject;
}

template <class Host>
std::string_view reply_text(Ctx<Host>& x, const Edit& e) {
  return e.kind == EditKind::reject ? std::string_view(x.st.reply[e.slot], e.reply_len) : std::string_view();
}

// A tag verdict: its marks (header line, labels, verstats) go into the piece
// as one replacement of the bytes they span; the piece is then forwarded.
// `at` is the header line's payload offset in the piece; the plan counts from
// the message's first byte, plan.header_at before it (in an earlier segment
// when the message spans segments: the marks there are left out and counted
// in tag_partial). A replacement the table refuses leaves the piece as a
// plain segment.
template <class Host>
void tag_piece(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, net::DecodedPacket& d, bool& owes,
               const Edit& e, std::size_t at) {
  const net::TagPlan& plan = e.plan;
  const std::int64_t base = static_cast<std::int64_t>(at) - plan.header_at;
  unsigned first = plan.n, last = 0;
  for (unsigned i = 0; i < plan.n; ++i) {
    const std::int64_t b = base + plan.marks[i].at;
    if (b < 0 || b + plan.marks[i].remove > d.payload_length) continue;
    if (first == plan.n) first = i;
    last = i;
  }
  const std::string_view payload(reinterpret_cast<const char*>(frame + d.payload_offset), d.payload_length);
  const std::size_t n =
      first == plan.n ? 0
                      : net::render_marks(payload, base, plan, first, last, e.tag, x.st.tag_out.get(), kTagOutBytes);
  if (n == 0) {
    x.c.tag_failed++;
    pass_segment(x, m, frame, d, owes);
    return;
  }
  const std::size_t span_at = static_cast<std::size_t>(base + plan.marks[first].at);
  const std::size_t span_len = std::size_t{plan.marks[last].at} + plan.marks[last].remove - plan.marks[first].at;
  std::size_t len = x.host.length(m);
  net::TcpEditOutcome out;
  const net::SeqAdjResult r =
      x.st.seqadj.edit(frame, len, x.host.room(m), d, span_at, span_len, std::string_view(x.st.tag_out.get(), n), x.now,
                       x.host.egress_mtu(x.in), out);
  if (r != net::SeqAdjResult::ok) {
    x.c.tag_skipped_tcp++;
    pass_segment(x, m, frame, d, owes);
    return;
  }
  if (first != 0 || last + 1 != plan.n) x.c.tag_partial++;
  x.c.tagged++;
  x.c.tcp_adjusted++;
  x.host.set_length(m, len);
  send_on(x, m, owes);
}

// A drop/reject verdict (or a fail-closed malformed message): the message
// at payload offset `at` of the piece is removed and answered; the piece is
// then forwarded, or freed if it carries nothing the core needs. A removal
// the table refuses leaves the piece as a plain segment.
template <class Host>
void remove_from_piece(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, net::DecodedPacket& d, bool& owes,
                       const Edit& e, std::size_t at) {
  const std::string_view text = reply_text(x, e);
  const std::size_t n = e.se.msg_end - e.se.msg_begin;
  std::size_t len = x.host.length(m);
  net::TcpEditOutcome out;
  const net::SeqAdjResult r =
      x.st.seqadj.remove(frame, len, x.host.room(m), d, at, n, static_cast<std::uint32_t>(text.size()), x.now, out);
  if (r != net::SeqAdjResult::ok) {
    // Spans an earlier edit, too many edits, no room, table full: the
    // message goes on as it is (§6.6).
    if (r != net::SeqAdjResult::table_full) x.c.tcp_verdict_not_applied++;
    pass_segment(x, m, frame, d, owes);
    return;
  }
  x.c.tcp_adjusted++;
  const bool answered = answer(x, frame, d, out, text, e);
  x.host.set_length(m, len);
  if (out.forward_segment)
    send_on(x, m, owes);
  else
    discard(x, m, owes, answered ? Fate::rejected : Fate::dropped);
}

// One edit at payload offset `at` of a piece.
template <class Host>
void edit_piece(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, net::DecodedPacket& d, bool& owes,
                const Edit& e, std::size_t at) {
  if (e.kind == EditKind::tag)
    tag_piece(x, m, frame, d, owes, e, at);
  else
    remove_from_piece(x, m, frame, d, owes, e, at);
}

}  // namespace sipwall::dataplane::tcp
