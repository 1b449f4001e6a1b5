#include "dataplane/app/setup.h"

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <algorithm>
#include <exception>

#include "dataplane/app/af_packet_ring.h"
#include "dataplane/app/record_pack.h"
#include "dataplane/app/watch_copy.h"
#include "dataplane/log/log.h"
#include "dataplane/offload/flow_translate.h"
#include "dataplane/offload/rule_set_input.h"

namespace sipwall::dataplane {
namespace {

// A symmetric Toeplitz key (0x6d5a repeated): both directions of a flow hash
// to the same queue, so a TCP flow's two directions meet in one worker's
// sequence-adjust table, and fragments of a datagram in one reassembly table.
std::uint8_t g_symmetric_rss_key[40] = {0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

std::string available_ports() {
  std::string s;
  std::uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(pid, name) == 0) s += (s.empty() ? "" : ", ") + std::string(name);
  }
  return s.empty() ? "none: add --vdev/vdevs or bind a NIC to DPDK" : s;
}

bool setup_port(Dataplane& dp, PortState& p, std::uint16_t queues, std::string& error) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(p.port_id, &info) != 0) {
    error = "port " + p.cfg.name + ": cannot read device info";
    return false;
  }
  if (info.max_rx_queues < queues || info.max_tx_queues < queues) {
    error = "port " + p.cfg.name + " (" + p.cfg.device + ") has " + std::to_string(info.max_rx_queues) + " RX / " +
            std::to_string(info.max_tx_queues) + " TX queues; " + std::to_string(queues) +
            " workers need one of each per worker (use fewer workers, or e.g. qpairs= on net_af_packet)";
    return false;
  }
  rte_eth_conf conf{};
  if (queues > 1) {
    std::uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    if (hf != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = g_symmetric_rss_key;
      conf.rx_adv_conf.rss_conf.rss_key_len = sizeof g_symmetric_rss_key;
      conf.rx_adv_conf.rss_conf.rss_hf = hf;
    } else {
      dplog::warning("port " + p.cfg.name + ": device has no RSS; queues are filled by the device's own policy");
    }
  }
  int rc = rte_eth_dev_configure(p.port_id, queues, queues, &conf);
  if (rc != 0) {
    error = "port " + p.cfg.name + ": configure failed: " + rte_strerror(-rc);
    return false;
  }
  std::uint16_t nb_rxd = dp.cfg.rx_ring_size, nb_txd = dp.cfg.tx_ring_size;
  rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &nb_rxd, &nb_txd);
  int socket = rte_eth_dev_socket_id(p.port_id);
  if (socket < 0) socket = 0;
  rte_mempool* rx_pool = p.rx_pool ? p.rx_pool : dp.pool;
  for (std::uint16_t q = 0; q < queues; ++q) {
    if ((rc = rte_eth_rx_queue_setup(p.port_id, q, nb_rxd, static_cast<unsigned>(socket), nullptr, rx_pool)) != 0 ||
        (rc = rte_eth_tx_queue_setup(p.port_id, q, nb_txd, static_cast<unsigned>(socket), nullptr)) != 0) {
      error = "port " + p.cfg.name + ": queue setup failed: " + rte_strerror(-rc);
      return false;
    }
  }
  // A bump in the wire forwards frames addressed to the far end, not to us.
  rte_eth_promiscuous_enable(p.port_id);
  rte_eth_macaddr_get(p.port_id, &p.mac);
  if ((rc = rte_eth_dev_start(p.port_id)) != 0) {
    error = "port " + p.cfg.name + ": start failed: " + rte_strerror(-rc);
    return false;
  }
  p.queues = queues;
  return true;
}

}  // namespace

namespace {

detect::CallTableOptions call_table_options(const DataplaneConfig& cfg) {
  detect::CallTableOptions o;
  o.capacity = cfg.detection_calls;
  o.ringing_timeout_ms = cfg.detection_ringing_timeout_ms;
  o.answered_timeout_ms = cfg.detection_answered_timeout_ms;
  o.linger_ms = cfg.detection_linger_ms;
  // Call records: an evicted call gets its outcome record too.
  o.copy_live_victim = cfg.records_enabled;
  return o;
}

}  // namespace

DetectOptions detect_options(Dataplane& dp) {
  DetectOptions o;
  o.capacity = dp.cfg.detection_capacity;
  o.worker.report_queue = dp.cfg.detection_report_queue;
  o.worker.report_percent = dp.cfg.detection_report_percent;
  o.worker.calls = call_table_options(dp.cfg);
  for (const auto& w : dp.workers) o.call_tables.push_back(w->calls.get());
  return o;
}

bool setup_dataplane(Dataplane& dp, std::string& error) {
  const DataplaneConfig& cfg = dp.cfg;
  dp.tsc_hz = rte_get_tsc_hz();
  dp.tcp_hold_timeout = dp.tsc_hz / 1000 * cfg.tcp_reassembly_timeout_ms;
  for (std::uint16_t p : cfg.sip_udp_ports) dp.sip_udp.set(p);
  for (std::uint16_t p : cfg.sip_tcp_ports) dp.sip_tcp.set(p);

  const auto workers = static_cast<std::uint16_t>(cfg.worker_lcores.size());
  if (workers > kMaxWorkers) {
    error = "at most " + std::to_string(kMaxWorkers) + " workers";
    return false;
  }
  for (unsigned l : cfg.worker_lcores) {
    if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore()) {
      error = "worker lcore " + std::to_string(l) + " is not an enabled worker lcore (eal.lcores is " + cfg.eal_lcores +
              ")";
      return false;
    }
  }
  if (cfg.ports.size() > kMaxPorts) {
    error = "at most " + std::to_string(kMaxPorts) + " ports";
    return false;
  }

  // Ports by device name.
  dp.ports.resize(cfg.ports.size());
  for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
    dp.ports[i].cfg = cfg.ports[i];
    if (rte_eth_dev_get_port_by_name(cfg.ports[i].device.c_str(), &dp.ports[i].port_id) != 0) {
      error = "port " + cfg.ports[i].name + ": no DPDK device named '" + cfg.ports[i].device +
              "' (available: " + available_ports() + ")";
      return false;
    }
    dp.port_index_of[dp.ports[i].port_id] = static_cast<std::uint16_t>(i);
  }
  for (auto [a, b] : cfg.pairs) {
    dp.ports[a].peer = b;
    dp.ports[b].peer = a;
  }

  // Enough mbufs for every RX/TX ring, the per-lcore caches, in-flight bursts,
  // reassembly tables and replies.
  // Held TCP segments (tcp.reassembly_mbufs per worker) stay out of the
  // pool while held: they are budgeted on top, so holding never starves RX.
  std::uint32_t need = static_cast<std::uint32_t>(cfg.ports.size()) * workers * (cfg.rx_ring_size + cfg.tx_ring_size) +
                       workers * (kBurst * 4 + 512 + cfg.tcp_reassembly_mbufs) + 4096;
  std::uint32_t n_mbufs = std::max(cfg.mbufs, need);
  dp.pool = rte_pktmbuf_pool_create("sipwall_pkts", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
  dp.indirect_pool = rte_pktmbuf_pool_create("sipwall_indirect", 8191, 256, 0, 0, static_cast<int>(rte_socket_id()));
  // Chained frames are rare (net_pcap over 2 KB, scatter RX): a few 64 KiB
  // mbufs per worker, no per-lcore cache (none would stay parked in one).
  dp.jumbo_pool = rte_pktmbuf_pool_create("sipwall_jumbo", kJumboMbufsPerWorker * workers, 0, 0, kJumboDataRoom,
                                          static_cast<int>(rte_socket_id()));
  // Copies of watched calls' packets (docs/export.md): their own pool, so a
  // capture can never take an mbuf RX needs; each carries WatchCopyMeta.
  dp.watch_pool = rte_pktmbuf_pool_create("sipwall_watch", cfg.watch_mbufs, 64, kWatchPrivSize,
                                          RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (!dp.pool || !dp.indirect_pool || !dp.jumbo_pool || !dp.watch_pool) {
    error = std::string("cannot create the mbuf pools (") + std::to_string(n_mbufs) + " mbufs of 2 KB, " +
            std::to_string(kJumboMbufsPerWorker * workers) + " of 64 KB, " + std::to_string(cfg.watch_mbufs) +
            " for watch copies): " + rte_strerror(rte_errno) + " — raise eal.memory_mb";
    return false;
  }
  // net_af_packet copies each ring frame into one mbuf and refuses a pool
  // whose mbufs are smaller than its frames (framesz= larger than 2 KB, so
  // that a datagram the kernel reassembled arrives whole): such a port gets
  // its own RX pool of mbufs that large (docs/deploy.md, memory).
  for (std::size_t i = 0; i < dp.ports.size(); ++i) {
    PortState& p = dp.ports[i];
    auto ring = port_af_packet_ring(cfg, i);
    if (!ring) continue;
    // The kernel refuses to send a frame over the interface's MTU: what is
    // larger leaves in fragments (worker.cpp, transmit_oversize). Other
    // drivers get the frame as it is, as before.
    p.max_frame = p.cfg.mtu + kMaxL2Header;
    const std::uint32_t room = af_packet_rx_data_room(*ring);
    if (room <= RTE_MBUF_DEFAULT_BUF_SIZE) continue;
    char name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(name, sizeof name, "sipwall_rx_%u", static_cast<unsigned>(i % kMaxPorts));
    const unsigned n = kAfPacketRxMbufsPerWorker * workers - 1;
    p.rx_pool =
        rte_pktmbuf_pool_create(name, n, 64, 0, static_cast<std::uint16_t>(std::min<std::uint32_t>(room, 0xFFFF)),
                                static_cast<int>(rte_socket_id()));
    if (!p.rx_pool) {
      error = "port " + p.cfg.name + ": cannot create its RX pool (" + std::to_string(n) + " mbufs of " +
              std::to_string(room) + " bytes for framesz=" + std::to_string(ring->framesz) +
              "): " + rte_strerror(rte_errno) + " — raise eal.memory_mb";
      return false;
    }
  }
  for (PortState& p : dp.ports)
    if (!setup_port(dp, p, workers, error)) return false;
  // Hardware steering of SIP to the worker queues, where the NIC takes it
  // (never a reason to fail: docs/hardware.md).
  for (PortState& p : dp.ports) {
    auto inst = std::make_unique<offload::PortFlowInstaller>(p.port_id, p.cfg.name, p.cfg.role == PortRole::trunk);
    offload::SteeringInput in;
    in.udp_ports = cfg.sip_udp_ports;
    in.tcp_ports = cfg.sip_tcp_ports;
    in.queues = p.queues;
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(p.port_id, &info) == 0)
      in.rss_types = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    in.rss_key.assign(std::begin(g_symmetric_rss_key), std::end(g_symmetric_rss_key));
    if (!cfg.offload_steering) inst->disable_steering("disabled by configuration (offload.steering: false)");
    if (!cfg.offload_deny) inst->disable_deny("disabled by configuration (offload.deny: false)");
    inst->install_steering(offload::steering_flows(in));
    dp.flows.push_back(std::move(inst));
  }

  dp.counters = static_cast<WorkerCounters*>(rte_zmalloc("sipwall_counters", sizeof(WorkerCounters) * workers, 64));
  std::size_t qsbr_size = rte_rcu_qsbr_get_memsize(workers);
  dp.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("sipwall_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE));
  if (!dp.counters || !dp.qsbr || rte_rcu_qsbr_init(dp.qsbr, workers) != 0) {
    error = "cannot allocate counters / RCU state";
    return false;
  }

  std::uint32_t ring = 64;
  while (ring < cfg.trace_ring_size) ring <<= 1;
  for (std::uint16_t i = 0; i < workers; ++i) {
    auto w = std::make_unique<WorkerContext>();
    w->index = i;
    w->lcore = cfg.worker_lcores[i];
    w->txq = i;
    w->counters = &dp.counters[i];
    for (std::uint16_t p = 0; p < dp.ports.size(); ++p) {
      w->rx.push_back({p, i});
      w->tx[p] = static_cast<rte_eth_dev_tx_buffer*>(
          rte_zmalloc_socket("sipwall_txbuf", RTE_ETH_TX_BUFFER_SIZE(kBurst), 0, static_cast<int>(rte_socket_id())));
      if (!w->tx[p]) {
        error = "cannot allocate TX buffers";
        return false;
      }
      rte_eth_tx_buffer_init(w->tx[p], kBurst);
      rte_eth_tx_buffer_set_err_callback(w->tx[p], rte_eth_tx_buffer_count_callback, &w->counters->tx_dropped);
    }
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "sipwall_trace_%u", i);
    w->trace_ring = rte_ring_create_elem(name, sizeof(TraceRecord), ring, static_cast<int>(rte_socket_id()),
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
    std::uint32_t buckets = std::max<std::uint32_t>(cfg.frag_max_flows / 16, 1);
    std::uint64_t frag_cycles = dp.tsc_hz * cfg.frag_timeout_ms / 1000;
    w->frag_table = rte_ip_frag_table_create(buckets, 16, buckets * 16, frag_cycles, static_cast<int>(rte_socket_id()));
    std::snprintf(name, sizeof name, "sipwall_watch_%u", i);
    w->watch_ring = rte_ring_create(name, cfg.watch_ring_size, static_cast<int>(rte_socket_id()),
                                    RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    w->watch_table = std::make_unique<watch::WatchTable>(cfg.watch_calls);
    if (!w->trace_ring || !w->frag_table || !w->watch_ring) {
      error = "cannot create trace ring / watch ring / reassembly table: " + std::string(rte_strerror(rte_errno));
      return false;
    }
    tcp::PathConfig tc;
    tc.seqadj.capacity = cfg.tcp_max_flows;
    tc.seqadj.idle_timeout = dp.tsc_hz * 600;  // SIP over TCP keepalives are typically well under 10 min
    tc.seqadj.closed_timeout = dp.tsc_hz * 10;
    tc.hold.flows = cfg.tcp_reassembly_flows;
    tc.hold.max_bytes = cfg.tcp_reassembly_bytes;
    tc.hold.max_segments = cfg.tcp_reassembly_segments;
    tc.hold.total_segments = cfg.tcp_reassembly_mbufs;
    w->tcp = std::make_unique<tcp::PathState<rte_mbuf*>>(tc);
    w->linear = std::make_unique<std::uint8_t[]>(kLinearBytes);
    // The call table lives as long as the worker: rule sets come and go, the
    // calls in progress stay (docs/detection.md "The call table").
    try {
      w->calls = std::make_unique<detect::CallTable>(call_table_options(cfg));
    } catch (const std::exception& e) {
      error = std::string("cannot allocate the call table (detection.calls): ") + e.what();
      return false;
    }
    if (cfg.records_enabled) {
      // Units of 64 bytes (record_pack.h): two per record on average (an
      // invite's head and 1-2 units of texts, an outcome's one unit).
      std::uint32_t rr = 128;
      while (rr < 2 * std::uint64_t{cfg.records_ring_size}) rr <<= 1;
      std::snprintf(name, sizeof name, "sipwall_records_%u", i);
      w->record_ring =
          rte_ring_create_elem(name, kRecordUnit, rr, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!w->record_ring) {
        error = "cannot create the call record ring: " + std::string(rte_strerror(rte_errno));
        return false;
      }
    }
    dp.workers.push_back(std::move(w));
  }
  return true;
}

void install_deny_flows(Dataplane& dp, const RuntimeSet* rs) {
  std::vector<offload::DenyInput> entries;
  if (rs) entries = offload::deny_inputs(rs->set());
  for (auto& f : dp.flows) {
    if (!f->deny_side()) continue;
    f->replace_deny(offload::deny_flows(entries), dp.deny_hw_retired);
  }
}

void teardown_dataplane(Dataplane& dp) {
  for (auto& f : dp.flows) f->destroy_all(dp.deny_hw_retired);
  dp.flows.clear();
  for (PortState& p : dp.ports) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);  // net_pcap writes out its tx_pcap here
  }
  for (auto& w : dp.workers) {
    for (auto* b : w->tx) rte_free(b);
    if (w->frag_table) rte_ip_frag_table_destroy(w->frag_table);
    if (w->trace_ring) rte_ring_free(w->trace_ring);
    if (w->watch_ring) {
      void* copy = nullptr;
      while (rte_ring_sc_dequeue(w->watch_ring, &copy) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(copy));
      rte_ring_free(w->watch_ring);
    }
    if (w->record_ring) rte_ring_free(w->record_ring);
  }
  dp.workers.clear();
  delete dp.current.exchange(nullptr);
  rte_free(dp.counters);
  rte_free(dp.qsbr);
  dp.counters = nullptr;
  dp.qsbr = nullptr;
}

}  // namespace sipwall::dataplane
