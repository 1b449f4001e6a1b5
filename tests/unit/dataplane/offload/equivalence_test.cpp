// The software deny table (CompiledRuleSet::find_deny, the worker's first
// stage) and the translated rte_flow rules (evaluated by flow_matches) agree
// on every packet: the same packets are dropped, and the entries whose rules
// match are exactly the entries that match by definition (prefix, VLAN,
// port). The one deliberate difference: an IPv6 packet with an IPv4-mapped
// source is dropped by software for an IPv4 entry but by no hardware rule
// (flow_translate.h) -- checked as "hardware is a subset" there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>

#include "dataplane/offload/flow_match.h"
#include "dataplane/offload/flow_translate.h"
#include "dataplane/offload/rule_set_input.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"

namespace sipwall::offload {
namespace {

const char* kRules = R"(version: "1"
dial_plan: {preset: china}
deny_sources:
  - 203.0.113.0/24
  - {cidr: 203.0.113.128/25, vlan: 10, id: inner-vlan10}
  - {cidr: 198.51.100.7, port: 5060, id: scanner}
  - {cidr: 198.51.100.0/24, port: 5061, vlan: 20, id: tls-vlan20}
  - {cidr: 10.0.0.0/8, id: rfc1918}
  - {cidr: 10.20.0.0/16, port: 5060, id: ten-twenty-sip}
  - {cidr: 0.0.0.0/1, vlan: 4000, id: half-v4-on-4000}
  - {cidr: '2001:db8:bad::/48', id: v6-bad}
  - {cidr: '2001:db8:bad:1::/64', vlan: 30, port: 5060, id: v6-narrow}
  - {cidr: '2001:db8::5/128', port: 5062, id: v6-host}
  - {cidr: '::ffff:192.0.2.0/120', id: mapped-doc}
  - {cidr: '::/2', vlan: 4001, id: low-quarter-4001}
rules: []
)";

struct Entry {
  std::uint8_t addr[16];
  unsigned len;
  int vlan, port;
};

bool entry_matches(const Entry& e, const PacketFields& p, int port_arg) {
  for (unsigned bit = 0; bit < e.len; ++bit) {
    const std::uint8_t m = static_cast<std::uint8_t>(0x80U >> (bit % 8));
    if ((e.addr[bit / 8] & m) != (p.src[bit / 8] & m)) return false;
  }
  if (e.vlan >= 0 && e.vlan != p.vlan) return false;
  if (e.port >= 0 && e.port != port_arg) return false;
  return true;
}

class Equivalence : public ::testing::Test {
 protected:
  void SetUp() override {
    rules::LoadResult r = rules::load_rule_set_from_string(kRules, "deny.yaml");
    ASSERT_TRUE(r.ok());
    rules::CompileResult c = rules::compile(*r.rule_set);
    ASSERT_TRUE(c.set);
    set = std::move(c.set);
    inputs = deny_inputs(*set);
    flows = deny_flows(inputs);
    for (const DenyInput& d : inputs) {
      Entry e;
      std::memcpy(e.addr, d.addr, 16);
      e.len = d.prefix_len;
      e.vlan = d.vlan;
      e.port = d.port;
      entries.push_back(e);
    }
  }
  std::unique_ptr<rules::CompiledRuleSet> set;
  std::vector<DenyInput> inputs;
  std::vector<FlowSpec> flows;
  std::vector<Entry> entries;
};

TEST_F(Equivalence, TranslationCoversEveryEntry) {
  ASSERT_EQ(inputs.size(), 12u);
  std::set<std::uint32_t> covered;
  for (const FlowSpec& f : flows) covered.insert(f.deny_entry);
  EXPECT_EQ(covered.size(), inputs.size());
  // 9 entries of one family without port = 1 rule; scanner, ten-twenty-sip,
  // tls-vlan20, v6-narrow, v6-host: 2 rules; mapped-doc: v6 + v4; ::/2: v6 + v4.
  EXPECT_EQ(flows.size(), 5u * 1 + 5u * 2 + 2 + 2);
}

TEST_F(Equivalence, RandomPacketsSameVerdictAndEntries) {
  std::mt19937_64 rng(20261128);
  const int vlans[] = {-1, -1, 10, 20, 30, 4000, 4001, 7};
  const int ports[] = {5060, 5061, 5062, 5080, 1234};
  unsigned dropped = 0, passed = 0, mapped_v6 = 0, frags = 0;
  for (int n = 0; n < 200000; ++n) {
    PacketFields p;
    // Source: near an entry (its prefix plus random host bits) or random.
    const bool near = rng() % 4 != 0;
    const Entry& base = entries[rng() % entries.size()];
    for (int i = 0; i < 16; ++i) p.src[i] = static_cast<std::uint8_t>(rng());
    if (near) {
      const unsigned keep = base.len > 4 && rng() % 5 == 0 ? base.len - 1 - static_cast<unsigned>(rng() % 4) : base.len;
      for (unsigned bit = 0; bit < keep; ++bit) {
        const std::uint8_t m = static_cast<std::uint8_t>(0x80U >> (bit % 8));
        p.src[bit / 8] = static_cast<std::uint8_t>((p.src[bit / 8] & ~m) | (base.addr[bit / 8] & m));
      }
    }
    const bool mapped =
        std::all_of(p.src, p.src + 10, [](std::uint8_t b) { return b == 0; }) && p.src[10] == 0xFF && p.src[11] == 0xFF;
    if (rng() % 3 == 0) {  // an IPv4 packet: mapped form, as the decoder stores it
      std::memset(p.src, 0, 10);
      p.src[10] = p.src[11] = 0xFF;
      p.ip_version = 4;
    } else {
      p.ip_version = mapped ? (rng() % 2 ? 4 : 6) : 6;
    }
    p.vlan = vlans[rng() % std::size(vlans)];
    const unsigned kind = static_cast<unsigned>(rng() % 10);
    p.l4_proto = kind < 5 ? 17 : kind < 9 ? 6 : 1;  // UDP, TCP, ICMP
    p.has_l4 = p.l4_proto != 1 && rng() % 8 != 0;   // some non-first fragments
    frags += p.l4_proto != 1 && !p.has_l4;
    p.dst_port = p.has_l4 ? static_cast<std::uint16_t>(ports[rng() % std::size(ports)]) : 0;
    p.src_port = p.has_l4 ? static_cast<std::uint16_t>(rng()) : 0;

    // The worker's call (worker.cpp): port only for frames with an L4 header.
    const int port_arg = p.has_l4 && (p.l4_proto == 17 || p.l4_proto == 6) ? p.dst_port : 0;
    const std::uint32_t sw = set->find_deny(p.src, p.vlan, static_cast<std::uint16_t>(port_arg));
    std::set<std::uint32_t> by_definition, by_flows;
    for (std::uint32_t i = 0; i < entries.size(); ++i)
      if (entry_matches(entries[i], p, port_arg)) by_definition.insert(i);
    for (const FlowSpec& f : flows)
      if (flow_matches(f, p)) by_flows.insert(f.deny_entry);

    // Software agrees with the definition, and picks one of the matching entries.
    ASSERT_EQ(sw != rules::kNoDeny, !by_definition.empty()) << n;
    if (sw != rules::kNoDeny) {
      ASSERT_TRUE(by_definition.count(sw)) << n;
    }
    const bool v6_with_mapped_src = p.ip_version == 6 && p.src[10] == 0xFF && p.src[11] == 0xFF &&
                                    std::all_of(p.src, p.src + 10, [](std::uint8_t b) { return b == 0; });
    if (v6_with_mapped_src) {
      ++mapped_v6;
      for (std::uint32_t e : by_flows) {
        ASSERT_TRUE(by_definition.count(e)) << n;
      }
    } else {
      ASSERT_EQ(by_flows, by_definition) << "packet " << n;
    }
    (sw != rules::kNoDeny ? dropped : passed)++;
  }
  // The sample exercised both outcomes and the special cases.
  EXPECT_GT(dropped, 20000u);
  EXPECT_GT(passed, 20000u);
  EXPECT_GT(frags, 1000u);
  EXPECT_GT(mapped_v6, 100u);
}

TEST_F(Equivalence, MostSpecificEntryIsTheCountedOne) {
  // 203.0.113.200 on VLAN 10: both 203.0.113.0/24 and inner-vlan10 match;
  // software counts the VLAN-qualified one (trunk-table order).
  PacketFields p;
  p.ip_version = 4;
  p.src[10] = p.src[11] = 0xFF;
  p.src[12] = 203, p.src[13] = 0, p.src[14] = 113, p.src[15] = 200;
  p.vlan = 10;
  p.l4_proto = 17;
  p.has_l4 = true;
  p.dst_port = 5060;
  const std::uint32_t sw = set->find_deny(p.src, p.vlan, 5060);
  ASSERT_NE(sw, rules::kNoDeny);
  EXPECT_EQ(set->deny_id(sw), "inner-vlan10");
  unsigned matching = 0;
  for (const FlowSpec& f : flows) matching += flow_matches(f, p);
  EXPECT_EQ(matching, 2u);
}

}  // namespace
}  // namespace sipwall::offload
