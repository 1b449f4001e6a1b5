// rules lookup: the lists, prefixes, guard rails and rules a compiled set
// holds for one number, in any form the dial plan normalises.
#include "control/common/number_lookup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "rules/compiler/compiler.h"
#include "tests/unit/rules/test_util.h"

using namespace sipwall;
using sipwall::control::lookup_number;
using sipwall::control::NumberLookup;

namespace {

constexpr const char* kSet = R"(version: "1"
name: lookup
dial_plan: {preset: china}
trunks:
  peer-a: {class: peer, sources: [192.0.2.0/24]}
  intl-gw: {class: international, sources: [198.51.100.0/24]}
lists:
  harassment: {file: lists/harassment.txt}
  premium: {file: lists/premium.txt, kind: prefix}
  vip: {file: lists/vip.txt}
guard_rails:
  emergency: ["110"]
  allow_callees: [vip]
rules:
  - id: harassment-callers
    priority: 100
    match: {caller: {in: harassment}}
    action: {reject: {code: 608}}
  - id: premium-callees
    priority: 50
    match: {ruri: {in: premium}}
    action: drop
  - id: intl-domestic
    priority: 80
    match: {trunk: intl-gw, caller: {prefix: ["+86"]}}
    action: drop
  - id: no-caller
    priority: 10
    match: {caller: {present: false}}
    action: {tag: {header: X-Risk, value: "no caller", score: 10}}
)";

class Lookup : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("lists/harassment.txt", "+8613800138000\n");
    dir_.write("lists/premium.txt", "+881\n+86 168\n");
    dir_.write("lists/vip.txt", "+86 10 8888 0000\n");
    rules::LoadResult lr = dir_.load(kSet);
    std::string errs;
    for (const auto& d : lr.diagnostics) errs += rules::format(d) + "\n";
    ASSERT_TRUE(lr.ok()) << errs;
    rules::CompileResult cr = rules::compile(*lr.rule_set);
    ASSERT_TRUE(cr.ok());
    set_ = std::move(cr.set);
  }
  NumberLookup look(const std::string& number, const std::string& trunk = "") {
    std::uint32_t t = classify::kNoTrunk;
    for (std::size_t i = 0; i < set_->trunk_count(); ++i)
      if (set_->trunk_name(i) == trunk) t = static_cast<std::uint32_t>(i);
    NumberLookup out;
    std::string why;
    EXPECT_TRUE(lookup_number(*set_, number, t, out, &why)) << why;
    return out;
  }
  // The named lists (the rules' inline values are generated lists too).
  static std::vector<std::string> list_names(const NumberLookup& l) {
    std::vector<std::string> v;
    for (const auto& h : l.lists)
      if (h.origin == rules::ListOrigin::named) v.push_back(h.name);
    return v;
  }
  static std::vector<std::string> rule_ids(const NumberLookup& l) {
    std::vector<std::string> v;
    for (const auto& h : l.rules) v.push_back(h.role + ":" + h.rule_id + (h.decided ? "*" : ""));
    return v;
  }

  rules::test::TempDir dir_;
  std::unique_ptr<rules::CompiledRuleSet> set_;
};

TEST_F(Lookup, AnyWrittenFormFindsTheListAndTheRule) {
  for (const char* written :
       {"+8613800138000", "013800138000", "13800138000", "+86 138-0013-8000", "tel:+8613800138000"}) {
    const NumberLookup l = look(written);
    EXPECT_EQ(l.number.text(), "+8613800138000") << written;
    EXPECT_EQ(list_names(l), std::vector<std::string>{"harassment"}) << written;
    EXPECT_EQ(rule_ids(l), std::vector<std::string>{"caller:harassment-callers*"}) << written;
    ASSERT_EQ(l.verdicts.size(), 2U);
    EXPECT_EQ(l.verdicts[0].action, "reject");
    // As the callee nothing holds this number (the caller of that INVITE is
    // present, though not a number: no-caller does not match either).
    EXPECT_EQ(l.verdicts[1].decided_by, "(default)");
  }
}

TEST_F(Lookup, PrefixListNamesThePrefixThatHoldsTheNumber) {
  const NumberLookup l = look("+86 168 1234 5678");
  ASSERT_EQ(list_names(l), std::vector<std::string>{"premium"});
  EXPECT_EQ(l.lists[0].kind, rules::ListKind::prefix);
  EXPECT_EQ(l.lists[0].prefix, "+86168");
  // intl-domestic's inline "+86", a generated prefix list.
  ASSERT_EQ(l.lists.size(), 2U);
  EXPECT_EQ(l.lists[1].origin, rules::ListOrigin::inline_values);
  EXPECT_EQ(l.lists[1].prefix, "+86");
  EXPECT_EQ(rule_ids(l), std::vector<std::string>{"callee:premium-callees*"});
  EXPECT_EQ(look("+881 2345 6789").lists.at(0).prefix, "+881");
  EXPECT_TRUE(list_names(look("+86 169 1234 5678")).empty());
}

TEST_F(Lookup, TrunkMakesTrunkRulesCount) {
  const auto has = [](const NumberLookup& l, const std::string& id) {
    return std::any_of(l.rules.begin(), l.rules.end(), [&](const auto& h) { return h.rule_id == id; });
  };
  EXPECT_FALSE(has(look("+8613900139000"), "intl-domestic"));
  const NumberLookup l = look("+8613900139000", "intl-gw");
  EXPECT_EQ(l.trunk, "intl-gw");
  EXPECT_TRUE(has(l, "intl-domestic"));
  // The inline prefix of the rule is a generated list the number is in.
  EXPECT_TRUE(std::any_of(l.lists.begin(), l.lists.end(),
                          [](const auto& h) { return h.origin == rules::ListOrigin::inline_values; }));
}

TEST_F(Lookup, GuardRails) {
  EXPECT_TRUE(look("110").emergency);
  const NumberLookup vip = look("010 8888 0000");
  EXPECT_TRUE(vip.allow_callee);
  EXPECT_EQ(list_names(vip), std::vector<std::string>{"vip"});
}

TEST_F(Lookup, NotANumberIsRefused) {
  NumberLookup out;
  std::string why;
  EXPECT_FALSE(lookup_number(*set_, "alice", classify::kNoTrunk, out, &why));
  EXPECT_NE(why.find("not a number"), std::string::npos) << why;
  EXPECT_FALSE(lookup_number(*set_, "+86 138\r\nX: y", classify::kNoTrunk, out, &why));
}

TEST_F(Lookup, TrunkSourceIsOneTheTableGivesToThatTrunk) {
  for (std::uint32_t t = 0; t < set_->trunk_count(); ++t) {
    auto src = control::trunk_source(*set_, t);
    ASSERT_TRUE(src.has_value()) << set_->trunk_name(t);
    EXPECT_EQ(set_->trunk_table().find(src->src_ip.data(), src->vlan, src->dst_port), t);
  }
}

TEST(DetectionKey, APartOfTheKeyIsTheNumber) {
  using control::detection_key_holds;
  EXPECT_TRUE(detection_key_holds("+8613800001111", "+8613800001111"));
  EXPECT_TRUE(detection_key_holds("+8613800001111 -> +8613900002222", "+8613900002222"));
  EXPECT_TRUE(detection_key_holds("+8613800001111 -> +8613900002222", "+8613800001111"));
  EXPECT_TRUE(detection_key_holds("peer-a -> +8613900002222", "+8613900002222"));
  EXPECT_FALSE(detection_key_holds("+86138000011112", "+8613800001111"));  // a longer number
  EXPECT_FALSE(detection_key_holds("+8613800001111 -> +8613900002222", "+86139"));
  EXPECT_FALSE(detection_key_holds("192.0.2.1", ""));
}

}  // namespace
