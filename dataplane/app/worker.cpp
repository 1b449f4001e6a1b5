// The packet path: RX burst -> decode L2-L4 -> (reassemble) -> SIP parse ->
// classify -> act -> TX burst, run to completion on each worker lcore. One
// overlap: a UDP INVITE's verdict is taken after the next datagram of the
// burst is parsed, so its number-table loads arrive meanwhile (sip_udp,
// WorkerContext::udp); packets are still acted on in arrival order.
// Plain and flat on purpose: no virtual calls, no allocation (mbufs come from
// the pool), no exceptions, no locks. Rare branches are marked unlikely.
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring_peek_zc.h>

#include <algorithm>
#include <cstring>

#include "dataplane/app/call_record_fill.h"
#include "dataplane/app/dataplane.h"
#include "dataplane/app/trace_fill.h"
#include "dataplane/app/watch_copy.h"
#include "dataplane/app/worker_path.h"
#include "dataplane/classify/classify.h"
#include "dataplane/detect/call_events.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/net/tag_insert.h"

namespace sipwall::dataplane {

Dataplane* g_dataplane = nullptr;

namespace path {
namespace {

using rules::ActionKind;

inline classify::PacketSource packet_source(const net::DecodedPacket& d) {
  classify::PacketSource s;
  s.src_ip = d.src;
  s.dst_ip = d.dst;
  s.family = d.ip_version == 6 ? classify::IpFamily::ipv6 : classify::IpFamily::ipv4;
  s.src_port = d.src_port;
  s.dst_port = d.dst_port;
  s.vlan = d.vlan_count ? static_cast<std::int32_t>(d.outer_vlan) : classify::kNoVlan;
  s.transport = d.l4_proto == 6 ? classify::Transport::tcp : classify::Transport::udp;
  return s;
}

// The record is written in place in the ring's next slot (no 360-byte
// memset, no copy: DPDK copies elements of this size 4 bytes at a time),
// stamped with the TSC (the main lcore converts it, tsc_clock.h), and only
// the fields trace_json() reads are written (trace_fill.h). A full ring
// drops the record and counts it, never the packet.
void emit_trace(WorkerContext& w, RuntimeSet* rs, const classify::Verdict& v, const sip::Message& msg,
                const net::DecodedPacket& d, std::uint16_t in) {
  rte_ring_zc_data zcd;
  if (unlikely(rte_ring_enqueue_zc_bulk_elem_start(w.trace_ring, sizeof(TraceRecord), 1, &zcd, nullptr) == 0)) {
    ctr(w).trace_ring_full++;
    return;
  }
  // One element never wraps (ptr1 holds it whole).
  fill_trace_record(*static_cast<TraceRecord*>(zcd.ptr1), v, verdict_names(v, rs->set()), msg.call_id, d, in,
                    rte_rdtsc());
  rte_ring_enqueue_zc_elem_finish(w.trace_ring, 1);
  ctr(w).traced++;
}

}  // namespace

namespace {

// `n` units from `from` into the ring as one bulk enqueue; false (nothing
// written) if the ring has not the room.
bool enqueue_units(rte_ring* ring, const std::uint8_t* from, unsigned n) {
  rte_ring_zc_data zcd;
  if (rte_ring_enqueue_zc_bulk_elem_start(ring, kRecordUnit, n, &zcd, nullptr) == 0) return false;
  copy_units({static_cast<std::uint8_t*>(zcd.ptr1), zcd.n1, static_cast<std::uint8_t*>(zcd.ptr2), n}, from);
  rte_ring_enqueue_zc_elem_finish(ring, n);
  return true;
}

}  // namespace

void publish_records(WorkerContext& w) {
  RecordBatch& b = w.record_batch;
  if (b.empty()) return;
  WorkerCounters& c = ctr(w);
  if (likely(enqueue_units(w.record_ring, b.data(), b.units()))) {
    c.call_records += b.records();
  } else {
    // Not room for them all (the consumer fell behind): each record that
    // still fits, in order; the others are dropped and counted, never a
    // packet.
    const std::uint8_t* at = b.data();
    for (unsigned k = 0; k < b.records(); ++k) {
      const unsigned units = at[offsetof(PackedRecordHead, units)];
      if (enqueue_units(w.record_ring, at, units))
        c.call_records++;
      else
        c.call_records_dropped++;
      at += std::size_t{units} * kRecordUnit;
    }
  }
  b.clear();
}

// Space for a record of `units` units in this turn's batch (record_batch.h),
// published first if the batch is full (a turn of more than 32 packets).
inline std::uint8_t* record_space(WorkerContext& w, unsigned units) {
  if (unlikely(!w.record_batch.fits(units))) publish_records(w);
  return w.record_batch.take(units);
}

void record_outcome(WorkerContext& w, const detect::CallRecord& call, protocol::CallEnd end) {
  pack_outcome_record(record_space(w, 1), call, end, w.index, w.turn_tsc);
}

// Records on: the INVITE's place in the call table (the classifier's
// WorkerDetect put it there, else the worker does now), the outcome record
// of a call it pushed out, and the INVITE's record if it starts a call.
void record_invite(WorkerContext& w, RuntimeSet* rs, const classify::Verdict& v, const sip::Message& msg,
                   const net::DecodedPacket& d, std::uint16_t in, std::uint64_t call_id_hash) {
  detect::InviteResult own;
  const detect::InviteResult* res = &own;
  if (w.detect != nullptr)
    res = &w.calls->last_invite();  // WorkerDetect::on_invite ran for this INVITE in the verdict
  else
    own = w.calls->on_invite(record_keys(v, msg, d, call_id_hash), w.now_ms);
  if (res->victim != nullptr)
    record_outcome(w, *res->victim, res->evicted_live ? protocol::CallEnd::evicted : protocol::CallEnd::replaced);
  if (res->kind != detect::InviteKind::new_call || res->call == nullptr) return;
  const InviteTexts t = invite_texts(v, verdict_names(v, rs->set()), msg);
  pack_invite_record(record_space(w, t.units()), t, v, d, in, w.index, *res->call, w.turn_tsc);
}

// A response, CANCEL, ACK or BYE into the worker's call table, through the
// detection state when there is one so the outcomes reach the detectors
// (responses to other requests and other requests are no call events:
// call_events.h).
inline void call_event(WorkerContext& w, const sip::Message& msg) {
  if (!w.follow_calls) return;
  const detect::CallEvent e = detect::call_event(msg);
  const detect::EventResult r = w.detect != nullptr ? detect::feed_call_event(*w.detect, e, w.now_ms)
                                                    : detect::feed_call_event(*w.calls, e, w.now_ms);
  if (r.call != nullptr) ctr(w).call_events++;
}

bool decide_start(WorkerContext& w, RuntimeSet* rs, const sip::Message& msg, const classify::PacketSource& src,
                  classify::InFlight& f, classify::DetectContext& dc) {
  WorkerCounters& c = ctr(w);
  if (!msg.is_request) {
    c.sip_responses++;
    call_event(w, msg);
    return false;
  }
  c.sip_requests++;
  if (msg.method != sip::Method::invite) {
    c.non_invite++;
    call_event(w, msg);
    return false;
  }
  c.invites++;
  if (unlikely(rs == nullptr)) {
    c.no_ruleset++;
    return false;
  }
  // w.detect belongs to rs: the poll loop switched it before any packet.
  dc.worker = w.detect;
  dc.now_ms = w.now_ms;
  dc.levels.n = 0;
  f.start(rs->set(), msg, src, rs->scratch(w.index), w.detect != nullptr ? &dc : nullptr);
  return true;
}

void core_side_message(WorkerContext& w, const sip::Message& msg) {
  ctr(w).core_sip_parsed++;
  if (!(msg.is_request && msg.method == sip::Method::invite)) call_event(w, msg);
}

// Core-side SIP is parsed only to follow calls and watched calls (never
// dropped or changed for it): once for both, and the call table and the
// watch lookup read Call-ID, CSeq and the status, so the Via, Contact and
// Max-Forwards values are left (sip::Depth::verdict).
void core_side_sip(Dataplane& dp, WorkerContext& w, std::string_view payload, rte_mbuf* m, std::uint16_t in) {
  if (sip::parse_message(payload, w.msg, sip::Transport::datagram, sip::Depth::verdict) != sip::ParseError::none)
    return;
  if (w.follow_calls) core_side_message(w, w.msg);
  if (unlikely(w.watch_set != nullptr)) watch_message(dp, w, w.msg, m, in);
}

void decide_finish(WorkerContext& w, RuntimeSet* rs, const sip::Message& msg, const net::DecodedPacket& d,
                   std::uint16_t in, classify::InFlight& f, classify::Verdict& v, std::uint64_t call_id_hash) {
  using rules::ActionKind;
  WorkerCounters& c = ctr(w);
  const rules::CompiledRuleSet& set = rs->set();
  f.verdict(v);
  c.verdicts[static_cast<unsigned>(v.action)]++;
  if (v.trace_rule != classify::kNoRule) c.verdicts[static_cast<unsigned>(ActionKind::trace)]++;
  switch (v.decided_by) {
    case classify::DecidedBy::rule:
      rs->rule_hits(w.index)[v.rule]++;
      break;
    case classify::DecidedBy::default_action:
      c.default_verdict++;
      rs->rule_hits(w.index)[set.rule_count()]++;
      break;
    default:
      c.guard_rail++;
      break;
  }
  if (v.trace_rule != classify::kNoRule && v.trace_rule != v.rule) rs->rule_hits(w.index)[v.trace_rule]++;
  rs->trunk_calls(w.index)[v.trunk != classify::kNoTrunk ? v.trunk : set.trunk_count()]++;
  if (v.detector != classify::kNoDetector) {
    (v.report_only ? rs->detector_report_hits(w.index) : rs->detector_hits(w.index))[v.detector]++;
    rs->note_detector_action(v.detector, v.detector_level, v.report_only ? v.report_action : v.action, v.report_only);
  }
  // Detected calls are traced in report mode too: the trace is the evidence.
  if (v.action != ActionKind::pass || v.trace_rule != classify::kNoRule || v.detector != classify::kNoDetector)
    emit_trace(w, rs, v, msg, d, in);
  if (w.records_on) record_invite(w, rs, v, msg, d, in, call_id_hash);
}

bool decide(WorkerContext& w, RuntimeSet* rs, const sip::Message& msg, const net::DecodedPacket& d, std::uint16_t in,
            classify::Verdict& v) {
  const classify::PacketSource src = packet_source(d);
  classify::InFlight f;
  classify::DetectContext dc{};
  if (!decide_start(w, rs, msg, src, f, dc)) return false;
  decide_finish(w, rs, msg, d, in, f, v);
  return true;
}

// The response options for a reject verdict.
net::SipResponseOptions response_options(const RuntimeSet& rs, const classify::Verdict& v, const net::DecodedPacket& d,
                                         char* received, std::size_t cap) {
  const rules::CompiledRuleSet& set = rs.set();
  const std::size_t slot = v.rule != classify::kNoRule ? v.rule : set.rule_count();
  net::SipResponseOptions o;
  o.parts = rs.reply_parts(slot);
  if (o.parts != nullptr) {
    o.code = v.reject_code;  // the rest of the action's options are in the parts
  } else {
    o = reject_options(set, slot < set.rule_count() ? set.rule_action(slot) : set.default_action());
  }
  std::size_t n = net::format_address(d.src, received, cap);
  o.received = std::string_view(received, n);
  o.rport = d.src_port;
  return o;
}

}  // namespace path

namespace {

using namespace path;
using rules::ActionKind;

// Builds the 603/608 for a UDP INVITE in a fresh mbuf and sends it back out of
// the ingress port. `frame` holds the request (the original mbuf, or the
// linearised reassembled datagram). The response copies every Via of the
// request, so one to a large request (possible once a chained frame has
// been linearised, with a port MTU over 2 KB) may not fit a 2 KB pool mbuf:
// then it is built again in a jumbo mbuf. The MTU bound stays.
bool reject_udp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, const classify::Verdict& v, const sip::Message& msg,
                const std::uint8_t* frame, const net::DecodedPacket& d, std::uint16_t in) {
  net::ReplyOptions ro;
  ro.ip_id = w.ip_id++;
  ro.mtu = dp.ports[in].cfg.mtu;
  char received[64];
  const net::SipResponseOptions so = response_options(*rs, v, d, received, sizeof received);
  for (rte_mempool* pool : {dp.pool, dp.jumbo_pool}) {
    rte_mbuf* r = rte_pktmbuf_alloc(pool);
    if (unlikely(r == nullptr)) return false;
    auto* out = rte_pktmbuf_mtod(r, std::uint8_t*);
    const std::size_t cap = rte_pktmbuf_tailroom(r);
    net::ReplyLayout lay = net::begin_udp_reply(frame, d, out, cap, ro);
    std::size_t n = 0;
    if (likely(lay.result == net::ReplyResult::ok)) {
      n = net::build_sip_response(msg, so, reinterpret_cast<char*>(out) + lay.payload_offset, cap - lay.payload_offset);
      if (likely(n != 0)) lay = net::finish_reply(out, lay, n, cap, ro);
    }
    if (likely(n != 0 && lay.result == net::ReplyResult::ok)) {
      rte_pktmbuf_append(r, static_cast<std::uint16_t>(lay.length));
      ctr(w).replies_sent++;
      // The 603/608 belongs to the call: a watched call's copy has it too.
      if (unlikely(w.watch_set != nullptr)) watch_message(dp, w, msg, r, in);
      transmit(dp, w, r, in);
      return true;
    }
    free_pkt(r);
    // Only a lack of room is worth a larger mbuf; an MTU refusal is final.
    // (build_sip_response returns 0 only when the text does not fit: the
    // parser made sure Via, From, To, Call-ID and CSeq are there.)
    const bool no_room = lay.result == net::ReplyResult::no_room || (lay.result == net::ReplyResult::ok && n == 0);
    if (!no_room) return false;
  }
  return false;
}

// A UDP INVITE parsed at verdict depth (udp_parse_depth) has its Via,
// Contact and Max-Forwards unparsed; the response copies the top Via, so
// that is parsed before one is built (Contact and Max-Forwards are never
// read). False if it is malformed: the response could not be addressed
// (reply_malformed).
bool reply_fields(WorkerContext& w, sip::Message& msg, std::string_view payload) {
  if (likely(sip::parse_top_via(payload, msg) == sip::ParseError::none)) return true;
  ctr(w).reply_malformed++;
  return false;
}

void malformed(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in, sip::ParseError e) {
  WorkerCounters& c = ctr(w);
  c.malformed++;
  c.parse_errors[static_cast<unsigned>(e)]++;
  if (fail_closed(dp, rs)) {
    c.malformed_dropped++;
    drop(w, m);
  } else {
    c.malformed_forwarded++;
    forward(dp, w, m, in);
  }
}

// Applies verdict v to the UDP INVITE in m (frame, d: its bytes, decoded).
void act_udp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, const classify::Verdict& v, sip::Message& msg,
             rte_mbuf* m, std::uint16_t in, std::uint8_t* frame, net::DecodedPacket& d) {
  WorkerCounters& c = ctr(w);
  switch (v.action) {
    case ActionKind::drop:
      drop(w, m);
      return;
    case ActionKind::reject:
      if (unlikely(!reply_fields(w, msg, d.payload(frame)))) {
        drop(w, m);
      } else if (reject_udp(dp, w, rs, v, msg, frame, d, in)) {
        c.rejected++;
        free_pkt(m);
      } else {
        c.reply_failed++;
        drop(w, m);
      }
      return;
    case ActionKind::tag: {
      std::size_t len = rte_pktmbuf_data_len(m);
      std::size_t cap = len + rte_pktmbuf_tailroom(m);
      const net::TagSpec spec{v.tag_line, v.tag_label, v.tag_verstat};
      net::TagResult t = net::insert_tag(frame, len, cap, d, msg, spec, egress_mtu(dp, in));
      if (t == net::TagResult::ok) {
        set_frame_length(m, len);
        c.tagged++;
      } else if (t == net::TagResult::exceeds_mtu || t == net::TagResult::no_tailroom) {
        c.tag_skipped_mtu++;
      } else {
        c.tag_failed++;
      }
      forward(dp, w, m, in);
      return;
    }
    case ActionKind::pass:
    case ActionKind::trace:
      forward(dp, w, m, in);
      return;
  }
}

// The UDP INVITE in flight, if any: its verdict taken and applied.
void settle_udp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs) {
  const unsigned k = w.udp_in_flight;
  if (k == WorkerContext::kNoneInFlight) return;
  w.udp_in_flight = WorkerContext::kNoneInFlight;
  WorkerContext::UdpInvite& u = w.udp[k];
  classify::Verdict v;
  decide_finish(w, rs, u.msg, u.d, u.in, u.verdict, v, u.call_id_hash);
  if (unlikely(w.watch_set != nullptr)) watch_invite(dp, w, rs, v, u.msg, u.m, u.in);
  act_udp(dp, w, rs, v, u.msg, u.m, u.in, u.frame, u.d);
}

// A SIP datagram from a trunk. An INVITE is started here and left in flight
// (WorkerContext::udp) after the one before it is settled; anything else
// settles the one in flight and is acted on at once.
void sip_udp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in, std::uint8_t* frame,
             const net::DecodedPacket& d) {
  WorkerCounters& c = ctr(w);
  c.sip_udp++;
  const unsigned mine = w.udp_in_flight == 0 ? 1 : 0;  // the slot not in flight
  WorkerContext::UdpInvite& u = w.udp[mine];
  sip::ParseError e = sip::parse_message(d.payload(frame), u.msg, sip::Transport::datagram, udp_parse_depth(dp, rs));
  if (unlikely(e != sip::ParseError::none)) {
    settle_udp(dp, w, rs);
    if (e == sip::ParseError::empty) {
      // Only CRLFs (or nothing): a keep-alive (RFC 5626 §3.5.1), not a broken
      // message. Dropping it under fail_closed would break the caller's NAT binding.
      c.keepalives++;
      forward(dp, w, m, in);
      return;
    }
    malformed(dp, w, rs, m, in, e);
    return;
  }
  u.src = packet_source(d);
  if (!decide_start(w, rs, u.msg, u.src, u.verdict, u.detect)) {
    settle_udp(dp, w, rs);
    if (unlikely(w.watch_set != nullptr)) watch_message(dp, w, u.msg, m, in);
    forward(dp, w, m, in);
    return;
  }
  // Records without detectors: the verdict puts the INVITE in the call
  // table (record_invite); its group's line loads while the INVITE before
  // this one is settled. (A WorkerDetect prefetches it in the classifier.)
  u.call_id_hash = 0;
  if (w.records_on && w.detect == nullptr) {
    u.call_id_hash = detect::call_id_hash(u.msg.call_id);
    w.calls->prefetch(u.call_id_hash);
  }
  u.m = m;
  u.frame = frame;
  u.d = d;
  u.in = in;
  settle_udp(dp, w, rs);  // the INVITE before this one leaves first
  w.udp_in_flight = mine;
}

// What to do with a datagram put back together from fragments. `m` is the
// reassembled (multi-segment) mbuf; its bytes are copied into w.linear to
// parse. Passed datagrams leave re-fragmented at the egress MTU.
// `ipv6_frag_id` (network order) is the Identification of the fragments the
// datagram came in: rte_ipv6_fragment_packet() writes 0 into every fragment,
// and a receiver would then mix up concurrent datagrams of one source and
// destination (RFC 8200 §4.5); we keep the sender's value instead.
// Sends the IP datagram in `m` (behind its L2 header of d.l3_offset bytes)
// out of port `out` in fragments of that port's MTU. `m` is consumed. False
// if it could not be fragmented (counted by the caller).
bool send_fragments(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t out, const net::DecodedPacket& d,
                    std::uint32_t ipv6_frag_id) {
  WorkerCounters& c = ctr(w);
  const std::uint16_t l2 = d.l3_offset;
  std::uint8_t l2hdr[32];
  std::memcpy(l2hdr, rte_pktmbuf_mtod(m, std::uint8_t*), l2);
  rte_pktmbuf_adj(m, l2);
  rte_mbuf* frags[RTE_LIBRTE_IP_FRAG_MAX_FRAG * 2];
  const std::uint16_t mtu = static_cast<std::uint16_t>(dp.ports[out].cfg.mtu);
  int n = d.ip_version == 4 ? rte_ipv4_fragment_packet(m, frags, RTE_DIM(frags), mtu, dp.pool, dp.indirect_pool)
                            : rte_ipv6_fragment_packet(m, frags, RTE_DIM(frags), mtu, dp.pool, dp.indirect_pool);
  free_pkt(m);  // the fragments hold their own references to its data
  if (n <= 0) return false;
  for (int i = 0; i < n; ++i) {
    rte_mbuf* f = frags[i];
    char* p = rte_pktmbuf_prepend(f, l2);
    if (unlikely(p == nullptr)) {
      free_pkt(f);
      c.tx_dropped++;
      continue;
    }
    std::memcpy(p, l2hdr, l2);
    if (d.ip_version == 4) {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
      // rte_ipv6_fragment_packet puts the Fragment header right after the fixed header.
      reinterpret_cast<rte_ipv6_fragment_ext*>(p + l2 + sizeof(rte_ipv6_hdr))->id = ipv6_frag_id;
    }
    transmit(dp, w, f, out);
  }
  return true;
}

// What to do with a datagram put back together from fragments. `m` is the
// reassembled (multi-segment) mbuf; its bytes are copied into w.linear to
// parse. Passed datagrams leave re-fragmented at the egress MTU.
// `ipv6_frag_id` (network order) is the Identification of the fragments the
// datagram came in: rte_ipv6_fragment_packet() writes 0 into every fragment,
// and a receiver would then mix up concurrent datagrams of one source and
// destination (RFC 8200 §4.5); we keep the sender's value instead.
void forward_refragmented(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t in, const net::DecodedPacket& d,
                          std::uint32_t ipv6_frag_id) {
  WorkerCounters& c = ctr(w);
  std::uint16_t out = dp.ports[in].peer;
  if (out == kNoPort) {
    c.reassembled_dropped++;
    free_pkt(m);
    return;
  }
  if (!send_fragments(dp, w, m, out, d, ipv6_frag_id)) {
    c.refragment_failed++;
    return;
  }
  c.reassembled_forwarded++;
}

void reassembled(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in,
                 std::uint32_t ipv6_frag_id) {
  WorkerCounters& c = ctr(w);
  c.reassembled++;
  std::uint32_t len = rte_pktmbuf_pkt_len(m);
  if (len > kLinearBytes) {
    c.reassembly_failed++;
    free_pkt(m);
    return;
  }
  const std::uint8_t* frame = static_cast<const std::uint8_t*>(rte_pktmbuf_read(m, 0, len, w.linear.get()));
  net::DecodedPacket d;
  if (net::decode_frame(frame, len, d) != net::DecodeResult::ok) {
    c.reassembly_failed++;  // the reassembler produced something we can't read: count, free
    free_pkt(m);
    return;
  }
  if (!(d.l4_proto == 17 && (dp.sip_udp[d.dst_port] || dp.sip_udp[d.src_port]))) {
    c.non_sip++;
    forward_refragmented(dp, w, m, in, d, ipv6_frag_id);
    return;
  }
  c.sip_udp++;
  sip::Message& msg = w.msg;
  sip::ParseError e = sip::parse_message(d.payload(frame), msg, sip::Transport::datagram, udp_parse_depth(dp, rs));
  if (e != sip::ParseError::none) {
    c.malformed++;
    c.parse_errors[static_cast<unsigned>(e)]++;
    if (fail_closed(dp, rs)) {
      c.malformed_dropped++;
      c.reassembled_dropped++;
      free_pkt(m);
    } else {
      c.malformed_forwarded++;
      forward_refragmented(dp, w, m, in, d, ipv6_frag_id);
    }
    return;
  }
  classify::Verdict v;
  if (!decide(w, rs, msg, d, in, v)) {
    if (unlikely(w.watch_set != nullptr)) watch_message(dp, w, msg, m, in);
    forward_refragmented(dp, w, m, in, d, ipv6_frag_id);
    return;
  }
  if (unlikely(w.watch_set != nullptr)) watch_invite(dp, w, rs, v, msg, m, in);
  switch (v.action) {
    case ActionKind::drop:
      c.reassembled_dropped++;
      free_pkt(m);
      return;
    case ActionKind::reject:
      // A malformed top Via is counted by reply_fields (reply_malformed).
      if (reply_fields(w, msg, d.payload(frame)) && !reject_udp(dp, w, rs, v, msg, frame, d, in)) c.reply_failed++;
      c.reassembled_dropped++;
      free_pkt(m);
      return;
    case ActionKind::tag:
      c.tag_skipped_fragmented++;
      forward_refragmented(dp, w, m, in, d, ipv6_frag_id);
      return;
    case ActionKind::pass:
    case ActionKind::trace:
      forward_refragmented(dp, w, m, in, d, ipv6_frag_id);
      return;
  }
}

// An IP fragment entering a trunk port: into the worker's reassembly table.
// What cannot be reassembled (IPv6 whose Fragment header is not the first
// extension header, which DPDK's reassembler requires) goes to the malformed
// policy.
void fragment(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in, std::uint8_t* frame,
              const net::DecodedPacket& d) {
  WorkerCounters& c = ctr(w);
  c.fragments_in++;
  m->l2_len = d.l3_offset;
  rte_mbuf* whole = nullptr;
  std::uint32_t ipv6_frag_id = 0;
  const std::uint64_t now = rte_rdtsc();
  if (d.ip_version == 4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + d.l3_offset);
    m->l3_len = static_cast<std::uint16_t>((ip->version_ihl & 0x0F) * 4);
    c.absorbed++;
    whole = rte_ipv4_frag_reassemble_packet(w.frag_table, &w.death_row, m, now, ip);
  } else {
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(frame + d.l3_offset);
    rte_ipv6_fragment_ext* fh = rte_ipv6_frag_get_ipv6_fragment_header(ip6);
    if (fh == nullptr) {
      c.reassembly_failed++;
      c.malformed++;
      if (fail_closed(dp, rs)) {
        c.malformed_dropped++;
        drop(w, m);
      } else {
        c.malformed_forwarded++;
        forward(dp, w, m, in);
      }
      return;
    }
    m->l3_len = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext);
    ipv6_frag_id = fh->id;  // read before the reassembler takes the mbuf
    c.absorbed++;
    whole = rte_ipv6_frag_reassemble_packet(w.frag_table, &w.death_row, m, now, ip6, fh);
  }
  if (whole != nullptr) reassembled(dp, w, rs, whole, in, ipv6_frag_id);
}

// An IP fragment from the core side: it leaves at once, untouched (the core
// side is never held). While calls are followed or a watch is on, a copy
// goes into the same reassembly table as the trunk's fragments (keyed by
// addresses and Identification, so the two sides never meet), so a response
// or request too big for one packet -- a 200 OK with a large SDP -- still
// reaches the call table, and a watched call's copy (HEP, capture) gets it
// as the whole datagram, as it gets the trunk's reassembled INVITEs. The
// copies come from the reply pool and are bounded by the table: what never
// completes is freed by its timeout.
__attribute__((noinline, cold)) void core_fragment(Dataplane& dp, WorkerContext& w, rte_mbuf* m,
                                                   const net::DecodedPacket& d, std::uint16_t in) {
  WorkerCounters& c = ctr(w);
  rte_mbuf* cp = rte_pktmbuf_copy(m, dp.pool, 0, UINT32_MAX);
  if (cp == nullptr) {
    c.core_fragments_uncopied++;
    return;
  }
  c.core_fragments_followed++;
  auto* frame = rte_pktmbuf_mtod(cp, std::uint8_t*);
  cp->l2_len = d.l3_offset;
  rte_mbuf* whole = nullptr;
  const std::uint64_t now = rte_rdtsc();
  if (d.ip_version == 4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + d.l3_offset);
    cp->l3_len = static_cast<std::uint16_t>((ip->version_ihl & 0x0F) * 4);
    whole = rte_ipv4_frag_reassemble_packet(w.frag_table, &w.death_row, cp, now, ip);
  } else {
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(frame + d.l3_offset);
    rte_ipv6_fragment_ext* fh = rte_ipv6_frag_get_ipv6_fragment_header(ip6);
    if (fh == nullptr) {  // not reassemblable by DPDK: the original is forwarded anyway
      free_pkt(cp);
      return;
    }
    cp->l3_len = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext);
    whole = rte_ipv6_frag_reassemble_packet(w.frag_table, &w.death_row, cp, now, ip6, fh);
  }
  if (whole == nullptr) return;
  const std::uint32_t len = rte_pktmbuf_pkt_len(whole);
  if (len <= kLinearBytes) {
    const auto* bytes = static_cast<const std::uint8_t*>(rte_pktmbuf_read(whole, 0, len, w.linear.get()));
    net::DecodedPacket wd;
    if (net::decode_frame(bytes, len, wd) == net::DecodeResult::ok && wd.l4_proto == 17 &&
        (dp.sip_udp[wd.dst_port] || dp.sip_udp[wd.src_port]) &&
        sip::parse_message(wd.payload(bytes), w.msg, sip::Transport::datagram, sip::Depth::verdict) ==
            sip::ParseError::none) {
      if (w.follow_calls) core_side_message(w, w.msg);
      if (unlikely(w.watch_set != nullptr)) watch_message(dp, w, w.msg, whole, in);
    }
  }
  free_pkt(whole);
}

// First stage: deny_sources (docs/packet-handling.md §0). Any frame from a
// trunk whose IP header decoded, before reassembly and before SIP: a fragment
// carries the source address too, so a denied source's fragments never take
// a reassembly slot. Only a frame with an L4 header (not a non-first
// fragment) has a port, so entries with a port match it only then -- the
// same as the hardware rules (offload/flow_translate.h). A drop sends
// nothing, so it needs no ordering against the INVITE in flight. True if
// the frame was dropped.
bool denied(WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, const net::DecodedPacket& d, net::DecodeResult r) {
  if (rs == nullptr || d.ip_version == 0 || rs->set().deny_count() == 0) return false;
  const bool has_l4 = r == net::DecodeResult::ok && (d.l4_proto == 17 || d.l4_proto == 6);
  const std::uint32_t e = rs->set().find_deny(d.src.data(), d.vlan_count ? static_cast<std::int32_t>(d.outer_vlan) : -1,
                                              has_l4 ? d.dst_port : 0);
  if (e == rules::kNoDeny) return false;
  ctr(w).source_denied++;
  rs->deny_hits(w.index)[e]++;
  drop(w, m);
  return true;
}

// Inlined into the per-packet loop, as when it was all one function; the
// rare chain path (cold) gets its own copy.
inline __attribute__((always_inline)) void handle_frame(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m,
                                                        std::uint16_t in);

// A frame in several mbufs. Every stage after this one -- SIP parsing,
// in-place tagging, TCP cutting and holding, replies built from the request
// -- works on one contiguous frame, so the chain is copied into one mbuf of
// the jumbo pool (no allocation: a pool mbuf, like any RX buffer) and goes on
// as if it had arrived that way. Never passed as non-SIP: a chain that
// cannot be made one (larger than a jumbo mbuf, or none free) is counted
// and, from a trunk, gets the deny check and then the malformed policy.
__attribute__((noinline, cold)) void handle_chain(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m,
                                                  std::uint16_t in) {
  WorkerCounters& c = ctr(w);
  const std::uint32_t len = rte_pktmbuf_pkt_len(m);
  rte_mbuf* one = len <= kJumboFrameBytes ? rte_pktmbuf_alloc(dp.jumbo_pool) : nullptr;
  if (likely(one != nullptr)) {
    auto* dst = rte_pktmbuf_mtod(one, std::uint8_t*);
    const void* src = rte_pktmbuf_read(m, 0, len, dst);  // copies unless it is all in the first segment
    if (src != dst) std::memcpy(dst, src, len);
    rte_pktmbuf_append(one, static_cast<std::uint16_t>(len));
    one->port = m->port;
    free_pkt(m);
    c.multiseg_linearised++;
    handle_frame(dp, w, rs, one, in);
    return;
  }
  if (len > kJumboFrameBytes)
    c.multiseg_too_large++;
  else
    c.multiseg_no_mbuf++;
  settle_udp(dp, w, rs);  // acted on now: the INVITE in flight leaves first
  if (dp.ports[in].cfg.role != PortRole::trunk) {
    forward(dp, w, m, in);  // core side: never inspected anyway
    return;
  }
  // The headers, for the deny check: an IP datagram and its L2 header fit
  // kLinearBytes, so a prefix that long decodes whatever the chain holds.
  const std::uint32_t n = std::min<std::uint32_t>(len, kLinearBytes);
  const auto* frame = static_cast<const std::uint8_t*>(rte_pktmbuf_read(m, 0, n, w.linear.get()));
  net::DecodedPacket d;
  const net::DecodeResult r = net::decode_frame(frame, n, d);
  if (denied(w, rs, m, d, r)) return;
  c.malformed++;
  if (fail_closed(dp, rs)) {
    c.malformed_dropped++;
    drop(w, m);
  } else {
    c.malformed_forwarded++;
    forward(dp, w, m, in);
  }
}

void handle(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in) {
  WorkerCounters& c = ctr(w);
  c.rx_packets[in]++;
  c.rx_bytes[in] += rte_pktmbuf_pkt_len(m);
  if (dp.ports[in].cfg.role != PortRole::trunk) c.from_core++;
  if (unlikely(m->nb_segs > 1)) {
    handle_chain(dp, w, rs, m, in);
    return;
  }
  handle_frame(dp, w, rs, m, in);
}

// One single-segment frame, received as such or linearised by handle_chain.
inline __attribute__((always_inline)) void handle_frame(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m,
                                                        std::uint16_t in) {
  WorkerCounters& c = ctr(w);
  const bool trunk_side = dp.ports[in].cfg.role == PortRole::trunk;
  auto* frame = rte_pktmbuf_mtod(m, std::uint8_t*);
  net::DecodedPacket d;
  net::DecodeResult r = net::decode_frame(frame, rte_pktmbuf_data_len(m), d);
  if (trunk_side && denied(w, rs, m, d, r)) return;
  const bool sip_udp_port = d.l4_proto == 17 && (dp.sip_udp[d.dst_port] || dp.sip_udp[d.src_port]);
  if (r == net::DecodeResult::ok && !d.is_fragment && sip_udp_port && trunk_side) {
    sip_udp(dp, w, rs, m, in, frame, d);
    return;
  }
  // Everything else is acted on now: the INVITE in flight leaves first.
  settle_udp(dp, w, rs);
  if (r != net::DecodeResult::ok) {
    c.decode_errors[static_cast<unsigned>(r)]++;
    c.non_sip++;
    forward(dp, w, m, in);
    return;
  }
  if (unlikely(d.is_fragment)) {
    if (trunk_side) {
      fragment(dp, w, rs, m, in, frame, d);
    } else {
      if (w.follow_calls || unlikely(w.watch_set != nullptr)) core_fragment(dp, w, m, d, in);
      forward(dp, w, m, in);
    }
    return;
  }
  if (sip_udp_port) {  // from the core side: not classified; followed for the call table
    if (w.follow_calls || unlikely(w.watch_set != nullptr)) core_side_sip(dp, w, d.payload(frame), m, in);
    forward(dp, w, m, in);
    return;
  }
  if (d.l4_proto == 6 && (dp.sip_tcp[d.dst_port] || dp.sip_tcp[d.src_port])) {
    path::sip_tcp(dp, w, rs, m, in, frame, d, trunk_side);
    return;
  }
  if (trunk_side) c.non_sip++;
  forward(dp, w, m, in);
}

}  // namespace

namespace path {

// A frame forwarded to a net_af_packet port that is longer than its MTU
// plus L2 headers. net_af_packet has the kernel reassemble IPv4 fragments
// (PACKET_FANOUT_FLAG_DEFRAG), so a fragmented INVITE arrives as one
// datagram, which the egress interface would refuse (the kernel's TX drops
// frames over the MTU). A whole IPv4 datagram that may be fragmented (DF clear)
// leaves in fragments of the egress MTU, as it came; anything else leaves
// as it is (the egress decides). Counted as one forwarded frame.
__attribute__((noinline, cold)) void transmit_oversize(Dataplane& dp, WorkerContext& w, rte_mbuf* m,
                                                       std::uint16_t out) {
  net::DecodedPacket d;
  const auto* frame = rte_pktmbuf_mtod(m, const std::uint8_t*);
  const std::uint32_t len = rte_pktmbuf_data_len(m);
  if (m->nb_segs == 1 && net::decode_frame(frame, len, d) == net::DecodeResult::ok && d.ip_version == 4 &&
      !d.is_fragment && (frame[d.l3_offset + 6] & 0x40) == 0 && len - d.l3_offset > dp.ports[out].cfg.mtu) {
    if (send_fragments(dp, w, m, out, d, 0))
      ctr(w).oversize_refragmented++;
    else
      ctr(w).refragment_failed++;
    return;
  }
  transmit(dp, w, m, out);
}

}  // namespace path

void process_burst(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint16_t port_index, rte_mbuf** pkts,
                   std::uint16_t n) noexcept {
  for (std::uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    handle(dp, w, rs, pkts[i], port_index);
  }
  settle_udp(dp, w, rs);
  if (w.death_row.cnt) {
    path::ctr(w).reassembly_failed += w.death_row.cnt;
    rte_ip_frag_free_death_row(&w.death_row, 3);
  }
}

void flush_tx(Dataplane& dp, WorkerContext& w) noexcept {
  for (std::size_t p = 0; p < dp.ports.size(); ++p) rte_eth_tx_buffer_flush(dp.ports[p].port_id, w.txq, w.tx[p]);
}

namespace {

// The first loop with a new rule set: its detection state takes over the
// previous one's (tables of unchanged detectors, the call table, the merged
// view). Both sets are alive here: `rs` is current, and the previous set's
// state is freed by the main lcore only once detect_in_use has moved on.
void switch_detect(WorkerContext& w, RuntimeSet* rs) noexcept {
  detect::WorkerDetect* next = rs != nullptr ? rs->detect(w.index) : nullptr;
  if (next != nullptr && w.detect != nullptr) next->adopt(*w.detect);
  w.detect = next;
  w.detect_generation = rs != nullptr ? rs->generation() : 0;
  w.detect_in_use.store(next, std::memory_order_release);
}

// A bounded slice of the call table's expiry sweep: the outcome each
// departing call completed goes to the detectors, and its outcome record to
// the record ring.
void sweep_calls(Dataplane& dp, WorkerContext& w) noexcept {
  w.calls->expire(w.now_ms, dp.cfg.detection_expire_visits,
                  [&w](const detect::CallRecord& c, const detect::Outcome& o) {
                    if (w.detect != nullptr) w.detect->on_expired(c, o, w.now_ms);
                    if (w.records_on) path::record_outcome(w, c, protocol::CallEnd::expired);
                  });
}

}  // namespace

int worker_main(void* arg) {
  auto& w = *static_cast<WorkerContext*>(arg);
  Dataplane& dp = *g_dataplane;
  rte_rcu_qsbr_thread_register(dp.qsbr, w.index);
  rte_rcu_qsbr_thread_online(dp.qsbr, w.index);
  rte_mbuf* pkts[kBurst];
  const std::uint64_t expire_every = dp.tsc_hz / 10;
  const std::uint64_t tsc_per_ms = std::max<std::uint64_t>(dp.tsc_hz / 1000, 1);
  std::uint64_t next_expire = rte_rdtsc() + expire_every;
  WorkerCounters& load = *w.counters;
  while (!dp.quit.load(std::memory_order_relaxed)) {
    // One rule-set pointer per loop: every packet of the loop sees the same
    // set, and the quiescent report below says we hold none afterwards.
    RuntimeSet* rs = dp.current.load(std::memory_order_acquire);
    // The turn's start: its length goes to busy or idle cycles below (the
    // two time stamps the loop takes anyway, no extra rdtsc).
    const std::uint64_t turn_start = rte_rdtsc();
    w.turn_tsc = turn_start;
    w.now_ms = turn_start / tsc_per_ms;
    // By generation, not address: a new set may be allocated where a freed one was.
    if (unlikely((rs != nullptr ? rs->generation() : 0) != w.detect_generation)) switch_detect(w, rs);
    w.watch_set = dp.watch_set.load(std::memory_order_acquire);  // like `rs`: held until the quiescent report
    w.records_on = w.record_ring != nullptr && !dp.records_paused.load(std::memory_order_relaxed);
    w.follow_calls = w.detect != nullptr || w.records_on;
    // The merged view (penalty box, other workers' counts, lifts).
    if (w.detect != nullptr) w.detect->set_dynamic(dp.dynamic.load(std::memory_order_acquire));
    if (w.follow_calls) sweep_calls(dp, w);
    bool received = false;
    for (const WorkerContext::RxQueue& q : w.rx) {
      std::uint16_t n = rte_eth_rx_burst(dp.ports[q.port].port_id, q.queue, pkts, kBurst);
      ++load.rx_polls_by_burst[burst_size_bucket(n)];
      if (n) {
        received = true;
        process_burst(dp, w, rs, q.port, pkts, n);
      }
    }
    flush_tx(dp, w);
    if (w.record_ring != nullptr) path::publish_records(w);
    std::uint64_t now = rte_rdtsc();
    (received ? load.busy_cycles : load.idle_cycles) += now - turn_start;
    if (unlikely(now > next_expire)) {
      // Fragments that never completed: freed through the death row.
      rte_ip_frag_table_del_expired_entries(w.frag_table, &w.death_row, now);
      if (w.death_row.cnt) {
        w.counters->reassembly_failed += w.death_row.cnt;
        rte_ip_frag_free_death_row(&w.death_row, 3);
      }
      // TCP segments held for a message whose end never came.
      if (w.tcp->hold.size()) path::tcp_expire_held(dp, w, rs, now);
      next_expire = now + expire_every;
    }
    rte_rcu_qsbr_quiescent(dp.qsbr, w.index);
  }
  // Still online (the rule set is safe to read): what is still held leaves
  // now, by the same policy as a timeout.
  path::tcp_drain_held(dp, w, dp.current.load(std::memory_order_acquire));
  flush_tx(dp, w);
  if (w.record_ring != nullptr) path::publish_records(w);
  rte_rcu_qsbr_thread_offline(dp.qsbr, w.index);
  rte_rcu_qsbr_thread_unregister(dp.qsbr, w.index);
  flush_tx(dp, w);
  return 0;
}

}  // namespace sipwall::dataplane
