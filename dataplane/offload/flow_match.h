// Evaluates a FlowSpec's pattern in software against a packet's header
// fields, item by item, as rte_flow defines the items (a NULL spec matches
// any header of that type; fields compare under the mask). Not used on the
// packet path: it is the reference the equivalence tests hold the software
// deny table to, and what `sipwallctl`-side tooling can use to explain which
// hardware rule would take a packet.
#pragma once

#include <cstdint>

#include "dataplane/offload/flow_spec.h"

namespace sipwall::offload {

struct PacketFields {
  int vlan = -1;                // outer VLAN id, -1 untagged
  std::uint8_t ip_version = 4;  // 4 or 6
  std::uint8_t src[16] = {};    // IPv4: the 4 bytes at [12..15] (mapped form)
  std::uint8_t dst[16] = {};
  std::uint8_t l4_proto = 0;  // 17, 6 or other
  bool has_l4 = false;        // false for non-first fragments
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

bool flow_matches(const FlowSpec& f, const PacketFields& p) noexcept;

}  // namespace sipwall::offload
