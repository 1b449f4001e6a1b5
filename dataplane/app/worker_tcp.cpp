// SIP over TCP on the packet path: the worker's side of dataplane/tcp/
// (docs/packet-handling.md §6.6-6.8). The path itself is DPDK-free and
// tested without EAL (tests/unit/dataplane/tcp); here it runs on rte_mbufs,
// the worker's ports and its classifier, through MbufHost. Everything is
// instantiated in this file: every host call is a direct, inlined call.
//
// Packet-path rules: no allocation (mbufs from the pool only), no locks, no
// exceptions.
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "dataplane/app/watch_copy.h"
#include "dataplane/app/worker_path.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/tcp/sip_tcp_path.h"

namespace sipwall::dataplane {
namespace path {
namespace {

// The SIP-over-TCP path's view of a worker (dataplane/tcp/path_context.h):
// packets are single-segment mbufs of the worker's pools, ports are
// Dataplane::ports indexes, verdicts come from decide().
class MbufHost {
 public:
  using Packet = rte_mbuf*;

  MbufHost(Dataplane& dp, WorkerContext& w, RuntimeSet* rs) : dp_(dp), w_(w), rs_(rs) {}

  static std::uint8_t* frame(rte_mbuf* m) { return rte_pktmbuf_mtod(m, std::uint8_t*); }
  static std::size_t length(rte_mbuf* m) { return rte_pktmbuf_data_len(m); }
  static std::size_t room(rte_mbuf* m) { return std::size_t{rte_pktmbuf_data_len(m)} + rte_pktmbuf_tailroom(m); }
  static void set_length(rte_mbuf* m, std::size_t len) { set_frame_length(m, len); }
  rte_mbuf* alloc() { return rte_pktmbuf_alloc(dp_.pool); }
  // Frames that came in several mbufs were linearised into the jumbo pool
  // (worker.cpp); their pieces may not fit a 2 KB pool mbuf.
  bool is_large(rte_mbuf* m) const { return m->pool == dp_.jumbo_pool; }
  bool alloc_pieces(rte_mbuf** out, unsigned n, bool large) {
    return rte_pktmbuf_alloc_bulk(large ? dp_.jumbo_pool : dp_.pool, out, n) == 0;
  }
  static void free(rte_mbuf* m) { free_pkt(m); }
  bool has_core(std::uint16_t in) const { return dp_.ports[in].peer != kNoPort; }
  void to_core(std::uint16_t in, rte_mbuf* m) { transmit(dp_, w_, m, dp_.ports[in].peer); }
  void to_client(std::uint16_t in, rte_mbuf* m) { transmit(dp_, w_, m, in); }
  std::size_t egress_mtu(std::uint16_t in) const { return path::egress_mtu(dp_, in); }
  std::uint16_t next_ip_id() { return w_.ip_id++; }
  bool decide(const sip::Message& msg, const net::DecodedPacket& d, std::uint16_t in, classify::Verdict& v) {
    return path::decide(w_, rs_, msg, d, in, v);
  }
  std::size_t reject_text(const classify::Verdict& v, const sip::Message& msg, const net::DecodedPacket& d, char* out,
                          std::size_t cap) {
    char received[64];
    const net::SipResponseOptions so = response_options(*rs_, v, d, received, sizeof received);
    return net::build_sip_response(msg, so, out, cap);
  }
  // The core side's messages for the call table (while detection or call records follow calls).
  bool following_calls() const { return w_.follow_calls; }
  void core_message(const sip::Message& msg) { core_side_message(w_, msg); }
  // Copies of watched calls (watch_copy.h): a message rebuilt as one segment.
  bool watching() const { return w_.watch_set != nullptr; }
  watch::WatchMark watch_mark(const sip::Message& msg, const classify::Verdict* v) {
    return v != nullptr ? watch_mark_invite(dp_, w_, rs_, *v, msg) : watch_lookup(w_, msg);
  }
  void watch_copy(watch::WatchMark mark, const std::uint8_t* f, std::size_t len, std::uint16_t in) {
    watch_copy_frame(dp_, w_, f, len, in, mark);
  }

 private:
  Dataplane& dp_;
  WorkerContext& w_;
  RuntimeSet* rs_;
};

using TcpCtx = tcp::Ctx<MbufHost>;

TcpCtx make_ctx(MbufHost& host, Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint16_t in, std::uint64_t now) {
  return TcpCtx{host, *w.tcp, w.msg, ctr(w), in, now, fail_closed(dp, rs)};
}

}  // namespace

void sip_tcp(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, rte_mbuf* m, std::uint16_t in, std::uint8_t* frame,
             net::DecodedPacket& d, bool trunk_side) {
  MbufHost host(dp, w, rs);
  TcpCtx x = make_ctx(host, dp, w, rs, in, rte_rdtsc());
  tcp::on_segment(x, m, frame, d, trunk_side);
}

void tcp_expire_held(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint64_t now) {
  MbufHost host(dp, w, rs);
  tcp::expire_held(make_ctx(host, dp, w, rs, 0, now), dp.tcp_hold_timeout);
}

void tcp_drain_held(Dataplane& dp, WorkerContext& w, RuntimeSet* rs) {
  MbufHost host(dp, w, rs);
  tcp::drain_held(make_ctx(host, dp, w, rs, 0, rte_rdtsc()));
}

}  // namespace path
}  // namespace sipwall::dataplane
