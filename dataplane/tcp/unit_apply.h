// SIP over TCP, a unit's second phase: its edits applied. plan_stream()
// says how to cut the unit's segments so that every piece carries at most
// one edit and a removal spanning segments is done once (on a one-segment
// view of the message); each piece then goes through the sequence-adjust
// table like any segment, and an incomplete message at the end is held.
#pragma once

#include <cstring>
#include <string_view>

#include "dataplane/net/tcp_cut.h"
#include "dataplane/tcp/give_up.h"
#include "dataplane/tcp/unit_edits.h"

namespace sipwall::dataplane::tcp {

struct SpanResult {
  bool ok = false;
  bool forward = false;   // the emptied one-segment view carries something the core needs
  bool answered = false;  // a response went to the client
  std::size_t len = 0;    // of the emptied view in PathState::view
};

// How a unit's edits are carried out.
struct UnitPlan {
  bool dead[kMaxEdits] = {};  // edits left out (a spanning removal the table refused)
  int edit_of[kMaxEdits];     // the plan's edit index -> UnitEdits index
  std::size_t pieces = 0;     // in PathState::pieces, in stream order
  unsigned extra = 0;         // packets in PathState::spare for pieces after a segment's first
  int span_edit = -1;         // the spanning removal done (UnitEdits index), or -1
  SpanResult span;
};

// Removes a message that arrived in several segments: presented to the
// sequence-adjust table as one segment (headers of `j`, the segment with its
// last byte; the message's bytes), so the edit, the answer and a
// retransmission of the whole message are exactly those of §6.3. A message
// larger than one IP datagram can carry (only near the parser's 64 KiB
// limit) is removed in two views, answered after the second.
template <class Host>
SpanResult spanning_remove(Ctx<Host>& x, const Seg<typename Host::Packet>& j, std::string_view stream, const Edit& e) {
  SpanResult res;
  const std::uint32_t n = e.se.msg_end - e.se.msg_begin;
  const std::uint32_t seq0 = j.d.tcp_seq - (j.begin - e.se.msg_begin);
  const std::size_t headers = std::size_t{j.d.payload_offset} - j.d.l3_offset;
  const std::size_t ip_max = j.d.ip_version == 4 ? 65535 : 65535 + 40;
  const auto max_part = static_cast<std::uint32_t>(ip_max - headers);
  const std::string_view text = reply_text(x, e);
  std::uint8_t* vf = x.st.view.get();
  for (std::uint32_t done = 0; done < n;) {
    const std::uint32_t part = n - done < max_part ? n - done : max_part;
    const bool last = done + part == n;
    std::size_t vlen = net::rebuild_tcp_segment(j.frame, j.d, seq0 + done, stream.substr(e.se.msg_begin + done, part),
                                                last && e.se.msg_end == j.end, vf, kViewBytes);
    net::DecodedPacket vd;
    net::TcpEditOutcome out;
    net::SeqAdjResult r = net::SeqAdjResult::no_room;
    if (vlen != 0 && net::decode_frame(vf, vlen, vd) == net::DecodeResult::ok) {
      r = x.st.seqadj.remove(vf, vlen, kViewBytes, vd, 0, part, last ? static_cast<std::uint32_t>(text.size()) : 0,
                             x.now, out);
    }
    if (r != net::SeqAdjResult::ok) {
      if (r == net::SeqAdjResult::table_full)
        x.c.tcp_flow_table_full++;
      else
        x.c.tcp_verdict_not_applied++;
      // Nothing removed yet: the message goes on unedited. (After a first
      // part, the bytes are gone either way: report the removal as done.)
      res.ok = done != 0;
      return res;
    }
    x.c.tcp_adjusted++;
    if (last) {
      res.answered = answer(x, vf, vd, out, text, e);
      res.forward = out.forward_segment;
      res.len = vlen;
    }
    done += part;
  }
  res.ok = true;
  return res;
}

// Plans the unit's pieces for the live edits into p.pieces.
template <class Packet>
void plan(PathState<Packet>& st, const Seg<Packet>* segs, std::size_t n, const UnitEdits& u, UnitPlan& p) {
  net::StreamEdit se[kMaxEdits];
  unsigned k = 0;
  for (unsigned i = 0; i < u.n; ++i) {
    if (p.dead[i]) continue;
    se[k] = u.edits[i].se;
    p.edit_of[k++] = static_cast<int>(i);
  }
  for (std::size_t i = 0; i < n; ++i) st.ranges[i] = net::StreamRange{segs[i].begin, segs[i].end};
  p.pieces = net::plan_stream(st.ranges.get(), n, se, k, u.hold_from, st.pieces.get(), st.piece_cap);
}

// Plans the pieces and takes the packets the extra ones need. False if it
// cannot (the segments were then released, the verdicts not applied).
template <class Host>
bool plan_and_allocate(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n, const UnitEdits& u, UnitPlan& p) {
  plan(x.st, segs, n, u, p);
  if (p.pieces == 0) [[unlikely]] {
    x.c.tcp_verdict_not_applied += u.n;
    release_all(x, segs, n);
    return false;
  }
  const net::StreamPiece* pc = x.st.pieces.get();
  for (std::size_t i = 1; i < p.pieces; ++i) {
    if (pc[i].kind != net::PieceKind::spanning_remove && pc[i - 1].seg == pc[i].seg &&
        pc[i - 1].kind != net::PieceKind::spanning_remove)
      ++p.extra;
  }
  // A piece of a large packet (a segment that came in several mbufs and was
  // linearised into the jumbo pool, worker.cpp) may be larger than a small
  // one holds: its pieces are cut into large packets too.
  bool large = false;
  for (std::size_t i = 0; i < n; ++i) large = large || x.host.is_large(segs[i].m);
  if (p.extra && !x.host.alloc_pieces(x.st.spare.get(), p.extra, large)) {
    // Out of packets: nothing is cut; the verdicts are not applied.
    x.c.tcp_verdict_not_applied += u.n;
    release_all(x, segs, n);
    return false;
  }
  return true;
}

// A removal spanning segments first (by construction only the unit's first
// message can span segments, so nothing precedes it). If the table refuses
// it, the message goes on unedited: planned again without it. False if no
// plan is left (cannot happen: a plan without a removal is always possible;
// the segments were then released).
template <class Host>
bool remove_spanning(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n, std::string_view stream,
                     const UnitEdits& u, UnitPlan& p) {
  for (std::size_t i = 0; i < p.pieces; ++i) {
    const net::StreamPiece& pc = x.st.pieces[i];
    if (pc.kind != net::PieceKind::spanning_remove) continue;
    const int k = p.edit_of[pc.edit];
    if (k == p.span_edit) continue;
    if (p.span_edit < 0) {
      p.span = spanning_remove(x, segs[pc.seg], stream, u.edits[k]);
      if (p.span.ok) {
        p.span_edit = k;
        continue;
      }
    } else {
      x.c.tcp_verdict_not_applied++;  // a second one cannot happen (see above)
    }
    p.dead[k] = true;
    plan(x.st, segs, n, u, p);
    if (p.pieces == 0) break;
    i = static_cast<std::size_t>(-1);  // scan the new plan from its start
  }
  if (p.pieces == 0) [[unlikely]] {
    for (unsigned i = 0; i < p.extra; ++i) x.host.free(x.st.spare[i]);
    release_all(x, segs, n);
    return false;
  }
  return true;
}

// Piece i is the first of segment `s`: the segment's later pieces are copied
// out of the intact frame into spare packets, then the frame itself is cut
// down to piece i. The frame is counted by the fate of its first piece.
template <class Host>
void cut_segment(Ctx<Host>& x, Seg<typename Host::Packet>& s, std::size_t i, const UnitPlan& p, unsigned& spare_i) {
  using Packet = typename Host::Packet;
  const net::StreamPiece* pc = x.st.pieces.get();
  for (std::size_t j = i + 1; j < p.pieces && pc[j].seg == pc[i].seg; ++j) {
    Piece<Packet>& pq = x.st.prepared[j];
    pq = Piece<Packet>{};
    Packet m2 = x.st.spare[spare_i++];
    std::uint8_t* f2 = x.host.frame(m2);
    const std::size_t l2 =
        net::cut_tcp_segment(s.frame, s.d, pc[j].begin - s.begin, pc[j].end - s.begin, f2, x.host.room(m2));
    x.host.set_length(m2, l2);
    net::decode_frame(f2, l2, pq.d);
    pq.m = m2;
    pq.frame = f2;
    pq.was_held = s.was_held;
    x.c.tcp_split++;
  }
  Piece<Packet>& pp = x.st.prepared[i];
  pp = Piece<Packet>{};
  pp.m = s.m;
  pp.frame = s.frame;
  pp.d = s.d;
  if (pc[i].begin != s.begin || pc[i].end != s.end) {
    const std::size_t l =
        net::cut_tcp_segment(s.frame, s.d, pc[i].begin - s.begin, pc[i].end - s.begin, s.frame, x.host.room(s.m));
    x.host.set_length(s.m, l);
    net::decode_frame(s.frame, l, pp.d);
  }
  pp.owes = s.owes;
  pp.was_held = s.was_held;
  s.owes = false;
  s.used = true;
}

// The emptied one-segment view of a spanning removal, when it carries a new
// ack/window or the FIN: it goes out in the packet of the segment that held
// the message's last byte.
template <class Host>
void send_span_view(Ctx<Host>& x, Seg<typename Host::Packet>& s, const UnitPlan& p) {
  std::memcpy(s.frame, x.st.view.get(), p.span.len);
  x.host.set_length(s.m, p.span.len);
  s.used = true;
  send_on(x, s.m, s.owes);
}

// Cuts and sends the pieces in stream order; the ones to hold go to
// PathState::holds. Returns how many.
template <class Host>
std::size_t send_pieces(Ctx<Host>& x, Seg<typename Host::Packet>* segs, const UnitEdits& u, const UnitPlan& p,
                        unsigned& spare_i) {
  using Packet = typename Host::Packet;
  std::size_t n_hold = 0;
  for (std::size_t i = 0; i < p.pieces; ++i) {
    const net::StreamPiece& pc = x.st.pieces[i];
    Seg<Packet>& s = segs[pc.seg];
    if (pc.kind == net::PieceKind::spanning_remove) {
      const bool more_of_seg = i + 1 < p.pieces && x.st.pieces[i + 1].seg == pc.seg;
      if (p.edit_of[pc.edit] == p.span_edit && p.span.forward && !more_of_seg) send_span_view(x, s, p);
      continue;
    }
    if (!s.used) cut_segment(x, s, i, p, spare_i);
    Piece<Packet>& pp = x.st.prepared[i];
    if (pc.kind == net::PieceKind::hold) {
      Seg<Packet>& h = x.st.holds[n_hold++];
      h = Seg<Packet>{};
      h.m = pp.m;
      h.frame = pp.frame;
      h.d = pp.d;
      h.owes = pp.owes;
      h.was_held = pp.was_held;
      continue;
    }
    if (pc.edit < 0) {
      pass_segment(x, pp.m, pp.frame, pp.d, pp.owes);
      continue;
    }
    const Edit& e = u.edits[p.edit_of[pc.edit]];
    const std::uint32_t at = e.kind == EditKind::tag ? e.se.at : e.se.msg_begin;
    edit_piece(x, pp.m, pp.frame, pp.d, pp.owes, e, at - pc.begin);
  }
  return n_hold;
}

// Phase 2 of a unit: its edits carried out, in stream order, and an
// incomplete message at the end held.
template <class Host>
void apply_edits(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n, std::string_view stream,
                 const UnitEdits& u) {
  UnitPlan p;
  if (!plan_and_allocate(x, segs, n, u, p)) return;
  if (!remove_spanning(x, segs, n, stream, u, p)) return;
  unsigned spare_i = 0;
  const std::size_t n_hold = send_pieces(x, segs, u, p, spare_i);
  // Segments whose every byte belonged to the removed message.
  for (std::size_t i = 0; i < n; ++i) {
    if (!segs[i].used) discard(x, segs[i].m, segs[i].owes, p.span.answered ? Fate::rejected : Fate::dropped);
  }
  for (; spare_i < p.extra; ++spare_i) x.host.free(x.st.spare[spare_i]);
  // The incomplete message at the end waits for the rest.
  if (n_hold) hold_new(x, x.st.holds.get(), n_hold);
}

}  // namespace sipwall::dataplane::tcp
