#include "rules/compiler/compiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "rules/compiled/digit_order.h"
#include "rules/model/diagnostic.h"
#include "rules/number/e164_key.h"
#include "tests/unit/rules/compiled/rule_builders.h"
#include "tests/unit/rules/compiled/set_lookup.h"

using namespace sipwall;
using namespace sipwall::rules;
using namespace sipwall::rules::test;

namespace {

std::vector<std::string> errors_of(const CompileResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity == Severity::error) out.push_back(format(d));
  }
  return out;
}

bool has_error(const CompileResult& r, const std::string& text) {
  for (const std::string& e : errors_of(r)) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string all_errors(const CompileResult& r) {
  std::string s;
  for (const std::string& e : errors_of(r)) s += e + "\n";
  return s;
}

SetBuilder basic() {
  SetBuilder b;
  b.exact("harassment", {"+8613800138000", "13900139000"})
      .prefixes("premium", {"86168", "861680"})
      .trunk("intl", "international", {SetBuilder::source("10.1.0.0/16")}, {"86"})
      .rule("block", in_list(Field::caller, "harassment", at(20, 9)), reject(608, "Harassment"), 10)
      .rule("premium", in_list(Field::ruri, "premium"), act(ActionKind::drop))
      .rule("ua", regex(Field::user_agent, {"(?i)robo"}), tag("X-Risk", "rule={rule};score={score}", 80), 10);
  return b;
}

}  // namespace

TEST(Compiler, CompilesAndOrdersRulesByPriorityThenFileOrder) {
  const CompileResult r = compile(basic().rs);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const CompiledRuleSet& s = *r.set;
  ASSERT_EQ(s.rule_count(), 3U);
  EXPECT_EQ(s.rule_id(0), "block");    // priority 10, file order 0
  EXPECT_EQ(s.rule_id(1), "ua");       // priority 10, file order 2
  EXPECT_EQ(s.rule_id(2), "premium");  // priority 0
  EXPECT_EQ(s.version(), "2024-05-01.1");
  EXPECT_EQ(s.name(), "test");
  EXPECT_NE(s.checksum(), 0U);
  EXPECT_EQ(r.stats.exact_numbers, 2U);
  EXPECT_EQ(r.stats.patterns, 1U);
  EXPECT_EQ(r.stats.pattern_databases, 1U);
  EXPECT_EQ(r.stats.named_lists, 2U);
  EXPECT_EQ(r.stats.trunks, 1U);
  EXPECT_EQ(find_rule(s, "premium").value(), 2U);
  EXPECT_EQ(find_list(s, "premium").value(), 1U);
  EXPECT_EQ(find_trunk(s, "intl").value(), 0U);
  EXPECT_EQ(s.trunk_class_name(0), "international");
  const std::string text = format_stats(r.stats);
  EXPECT_NE(text.find("harassment"), std::string::npos);
  EXPECT_NE(text.find("patterns: 1"), std::string::npos);
}

TEST(Compiler, TablesHoldTheListsNumbers) {
  const CompileResult r = compile(basic().rs);
  ASSERT_TRUE(r.ok());
  const CompiledRuleSet& s = *r.set;
  const auto bit = s.list(*find_list(s, "harassment")).bit;
  const auto id = s.exact_table().find(number::pack("8613800138000"));
  ASSERT_NE(id, 0U);
  EXPECT_TRUE(s.sets(NumberSpace::exact).test(id, bit));
  EXPECT_EQ(s.exact_table().find(number::pack("8613800138001")), 0U);
  const auto pbit = s.list(*find_list(s, "premium")).bit;
  const auto pid = s.prefix_map().find(order_key("8616812345678"));
  EXPECT_TRUE(s.sets(NumberSpace::prefix).test(pid, pbit));
  EXPECT_FALSE(s.sets(NumberSpace::prefix).test(s.prefix_map().find(order_key("8616912345678")), pbit));
}

TEST(Compiler, ActionsArePreRendered) {
  SetBuilder b;
  b.rule("r603", present(Field::caller), reject(603, "Spam \"likely\""))
      .rule("r608", present(Field::caller), reject(608, "Blocked", "https://jcard.example.com/a.json"))
      .rule("t", present(Field::caller), tag("X-Sipwall-Risk", "score={score}; rule={rule}", 75));
  const CompileResult r = compile(b.rs);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const CompiledRuleSet& s = *r.set;
  const ActionInfo& a603 = s.rule_action(0);
  EXPECT_EQ(a603.reject_code, 603);
  EXPECT_EQ(s.str(a603.phrase), "Decline");
  EXPECT_EQ(s.str(a603.reason_line), "Reason: SIP;cause=603;text=\"Spam \\\"likely\\\"\"");
  EXPECT_EQ(s.str(a603.call_info_line), "");
  const ActionInfo& a608 = s.rule_action(1);
  EXPECT_EQ(s.str(a608.phrase), "Rejected");
  EXPECT_EQ(s.str(a608.call_info_line), "Call-Info: <https://jcard.example.com/a.json>;purpose=jwscard");
  EXPECT_EQ(s.str(s.rule_action(2).tag_line), "X-Sipwall-Risk: score=75; rule=t");
  EXPECT_EQ(s.default_action().kind, ActionKind::pass);
}

TEST(Compiler, SamePredicateInManyRulesIsOneAtom) {
  SetBuilder b;
  b.exact("l", {"+8613800138000"});
  for (int i = 0; i < 20; ++i) {
    b.rule("r" + std::to_string(i), in_list(Field::caller, "l"), act(ActionKind::trace));
  }
  b.rule("p1", prefix(Field::ruri, {"8613", "8614"}), act(ActionKind::drop));
  b.rule("p2", prefix(Field::ruri, {"8614", "+8613"}), act(ActionKind::drop));  // same values
  const CompileResult r = compile(b.rs);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.stats.atoms, 2U);
  EXPECT_EQ(r.stats.generated_lists, 1U);
}

TEST(Compiler, ChecksumIsDeterministicAndContentSensitive) {
  const CompileResult a = compile(basic().rs);
  const CompileResult b = compile(basic().rs);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.set->checksum(), b.set->checksum());
  SetBuilder changed = basic();
  changed.rs.lists[0].numbers.push_back(number::pack("8619900000000"));
  const CompileResult c = compile(changed.rs);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a.set->checksum(), c.set->checksum());
  SetBuilder reworded = basic();
  reworded.rs.rules[0].action.reason_text = "Harassment!";
  EXPECT_NE(a.set->checksum(), compile(reworded.rs).set->checksum());
}

TEST(Compiler, EveryErrorHasItsLocation) {
  SetBuilder b;
  b.exact("l", {"+8613800138000"})
      .trunk("t1", "peer", {SetBuilder::source("10.0.0.0/8")})
      .rule("a", in_list(Field::caller, "nosuch", at(7, 11)), act(ActionKind::drop))
      .rule("b", regex(Field::user_agent, {"ok", "(unclosed", "also[bad"}, at(8, 5)), act(ActionKind::drop))
      .rule("c", present(Field::caller), reject(404))
      .rule("d", equals(Field::trunk, {"t9"}, at(9, 4)), act(ActionKind::drop))
      .rule("e", prefix(Field::trunk, {"1"}, at(10, 6)), act(ActionKind::drop))
      .rule("f", prefix(Field::caller, {"86a"}, at(11, 2)), act(ActionKind::drop))
      .rule("g", range(Field::caller, {{"8613", "86139"}}, at(12, 2)), act(ActionKind::drop))
      .rule("a", present(Field::caller), tag("X-Bad Header", "v", 1))
      .default_action(act(ActionKind::trace));
  b.rs.defaults.where = at(30, 3);
  const CompileResult r = compile(b.rs);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "rules.yaml:7:11: unknown list 'nosuch'")) << all_errors(r);
  // Both bad patterns, each at its own value position (column + 10 + index).
  EXPECT_TRUE(has_error(r, "rules.yaml:8:16: regex '(unclosed' on user_agent:")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "rules.yaml:8:17: regex 'also[bad' on user_agent:")) << all_errors(r);
  EXPECT_FALSE(has_error(r, "regex 'ok'"));
  EXPECT_TRUE(has_error(r, "reject code 404 is not 603 or 608")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "rules.yaml:9:14: unknown trunk 't9'")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "rules.yaml:10:6: operator 'prefix' does not apply to field 'trunk'")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "rules.yaml:11:12: prefix '86a' is not 1 to 15 digits")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "both ends must have the same number of digits")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "rule id 'a' is used twice")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "tag header 'X-Bad Header' is not a header name")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "rules.yaml:30:3: the default action cannot be 'trace'")) << all_errors(r);
}

TEST(Compiler, HeaderInjectionIsRefused) {
  SetBuilder b;
  b.rule("x", present(Field::caller), reject(603, "bye\r\nX-Evil: 1"))
      .rule("y", present(Field::caller), tag("X-Risk", "a\nb", 1))
      .rule("z", present(Field::caller), reject(603, "", "https://x"));
  const CompileResult r = compile(b.rs);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "reason text holds a control character"));
  EXPECT_TRUE(has_error(r, "tag value holds a control character"));
  EXPECT_TRUE(has_error(r, "call_info is only sent with 608"));
}

TEST(Compiler, AmbiguousTrunkSourceIsAnError) {
  SetBuilder b;
  b.trunk("a", "peer", {SetBuilder::source("10.0.0.0/24", 5)})
      .trunk("b", "peer", {SetBuilder::source("10.0.0.7/24", 5)})   // same prefix after masking
      .trunk("c", "peer", {SetBuilder::source("10.0.0.0/24", 6)});  // other VLAN: fine
  const CompileResult r = compile(b.rs);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "source '10.0.0.7/24' of trunk 'b' is also a source of trunk 'a'")) << all_errors(r);
  EXPECT_EQ(errors_of(r).size(), 1U);
}

TEST(Compiler, NestingDepthIsBounded) {
  MatchExpr m = present(Field::caller);
  for (int i = 0; i < 40; ++i) m = all({std::move(m), present(Field::from)});
  SetBuilder b;
  b.rule("deep", std::move(m), act(ActionKind::drop));
  const CompileResult r = compile(b.rs);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "match nested deeper than 32 levels"));
}

TEST(Compiler, GuardRailsResolve) {
  SetBuilder b;
  b.exact("vip", {"+8613800138000"});
  b.rs.guard_rails.emergency = {"110", "+8612345"};
  b.rs.guard_rails.allow_callers = {"vip"};
  b.rs.guard_rails.allow_callees = {"nosuch"};
  const CompileResult r = compile(b.rs);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "allow_callees: unknown list 'nosuch'"));
  b.rs.guard_rails.allow_callees.clear();
  const CompileResult ok = compile(b.rs);
  ASSERT_TRUE(ok.ok()) << all_errors(ok);
  EXPECT_TRUE(ok.set->is_emergency(number::pack("110")));
  EXPECT_TRUE(ok.set->is_emergency(number::pack("8612345")));
  EXPECT_FALSE(ok.set->is_emergency(number::pack("111")));
  EXPECT_EQ(ok.set->allow_callers().size(), 1U);
}

TEST(Compiler, ManyListsOverlappingNumbersShareCombinations) {
  SetBuilder b;
  std::vector<number::E164Key> a, c;
  for (std::uint64_t i = 0; i < 1000; ++i) a.push_back(number::pack(std::to_string(8613800000000ULL + i)));
  for (std::uint64_t i = 500; i < 1500; ++i) c.push_back(number::pack(std::to_string(8613800000000ULL + i)));
  b.exact_keys("a", a).exact_keys("c", c);
  b.rule("r", in_list(Field::caller, "a"), act(ActionKind::drop));
  const CompileResult r = compile(b.rs);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.stats.exact_numbers, 1500U);
  EXPECT_EQ(r.stats.exact_list_sets, 4U);  // {}, {a}, {a,c}, {c}
  const CompiledRuleSet& s = *r.set;
  const auto both = s.exact_table().find(number::pack("8613800000700"));
  EXPECT_TRUE(s.sets(NumberSpace::exact).test(both, 0));
  EXPECT_TRUE(s.sets(NumberSpace::exact).test(both, 1));
  const auto only_c = s.exact_table().find(number::pack("8613800001200"));
  EXPECT_FALSE(s.sets(NumberSpace::exact).test(only_c, 0));
  EXPECT_TRUE(s.sets(NumberSpace::exact).test(only_c, 1));
}
