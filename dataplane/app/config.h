// sipwall-dataplane configuration (deploy/examples/sipwall.yaml, documented in
// docs/operations.md). Loaded once at start; errors name file:line:col.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sipwall::dataplane {

enum class PortRole : std::uint8_t {
  trunk,  // faces the trunks: INVITEs entering here are classified
  core,   // faces the core: everything entering here is forwarded untouched
};

struct PortConfig {
  std::string name;    // operator's name ("trunk-a")
  std::string device;  // DPDK device name: vdev name (net_pcap0) or PCI address
  PortRole role = PortRole::trunk;
  std::uint16_t mtu = 1500;  // IP MTU of the link: tag refuses to exceed it, fragments use it
};

struct DataplaneConfig {
  std::string source_file;

  // EAL. The cores come either from eal.lcores + eal.main_lcore +
  // workers.lcores, or from the VPP-style cpu: {main_core, corelist_workers}
  // section, which fills the same three fields (never both).
  std::string eal_lcores = "0-1";
  unsigned main_lcore = 0;
  unsigned memory_mb = 512;
  bool no_huge = true;
  bool no_pci = true;
  std::vector<std::string> vdevs;
  std::vector<std::string> allow;  // PCI addresses (-a)
  std::vector<std::string> eal_extra;
  std::string file_prefix;  // --file-prefix, lets several instances coexist

  // Ports and workers.
  std::vector<PortConfig> ports;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> pairs;  // indexes into `ports`
  // Per pair (same index): when one port loses link, take the other down
  // (and back up when it returns), so the router behind it fails over
  // (pairs: - {ports: [a, b], link_follow: false} turns it off; docs/deploy.md).
  std::vector<bool> pair_link_follow;
  std::vector<unsigned> worker_lcores;
  std::uint16_t rx_ring_size = 1024;
  std::uint16_t tx_ring_size = 1024;
  std::uint32_t mbufs = 16383;

  // SIP.
  std::vector<std::uint16_t> sip_udp_ports{5060};
  std::vector<std::uint16_t> sip_tcp_ports{5060};
  bool fail_closed = false;  // until a rule set says otherwise

  // rte_flow (docs/hardware.md): SIP steering and deny_sources drop rules are
  // put into NICs that take them; either kind can be turned off.
  bool offload_steering = true;
  bool offload_deny = true;

  // Rule set.
  std::string artifact;                        // loaded at start (may be empty)
  std::string state_dir = "/var/lib/sipwall";  // last-good artifact lives here
  // A loaded set becomes last-good.swr after it has classified an INVITE and
  // been current this long (docs/operations.md "Last good rule set").
  std::uint32_t last_good_after_ms = 5000;

  // Control socket.
  std::string control_socket = "/run/sipwall/dataplane.sock";
  std::uint32_t control_socket_mode = 0660;
  std::string control_socket_group;  // chgrp if set

  // IP reassembly.
  std::uint32_t frag_max_flows = 4096;
  std::uint32_t frag_timeout_ms = 2000;

  // TCP.
  std::uint32_t tcp_max_flows = 65536;
  // SIP messages split across segments (docs/packet-handling.md §6.7), per worker.
  std::uint32_t tcp_reassembly_flows = 1024;       // flows holding segments at once
  std::uint32_t tcp_reassembly_bytes = 65536;      // payload bytes held per flow
  std::uint32_t tcp_reassembly_segments = 64;      // segments held per flow
  std::uint32_t tcp_reassembly_mbufs = 4096;       // segments held by one worker in all
  std::uint32_t tcp_reassembly_timeout_ms = 2000;  // then released (fail-open) or reset (fail-closed)

  // Behavioural detection (docs/detection.md), per worker. Memory is fixed
  // when a rule set with detectors is loaded: each detector's table holds
  // its spec's capacity (detection_capacity for a spec that carries 0),
  // the call table detection_calls calls.
  std::uint32_t detection_capacity = 65536;     // keys per detector per worker
  std::uint32_t detection_calls = 65536;        // calls followed per worker
  std::uint32_t detection_report_queue = 8192;  // hot-key reports buffered per worker between merges
  std::uint32_t detection_merge_ms = 50;        // merge on the main lcore at least this often (<= 100)
  // A worker reports a key to the merge from threshold * this / (100 * workers)
  // (docs/detection.md); a fleet's view needs it at most its view_percent.
  std::uint32_t detection_report_percent = 50;
  std::uint32_t detection_max_keys = 65536;    // (detector, key) pairs the merge tracks
  std::uint32_t detection_expire_visits = 64;  // call-table slots swept per worker poll loop
  std::uint32_t detection_ringing_timeout_ms = 180000;
  std::uint32_t detection_answered_timeout_ms = 14400000;
  std::uint32_t detection_linger_ms = 32000;  // a call stays this long after its end (retransmissions)

  // Call records (docs/records.md): one per INVITE that starts a call and one
  // when the call leaves the call table, through a ring per worker, sent by
  // the main lcore to sipwall-control over a SOCK_SEQPACKET socket.
  bool records_enabled = false;
  std::uint32_t records_ring_size =
      16384;  // records per worker (2 x this many 64-byte units); a full ring drops and counts
  std::string records_socket = "/run/sipwall/records.sock";

  // Verdict trace.
  std::uint32_t trace_ring_size = 16384;  // per worker
  std::uint32_t trace_buffer = 65536;     // records held by the main lcore until drained

  // Watched calls (docs/export.md): copies of the SIP packets of calls a
  // watch filter selects, for HEP export and `sipwallctl capture`.
  std::uint32_t watch_calls = 65536;           // watched Call-IDs per worker
  std::uint32_t watch_call_ttl_ms = 14400000;  // a call is followed this long after its INVITE
  std::uint32_t watch_ring_size = 4096;        // copies per worker between two main-lcore turns
  std::uint32_t watch_mbufs = 8191;            // the watch pool (copies in rings and being sent)
  std::uint32_t watch_drain_per_turn = 4096;   // copies the main lcore handles per worker per turn

  // HEPv3 export to a Homer collector (docs/export.md); off while
  // hep_collector is empty.
  std::string hep_collector;  // "192.0.2.5:9060" or "[2001:db8::5]:9060", as written
  std::string hep_address;    // the address of hep_collector (checked by load_config)
  std::uint16_t hep_port = 0;
  bool hep_tcp = false;
  std::uint32_t hep_agent_id = 0;
  std::string hep_auth_key;
  std::string hep_match = "all";  // a watch filter kind (dataplane/watch/watch_filter.h)
  std::string hep_value;
  std::uint32_t hep_tcp_buffer = 4 << 20;  // bytes queued for a TCP collector; more are dropped (counted)

  // Running from pcaps: exit when no packet arrived for this long (0 = never).
  std::uint32_t stop_when_idle_ms = 0;
  std::string stats_json;  // write final counters here on exit
};

// A core list such as "2-5,8,10-11" (VPP's corelist-workers, DPDK's -l
// without the @/() mapping forms). Returns the cores in the order written,
// or nullopt with `why` set (syntax, a range going down, a core twice, a core
// above 1023).
std::optional<std::vector<unsigned>> parse_core_list(const std::string& text, std::string& why);

// Parses `path`. On failure returns nullopt and appends "file:line:col: message"
// lines to `errors` (all of them, not just the first).
std::optional<DataplaneConfig> load_config(const std::string& path, std::vector<std::string>& errors);

// The EAL argv the config stands for (argv[0] included).
std::vector<std::string> eal_arguments(const DataplaneConfig& c, const std::string& prog);

// Mbufs of 64 KiB per worker for frames that arrive in several mbufs
// (docs/packet-handling.md §0; the jumbo pool, setup.cpp).
inline constexpr unsigned kJumboMbufsPerWorker = 64;

// Mbufs the packet pool gets: the configured workers.mbufs or, if larger,
// what every RX/TX ring, the per-worker bursts, held TCP segments and
// replies need (`burst` is the worker's RX burst size).
std::uint32_t mbuf_pool_size(const DataplaneConfig& c, unsigned burst);

// What the data plane would do with this config, for `--check`: EAL argv,
// ports, cores, queues, pool, SIP ports, offloads requested. Plain text, one
// fact per line; computed from the config only (no EAL, no NIC).
std::string describe_plan(const DataplaneConfig& c, unsigned burst);

}  // namespace sipwall::dataplane
