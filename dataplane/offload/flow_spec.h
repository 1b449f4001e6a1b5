// Flow rules as rte_flow wants them: a pattern (item list) and an action
// list, each ending in END, with every spec/mask/conf they point to owned by
// the FlowSpec itself (heap storage that does not move when the FlowSpec
// does). Building one needs only DPDK's headers, not the EAL: the
// translation (flow_translate.h) is unit-tested without hardware.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sipwall::offload {

enum class FlowKind : std::uint8_t { steer, deny };

inline constexpr std::uint32_t kNoEntry = 0xFFFFFFFFU;

// Priorities (rte_flow_attr::priority, lower wins): deny rules must beat the
// steering rules that would otherwise send the same packet to a worker.
inline constexpr std::uint32_t kDenyPriority = 0;
inline constexpr std::uint32_t kSteerPriority = 1;

class FlowSpec {
 public:
  FlowSpec();
  FlowSpec(FlowSpec&&) noexcept = default;
  FlowSpec& operator=(FlowSpec&&) noexcept = default;
  FlowSpec(const FlowSpec&) = delete;
  FlowSpec& operator=(const FlowSpec&) = delete;

  FlowKind kind = FlowKind::steer;
  std::string description;              // one line for logs and status
  std::uint32_t deny_entry = kNoEntry;  // deny: index of the rule set's entry
  std::string deny_id;                  // deny: the entry's id (counter label)
  rte_flow_attr attr{};

  const rte_flow_item* pattern() const noexcept { return items_.data(); }
  const rte_flow_action* actions() const noexcept { return actions_.data(); }
  const std::vector<rte_flow_item>& items() const noexcept { return items_; }
  const std::vector<rte_flow_action>& action_list() const noexcept { return actions_; }

  // --- building (flow_translate.cpp) ---
  void add_eth();
  void add_vlan(std::uint16_t vid);                                    // outer tag, VID only (mask 0x0fff)
  void add_ipv4_src(const std::uint8_t* addr4, unsigned prefix_len);   // 0..32
  void add_ipv6_src(const std::uint8_t* addr16, unsigned prefix_len);  // 0..128
  void add_ipv4_any();
  void add_ipv6_any();
  void add_l4(std::uint8_t proto, int src_port, int dst_port);  // proto 17/6; port < 0: any
  void add_rss(const std::vector<std::uint16_t>& queues, std::uint64_t types, const std::vector<std::uint8_t>& key);
  void add_queue(std::uint16_t q);
  void add_count();
  void add_drop();
  void finish();  // appends END to both lists

 private:
  // Everything the item and action lists point into. One per FlowSpec,
  // heap-allocated so the pointers survive moves of the FlowSpec.
  struct Storage {
    rte_flow_item_vlan vlan_spec{}, vlan_mask{};
    rte_flow_item_ipv4 ipv4_spec{}, ipv4_mask{};
    rte_flow_item_ipv6 ipv6_spec{}, ipv6_mask{};
    rte_flow_item_udp udp_spec{}, udp_mask{};
    rte_flow_item_tcp tcp_spec{}, tcp_mask{};
    rte_flow_action_rss rss{};
    std::vector<std::uint16_t> rss_queues;
    std::vector<std::uint8_t> rss_key;
    rte_flow_action_queue queue{};
    rte_flow_action_count count{};
  };
  std::unique_ptr<Storage> st_;
  std::vector<rte_flow_item> items_;
  std::vector<rte_flow_action> actions_;
};

}  // namespace sipwall::offload
