#include "dataplane/offload/flow_spec.h"

#include <rte_byteorder.h>

#include <cstring>

namespace sipwall::offload {
namespace {

rte_flow_item item(rte_flow_item_type t, const void* spec, const void* mask) {
  rte_flow_item i{};
  i.type = t;
  i.spec = spec;
  i.mask = mask;
  i.last = nullptr;
  return i;
}

rte_flow_action action(rte_flow_action_type t, const void* conf) {
  rte_flow_action a{};
  a.type = t;
  a.conf = conf;
  return a;
}

// The first `len` bits of a `bytes`-byte mask set, the rest clear.
void prefix_mask(std::uint8_t* out, unsigned bytes, unsigned len) {
  for (unsigned i = 0; i < bytes; ++i) {
    const unsigned bit0 = i * 8;
    out[i] = len >= bit0 + 8 ? 0xFF : len <= bit0 ? 0 : static_cast<std::uint8_t>(0xFF << (8 - (len - bit0)));
  }
}

}  // namespace

FlowSpec::FlowSpec() : st_(std::make_unique<Storage>()) {
  attr.ingress = 1;
}

void FlowSpec::add_eth() {
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr));
}

void FlowSpec::add_vlan(std::uint16_t vid) {
  st_->vlan_spec.hdr.vlan_tci = rte_cpu_to_be_16(static_cast<std::uint16_t>(vid & 0x0FFF));
  st_->vlan_mask.hdr.vlan_tci = rte_cpu_to_be_16(0x0FFF);
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_VLAN, &st_->vlan_spec, &st_->vlan_mask));
}

void FlowSpec::add_ipv4_src(const std::uint8_t* addr4, unsigned prefix_len) {
  std::uint8_t m[4];
  prefix_mask(m, 4, prefix_len > 32 ? 32 : prefix_len);
  std::uint8_t a[4];
  for (int i = 0; i < 4; ++i) a[i] = static_cast<std::uint8_t>(addr4[i] & m[i]);
  std::memcpy(&st_->ipv4_spec.hdr.src_addr, a, 4);  // network order as stored
  std::memcpy(&st_->ipv4_mask.hdr.src_addr, m, 4);
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_IPV4, &st_->ipv4_spec, &st_->ipv4_mask));
}

void FlowSpec::add_ipv6_src(const std::uint8_t* addr16, unsigned prefix_len) {
  std::uint8_t m[16];
  prefix_mask(m, 16, prefix_len > 128 ? 128 : prefix_len);
  for (int i = 0; i < 16; ++i) {
    st_->ipv6_spec.hdr.src_addr[i] = static_cast<std::uint8_t>(addr16[i] & m[i]);
    st_->ipv6_mask.hdr.src_addr[i] = m[i];
  }
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_IPV6, &st_->ipv6_spec, &st_->ipv6_mask));
}

void FlowSpec::add_ipv4_any() {
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_IPV4, nullptr, nullptr));
}
void FlowSpec::add_ipv6_any() {
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_IPV6, nullptr, nullptr));
}

void FlowSpec::add_l4(std::uint8_t proto, int src_port, int dst_port) {
  const bool any = src_port < 0 && dst_port < 0;
  auto fill = [&](auto& spec, auto& mask) {
    if (src_port >= 0) {
      spec.hdr.src_port = rte_cpu_to_be_16(static_cast<std::uint16_t>(src_port));
      mask.hdr.src_port = rte_cpu_to_be_16(0xFFFF);
    }
    if (dst_port >= 0) {
      spec.hdr.dst_port = rte_cpu_to_be_16(static_cast<std::uint16_t>(dst_port));
      mask.hdr.dst_port = rte_cpu_to_be_16(0xFFFF);
    }
  };
  if (proto == 17) {
    fill(st_->udp_spec, st_->udp_mask);
    items_.push_back(item(RTE_FLOW_ITEM_TYPE_UDP, any ? nullptr : &st_->udp_spec, any ? nullptr : &st_->udp_mask));
  } else {
    fill(st_->tcp_spec, st_->tcp_mask);
    items_.push_back(item(RTE_FLOW_ITEM_TYPE_TCP, any ? nullptr : &st_->tcp_spec, any ? nullptr : &st_->tcp_mask));
  }
}

void FlowSpec::add_rss(const std::vector<std::uint16_t>& queues, std::uint64_t types,
                       const std::vector<std::uint8_t>& key) {
  st_->rss_queues = queues;
  st_->rss_key = key;
  st_->rss.func = RTE_ETH_HASH_FUNCTION_DEFAULT;
  st_->rss.level = 0;
  st_->rss.types = types;
  st_->rss.queue_num = static_cast<std::uint32_t>(st_->rss_queues.size());
  st_->rss.queue = st_->rss_queues.data();
  st_->rss.key_len = static_cast<std::uint32_t>(st_->rss_key.size());
  st_->rss.key = st_->rss_key.empty() ? nullptr : st_->rss_key.data();
  actions_.push_back(action(RTE_FLOW_ACTION_TYPE_RSS, &st_->rss));
}

void FlowSpec::add_queue(std::uint16_t q) {
  st_->queue.index = q;
  actions_.push_back(action(RTE_FLOW_ACTION_TYPE_QUEUE, &st_->queue));
}

void FlowSpec::add_count() {
  st_->count.id = 0;
  actions_.push_back(action(RTE_FLOW_ACTION_TYPE_COUNT, &st_->count));
}

void FlowSpec::add_drop() {
  actions_.push_back(action(RTE_FLOW_ACTION_TYPE_DROP, nullptr));
}

void FlowSpec::finish() {
  items_.push_back(item(RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr));
  actions_.push_back(action(RTE_FLOW_ACTION_TYPE_END, nullptr));
}

}  // namespace sipwall::offload
