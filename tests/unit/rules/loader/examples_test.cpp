// The shipped example rule sets load with no error and no warning, and the
// demo set holds what the demo pcap relies on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "rules/loader/loader.h"
#include "rules/model/model_text.h"
#include "rules/model/precedence.h"

namespace sipwall::rules {
namespace {

// SIPWALL_SOURCE_DIR from the environment (ctest), else the tree this
// binary was built from.
std::filesystem::path examples_dir() {
  const char* src = std::getenv("SIPWALL_SOURCE_DIR");
  return std::filesystem::path(src ? src : SIPWALL_RULES_TEST_SOURCE_DIR) / "rules" / "examples";
}

TEST(Examples, EveryExampleLoadsClean) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(examples_dir())) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  const std::vector<std::string> expected = {
      "behaviour.yaml",      "call-center-dnc.yaml", "demo.yaml",      "harassment-blocklist.yaml",
      "spoofing-guard.yaml", "tag-suspected.yaml",   "user-agent.yaml"};
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.filename().string());
  EXPECT_EQ(names, expected);
  for (const auto& f : files) {
    const LoadResult r = load_rule_set(f);
    std::string diags;
    for (const auto& d : r.diagnostics) diags += format(d) + "\n";
    EXPECT_TRUE(r.ok()) << f << "\n" << diags;
    EXPECT_TRUE(r.diagnostics.empty()) << f << "\n" << diags;
    if (r.ok()) {
      EXPECT_FALSE(r.rule_set->rules.empty()) << f;
      EXPECT_EQ(r.rule_set->name, f.stem().string());
    }
  }
}

const Trunk* trunk(const RuleSet& rs, const std::string& name) {
  for (const Trunk& t : rs.trunks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const NumberList* list(const RuleSet& rs, const std::string& name) {
  for (const NumberList& l : rs.lists) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

bool has(const NumberList* l, const char* digits) {
  return l != nullptr && std::binary_search(l->numbers.begin(), l->numbers.end(), number::pack(digits));
}

// behaviour.yaml is what issue 14 lists, and nothing that blocks an unknown source.
TEST(Examples, BehaviourHoldsExactlyTheIssueDetectors) {
  const LoadResult r = load_rule_set(examples_dir() / "behaviour.yaml");
  ASSERT_TRUE(r.ok());
  const RuleSet& rs = *r.rule_set;
  EXPECT_EQ(rs.defaults.action.kind, ActionKind::pass);
  EXPECT_TRUE(rs.lists.empty() && rs.trunks.empty() && rs.deny_sources.empty());
  ASSERT_EQ(rs.detectors.size(), 3u);
  const detect::DetectorSpec& bomb = rs.detectors[0].spec;
  EXPECT_EQ(rs.detectors[0].name, "call_bombing");
  EXPECT_EQ(bomb.key, detect::DetectKey::caller_callee);
  EXPECT_EQ(bomb.count, detect::DetectCount::invites);
  EXPECT_EQ(bomb.window_ms, 60'000u);
  EXPECT_EQ(bomb.block, 10u);
  EXPECT_EQ(bomb.warn, 0u);
  EXPECT_EQ(bomb.block_for_ms, 600'000u);
  EXPECT_FALSE(bomb.report_only);
  const detect::DetectorSpec& mass = rs.detectors[1].spec;
  EXPECT_EQ(mass.key, detect::DetectKey::caller);
  EXPECT_EQ(mass.count, detect::DetectCount::distinct_callees);
  EXPECT_EQ(mass.window_ms, 60'000u);
  EXPECT_EQ(mass.block, 100u);
  EXPECT_EQ(mass.block_for_ms, 600'000u);
  const detect::DetectorSpec& ring = rs.detectors[2].spec;
  EXPECT_EQ(ring.key, detect::DetectKey::caller);
  EXPECT_EQ(ring.count, detect::DetectCount::one_ring);
  EXPECT_EQ(ring.within_ms, 3'000u);
  EXPECT_EQ(ring.window_ms, 300'000u);
  EXPECT_EQ(ring.block, 20u);
  EXPECT_EQ(ring.block_for_ms, 3'600'000u);
  ASSERT_EQ(rs.rules.size(), 4u);
  EXPECT_EQ(rs.rules[0].action.kind, ActionKind::reject);
  EXPECT_EQ(rs.rules[0].action.reject_code, 608);
  EXPECT_EQ(rs.rules[0].match.predicate.detector, "call_bombing");
  EXPECT_EQ(rs.rules[1].action.kind, ActionKind::reject);
  EXPECT_EQ(rs.rules[1].action.reject_code, 608);
  EXPECT_EQ(rs.rules[1].match.predicate.detector, "mass_calling");
  EXPECT_EQ(rs.rules[2].action.kind, ActionKind::drop);
  EXPECT_EQ(rs.rules[2].match.predicate.detector, "one_ring");
  EXPECT_EQ(rs.rules[3].action.kind, ActionKind::tag);
  EXPECT_EQ(rs.rules[3].match.predicate.op, Op::caller_shares_callee_prefix);
  EXPECT_EQ(rs.rules[3].match.predicate.digits, 7u);
}

TEST(Examples, DemoHoldsTheDemoTrunksNumbersAndRules) {
  const LoadResult r = load_rule_set(examples_dir() / "demo.yaml");
  ASSERT_TRUE(r.ok());
  const RuleSet& rs = *r.rule_set;
  EXPECT_TRUE(rs.dial_plan == number::DialPlan::china());

  const Trunk* intl = trunk(rs, "intl-gw");
  ASSERT_NE(intl, nullptr);
  EXPECT_EQ(intl->trunk_class, "international");
  ASSERT_EQ(intl->sources.size(), 1u);
  EXPECT_EQ(intl->sources[0].text, "198.51.100.0/24");
  const Trunk* cc = trunk(rs, "cc-trunk");
  ASSERT_NE(cc, nullptr);
  EXPECT_EQ(cc->trunk_class, "call_center");
  EXPECT_EQ(cc->sources.at(0).text, "203.0.113.0/25");
  ASSERT_EQ(cc->caller_ranges.size(), 1u);
  EXPECT_EQ(cc->caller_ranges[0].first, "862160000000");
  EXPECT_EQ(cc->caller_ranges[0].last, "862160009999");
  const Trunk* peer = trunk(rs, "peer-a");
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(peer->trunk_class, "peer");
  ASSERT_EQ(peer->sources.size(), 2u);
  EXPECT_EQ(peer->sources[1].text, "2001:db8:a::/48");
  EXPECT_FALSE(peer->sources[1].is_ipv4);

  EXPECT_TRUE(has(list(rs, "harassment"), "8613800138000"));
  EXPECT_TRUE(has(list(rs, "harassment"), "8613900139000"));
  EXPECT_TRUE(has(list(rs, "dnc"), "8613700137000"));
  EXPECT_TRUE(has(list(rs, "suspected"), "8618600186000"));
  EXPECT_EQ(rs.guard_rails.emergency, (std::vector<std::string>{"110", "119", "120", "122", "112"}));

  // Rules in evaluation order, with their actions.
  std::vector<std::string> order;
  for (std::uint32_t i : precedence_order(rs)) {
    order.push_back(rs.rules[i].id + " " + to_string(rs.rules[i].action));
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"trace-test-number trace",
                                      "harassment-callers reject 608 \"Rejected by network call screening\" "
                                      "call_info https://sipwall.example.net/608/harassment.jwt",
                                      "cc-dnc reject 603 \"Do not call\"", "intl-domestic-caller drop",
                                      "cc-caller-spoofed reject 603 \"Caller ID not allowed on this trunk\"",
                                      "scanner-user-agent drop",
                                      "suspected-caller tag X-Sipwall-Risk \"score={score}; rule={rule}\" score 70"}));
  for (const Rule& rule : rs.rules) {
    if (rule.id == "trace-test-number") {
      EXPECT_EQ(to_string(rule.match), "ruri equals [+861010000000]");
    } else if (rule.id == "intl-domestic-caller") {
      EXPECT_EQ(to_string(rule.match), "all(trunk equals [intl-gw], caller prefix [+86])");
    } else if (rule.id == "cc-caller-spoofed") {
      EXPECT_EQ(to_string(rule.match), "all(trunk_class equals [call_center], caller_in_trunk_ranges false)");
    } else if (rule.id == "scanner-user-agent") {
      EXPECT_EQ(to_string(rule.match), "user_agent regex [\"(?i)friendly-scanner|sipvicious|sipcli\"]");
    }
  }
}

}  // namespace
}  // namespace sipwall::rules
