#include "dataplane/offload/flow_match.h"

#include <rte_byteorder.h>

#include <cstring>

namespace sipwall::offload {
namespace {

template <class T>
const T* spec_of(const rte_flow_item& i) {
  return static_cast<const T*>(i.spec);
}
template <class T>
const T* mask_of(const rte_flow_item& i) {
  return static_cast<const T*>(i.mask);
}

bool masked_eq(const std::uint8_t* pkt, const std::uint8_t* spec, const std::uint8_t* mask, unsigned n) {
  for (unsigned k = 0; k < n; ++k) {
    if ((pkt[k] & mask[k]) != (spec[k] & mask[k])) return false;
  }
  return true;
}

bool port_ok(std::uint16_t pkt, rte_be16_t spec, rte_be16_t mask) {
  const std::uint16_t s = rte_be_to_cpu_16(spec), m = rte_be_to_cpu_16(mask);
  return (pkt & m) == (s & m);
}

}  // namespace

bool flow_matches(const FlowSpec& f, const PacketFields& p) noexcept {
  for (const rte_flow_item& it : f.items()) {
    switch (it.type) {
      case RTE_FLOW_ITEM_TYPE_END:
        return true;
      case RTE_FLOW_ITEM_TYPE_ETH:
        break;  // any Ethernet frame (spec unused here)
      case RTE_FLOW_ITEM_TYPE_VLAN: {
        if (p.vlan < 0) return false;
        if (it.spec) {
          const auto* s = spec_of<rte_flow_item_vlan>(it);
          const auto* m = mask_of<rte_flow_item_vlan>(it);
          const std::uint16_t mk = m ? rte_be_to_cpu_16(m->hdr.vlan_tci) : 0x0FFF;
          if ((static_cast<std::uint16_t>(p.vlan) & mk) != (rte_be_to_cpu_16(s->hdr.vlan_tci) & mk)) return false;
        }
        break;
      }
      case RTE_FLOW_ITEM_TYPE_IPV4: {
        if (p.ip_version != 4) return false;
        if (it.spec) {
          const auto* s = spec_of<rte_flow_item_ipv4>(it);
          const auto* m = mask_of<rte_flow_item_ipv4>(it);
          std::uint8_t ss[4], mm[4];
          std::memcpy(ss, &s->hdr.src_addr, 4);
          std::memcpy(mm, &m->hdr.src_addr, 4);
          if (!masked_eq(p.src + 12, ss, mm, 4)) return false;
        }
        break;
      }
      case RTE_FLOW_ITEM_TYPE_IPV6: {
        if (p.ip_version != 6) return false;
        if (it.spec) {
          const auto* s = spec_of<rte_flow_item_ipv6>(it);
          const auto* m = mask_of<rte_flow_item_ipv6>(it);
          if (!masked_eq(p.src, s->hdr.src_addr, m->hdr.src_addr, 16)) return false;
        }
        break;
      }
      case RTE_FLOW_ITEM_TYPE_UDP:
      case RTE_FLOW_ITEM_TYPE_TCP: {
        const std::uint8_t proto = it.type == RTE_FLOW_ITEM_TYPE_UDP ? 17 : 6;
        // A non-first fragment carries no L4 header, so no L4 item matches it.
        if (p.l4_proto != proto || !p.has_l4) return false;
        if (it.spec) {
          if (proto == 17) {
            const auto* s = spec_of<rte_flow_item_udp>(it);
            const auto* m = mask_of<rte_flow_item_udp>(it);
            if (!port_ok(p.src_port, s->hdr.src_port, m->hdr.src_port) ||
                !port_ok(p.dst_port, s->hdr.dst_port, m->hdr.dst_port))
              return false;
          } else {
            const auto* s = spec_of<rte_flow_item_tcp>(it);
            const auto* m = mask_of<rte_flow_item_tcp>(it);
            if (!port_ok(p.src_port, s->hdr.src_port, m->hdr.src_port) ||
                !port_ok(p.dst_port, s->hdr.dst_port, m->hdr.dst_port))
              return false;
          }
        }
        break;
      }
      default:
        return false;  // an item this evaluator does not know never matches
    }
  }
  return false;  // no END: malformed
}

}  // namespace sipwall::offload
