// Internal to the worker: helpers shared by worker.cpp (RX/TX, UDP, IP
// fragments) and worker_tcp.cpp (SIP over TCP). Packet-path code: no
// allocation, no exceptions, no locks.
#pragma once

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/app/dataplane.h"
#include "dataplane/classify/classify.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::dataplane::path {

inline WorkerCounters& ctr(WorkerContext& w) {
  return *w.counters;
}

inline void free_pkt(rte_mbuf* m) {
  rte_pktmbuf_free(m);
}

// Queue `m` on port index `out` (this worker's TX queue).
inline void transmit(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t out) {
  WorkerCounters& c = ctr(w);
  c.tx_packets[out]++;
  c.tx_bytes[out] += rte_pktmbuf_pkt_len(m);
  rte_eth_tx_buffer(dp.ports[out].port_id, w.txq, w.tx[out], m);
}

// A forwarded frame longer than the egress port's MTU allows (cold; worker.cpp).
void transmit_oversize(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t out);

inline void forward(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t in) {
  std::uint16_t out = dp.ports[in].peer;
  if (unlikely(out == kNoPort)) {
    ctr(w).dropped++;
    free_pkt(m);
    return;
  }
  ctr(w).forwarded++;
  if (unlikely(rte_pktmbuf_pkt_len(m) > dp.ports[out].max_frame)) {
    transmit_oversize(dp, w, m, out);
    return;
  }
  transmit(dp, w, m, out);
}

inline void drop(WorkerContext& w, rte_mbuf* m) {
  ctr(w).dropped++;
  free_pkt(m);
}

// The MTU of the port a frame entering `in` leaves by.
inline std::size_t egress_mtu(const Dataplane& dp, std::uint16_t in) {
  std::uint16_t out = dp.ports[in].peer;
  return dp.ports[out == kNoPort ? in : out].cfg.mtu;
}

// After an in-place edit of a single-segment mbuf, make its length say so.
inline void set_frame_length(rte_mbuf* m, std::size_t len) {
  std::size_t cur = rte_pktmbuf_data_len(m);
  if (len > cur)
    rte_pktmbuf_append(m, static_cast<std::uint16_t>(len - cur));
  else if (len < cur)
    rte_pktmbuf_trim(m, static_cast<std::uint16_t>(cur - len));
}

// The policy for SIP the parser rejects (and for what cannot be inspected on
// TCP): the loaded set's, else the config's.
inline bool fail_closed(const Dataplane& dp, const RuntimeSet* rs) {
  return rs ? rs->set().malformed_policy() == rules::MalformedPolicy::fail_closed : dp.cfg.fail_closed;
}

// How deep a SIP datagram from a trunk is parsed (docs/sip-parser.md, "Parse
// depth"). Under fail_open the values a verdict does not read are left: the
// top Via until a response is built (reply_fields), Contact and
// Max-Forwards for good. A message broken only there would have been
// forwarded as malformed anyway. Under fail_closed nothing is forwarded
// before every value has been checked.
inline sip::Depth udp_parse_depth(const Dataplane& dp, const RuntimeSet* rs) {
  return fail_closed(dp, rs) ? sip::Depth::full : sip::Depth::verdict;
}

// Counts, classifies and traces one parsed message. True if it is an INVITE
// that got a verdict the caller must apply; false means "forward untouched".
bool decide(WorkerContext& w, RuntimeSet* rs, const sip::Message& msg, const net::DecodedPacket& d, std::uint16_t in,
            classify::Verdict& v);

// decide() in two halves, for an INVITE whose verdict is taken later
// (WorkerContext::udp): decide_start() counts the message and, if it is an
// INVITE with a rule set to judge it, starts `f` and returns true;
// decide_finish() takes the verdict, counts it and traces it.
// `dc` holds the INVITE's detection context from start to finish (its
// levels are filled in between); responses, CANCEL, ACK and BYE go to the
// worker's call table here. `call_id_hash`: the Call-ID's hash if the
// caller took it (and prefetched its call-table group), else 0.
bool decide_start(WorkerContext& w, RuntimeSet* rs, const sip::Message& msg, const classify::PacketSource& src,
                  classify::InFlight& f, classify::DetectContext& dc);
void decide_finish(WorkerContext& w, RuntimeSet* rs, const sip::Message& msg, const net::DecodedPacket& d,
                   std::uint16_t in, classify::InFlight& f, classify::Verdict& v, std::uint64_t call_id_hash = 0);

// SIP seen on the core side (never classified), for the call table while
// the worker follows calls (detection or call records). core_side_message:
// one parsed message (SIP over TCP: dataplane/tcp/core_side.h frames them);
// core_side_sip: a UDP datagram's payload (frame `m` from port `in`),
// parsed into w.msg once for the call table and the watches.
void core_side_message(WorkerContext& w, const sip::Message& msg);
void core_side_sip(Dataplane& dp, WorkerContext& w, std::string_view payload, rte_mbuf* m, std::uint16_t in);

// Call records (records.enabled, docs/records.md): the outcome record of a
// call leaving the worker's call table, into this turn's batch
// (record_batch.h); publish_records() puts the batch into the worker's
// record ring (once per loop turn), dropping and counting what does not fit.
void record_outcome(WorkerContext& w, const detect::CallRecord& call, protocol::CallEnd end);
void publish_records(WorkerContext& w);

// The response options for a reject verdict (`received` is scratch for the
// source address text).
net::SipResponseOptions response_options(const RuntimeSet& rs, const classify::Verdict& v, const net::DecodedPacket& d,
                                         char* received, std::size_t cap);

// SIP over TCP (worker_tcp.cpp): every TCP segment on a SIP port, either side.
void sip_tcp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in, std::uint8_t* frame,
             net::DecodedPacket& d, bool trunk_side);

// Flows whose held segments waited longer than tcp.reassembly_timeout_ms:
// released (fail-open) or reset (fail-closed). Called from the worker's
// periodic housekeeping.
void tcp_expire_held(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint64_t now);

// Every held flow, at shutdown, the same way.
void tcp_drain_held(Dataplane& dp, WorkerContext& w, RuntimeSet* rs);

}  // namespace sipwall::dataplane::path
