// SIP over TCP on the packet path (docs/packet-handling.md §6.6-6.8), the
// entry points. DPDK-free: a template over the host (path_context.h), which
// the data plane instantiates on rte_mbufs (dataplane/app/worker_tcp.cpp)
// and the unit tests on byte buffers (tests/unit/dataplane/tcp).
//
// Every client->core segment with payload is inspected as part of a "unit":
// the segment alone, or -- when the flow holds the start of a message whose
// end had not arrived -- the held segments plus this one, copied into one
// stream. Whole messages in the unit are classified; their verdicts become
// edits (remove a message, insert a tag line); an incomplete message at the
// end is held (unit_edits.h). The edits are then carried out piece by piece
// through the sequence-adjust table (unit_apply.h).
//
// Counting: every received frame gets exactly one disposition (forwarded,
// dropped, rejected), by the fate of its first piece; until then it "owes"
// one. A held frame that owes is in the `held` gauge (counters.h).
//
// Packet-path rules: no allocation (packets from the host only), no locks,
// no exceptions.
#pragma once

#include <cstring>
#include <string_view>

#include "dataplane/net/bytes.h"
#include "dataplane/net/tcp_unit.h"
#include "dataplane/tcp/core_side.h"
#include "dataplane/tcp/unit_apply.h"

namespace sipwall::dataplane::tcp {

// The unit: segs[0, n) with their bytes in `stream` (segs[n-1] is the newest).
// `first` is the parse result of the first message when the caller already
// has it in x.msg. `holdable`: an incomplete message at the end may be held.
template <class Host>
void process_unit(Ctx<Host>& x, Seg<typename Host::Packet>* segs, std::size_t n, std::string_view stream, bool holdable,
                  const sip::ParseError* first) {
  UnitEdits u;
  parse_unit(x, segs, n, stream, holdable, first, u);
  if (u.unframeable) {
    // Not a message start: the middle of a message whose start we did not
    // see (flow first seen mid-message, e.g. after a restart). Cannot be
    // framed, so it goes on uninspected (§6.8).
    release_all(x, segs, n);
    return;
  }
  if (u.reset) {
    reset_all(x, segs, n);
    return;
  }
  if (u.n == 0 && u.hold_from == stream.size()) {
    for (std::size_t i = 0; i < n; ++i) pass_segment(x, segs[i].m, segs[i].frame, segs[i].d, segs[i].owes);
    return;
  }
  apply_edits(x, segs, n, stream, u);
}

// A client segment of a flow that holds nothing.
template <class Host>
void client_segment(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, net::DecodedPacket& d, bool holdable) {
  Seg<typename Host::Packet>& s = x.st.segs[0];
  s = Seg<typename Host::Packet>{};
  s.m = m;
  s.frame = frame;
  s.d = d;
  s.end = d.payload_length;
  s.owes = true;
  // A SYN (Fast Open data) or RST never starts a hold.
  holdable = holdable && !(d.tcp_flags & (net::kTcpSyn | net::kTcpRst));
  process_unit(x, &s, 1, d.payload(frame), holdable, nullptr);
}

// The flow's connection is aborted (or starts over) while it holds the start
// of a message: that message can never complete. Fail-open releases it
// unchanged; fail-closed frees it (the connection is going away, no need to
// reset it). The segment that says so goes on.
template <class Host>
void abort_held(Ctx<Host>& x, net::TcpHoldFlow* f, typename Host::Packet m, std::uint8_t* frame,
                net::DecodedPacket& d) {
  Seg<typename Host::Packet>* segs = x.st.segs.get();
  const std::size_t n = load_held(x, *f, segs);
  x.st.hold.erase(f);
  if (x.closed) {
    for (std::size_t i = 0; i < n; ++i) discard(x, segs[i].m, segs[i].owes, Fate::dropped);
  } else {
    release_all(x, segs, n);
  }
  if (d.payload_length)
    client_segment(x, m, frame, d, false);
  else
    pass_control(x, m, frame, d);
}

// Cuts the segment in place down to its payload bytes [from, to).
template <class Host>
void cut_in_place(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, net::DecodedPacket& d, std::uint32_t from,
                  std::uint32_t to) {
  const std::size_t l = net::cut_tcp_segment(frame, d, from, to, frame, x.host.room(m));
  x.host.set_length(m, l);
  net::decode_frame(frame, l, d);
}

// The held bytes and the segment's payload, copied into PathState::stream.
template <class Host>
std::string_view copy_stream(Ctx<Host>& x, const net::TcpHoldFlow& f, const std::uint8_t* frame,
                             const net::DecodedPacket& d) {
  std::uint8_t* st = x.st.stream.get();
  std::size_t pos = 0;
  for (std::uint16_t i = 0; i < f.count; ++i) {
    const net::HeldSegment& h = f.segs[i];
    std::memcpy(st + pos, x.host.frame(static_cast<typename Host::Packet>(h.handle)) + h.payload_offset,
                h.payload_length);
    pos += h.payload_length;
  }
  std::memcpy(st + pos, frame + d.payload_offset, d.payload_length);
  return std::string_view(reinterpret_cast<const char*>(st), pos + d.payload_length);
}

// A client segment of a flow that holds the start of a message.
template <class Host>
void held_flow_segment(Ctx<Host>& x, net::TcpHoldFlow* f, typename Host::Packet m, std::uint8_t* frame,
                       net::DecodedPacket& d) {
  using Packet = typename Host::Packet;
  // What the segment is (net::plan_held_arrival, the table of
  // docs/packet-handling.md §6.7; sipwallctl decides with the same function).
  const net::HeldArrivalPlan plan = net::plan_held_arrival(*f, d);
  switch (plan.what) {
    case net::HeldArrival::abort:
      abort_held(x, f, m, frame, d);
      return;
    case net::HeldArrival::control:
      pass_control(x, m, frame, d);  // an ACK or window update: nothing to inspect
      return;
    case net::HeldArrival::gap: {
      // The segment the hold waits for was lost on the way here. The client
      // sends it again, then this one (never acknowledged by the core).
      x.c.tcp_out_of_order_dropped++;
      bool owes = true;
      discard(x, m, owes, Fate::dropped);
      return;
    }
    case net::HeldArrival::retransmission: {
      x.c.tcp_retransmit_dropped++;  // the originals are held
      bool owes = true;
      discard(x, m, owes, Fate::dropped);
      return;
    }
    case net::HeldArrival::before_held:
      // A retransmission of bytes already handled (forwarded, or removed and
      // answered). Its part before the held message is inspected alone, like
      // the first time; the rest repeats held bytes (or runs ahead of them,
      // which the client sends again).
      if (plan.repeats_held) {
        x.c.tcp_retransmit_dropped++;
        cut_in_place(x, m, frame, d, 0, plan.end);
      }
      client_segment(x, m, frame, d, false);
      return;
    case net::HeldArrival::in_order:
      // Repacketised: it overlaps the held bytes and brings new ones. Keep the new.
      if (plan.begin > 0) cut_in_place(x, m, frame, d, plan.begin, d.payload_length);
      break;
  }
  const bool fin = (d.tcp_flags & net::kTcpFin) != 0;

  // In order: the held bytes and this segment form one stream.
  const std::uint32_t held_bytes = f->bytes;
  const std::string_view stream = copy_stream(x, *f, frame, d);
  const sip::ParseError e0 = sip::parse_message(stream, x.msg, sip::Transport::stream);
  const bool incomplete =
      (e0 == sip::ParseError::headers_unterminated || e0 == sip::ParseError::body_truncated) && !fin;
  if (incomplete) {
    // Still incomplete: hold this one too, if the bounds allow.
    if (x.st.hold.can_append(*f, d.payload_length) == net::HoldAppend::ok) {
      x.st.hold.append(*f, d.tcp_seq, net::HeldSegment{m, d.payload_offset, d.payload_length, true});
      x.c.tcp_held++;
      x.c.held++;
      return;
    }
    x.c.tcp_reassembly_overflow++;
  }
  // The held segments and this one leave the hold as one unit.
  Seg<Packet>* segs = x.st.segs.get();
  std::size_t n = load_held(x, *f, segs);
  x.st.hold.erase(f);
  Seg<Packet>& s = segs[n++];
  s = Seg<Packet>{};
  s.m = m;
  s.frame = frame;
  s.d = d;
  s.owes = true;
  if (incomplete) {  // over the bounds: given up whole (policy)
    give_up(x, segs, n);
    return;
  }
  s.begin = held_bytes;
  s.end = static_cast<std::uint32_t>(stream.size());
  process_unit(x, segs, n, stream, true, &e0);
}

// Every TCP segment on a SIP port, either side. `trunk_side`: it comes from
// the client (entering a trunk-facing port).
template <class Host>
void on_segment(Ctx<Host>& x, typename Host::Packet m, std::uint8_t* frame, net::DecodedPacket& d, bool trunk_side) {
  if (!trunk_side) {
    // Core side: never inspected or held; numbers mapped when the flow carries
    // edits. Its messages are read first, as the segment arrived: for the
    // call table and for copies of watched calls (core_side.h).
    if (d.payload_length != 0) {
      const bool follow = x.host.following_calls(), watch = x.host.watching();
      if (follow || watch) core_segment(x, frame, d, follow, watch);
    }
    pass_control(x, m, frame, d);
    return;
  }
  if (d.payload_length) x.c.sip_tcp++;
  net::TcpHoldFlow* f = x.st.hold.find(d);
  if (f == nullptr) [[likely]] {
    if (d.payload_length == 0)
      pass_control(x, m, frame, d);
    else
      client_segment(x, m, frame, d, true);
    return;
  }
  held_flow_segment(x, f, m, frame, d);
}

// A held flow given up on (timeout or shutdown), on the flow's own port.
template <class Host>
void give_up_flow(const Ctx<Host>& x0, net::TcpHoldFlow* f) {
  Ctx<Host> x = x0;
  x.in = f->in_port;
  const std::size_t n = load_held(x, *f, x.st.segs.get());
  x.st.hold.erase(f);
  give_up(x, x.st.segs.get(), n);
}

// Flows whose held segments waited longer than `timeout` (x.now's unit):
// released (fail-open) or reset (fail-closed).
template <class Host>
void expire_held(const Ctx<Host>& x, std::uint64_t timeout) {
  net::TcpHoldFlow* expired[16];
  std::size_t n;
  while ((n = x.st.hold.expired(x.now, timeout, expired, 16)) > 0) {
    for (std::size_t i = 0; i < n; ++i) {
      x.c.tcp_reassembly_timeout++;
      give_up_flow(x, expired[i]);
    }
  }
}

// Every held flow, at shutdown, the same way.
template <class Host>
void drain_held(const Ctx<Host>& x) {
  while (net::TcpHoldFlow* f = x.st.hold.any()) give_up_flow(x, f);
}

}  // namespace sipwall::dataplane::tcp
