// SIP over TCP on the packet path (docs/packet-handling.md §6.6-6.8).
//
// Every client->core segment with payload is inspected as part of a "unit":
// the segment alone, or -- when the flow holds the start of a message whose
// end had not arrived -- the held segments plus this one, copied into one
// stream. Whole messages in the unit are classified; their verdicts become
// edits (remove a message, insert a tag line); an incomplete message at the
// end is held. plan_stream() says how to cut the unit's segments so that
// every piece carries at most one edit and a removal spanning segments is
// done once (on a one-segment view of the message); each piece then goes
// through the sequence-adjust table like any segment.
//
// Counting: every received frame gets exactly one disposition (forwarded,
// dropped, rejected), by the fate of its first piece; until then it "owes"
// one. A held frame that owes is in the `held` gauge (counters.h).
//
// Packet-path rules: no allocation (mbufs from the pool only), no locks, no
// exceptions.
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/app/worker_path.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/net/tcp_cut.h"
#include "dataplane/net/tcp_reassembly.h"

namespace sipwall::dataplane {

namespace tcpu {

// One received segment taking part in a unit.
struct Seg {
  rte_mbuf* m = nullptr;
  std::uint8_t* frame = nullptr;
  net::DecodedPacket d;
  std::uint32_t begin = 0;  // its payload is [begin, end) of the unit's stream
  std::uint32_t end = 0;
  bool owes = false;      // its disposition is not counted yet
  bool used = false;      // a piece took its mbuf, or it was sent/freed
  bool was_held = false;  // it came out of the hold table
};

// A piece of a segment, ready to go: its own mbuf (or the segment's).
struct Piece {
  rte_mbuf* m = nullptr;
  std::uint8_t* frame = nullptr;
  net::DecodedPacket d;
  bool owes = false;
  bool was_held = false;
};

enum class EditKind : std::uint8_t { drop, reject, tag, malformed };

struct Edit {
  net::StreamEdit se;
  EditKind kind = EditKind::drop;
  std::uint16_t reply_len = 0;  // reject: bytes of the response in w.tcp_reply[slot]
  std::uint8_t slot = 0;
  std::string_view tag_line;
};

}  // namespace tcpu

// Per-worker scratch for one unit, sized once for tcp.reassembly_segments.
struct WorkerContext::TcpUnitScratch {
  std::size_t seg_cap = 0;
  std::size_t piece_cap = 0;
  std::unique_ptr<tcpu::Seg[]> segs;
  std::unique_ptr<tcpu::Seg[]> holds;
  std::unique_ptr<tcpu::Piece[]> prepared;
  std::unique_ptr<net::StreamRange[]> ranges;
  std::unique_ptr<net::StreamPiece[]> pieces;
  std::unique_ptr<rte_mbuf*[]> spare;
};

void init_tcp_unit_scratch(WorkerContext& w, std::uint32_t max_segments) {
  auto* s = new WorkerContext::TcpUnitScratch;
  s->seg_cap = std::size_t{max_segments} + 1;
  s->piece_cap = net::max_stream_pieces(s->seg_cap, kMaxTcpEdits);
  s->segs = std::make_unique<tcpu::Seg[]>(s->seg_cap);
  s->holds = std::make_unique<tcpu::Seg[]>(s->seg_cap);
  s->prepared = std::make_unique<tcpu::Piece[]>(s->piece_cap);
  s->ranges = std::make_unique<net::StreamRange[]>(s->seg_cap);
  s->pieces = std::make_unique<net::StreamPiece[]>(s->piece_cap);
  s->spare = std::make_unique<rte_mbuf*[]>(s->piece_cap);
  w.tcp_unit = {s, [](WorkerContext::TcpUnitScratch* p) { delete p; }};
}

namespace path {
namespace {

using rules::ActionKind;
using tcpu::EditKind;

// What one call works with.
struct Ctx {
  Dataplane& dp;
  WorkerContext& w;
  RuntimeSet* rs;
  std::uint16_t in;  // the port the client's segments enter
  std::uint64_t now;
  WorkerCounters& c;
  bool closed;  // fail_closed policy
};

Ctx make_ctx(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint16_t in, std::uint64_t now) {
  return Ctx{dp, w, rs, in, now, ctr(w), fail_closed(dp, rs)};
}

// --- dispositions and sending -------------------------------------------------------

enum class Fate : std::uint8_t { forwarded, dropped, rejected };

inline void settle(Ctx& x, bool& owes, Fate f) {
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
void send_on(Ctx& x, rte_mbuf* m, bool& owes) {
  const std::uint16_t out = x.dp.ports[x.in].peer;
  if (unlikely(out == kNoPort)) {
    settle(x, owes, Fate::dropped);
    free_pkt(m);
    return;
  }
  settle(x, owes, Fate::forwarded);
  transmit(x.dp, x.w, m, out);
}

void discard(Ctx& x, rte_mbuf* m, bool& owes, Fate f) {
  settle(x, owes, f);
  free_pkt(m);
}

// A segment forwarded without an edit: numbers mapped if the flow carries
// edits; dropped if it only repeats bytes we removed (§6.2).
void pass_segment(Ctx& x, rte_mbuf* m, std::uint8_t* frame, const net::DecodedPacket& d, bool& owes) {
  const net::SeqAdjResult r = x.w.tcp->forward(frame, d, x.now, true);
  if (unlikely(r == net::SeqAdjResult::retransmit_removed)) {
    discard(x, m, owes, Fate::dropped);
    return;
  }
  if (r == net::SeqAdjResult::table_full) x.c.tcp_flow_table_full++;
  send_on(x, m, owes);
}

// Core side, and client segments without payload (ACK, SYN, FIN, RST): not
// inspected, numbers mapped when the flow carries edits.
void pass_control(Ctx& x, rte_mbuf* m, std::uint8_t* frame, const net::DecodedPacket& d) {
  bool owes = true;
  const net::SeqAdjResult r = x.w.tcp->forward(frame, d, x.now, false);
  if (unlikely(r == net::SeqAdjResult::retransmit_removed)) {
    discard(x, m, owes, Fate::dropped);
    return;
  }
  send_on(x, m, owes);
}

// Sends what remove() planned toward the client: the response (reject) or a
// pure ACK. True if a response went.
bool answer(Ctx& x, const std::uint8_t* frame, const net::DecodedPacket& d, const net::TcpEditOutcome& out,
            std::string_view text) {
  const bool reject = !text.empty();
  rte_mbuf* rep = rte_pktmbuf_alloc(x.dp.pool);
  if (unlikely(rep == nullptr)) {
    if (reject) x.c.reply_failed++;
    return false;
  }
  net::ReplyOptions ro;
  ro.ip_id = x.w.ip_id++;
  const net::ReplyLayout lay =
      net::build_tcp_reply(frame, d, out.reply.spec, out.reply.send_payload ? text : std::string_view(),
                           rte_pktmbuf_mtod(rep, std::uint8_t*), rte_pktmbuf_tailroom(rep), ro);
  if (unlikely(lay.result != net::ReplyResult::ok)) {
    free_pkt(rep);
    if (reject) x.c.reply_failed++;
    return false;
  }
  rte_pktmbuf_append(rep, static_cast<std::uint16_t>(lay.length));
  if (reject) x.c.replies_sent++;
  transmit(x.dp, x.w, rep, x.in);
  return reject;
}

std::string_view reply_text(Ctx& x, const tcpu::Edit& e) {
  return e.kind == EditKind::reject ? std::string_view(x.w.tcp_reply[e.slot], e.reply_len) : std::string_view();
}

// One edit at payload offset `at` of a piece; the piece is then forwarded,
// or freed if it carries nothing the core needs. An edit the table refuses
// leaves the piece as a plain segment.
void edit_piece(Ctx& x, rte_mbuf* m, std::uint8_t* frame, net::DecodedPacket& d, bool& owes, const tcpu::Edit& e,
                std::size_t at) {
  std::size_t len = rte_pktmbuf_data_len(m);
  const std::size_t cap = len + rte_pktmbuf_tailroom(m);
  net::TcpEditOutcome out;
  if (e.kind == EditKind::tag) {
    char line[512];
    std::size_t ln = e.tag_line.size();
    if (ln + 2 > sizeof line) {
      x.c.tag_failed++;
      pass_segment(x, m, frame, d, owes);
      return;
    }
    std::memcpy(line, e.tag_line.data(), ln);
    line[ln++] = '\r';
    line[ln++] = '\n';
    const net::SeqAdjResult r =
        x.w.tcp->edit(frame, len, cap, d, at, 0, std::string_view(line, ln), x.now, egress_mtu(x.dp, x.in), out);
    if (r != net::SeqAdjResult::ok) {
      x.c.tag_skipped_tcp++;
      pass_segment(x, m, frame, d, owes);
      return;
    }
    x.c.tagged++;
    x.c.tcp_adjusted++;
    set_frame_length(m, len);
    send_on(x, m, owes);
    return;
  }
  const std::string_view text = reply_text(x, e);
  const std::size_t n = e.se.msg_end - e.se.msg_begin;
  const net::SeqAdjResult r =
      x.w.tcp->remove(frame, len, cap, d, at, n, static_cast<std::uint32_t>(text.size()), x.now, out);
  if (r != net::SeqAdjResult::ok) {
    // Spans an earlier edit, too many edits, no room, table full: the
    // message goes on as it is (§6.6).
    if (r != net::SeqAdjResult::table_full) x.c.tcp_verdict_not_applied++;
    pass_segment(x, m, frame, d, owes);
    return;
  }
  x.c.tcp_adjusted++;
  const bool answered = answer(x, frame, d, out, text);
  set_frame_length(m, len);
  if (out.forward_segment)
    send_on(x, m, owes);
  else
    discard(x, m, owes, answered ? Fate::rejected : Fate::dropped);
}

// --- giving up on held bytes: release (fail-open) or reset (fail-closed) ----------------

// RST toward both ends. `first` holds the first byte the core has not
// received (its seq becomes the RST's, mapped like any client segment);
// `last` is the client's newest segment (its ack is the client's receive
// point, which the RST toward it must carry: RFC 5961 §3). Both frames are
// still as received.
void send_resets(Ctx& x, const tcpu::Seg& first, const tcpu::Seg& last) {
  if (rte_mbuf* r = rte_pktmbuf_alloc(x.dp.pool)) {
    net::TcpReplySpec spec;
    spec.seq = last.d.tcp_ack;
    spec.ack = first.d.tcp_seq;
    spec.window = 0;
    net::ReplyOptions ro;
    ro.ip_id = x.w.ip_id++;
    auto* out = rte_pktmbuf_mtod(r, std::uint8_t*);
    const net::ReplyLayout lay = net::build_tcp_reply(last.frame, last.d, spec, {}, out, rte_pktmbuf_tailroom(r), ro);
    net::DecodedPacket rd;
    if (lay.result == net::ReplyResult::ok && net::decode_frame(out, lay.length, rd) == net::DecodeResult::ok) {
      rte_pktmbuf_append(r, static_cast<std::uint16_t>(lay.length));
      net::set_tcp_flags(out, rd, net::kTcpRst | net::kTcpAck);
      transmit(x.dp, x.w, r, x.in);
    } else {
      free_pkt(r);
    }
  }
  const std::uint16_t peer = x.dp.ports[x.in].peer;
  if (peer == kNoPort) return;
  if (rte_mbuf* r = rte_pktmbuf_alloc(x.dp.pool)) {
    auto* out = rte_pktmbuf_mtod(r, std::uint8_t*);
    const std::size_t len = net::cut_tcp_segment(first.frame, first.d, 0, 0, out, rte_pktmbuf_tailroom(r));
    net::DecodedPacket rd;
    if (len != 0 && net::decode_frame(out, len, rd) == net::DecodeResult::ok) {
      rte_pktmbuf_append(r, static_cast<std::uint16_t>(len));
      net::set_tcp_flags(out, rd, net::kTcpRst | net::kTcpAck);
      x.w.tcp->forward(out, rd, x.now, true);  // into the core's sequence space
      transmit(x.dp, x.w, r, peer);
    } else {
      free_pkt(r);
    }
  }
}

// Forwards segments uninspected: held ones count as released, the others as
// partial (bytes of a message whose start we could not keep).
void release_all(Ctx& x, tcpu::Seg* segs, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    tcpu::Seg& s = segs[i];
    if (s.was_held)
      x.c.tcp_reassembly_released_unchanged++;
    else
      x.c.tcp_partial++;
    pass_segment(x, s.m, s.frame, s.d, s.owes);
  }
}

// Fail-closed on TCP: the connection is reset toward both ends and what
// could not be inspected is freed.
void reset_all(Ctx& x, tcpu::Seg* segs, std::size_t n) {
  send_resets(x, segs[0], segs[n - 1]);
  for (std::size_t i = 0; i < n; ++i) discard(x, segs[i].m, segs[i].owes, Fate::dropped);
  x.c.tcp_reset_fail_closed++;
}

void give_up(Ctx& x, tcpu::Seg* segs, std::size_t n) {
  if (n == 0) return;
  if (x.closed)
    reset_all(x, segs, n);
  else
    release_all(x, segs, n);
}

// Takes a flow's held segments out of the table (the flow stays; erase it).
std::size_t load_held(Ctx& x, net::TcpHoldFlow& f, tcpu::Seg* out) {
  std::size_t n = 0;
  std::uint32_t pos = 0;
  for (std::uint16_t i = 0; i < f.count; ++i) {
    const net::HeldSegment& h = f.segs[i];
    auto* m = static_cast<rte_mbuf*>(h.handle);
    tcpu::Seg& s = out[n++];
    s = tcpu::Seg{};
    s.m = m;
    s.frame = rte_pktmbuf_mtod(m, std::uint8_t*);
    net::decode_frame(s.frame, rte_pktmbuf_data_len(m), s.d);  // decoded before it was held
    s.begin = pos;
    pos += h.payload_length;
    s.end = pos;
    s.owes = h.owes;
    s.was_held = true;
    if (h.owes) x.c.held--;
  }
  return n;
}

// Holds segments (the start of a message, in stream order) in a new flow.
void hold_new(Ctx& x, tcpu::Seg* hs, std::size_t k, std::uint64_t since) {
  std::uint32_t bytes = 0;
  for (std::size_t i = 0; i < k; ++i) bytes += hs[i].d.payload_length;
  if (x.w.hold->can_hold(static_cast<std::uint32_t>(k), bytes) != net::HoldAppend::ok) {
    x.c.tcp_reassembly_overflow++;
    give_up(x, hs, k);
    return;
  }
  net::TcpHoldFlow* f = x.w.hold->create(hs[0].d, x.in, since);
  if (f == nullptr) {
    x.c.tcp_reassembly_table_full++;
    give_up(x, hs, k);
    return;
  }
  for (std::size_t i = 0; i < k; ++i) {
    const tcpu::Seg& s = hs[i];
    x.w.hold->append(*f, s.d.tcp_seq, net::HeldSegment{s.m, s.d.payload_offset, s.d.payload_length, s.owes});
    x.c.tcp_held++;
    if (s.owes) x.c.held++;
  }
}

// --- one unit ---------------------------------------------------------------------------

// A parse error in the first line: these bytes are not the start of a SIP
// message at all (the middle of one whose start we did not see).
bool error_in_start_line(std::string_view buf, std::size_t error_offset) {
  std::size_t i = 0;
  while (i < buf.size() && (buf[i] == '\r' || buf[i] == '\n')) ++i;
  const std::size_t nl = buf.find('\n', i);
  return nl == std::string_view::npos || error_offset <= nl;
}

bool spans_segments(const tcpu::Seg* segs, std::size_t n, std::uint32_t b, std::uint32_t e) {
  for (std::size_t i = 0; i < n; ++i) {
    if (segs[i].begin <= b && b < segs[i].end) return e > segs[i].end;
  }
  return false;
}

struct SpanResult {
  bool ok = false;
  bool forward = false;   // the emptied one-segment view carries something the core needs
  bool answered = false;  // a response went to the client
  std::size_t len = 0;    // of the emptied view in w.tcp_virtual
};

// Removes a message that arrived in several segments: presented to the
// sequence-adjust table as one segment (headers of `j`, the segment with its
// last byte; the message's bytes), so the edit, the answer and a
// retransmission of the whole message are exactly those of §6.3. A message
// larger than one IP datagram can carry (only near the parser's 64 KiB
// limit) is removed in two views, answered after the second.
SpanResult spanning_remove(Ctx& x, const tcpu::Seg& j, std::string_view stream, const tcpu::Edit& e) {
  SpanResult res;
  const std::uint32_t n = e.se.msg_end - e.se.msg_begin;
  const std::uint32_t seq0 = j.d.tcp_seq - (j.begin - e.se.msg_begin);
  const std::size_t headers = std::size_t{j.d.payload_offset} - j.d.l3_offset;
  const std::size_t ip_max = j.d.ip_version == 4 ? 65535 : 65535 + 40;
  const auto max_part = static_cast<std::uint32_t>(ip_max - headers);
  const std::string_view text = reply_text(x, e);
  std::uint8_t* vf = x.w.tcp_virtual.get();
  for (std::uint32_t done = 0; done < n;) {
    const std::uint32_t part = n - done < max_part ? n - done : max_part;
    const bool last = done + part == n;
    std::size_t vlen = net::rebuild_tcp_segment(j.frame, j.d, seq0 + done, stream.substr(e.se.msg_begin + done, part),
                                                last && e.se.msg_end == j.end, vf, kTcpVirtualBytes);
    net::DecodedPacket vd;
    net::TcpEditOutcome out;
    net::SeqAdjResult r = net::SeqAdjResult::no_room;
    if (vlen != 0 && net::decode_frame(vf, vlen, vd) == net::DecodeResult::ok) {
      r = x.w.tcp->remove(vf, vlen, kTcpVirtualBytes, vd, 0, part, last ? static_cast<std::uint32_t>(text.size()) : 0,
                          x.now, out);
    }
    if (r != net::SeqAdjResult::ok) {
      if (r == net::SeqAdjResult::table_full)
        x.c.tcp_flow_table_full++;
      else
        x.c.tcp_verdict_not_applied++;
      // Nothing removed yet: the message goes on unedited. (After a first
      // part, the bytes are gone either way: report the removal as done.)
      if (done == 0) return res;
      res.ok = true;
      return res;
    }
    x.c.tcp_adjusted++;
    if (last) {
      res.answered = answer(x, vf, vd, out, text);
      res.forward = out.forward_segment;
      res.len = vlen;
    }
    done += part;
  }
  res.ok = true;
  return res;
}

// Plans the unit's pieces for the live edits; returns how many.
std::size_t plan(WorkerContext::TcpUnitScratch& u, const tcpu::Seg* segs, std::size_t n, const tcpu::Edit* edits,
                 const bool* dead, unsigned n_edits, std::uint32_t hold_from, int* edit_of) {
  net::StreamEdit se[kMaxTcpEdits];
  unsigned k = 0;
  for (unsigned i = 0; i < n_edits; ++i) {
    if (dead[i]) continue;
    se[k] = edits[i].se;
    edit_of[k++] = static_cast<int>(i);
  }
  for (std::size_t i = 0; i < n; ++i) u.ranges[i] = net::StreamRange{segs[i].begin, segs[i].end};
  return net::plan_stream(u.ranges.get(), n, se, k, hold_from, u.pieces.get(), u.piece_cap);
}

// The unit: segs[0, n) with their bytes in `stream` (segs[n-1] is the newest).
// `first` is the parse result of the first message when the caller already
// has it in w.msg. `holdable`: an incomplete message at the end may be held.
void process_unit(Ctx& x, tcpu::Seg* segs, std::size_t n, std::string_view stream, bool holdable,
                  const sip::ParseError* first) {
  WorkerCounters& c = x.c;
  WorkerContext& w = x.w;
  WorkerContext::TcpUnitScratch& u = *w.tcp_unit;
  const tcpu::Seg& last = segs[n - 1];
  const bool fin = (last.d.tcp_flags & net::kTcpFin) != 0;
  const auto total = static_cast<std::uint32_t>(stream.size());

  // 1. Parse the stream: whole messages -> verdicts -> edits.
  tcpu::Edit edits[kMaxTcpEdits];
  unsigned n_edits = 0, n_msgs = 0;
  std::uint32_t hold_from = total;
  bool unframeable = false, reset = false;
  sip::Message& msg = w.msg;
  auto add_edit = [&](const tcpu::Edit& e) {
    if (n_edits == kMaxTcpEdits) {
      c.tcp_verdict_not_applied++;  // more edits in one unit than we apply: goes on as is
      return;
    }
    edits[n_edits++] = e;
  };
  std::uint32_t off = 0;
  while (off < total) {
    const std::string_view rest = stream.substr(off);
    const sip::ParseError e = (off == 0 && first) ? *first : sip::parse_message(rest, msg, sip::Transport::stream);
    if (e == sip::ParseError::empty) {
      // The rest is CRLFs: a keep-alive (RFC 5626 §3.5.1); it travels on.
      c.keepalives++;
      break;
    }
    if (e == sip::ParseError::none) {
      ++n_msgs;
      const std::uint32_t mb = off;
      const auto me = static_cast<std::uint32_t>(off + msg.length);
      if (n > 1 && spans_segments(segs, n, mb, me)) c.tcp_reassembled_messages++;
      classify::Verdict v;
      if (decide(x.dp, w, x.rs, msg, last.d, x.in, v)) {
        tcpu::Edit ed;
        ed.se = net::StreamEdit{mb, me, mb, true};
        if (v.action == ActionKind::drop) {
          ed.kind = EditKind::drop;
          add_edit(ed);
        } else if (v.action == ActionKind::reject) {
          ed.kind = EditKind::reject;
          if (n_edits < kMaxTcpEdits) {
            char received[64];
            net::SipResponseOptions so = response_options(*x.rs, v, last.d, received, sizeof received);
            ed.slot = static_cast<std::uint8_t>(n_edits);
            ed.reply_len = static_cast<std::uint16_t>(
                net::build_sip_response(msg, so, w.tcp_reply[n_edits], sizeof w.tcp_reply[n_edits]));
            if (ed.reply_len == 0) {
              c.reply_failed++;
              ed.kind = EditKind::drop;  // cannot answer: remove it silently
            }
          }
          add_edit(ed);
        } else if (v.action == ActionKind::tag) {
          ed.kind = EditKind::tag;
          ed.se.remove = false;
          ed.se.at = static_cast<std::uint32_t>(off + msg.headers_end);
          ed.tag_line = v.tag_line;
          add_edit(ed);
        }
      }
      if (msg.length == 0) break;
      off = me;
      continue;
    }
    if (e == sip::ParseError::headers_unterminated || e == sip::ParseError::body_truncated) {
      if (fin) {
        // The stream ends inside this message: it can never complete.
        c.malformed++;
        c.parse_errors[static_cast<unsigned>(e)]++;
        if (x.closed) {
          c.malformed_dropped++;
          tcpu::Edit ed;
          ed.se = net::StreamEdit{off, total, off, true};
          ed.kind = EditKind::malformed;
          add_edit(ed);
        } else {
          c.malformed_forwarded++;
        }
      } else if (!holdable) {
        c.tcp_partial++;  // may not be held here (SYN/RST, or an old retransmission): goes on as is
      } else {
        hold_from = off;
      }
      break;
    }
    // A framed message (semantic error: length known) is a message; an error
    // in the first line at the start of the unit means these bytes are not
    // the start of one (not a parse error of a message: not counted as one).
    if (off == 0 && msg.length == 0 && error_in_start_line(rest, msg.error_offset)) {
      unframeable = true;
      break;
    }
    c.parse_errors[static_cast<unsigned>(e)]++;
    c.malformed++;
    if (msg.length > 0 && msg.length <= rest.size()) {
      // Framed (a semantic error, e.g. no Call-ID): the policy applies to this message only.
      if (x.closed) {
        c.malformed_dropped++;
        tcpu::Edit ed;
        ed.se = net::StreamEdit{off, static_cast<std::uint32_t>(off + msg.length), off, true};
        ed.kind = EditKind::malformed;
        add_edit(ed);
      } else {
        c.malformed_forwarded++;
      }
      off += static_cast<std::uint32_t>(msg.length);
      continue;
    }
    // Unframed: nothing after it can be found.
    if (x.closed) {
      c.malformed_dropped++;
      reset = true;
    } else {
      c.malformed_forwarded++;
    }
    break;
  }
  if (n_msgs > 1) c.tcp_multi_message++;

  if (unframeable) {
    // Not a message start: the middle of a message whose start we did not
    // see (flow first seen mid-message, e.g. after a restart). Cannot be
    // framed, so it goes on uninspected (§6.8).
    release_all(x, segs, n);
    return;
  }
  if (reset) {
    reset_all(x, segs, n);
    return;
  }
  if (n_edits == 0 && hold_from == total) {
    for (std::size_t i = 0; i < n; ++i) pass_segment(x, segs[i].m, segs[i].frame, segs[i].d, segs[i].owes);
    return;
  }

  // 2. Plan the pieces; get the mbufs the extra pieces need.
  bool dead[kMaxTcpEdits] = {};
  int edit_of[kMaxTcpEdits];
  std::size_t np = plan(u, segs, n, edits, dead, n_edits, hold_from, edit_of);
  if (unlikely(np == 0)) {
    c.tcp_verdict_not_applied += n_edits;
    release_all(x, segs, n);
    return;
  }
  unsigned extra = 0;
  for (std::size_t i = 0; i < np; ++i) {
    const net::StreamPiece& p = u.pieces[i];
    if (p.kind != net::PieceKind::spanning_remove && i > 0 && u.pieces[i - 1].seg == p.seg &&
        u.pieces[i - 1].kind != net::PieceKind::spanning_remove)
      ++extra;
  }
  // A piece of a segment that came in several mbufs (linearised into the
  // jumbo pool, worker.cpp) may be larger than a 2 KB pool mbuf: its pieces
  // are cut into jumbo mbufs too.
  bool any_jumbo = false;
  for (std::size_t i = 0; i < n; ++i) any_jumbo = any_jumbo || segs[i].m->pool == x.dp.jumbo_pool;
  if (extra && rte_pktmbuf_alloc_bulk(any_jumbo ? x.dp.jumbo_pool : x.dp.pool, u.spare.get(), extra) != 0) {
    // Out of mbufs: nothing is cut; the verdicts are not applied.
    c.tcp_verdict_not_applied += n_edits;
    release_all(x, segs, n);
    return;
  }

  // 3. A removal spanning segments first (by construction only the unit's
  // first message can span segments, so nothing precedes it). If the table
  // refuses it, the message goes on unedited: plan again without it.
  SpanResult span;
  int span_edit = -1;
  for (std::size_t i = 0; i < np; ++i) {
    const net::StreamPiece& p = u.pieces[i];
    if (p.kind != net::PieceKind::spanning_remove) continue;
    const int k = edit_of[p.edit];
    if (k == span_edit) continue;
    if (span_edit < 0) {
      span = spanning_remove(x, segs[p.seg], stream, edits[k]);
      if (span.ok) {
        span_edit = k;
        continue;
      }
    } else {
      c.tcp_verdict_not_applied++;  // a second one cannot happen (see above)
    }
    dead[k] = true;
    np = plan(u, segs, n, edits, dead, n_edits, hold_from, edit_of);
    if (np == 0) break;
    i = static_cast<std::size_t>(-1);  // scan the new plan from its start
  }
  if (unlikely(np == 0)) {  // cannot happen: a plan without a removal is always possible
    for (unsigned i = 0; i < extra; ++i) free_pkt(u.spare[i]);
    release_all(x, segs, n);
    return;
  }

  // 4. Cut and send, in stream order.
  unsigned spare_i = 0;
  std::size_t n_hold = 0;
  for (std::size_t i = 0; i < np; ++i) {
    const net::StreamPiece& p = u.pieces[i];
    tcpu::Seg& s = segs[p.seg];
    if (p.kind == net::PieceKind::spanning_remove) {
      const bool more_of_seg = i + 1 < np && u.pieces[i + 1].seg == p.seg;
      if (edit_of[p.edit] == span_edit && span.forward && !more_of_seg) {
        // The emptied view carries a new ack/window or the FIN: it goes out
        // in the mbuf of the segment that held the message's last byte.
        std::memcpy(s.frame, w.tcp_virtual.get(), span.len);
        set_frame_length(s.m, span.len);
        s.used = true;
        send_on(x, s.m, s.owes);
      }
      continue;
    }
    if (!s.used) {
      // First piece of this segment: copy the others out of the intact frame,
      // then cut the frame itself down to this piece.
      for (std::size_t j = i + 1; j < np && u.pieces[j].seg == p.seg; ++j) {
        const net::StreamPiece& q = u.pieces[j];
        tcpu::Piece& pq = u.prepared[j];
        pq = tcpu::Piece{};
        rte_mbuf* m2 = u.spare[spare_i++];
        auto* f2 = rte_pktmbuf_mtod(m2, std::uint8_t*);
        const std::size_t l2 =
            net::cut_tcp_segment(s.frame, s.d, q.begin - s.begin, q.end - s.begin, f2, rte_pktmbuf_tailroom(m2));
        rte_pktmbuf_append(m2, static_cast<std::uint16_t>(l2));
        net::decode_frame(f2, l2, pq.d);
        pq.m = m2;
        pq.frame = f2;
        pq.was_held = s.was_held;
        c.tcp_split++;
      }
      tcpu::Piece& pp = u.prepared[i];
      pp = tcpu::Piece{};
      pp.m = s.m;
      pp.frame = s.frame;
      pp.d = s.d;
      if (p.begin != s.begin || p.end != s.end) {
        const std::size_t cap = rte_pktmbuf_data_len(s.m) + rte_pktmbuf_tailroom(s.m);
        const std::size_t l = net::cut_tcp_segment(s.frame, s.d, p.begin - s.begin, p.end - s.begin, s.frame, cap);
        set_frame_length(s.m, l);
        net::decode_frame(s.frame, l, pp.d);
      }
      pp.owes = s.owes;  // the frame is counted by the fate of its first piece
      pp.was_held = s.was_held;
      s.owes = false;
      s.used = true;
    }
    tcpu::Piece& pp = u.prepared[i];
    if (p.kind == net::PieceKind::hold) {
      tcpu::Seg& h = u.holds[n_hold++];
      h = tcpu::Seg{};
      h.m = pp.m;
      h.frame = pp.frame;
      h.d = pp.d;
      h.owes = pp.owes;
      h.was_held = pp.was_held;
      continue;
    }
    if (p.edit < 0) {
      pass_segment(x, pp.m, pp.frame, pp.d, pp.owes);
      continue;
    }
    const tcpu::Edit& e = edits[edit_of[p.edit]];
    const std::uint32_t at = e.kind == EditKind::tag ? e.se.at : e.se.msg_begin;
    edit_piece(x, pp.m, pp.frame, pp.d, pp.owes, e, at - p.begin);
  }
  // Segments whose every byte belonged to the removed message.
  for (std::size_t i = 0; i < n; ++i) {
    if (!segs[i].used) discard(x, segs[i].m, segs[i].owes, span.answered ? Fate::rejected : Fate::dropped);
  }
  for (; spare_i < extra; ++spare_i) free_pkt(u.spare[spare_i]);

  // 5. The incomplete message at the end waits for the rest.
  if (n_hold) hold_new(x, u.holds.get(), n_hold, x.now);
}

// A client segment of a flow that holds nothing.
void client_segment(Ctx& x, rte_mbuf* m, std::uint8_t* frame, net::DecodedPacket& d, bool holdable) {
  tcpu::Seg& s = x.w.tcp_unit->segs[0];
  s = tcpu::Seg{};
  s.m = m;
  s.frame = frame;
  s.d = d;
  s.end = d.payload_length;
  s.owes = true;
  // A SYN (Fast Open data) or RST never starts a hold.
  holdable = holdable && !(d.tcp_flags & (net::kTcpSyn | net::kTcpRst));
  process_unit(x, &s, 1, d.payload(frame), holdable, nullptr);
}

// A client segment of a flow that holds the start of a message.
void held_flow_segment(Ctx& x, net::TcpHoldFlow* f, rte_mbuf* m, std::uint8_t* frame, net::DecodedPacket& d) {
  WorkerCounters& c = x.c;
  WorkerContext& w = x.w;
  WorkerContext::TcpUnitScratch& u = *w.tcp_unit;
  bool owes = true;
  if (d.tcp_flags & (net::kTcpSyn | net::kTcpRst)) {
    // The connection is aborted (or starts over): what is held can never
    // complete. Fail-open releases it unchanged; fail-closed frees it (the
    // connection is going away, no need to reset it).
    const std::size_t n = load_held(x, *f, u.segs.get());
    w.hold->erase(f);
    if (x.closed) {
      for (std::size_t i = 0; i < n; ++i) discard(x, u.segs[i].m, u.segs[i].owes, Fate::dropped);
    } else {
      release_all(x, u.segs.get(), n);
    }
    if (d.payload_length)
      client_segment(x, m, frame, d, false);
    else
      pass_control(x, m, frame, d);
    return;
  }
  const bool fin = (d.tcp_flags & net::kTcpFin) != 0;
  if (d.payload_length == 0 && !fin) {
    pass_control(x, m, frame, d);  // an ACK or window update: nothing to inspect
    return;
  }
  std::uint32_t seq = d.tcp_seq;
  const std::uint32_t exp = f->next_seq;
  if (d.payload_length && net::seq_lt(seq, exp)) {
    const std::uint32_t end = seq + d.payload_length;
    if (net::seq_lt(seq, f->first_seq)) {
      // Starts before the held bytes: a retransmission of bytes already
      // handled (forwarded, or removed and answered). Its part before the
      // held message is inspected alone, like the first time; the rest
      // repeats held bytes (or runs ahead of them, which the client sends again).
      if (net::seq_lt(f->first_seq, end)) {
        c.tcp_retransmit_dropped++;
        const std::size_t cap = rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m);
        const std::size_t l = net::cut_tcp_segment(frame, d, 0, f->first_seq - seq, frame, cap);
        set_frame_length(m, l);
        net::decode_frame(frame, l, d);
      }
      client_segment(x, m, frame, d, false);
      return;
    }
    if (net::seq_le(end, exp)) {
      c.tcp_retransmit_dropped++;  // the originals are held
      discard(x, m, owes, Fate::dropped);
      return;
    }
    // Repacketised: it overlaps the held bytes and brings new ones. Keep the new.
    const std::size_t cap = rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m);
    const std::size_t l = net::cut_tcp_segment(frame, d, exp - seq, d.payload_length, frame, cap);
    set_frame_length(m, l);
    net::decode_frame(frame, l, d);
    seq = exp;
  }
  if (seq != exp) {
    // A gap: the segment the hold waits for was lost on the way here. The
    // client sends it again, then this one (never acknowledged by the core).
    c.tcp_out_of_order_dropped++;
    discard(x, m, owes, Fate::dropped);
    return;
  }

  // In order: the held bytes and this segment form one stream.
  const std::uint32_t held_bytes = f->bytes;
  const std::size_t total = std::size_t{held_bytes} + d.payload_length;
  std::uint8_t* st = w.tcp_stream.get();
  {
    std::size_t pos = 0;
    for (std::uint16_t i = 0; i < f->count; ++i) {
      const net::HeldSegment& h = f->segs[i];
      std::memcpy(st + pos, rte_pktmbuf_mtod(static_cast<rte_mbuf*>(h.handle), std::uint8_t*) + h.payload_offset,
                  h.payload_length);
      pos += h.payload_length;
    }
    std::memcpy(st + pos, frame + d.payload_offset, d.payload_length);
  }
  const std::string_view stream(reinterpret_cast<const char*>(st), total);
  const sip::ParseError e0 = sip::parse_message(stream, w.msg, sip::Transport::stream);
  const bool incomplete =
      (e0 == sip::ParseError::headers_unterminated || e0 == sip::ParseError::body_truncated) && !fin;
  if (incomplete) {
    // Still incomplete: hold this one too, if the bounds allow.
    if (w.hold->can_append(*f, d.payload_length) == net::HoldAppend::ok) {
      w.hold->append(*f, seq, net::HeldSegment{m, d.payload_offset, d.payload_length, true});
      c.tcp_held++;
      c.held++;
      return;
    }
    c.tcp_reassembly_overflow++;
  }
  // The held segments and this one leave the hold as one unit.
  std::size_t n = load_held(x, *f, u.segs.get());
  w.hold->erase(f);
  tcpu::Seg& s = u.segs[n++];
  s = tcpu::Seg{};
  s.m = m;
  s.frame = frame;
  s.d = d;
  s.owes = true;
  if (incomplete) {  // over the bounds: given up whole (policy)
    give_up(x, u.segs.get(), n);
    return;
  }
  s.begin = held_bytes;
  s.end = static_cast<std::uint32_t>(total);
  process_unit(x, u.segs.get(), n, stream, true, &e0);
}

// A held flow given up on (timeout or shutdown).
void give_up_flow(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, net::TcpHoldFlow* f, std::uint64_t now) {
  Ctx x = make_ctx(dp, w, rs, f->in_port, now);
  const std::size_t n = load_held(x, *f, w.tcp_unit->segs.get());
  w.hold->erase(f);
  give_up(x, w.tcp_unit->segs.get(), n);
}

}  // namespace

void sip_tcp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in, std::uint8_t* frame,
             net::DecodedPacket& d, bool trunk_side) {
  Ctx x = make_ctx(dp, w, rs, in, rte_rdtsc());
  if (!trunk_side) {
    // Core side: never inspected or held; numbers mapped when the flow carries edits.
    pass_control(x, m, frame, d);
    return;
  }
  if (d.payload_length) x.c.sip_tcp++;
  net::TcpHoldFlow* f = w.hold->find(d);
  if (likely(f == nullptr)) {
    if (d.payload_length == 0)
      pass_control(x, m, frame, d);
    else
      client_segment(x, m, frame, d, true);
    return;
  }
  held_flow_segment(x, f, m, frame, d);
}

void tcp_expire_held(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint64_t now) {
  net::TcpHoldFlow* expired[16];
  std::size_t n;
  while ((n = w.hold->expired(now, dp.tcp_hold_timeout, expired, 16)) > 0) {
    for (std::size_t i = 0; i < n; ++i) {
      ctr(w).tcp_reassembly_timeout++;
      give_up_flow(dp, w, rs, expired[i], now);
    }
  }
}

void tcp_drain_held(Dataplane& dp, WorkerContext& w, RuntimeSet* rs) {
  const std::uint64_t now = rte_rdtsc();
  while (net::TcpHoldFlow* f = w.hold->any()) give_up_flow(dp, w, rs, f, now);
}

}  // namespace path
}  // namespace sipwall::dataplane
