// SIP over TCP: the hold table's side of a unit -- segments put on hold,
// taken back out, and given up on: released uninspected (fail-open) or the
// connection reset both ways (fail-closed).
#pragma once

#include "dataplane/net/tcp_cut.h"
#include "dataplane/tcp/send.h"

namespace sipwall::dataplane::tcp {

// The RST toward the client: its seq is the client's receive point (the ack
// of `last`, the client's newest segment, RFC 5961 §3), its ack the first
// byte the core has not received.
template <class Host>
void reset_client(Ctx<Host>& x, const Seg<typename Host::Packet>& first, const Seg<typename Host::Packet>& last) {
  typename Host::Packet r = x.host.alloc();
  if (r == nullptr) return;
  net::TcpReplySpec spec;
  spec.seq = last.d.tcp_ack;
  spec.ack = first.d.tcp_seq;
  spec.window = 0;
  net::ReplyOptions ro;
  ro.ip_id = x.host.next_ip_id();
  std::uint8_t* out = x.host.frame(r);
  const net::ReplyLayout lay = net::build_tcp_reply(last.frame, last.d, spec, {}, out, x.host.room(r), ro);
  net::DecodedPacket rd;
  if (lay.result == net::ReplyResult::ok && net::decode_frame(out, lay.length, rd) == net::DecodeResult::ok) {
    x.host.set_length(r, lay.length);
    net::set_tcp_flags(out, rd, net::kTcpRst | net::kTcpAck);
    x.host.to_client(x.in, r);
  } else {
    x.host.free(r);
  }
}

// The RST toward the core: `first`'s headers and seq (the first byte the
// core has not received), mapped like any client segment.
template <class Host>
void reset_core(Ctx<Host>& x, const Seg<typename Host::Packet>& first) {
  if (!x.host.has_core(x.in)) return;
  typename Host::Packet r = x.host.alloc();
  if (r == nullptr) return;
  std::uint8_t* out = x.host.frame(r);
  const std::size_t len = net::cut_tcp_segment(first.frame, first.d, 0, 0, out, x.host.room(r));
  net::DecodedPacket rd;
  if (len != 0 && net::decode_frame(out, len, rd) == net::DecodeResult::ok) {
    x.host.set_length(r, len);
    net::set_tcp_flags(out, rd, net::kTcpRst | net::kTcpAck);
    x.st.seqadj.forward(out, rd, x.now, true);  // into the core's sequence space
    x.host.to_core(x.in, r);
  } else {
    x.host.free(r);
  }
}

// Forwards segments uninspected: held ones count as released, the others as
// partial (bytes of a message whose start we could not keep).
template <class Host>
void release_all(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    Seg<typename Host::Packet>& s = segs[i];
    if (s.was_held)
      x.c.tcp_reassembly_released_unchanged++;
    else
      x.c.tcp_partial++;
    pass_segment(x, s.m, s.frame, s.d, s.owes);
  }
}

// Fail-closed on TCP: the connection is reset toward both ends (both frames
// still as received) and what could not be inspected is freed.
template <class Host>
void reset_all(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n) {
  reset_client(x, segs[0], segs[n - 1]);
  reset_core(x, segs[0]);
  for (std::size_t i = 0; i < n; ++i) discard(x, segs[i].m, segs[i].owes, Fate::dropped);
  x.c.tcp_reset_fail_closed++;
}

template <class Host>
void give_up(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n) {
  if (n == 0) return;
  if (x.closed)
    reset_all(x, segs, n);
  else
    release_all(x, segs, n);
}

// Takes a flow's held segments out of the table (the flow stays; erase it).
template <class Host>
std::size_t load_held(Ctx<Host>& x, net::TcpHoldFlow& f, Seg<typename Host::Packet>* out) {
  using Packet = typename Host::Packet;
  std::size_t n = 0;
  std::uint32_t pos = 0;
  for (std::uint16_t i = 0; i < f.count; ++i) {
    const net::HeldSegment& h = f.segs[i];
    auto m = static_cast<Packet>(h.handle);
    Seg<Packet>& s = out[n++];
    s = Seg<Packet>{};
    s.m = m;
    s.frame = x.host.frame(m);
    net::decode_frame(s.frame, x.host.length(m), s.d);  // decoded before it was held
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
template <class Host>
void hold_new(Ctx<Host>& x, Seg<typename Host::Packet>* hs, std::size_t k) {
  std::uint32_t bytes = 0;
  for (std::size_t i = 0; i < k; ++i) bytes += hs[i].d.payload_length;
  if (x.st.hold.can_hold(static_cast<std::uint32_t>(k), bytes) != net::HoldAppend::ok) {
    x.c.tcp_reassembly_overflow++;
    give_up(x, hs, k);
    return;
  }
  net::TcpHoldFlow* f = x.st.hold.create(hs[0].d, x.in, x.now);
  if (f == nullptr) {
    x.c.tcp_reassembly_table_full++;
    give_up(x, hs, k);
    return;
  }
  for (std::size_t i = 0; i < k; ++i) {
    const Seg<typename Host::Packet>& s = hs[i];
    x.st.hold.append(*f, s.d.tcp_seq, net::HeldSegment{s.m, s.d.payload_offset, s.d.payload_length, s.owes});
    x.c.tcp_held++;
    if (s.owes) x.c.held++;
  }
}

}  // namespace sipwall::dataplane::tcp
