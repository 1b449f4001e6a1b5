// Translation, no hardware: (SIP ports, worker queues, deny_sources entries)
// -> flow specs. docs/hardware.md describes the rules; tests/unit/dataplane/offload
// checks every item, mask byte and action.
//
// Steering: for each SIP port, transport (UDP, TCP), IP version and side of
// the packet the port is on (destination: requests to us; source: responses
// and in-dialog traffic from a SIP peer), one rule
//   ETH / IPV4|IPV6 / UDP|TCP {dst|src port} -> RSS over the worker queues
// (QUEUE 0 with one worker). No VLAN item: it matches tagged and untagged.
//
// Deny: for each entry, per IP version its prefix covers,
//   ETH / [VLAN vid] / IPV4|IPV6 {src/prefix} [/ UDP|TCP {dst port}] -> COUNT, DROP
// (an entry with a port needs a UDP and a TCP rule). An IPv4 entry is IPv4
// only; an IPv6 entry whose prefix covers part of ::ffff:0:0/96 also gets the
// IPv4 rule for that part, because the software table (IPv4 stored mapped)
// matches IPv4 packets there. IPv6 packets with a mapped source (not legal on
// the wire, RFC 4291 2.5.5.2) are matched by the software table only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/offload/flow_spec.h"

namespace sipwall::offload {

struct SteeringInput {
  std::vector<std::uint16_t> udp_ports;
  std::vector<std::uint16_t> tcp_ports;
  std::uint16_t queues = 1;           // worker RX queues on the port: 0..queues-1
  std::uint64_t rss_types = 0;        // RTE_ETH_RSS_*; 0 = PMD default
  std::vector<std::uint8_t> rss_key;  // empty = PMD default
};

// One deny_sources entry, as the compiled set has it.
struct DenyInput {
  std::uint8_t addr[16] = {};  // IPv4 mapped
  unsigned prefix_len = 0;     // 0..128 in the IPv6 space
  bool is_ipv4 = false;
  int vlan = -1;  // outer VLAN id or -1
  int port = -1;  // local (destination) port or -1
  std::uint32_t entry = kNoEntry;
  std::string id;
};

std::vector<FlowSpec> steering_flows(const SteeringInput& in);
std::vector<FlowSpec> deny_flows(const std::vector<DenyInput>& entries);
// Rules for one entry (appended to `out`).
void deny_flows_for(const DenyInput& e, std::vector<FlowSpec>& out);

}  // namespace sipwall::offload
