// The flow specs built from SIP ports, queues and deny entries: item types in
// order, spec and mask bytes (network order), prefix masks for every length,
// and the action lists.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <cstring>

#include "dataplane/offload/flow_translate.h"

namespace sipwall::offload {
namespace {

using Types = std::vector<int>;

Types item_types(const FlowSpec& f) {
  Types t;
  for (const rte_flow_item& i : f.items()) t.push_back(i.type);
  return t;
}
Types action_types(const FlowSpec& f) {
  Types t;
  for (const rte_flow_action& a : f.action_list()) t.push_back(a.type);
  return t;
}
const rte_flow_item& item_of(const FlowSpec& f, rte_flow_item_type t) {
  for (const rte_flow_item& i : f.items())
    if (i.type == t) return i;
  ADD_FAILURE() << "no item of type " << t;
  return f.items().back();
}

DenyInput entry_v4(const char* a, unsigned len, int vlan = -1, int port = -1, std::uint32_t idx = 0) {
  DenyInput e;
  e.addr[10] = e.addr[11] = 0xFF;
  EXPECT_EQ(inet_pton(AF_INET, a, e.addr + 12), 1);
  e.prefix_len = 96 + len;
  e.is_ipv4 = true;
  e.vlan = vlan;
  e.port = port;
  e.entry = idx;
  e.id = std::string(a) + "/" + std::to_string(len);
  return e;
}
DenyInput entry_v6(const char* a, unsigned len, int vlan = -1, int port = -1) {
  DenyInput e;
  EXPECT_EQ(inet_pton(AF_INET6, a, e.addr), 1);
  e.prefix_len = len;
  e.vlan = vlan;
  e.port = port;
  e.id = std::string(a) + "/" + std::to_string(len);
  return e;
}

TEST(Translate, DenyIpv4PrefixOnly) {
  auto flows = deny_flows({entry_v4("203.0.113.0", 24, -1, -1, 3)});
  ASSERT_EQ(flows.size(), 1u);
  const FlowSpec& f = flows[0];
  EXPECT_EQ(f.kind, FlowKind::deny);
  EXPECT_EQ(f.deny_entry, 3u);
  EXPECT_EQ(f.deny_id, "203.0.113.0/24");
  EXPECT_EQ(f.attr.ingress, 1u);
  EXPECT_EQ(f.attr.egress, 0u);
  EXPECT_EQ(f.attr.priority, kDenyPriority);
  EXPECT_EQ(item_types(f), (Types{RTE_FLOW_ITEM_TYPE_ETH, RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_END}));
  EXPECT_EQ(action_types(f), (Types{RTE_FLOW_ACTION_TYPE_COUNT, RTE_FLOW_ACTION_TYPE_DROP, RTE_FLOW_ACTION_TYPE_END}));
  EXPECT_EQ(f.items()[0].spec, nullptr);
  const auto* spec = static_cast<const rte_flow_item_ipv4*>(f.items()[1].spec);
  const auto* mask = static_cast<const rte_flow_item_ipv4*>(f.items()[1].mask);
  ASSERT_TRUE(spec && mask);
  const std::uint8_t want_spec[4] = {203, 0, 113, 0}, want_mask[4] = {0xFF, 0xFF, 0xFF, 0};
  EXPECT_EQ(std::memcmp(&spec->hdr.src_addr, want_spec, 4), 0);
  EXPECT_EQ(std::memcmp(&mask->hdr.src_addr, want_mask, 4), 0);
  EXPECT_EQ(rte_be_to_cpu_32(spec->hdr.src_addr), 0xCB007100U);
  EXPECT_EQ(mask->hdr.dst_addr, 0U);  // only the source is matched
  EXPECT_EQ(mask->hdr.next_proto_id, 0);
  EXPECT_NE(f.description.find("ipv4 src 203.0.113.0/24"), std::string::npos) << f.description;
}

TEST(Translate, DenyWithVlanAndPortMakesUdpAndTcpRules) {
  auto flows = deny_flows({entry_v4("192.0.2.0", 25, 100, 5061)});
  ASSERT_EQ(flows.size(), 2u);
  const Types want_udp{RTE_FLOW_ITEM_TYPE_ETH, RTE_FLOW_ITEM_TYPE_VLAN, RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_UDP,
                       RTE_FLOW_ITEM_TYPE_END};
  const Types want_tcp{RTE_FLOW_ITEM_TYPE_ETH, RTE_FLOW_ITEM_TYPE_VLAN, RTE_FLOW_ITEM_TYPE_IPV4, RTE_FLOW_ITEM_TYPE_TCP,
                       RTE_FLOW_ITEM_TYPE_END};
  EXPECT_EQ(item_types(flows[0]), want_udp);
  EXPECT_EQ(item_types(flows[1]), want_tcp);
  for (const FlowSpec& f : flows) {
    const auto& vi = item_of(f, RTE_FLOW_ITEM_TYPE_VLAN);
    const auto* vs = static_cast<const rte_flow_item_vlan*>(vi.spec);
    const auto* vm = static_cast<const rte_flow_item_vlan*>(vi.mask);
    const std::uint8_t tci[2] = {0x00, 0x64}, tmask[2] = {0x0F, 0xFF};  // VID 100 in network order
    EXPECT_EQ(std::memcmp(&vs->hdr.vlan_tci, tci, 2), 0);
    EXPECT_EQ(std::memcmp(&vm->hdr.vlan_tci, tmask, 2), 0);
    EXPECT_EQ(vm->hdr.eth_proto, 0);
  }
  const auto* us = static_cast<const rte_flow_item_udp*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_UDP).spec);
  const auto* um = static_cast<const rte_flow_item_udp*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_UDP).mask);
  const std::uint8_t port[2] = {0x13, 0xC5}, ff[2] = {0xFF, 0xFF};  // 5061
  EXPECT_EQ(std::memcmp(&us->hdr.dst_port, port, 2), 0);
  EXPECT_EQ(std::memcmp(&um->hdr.dst_port, ff, 2), 0);
  EXPECT_EQ(um->hdr.src_port, 0);
  const auto* ts = static_cast<const rte_flow_item_tcp*>(item_of(flows[1], RTE_FLOW_ITEM_TYPE_TCP).spec);
  const auto* tm = static_cast<const rte_flow_item_tcp*>(item_of(flows[1], RTE_FLOW_ITEM_TYPE_TCP).mask);
  EXPECT_EQ(std::memcmp(&ts->hdr.dst_port, port, 2), 0);
  EXPECT_EQ(std::memcmp(&tm->hdr.dst_port, ff, 2), 0);
  EXPECT_EQ(tm->hdr.tcp_flags, 0);
  const auto* is = static_cast<const rte_flow_item_ipv4*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_IPV4).mask);
  EXPECT_EQ(rte_be_to_cpu_32(is->hdr.src_addr), 0xFFFFFF80U);  // /25
}

TEST(Translate, Ipv4PrefixMasksEveryLength) {
  for (unsigned len = 0; len <= 32; ++len) {
    DenyInput e = entry_v4("255.255.255.255", 32);
    e.prefix_len = 96 + len;
    auto flows = deny_flows({e});
    ASSERT_EQ(flows.size(), 1u);
    const auto* spec = static_cast<const rte_flow_item_ipv4*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_IPV4).spec);
    const auto* mask = static_cast<const rte_flow_item_ipv4*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_IPV4).mask);
    const std::uint32_t want = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
    EXPECT_EQ(rte_be_to_cpu_32(mask->hdr.src_addr), want) << "/" << len;
    EXPECT_EQ(rte_be_to_cpu_32(spec->hdr.src_addr), want) << "/" << len << ": host bits cleared in the spec";
  }
}

TEST(Translate, Ipv6PrefixMasksEveryLength) {
  for (unsigned len = 0; len <= 128; ++len) {
    DenyInput e = entry_v6("2001:db8::", 32);
    std::memset(e.addr, 0xFF, 16);
    e.addr[0] = 0x20;  // not in ::ffff:0:0/96, so one IPv6 rule only (for len > 0 anyway)
    e.prefix_len = len;
    auto flows = deny_flows({e});
    ASSERT_GE(flows.size(), 1u);
    const auto* mask = static_cast<const rte_flow_item_ipv6*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_IPV6).mask);
    const auto* spec = static_cast<const rte_flow_item_ipv6*>(item_of(flows[0], RTE_FLOW_ITEM_TYPE_IPV6).spec);
    for (unsigned bit = 0; bit < 128; ++bit) {
      const bool set = mask->hdr.src_addr[bit / 8] & (0x80 >> (bit % 8));
      ASSERT_EQ(set, bit < len) << "/" << len << " bit " << bit;
      const bool sbit = spec->hdr.src_addr[bit / 8] & (0x80 >> (bit % 8));
      ASSERT_EQ(sbit, bit < len && e.addr[bit / 8] & (0x80 >> (bit % 8))) << "/" << len << " bit " << bit;
    }
    for (int i = 0; i < 16; ++i) ASSERT_EQ(mask->hdr.dst_addr[i], 0);
    // 0x20 = 0010 0000: up to /2 the prefix still covers ::ffff:0:0/96 (IPv4).
    EXPECT_EQ(flows.size(), len <= 2 ? 2u : 1u) << "/" << len;
  }
}

TEST(Translate, Ipv6EntryCoveringMappedSpaceAlsoGetsIpv4Rule) {
  auto flows = deny_flows({entry_v6("::ffff:192.0.2.0", 120)});
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(item_types(flows[0])[1], RTE_FLOW_ITEM_TYPE_IPV6);
  EXPECT_EQ(item_types(flows[1])[1], RTE_FLOW_ITEM_TYPE_IPV4);
  const auto* m = static_cast<const rte_flow_item_ipv4*>(item_of(flows[1], RTE_FLOW_ITEM_TYPE_IPV4).mask);
  EXPECT_EQ(rte_be_to_cpu_32(m->hdr.src_addr), 0xFFFFFF00U);
  // ::/64 covers ::ffff:0:0/96 entirely: IPv4 /0.
  flows = deny_flows({entry_v6("::", 64, -1, 5060)});
  ASSERT_EQ(flows.size(), 4u);  // (v6, v4) x (udp, tcp)
  const auto* m0 = static_cast<const rte_flow_item_ipv4*>(item_of(flows[2], RTE_FLOW_ITEM_TYPE_IPV4).mask);
  EXPECT_EQ(m0->hdr.src_addr, 0U);
  // 2001:db8::/32 does not touch the mapped space.
  EXPECT_EQ(deny_flows({entry_v6("2001:db8::", 32)}).size(), 1u);
}

TEST(Translate, SteeringRssOverWorkerQueues) {
  SteeringInput in;
  in.udp_ports = {5060, 5080};
  in.tcp_ports = {5060};
  in.queues = 4;
  in.rss_types = 0x1234;
  in.rss_key = {1, 2, 3, 4};
  auto flows = steering_flows(in);
  ASSERT_EQ(flows.size(), 3u * 2 * 2);  // ports x IP versions x (dst, src)
  unsigned udp = 0, tcp = 0, v4 = 0, dst_side = 0;
  for (const FlowSpec& f : flows) {
    EXPECT_EQ(f.kind, FlowKind::steer);
    EXPECT_EQ(f.attr.priority, kSteerPriority);
    EXPECT_GT(f.attr.priority, kDenyPriority);
    const Types t = item_types(f);
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[0], RTE_FLOW_ITEM_TYPE_ETH);
    EXPECT_TRUE(t[1] == RTE_FLOW_ITEM_TYPE_IPV4 || t[1] == RTE_FLOW_ITEM_TYPE_IPV6);
    EXPECT_EQ(f.items()[1].spec, nullptr);  // any address
    v4 += t[1] == RTE_FLOW_ITEM_TYPE_IPV4;
    EXPECT_EQ(t[3], RTE_FLOW_ITEM_TYPE_END);
    std::uint16_t sp = 0, dp = 0, smask = 0, dmask = 0;
    if (t[2] == RTE_FLOW_ITEM_TYPE_UDP) {
      ++udp;
      const auto* s = static_cast<const rte_flow_item_udp*>(f.items()[2].spec);
      const auto* m = static_cast<const rte_flow_item_udp*>(f.items()[2].mask);
      sp = rte_be_to_cpu_16(s->hdr.src_port), dp = rte_be_to_cpu_16(s->hdr.dst_port);
      smask = rte_be_to_cpu_16(m->hdr.src_port), dmask = rte_be_to_cpu_16(m->hdr.dst_port);
    } else {
      ASSERT_EQ(t[2], RTE_FLOW_ITEM_TYPE_TCP);
      ++tcp;
      const auto* s = static_cast<const rte_flow_item_tcp*>(f.items()[2].spec);
      const auto* m = static_cast<const rte_flow_item_tcp*>(f.items()[2].mask);
      sp = rte_be_to_cpu_16(s->hdr.src_port), dp = rte_be_to_cpu_16(s->hdr.dst_port);
      smask = rte_be_to_cpu_16(m->hdr.src_port), dmask = rte_be_to_cpu_16(m->hdr.dst_port);
    }
    EXPECT_TRUE((dmask == 0xFFFF && smask == 0 && sp == 0) || (smask == 0xFFFF && dmask == 0 && dp == 0));
    dst_side += dmask == 0xFFFF;
    EXPECT_TRUE(dp == 5060 || dp == 5080 || sp == 5060 || sp == 5080);
    EXPECT_EQ(action_types(f), (Types{RTE_FLOW_ACTION_TYPE_RSS, RTE_FLOW_ACTION_TYPE_END}));
    const auto* rss = static_cast<const rte_flow_action_rss*>(f.action_list()[0].conf);
    ASSERT_EQ(rss->queue_num, 4u);
    for (std::uint16_t q = 0; q < 4; ++q) EXPECT_EQ(rss->queue[q], q);
    EXPECT_EQ(rss->types, 0x1234u);
    ASSERT_EQ(rss->key_len, 4u);
    EXPECT_EQ(rss->key[3], 4);
    EXPECT_EQ(rss->level, 0u);
  }
  EXPECT_EQ(udp, 8u);
  EXPECT_EQ(tcp, 4u);
  EXPECT_EQ(v4, 6u);
  EXPECT_EQ(dst_side, 6u);
}

TEST(Translate, SteeringOneQueueUsesQueueAction) {
  SteeringInput in;
  in.udp_ports = {5060};
  in.queues = 1;
  auto flows = steering_flows(in);
  ASSERT_EQ(flows.size(), 4u);
  for (const FlowSpec& f : flows) {
    EXPECT_EQ(action_types(f), (Types{RTE_FLOW_ACTION_TYPE_QUEUE, RTE_FLOW_ACTION_TYPE_END}));
    EXPECT_EQ(static_cast<const rte_flow_action_queue*>(f.action_list()[0].conf)->index, 0);
  }
}

TEST(Translate, StorageSurvivesMoves) {
  std::vector<FlowSpec> flows = deny_flows({entry_v4("10.0.0.0", 8, 5, 5060)});
  std::vector<FlowSpec> moved;
  for (FlowSpec& f : flows) moved.push_back(std::move(f));
  moved.reserve(100);  // reallocation moves them again
  const auto* m = static_cast<const rte_flow_item_ipv4*>(item_of(moved[1], RTE_FLOW_ITEM_TYPE_IPV4).mask);
  EXPECT_EQ(rte_be_to_cpu_32(m->hdr.src_addr), 0xFF000000U);
  const auto* v = static_cast<const rte_flow_item_vlan*>(item_of(moved[1], RTE_FLOW_ITEM_TYPE_VLAN).spec);
  EXPECT_EQ(rte_be_to_cpu_16(v->hdr.vlan_tci), 5);
}

}  // namespace
}  // namespace sipwall::offload
