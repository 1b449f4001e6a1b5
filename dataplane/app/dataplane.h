// State shared between the main lcore and the workers. The workers only read
// it (the rule-set pointer through RCU); every field a worker writes lives in
// its own WorkerContext.
#pragma once

#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/app/config.h"
#include "dataplane/app/counters.h"
#include "dataplane/app/record_batch.h"
#include "dataplane/app/ruleset_runtime.h"
#include "dataplane/app/trace_record.h"
#include "dataplane/classify/classify.h"
#include "dataplane/detect/dynamic_set.h"
#include "dataplane/detect/worker_detect.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/offload/installer.h"
#include "dataplane/protocol/call_record.h"
#include "dataplane/sip/sip_message.h"
#include "dataplane/tcp/path_state.h"
#include "dataplane/watch/watch_filter.h"
#include "dataplane/watch/watch_table.h"

namespace sipwall::dataplane {

inline constexpr std::uint16_t kBurst = 32;
inline constexpr std::uint16_t kNoPort = 0xFFFF;
// Ethernet and two VLAN tags: what a frame may carry besides its IP datagram.
inline constexpr std::uint32_t kMaxL2Header = 14 + 8;
inline constexpr std::size_t kLinearBytes = 65536 + 256;  // a reassembled datagram, linearised
// A frame that arrives in several mbufs (net_pcap and scatter RX chain frames
// over one pool mbuf's 2 KB) is copied into one mbuf of the jumbo pool, so
// every later stage sees a single-segment frame (docs/packet-handling.md §0).
// mbuf data rooms are 16-bit: the largest frame that fits one is 65535 bytes
// minus the headroom.
inline constexpr std::uint16_t kJumboDataRoom = 0xFFFF;
inline constexpr std::size_t kJumboFrameBytes = kJumboDataRoom - RTE_PKTMBUF_HEADROOM;  // 65,407
struct PortState {
  PortConfig cfg;
  std::uint16_t port_id = 0;     // DPDK port id
  std::uint16_t peer = kNoPort;  // index (into Dataplane::ports) of the paired port
  std::uint16_t queues = 1;      // RX and TX queues configured
  rte_ether_addr mac{};
  // On net_af_packet, frames longer than this (the egress MTU plus the
  // largest L2 header) are looked at before they leave: a whole IPv4
  // datagram over the MTU, which the kernel's defragmentation makes and its
  // TX would refuse, leaves re-fragmented. Other drivers: no limit.
  std::uint32_t max_frame = UINT32_MAX;
  // Its own RX pool when the port's driver needs larger mbufs than the
  // packet pool's (net_af_packet with a large framesz=), else null.
  rte_mempool* rx_pool = nullptr;
};

// Everything one worker lcore owns. Cache-aligned; nothing here is written by
// another lcore (the trace ring is single-producer: this worker).
struct alignas(64) WorkerContext {
  unsigned index = 0;  // 0..workers-1: RCU thread id, counter row, queue number
  unsigned lcore = 0;
  struct RxQueue {
    std::uint16_t port;  // index into Dataplane::ports
    std::uint16_t queue;
  };
  std::vector<RxQueue> rx;
  rte_eth_dev_tx_buffer* tx[kMaxPorts] = {};
  std::uint16_t txq = 0;  // this worker's TX queue on every port
  WorkerCounters* counters = nullptr;
  rte_ring* trace_ring = nullptr;
  rte_ring* record_ring = nullptr;  // call records (records.enabled), single producer: this worker
  RecordBatch record_batch;         // records of this loop turn, published to record_ring at its end
  rte_ip_frag_tbl* frag_table = nullptr;
  rte_ip_frag_death_row death_row{};
  // SIP over TCP (docs/packet-handling.md §6.6-6.8): the sequence-adjust
  // table, the flows holding segments, scratch for one unit.
  std::unique_ptr<dataplane::tcp::PathState<rte_mbuf*>> tcp;
  std::uint16_t ip_id = 0;
  sip::Message msg;  // reused for every TCP and reassembled message
  // UDP SIP datagrams are parsed into these two, in turn: while one holds an
  // INVITE whose verdict is in flight (its number-table loads outstanding),
  // the next datagram of the burst is decoded and parsed into the other, so
  // the cache misses overlap with that work instead of stalling the worker.
  // The INVITE in flight is settled (verdict taken and applied) before any
  // later packet is acted on and at the end of every burst: packets leave in
  // the order they came, and nothing is in flight across a quiescent point.
  struct UdpInvite {
    sip::Message msg;
    rte_mbuf* m = nullptr;
    std::uint8_t* frame = nullptr;
    net::DecodedPacket d;
    classify::PacketSource src;
    classify::InFlight verdict;
    classify::DetectContext detect{};
    std::uint64_t call_id_hash = 0;  // records without detectors: taken at the start (0: not taken)
    std::uint16_t in = 0;
  };
  UdpInvite udp[2];
  // Behavioural detection (docs/detection.md): the state for the rule set
  // the worker runs, taken over (adopt) at the first loop with a new set.
  // `detect_in_use` tells the main lcore which state the worker may still
  // touch, so it frees a retired set's state only once the worker left it.
  detect::WorkerDetect* detect = nullptr;
  // The worker's calls from INVITE to outcome, for the process lifetime
  // (docs/detection.md "The call table"); lent to `detect`. Fed and swept
  // while follow_calls: a WorkerDetect runs, or call records are on.
  std::unique_ptr<detect::CallTable> calls;
  bool follow_calls = false;            // set once per poll loop
  bool records_on = false;              // record_ring and not Dataplane::records_paused: set once per poll loop
  std::uint64_t detect_generation = 0;  // RuntimeSet::generation() of the set `detect` belongs to (0: none)
  std::atomic<const detect::WorkerDetect*> detect_in_use{nullptr};
  std::uint64_t now_ms = 0;    // the detection clock: TSC in ms, read once per poll loop
  std::uint64_t turn_tsc = 0;  // the TSC at the poll loop's start: call records' time stamp (one read per turn)
  static constexpr unsigned kNoneInFlight = 2;
  unsigned udp_in_flight = kNoneInFlight;  // index into udp[], or kNoneInFlight
  std::unique_ptr<std::uint8_t[]> linear;  // kLinearBytes
  // Watched calls (docs/export.md, watch_copy.h): the set in force this
  // poll loop (null: none, and the packet path pays one branch), the
  // worker's table of watched Call-IDs, its ring of packet copies.
  const watch::WatchSet* watch_set = nullptr;
  std::unique_ptr<watch::WatchTable> watch_table;
  rte_ring* watch_ring = nullptr;
};

struct Dataplane {
  DataplaneConfig cfg;
  std::vector<PortState> ports;
  std::vector<std::unique_ptr<WorkerContext>> workers;
  WorkerCounters* counters = nullptr;    // [workers], rte_zmalloc'ed, cache-aligned
  rte_mempool* pool = nullptr;           // packets and built replies
  rte_mempool* indirect_pool = nullptr;  // re-fragmentation
  rte_mempool* jumbo_pool = nullptr;     // single-segment copies of chained frames (kJumboFrameBytes)
  rte_rcu_qsbr* qsbr = nullptr;
  std::atomic<RuntimeSet*> current{nullptr};
  // The merged detection view (keys held or hot across workers), published
  // by the main lcore every merge like `current` and freed after a grace
  // period (DetectRuntime). Null until the first merge.
  std::atomic<const detect::DynamicSet*> dynamic{nullptr};
  std::atomic<bool> quit{false};
  // Call records held back (records stay enabled; a worker writes none and
  // feeds its call table only for detection while this is set), read once
  // per poll loop. Only bench_pipeline sets it (--records-alternate): the
  // cost of records measured in one process, paused and resumed every few
  // ms, so the two sides share the machine's state (docs/performance.md).
  std::atomic<bool> records_paused{false};
  std::uint64_t tsc_hz = 0;
  std::uint64_t tcp_hold_timeout = 0;                  // TSC cycles (tcp.reassembly_timeout_ms)
  std::uint16_t port_index_of[RTE_MAX_ETHPORTS] = {};  // DPDK port id -> index

  // rte_flow per port (same index as `ports`; docs/hardware.md): steering
  // installed at start, deny rules at every rule-set load. Main lcore only.
  std::vector<std::unique_ptr<offload::PortFlowInstaller>> flows;
  // Hardware hit counts of deny rules already destroyed, by entry id.
  std::map<std::string, std::uint64_t> deny_hw_retired;

  // The watch filters in force (null: none), published by the main lcore
  // like `current` (WatchRuntime), and the pool packet copies come from.
  std::atomic<const watch::WatchSet*> watch_set{nullptr};
  rte_mempool* watch_pool = nullptr;

  std::bitset<65536> sip_udp;  // UDP ports carrying SIP (either end of the datagram)
  std::bitset<65536> sip_tcp;
};

// The worker lcore entry point (rte_eal_remote_launch).
int worker_main(void* worker_context);

// Processes one burst received on ports[port_index]; the workhorse of
// worker_main, exposed for the in-process benchmark.
void process_burst(Dataplane& dp, WorkerContext& w, RuntimeSet* rs, std::uint16_t port_index, rte_mbuf** pkts,
                   std::uint16_t n) noexcept;

// Pushes every buffered TX packet of this worker out.
void flush_tx(Dataplane& dp, WorkerContext& w) noexcept;

extern Dataplane* g_dataplane;

// Installs the deny rules of `rs` (null: none) on every trunk-facing port
// that takes rte_flow rules (setup.cpp; called after each rule-set swap).
void install_deny_flows(Dataplane& dp, const RuntimeSet* rs);

}  // namespace sipwall::dataplane
