// Rule gates (CompiledRuleSet::rule_gates, rules/compiled/match_index.cpp):
// which rules get one, that they survive the artifact round trip, and that
// classify(), which skips gated rules whose regex target matched nothing,
// decides exactly as evaluating every rule does (explain()).
#include <gtest/gtest.h>

#include <cstdio>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/classify/classify.h"
#include "dataplane/classify/explain.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/model/model_text.h"
#include "tests/unit/dataplane/classify/sip_fixtures.h"
#include "tests/unit/rules/compiled/rule_builders.h"
#include "tests/unit/rules/compiled/set_lookup.h"

using namespace sipwall;
using namespace sipwall::classify;
using namespace sipwall::classify::test;
using namespace sipwall::rules::test;
using rules::ActionKind;
using rules::Field;

namespace {

std::unique_ptr<rules::CompiledRuleSet> compile_ok(const SetBuilder& b) {
  rules::CompileResult r = rules::compile(b.rs);
  std::string errs;
  for (const auto& d : r.diagnostics) errs += rules::format(d) + "\n";
  EXPECT_TRUE(r.ok()) << errs;
  return std::move(r.set);
}

std::uint32_t target_of(const rules::CompiledRuleSet& s, Field f) {
  const auto t = s.scan_targets();
  for (std::uint32_t i = 0; i < t.size(); ++i) {
    if (t[i].field == f) return i;
  }
  ADD_FAILURE() << "no scan target for " << rules::to_string(f);
  return rules::kNone;
}

std::uint32_t gate_of(const rules::CompiledRuleSet& s, std::string_view id) {
  const auto i = rules::test::find_rule(s, id);
  EXPECT_TRUE(i.has_value()) << id;
  return i ? rules::test::rule_gate(s, *i).target : rules::kNone;
}

TEST(RuleGates, OnlyWhereTheFirstPredicateIsARegexTheRuleNeeds) {
  SetBuilder b;
  b.exact("l", {"+8613900139000"})
      .rule("ua", regex(Field::user_agent, {"scanner"}), act(ActionKind::drop))
      .rule("ua-and-list", all({regex(Field::user_agent, {"dialer"}), in_list(Field::caller, "l")}),
            act(ActionKind::drop))
      .rule("list-and-ua", all({in_list(Field::caller, "l"), regex(Field::user_agent, {"bot"})}), act(ActionKind::drop))
      .rule("ua-or-list", any({regex(Field::user_agent, {"x1"}), in_list(Field::caller, "l")}), act(ActionKind::drop))
      .rule("not-ua", not_(regex(Field::user_agent, {"x2"})), act(ActionKind::trace))
      .rule("ua-or-ua", any({regex(Field::user_agent, {"x3"}), regex(Field::user_agent, {"x4"})}),
            act(ActionKind::drop))
      .rule("dn-and-ua", all({regex(Field::display_name, {"^Promo"}), regex(Field::user_agent, {"x5"})}),
            tag("X-Spam", "{rule}", 10))
      .rule("dn-or-not-dn", any({regex(Field::display_name, {"a"}), not_(regex(Field::display_name, {"b"}))}),
            act(ActionKind::trace))
      .rule("caller-regex", regex(Field::caller, {"^\\+8617"}), act(ActionKind::drop))
      .rule("nested",
            all({any({regex(Field::user_agent, {"x6"}), regex(Field::user_agent, {"x7"})}),
                 not_(in_list(Field::caller, "l"))}),
            act(ActionKind::drop));
  const auto s = compile_ok(b);
  ASSERT_TRUE(s);
  const std::uint32_t ua = target_of(*s, Field::user_agent);
  const std::uint32_t dn = target_of(*s, Field::display_name);
  const std::uint32_t caller = target_of(*s, Field::caller);
  EXPECT_EQ(gate_of(*s, "ua"), ua);
  EXPECT_EQ(gate_of(*s, "ua-and-list"), ua);
  EXPECT_EQ(gate_of(*s, "list-and-ua"), rules::kNone);  // the list is tested first: scanning first would not be lazy
  EXPECT_EQ(gate_of(*s, "ua-or-list"), rules::kNone);   // can match with no UA pattern
  EXPECT_EQ(gate_of(*s, "not-ua"), rules::kNone);
  EXPECT_EQ(gate_of(*s, "ua-or-ua"), ua);
  EXPECT_EQ(gate_of(*s, "dn-and-ua"), dn);
  EXPECT_EQ(gate_of(*s, "dn-or-not-dn"), rules::kNone);
  EXPECT_EQ(gate_of(*s, "caller-regex"), caller);
  EXPECT_EQ(gate_of(*s, "nested"), ua);
  // Only the caller is read from the exact table.
  EXPECT_EQ(s->exact_fields_used(), rules::field_bit(Field::caller));
}

TEST(RuleGates, RunsOfOneGateAreSkippedTogether) {
  SetBuilder b;
  b.exact("l", {"+8613900139000"})
      .rule("a0", regex(Field::user_agent, {"a0"}), act(ActionKind::drop))
      .rule("a1", regex(Field::user_agent, {"a1"}), act(ActionKind::trace))
      .rule("a2", regex(Field::user_agent, {"a2"}), act(ActionKind::drop))
      .rule("n", in_list(Field::caller, "l"), act(ActionKind::drop))
      .rule("d0", regex(Field::display_name, {"d0"}), act(ActionKind::drop))
      .rule("d1", regex(Field::display_name, {"d1"}), act(ActionKind::drop))
      .rule("a3", regex(Field::user_agent, {"a3"}), act(ActionKind::drop));
  const auto s = compile_ok(b);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->rule_gates().size(), 7U);
  const std::uint32_t want[] = {3, 3, 3, 4, 6, 6, 7};
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(s->rule_gates()[i].skip_to, want[i]) << i;
  EXPECT_EQ(s->rule_gates()[3].target, rules::kNone);

  // Derived again, identically, when the artifact is loaded.
  const std::string path = ::testing::TempDir() + "gates.swr";
  ASSERT_TRUE(rules::save_artifact(*s, path).ok);
  const rules::ArtifactLoadResult l = rules::load_artifact(path);
  ASSERT_TRUE(l.ok()) << l.message;
  ASSERT_EQ(l.set->rule_gates().size(), 7U);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(l.set->rule_gates()[i].target, s->rule_gates()[i].target) << i;
    EXPECT_EQ(l.set->rule_gates()[i].skip_to, s->rule_gates()[i].skip_to) << i;
  }
  EXPECT_EQ(l.set->exact_fields_used(), s->exact_fields_used());
  EXPECT_EQ(l.set->checksum(), s->checksum());
  std::remove(path.c_str());
}

// The decision of evaluating every rule in order, from explain()'s list of
// every rule that matched (which does not use gates).
struct Reference {
  std::uint32_t rule = kNoRule;
  std::uint32_t trace = kNoRule;
};
Reference reference(const Explanation& x) {
  Reference r;
  if (x.emergency || x.allow_caller || x.allow_callee) return r;
  for (const RuleMatch& m : x.matched) {
    if (m.decided) {
      r.rule = m.rule;
      break;
    }
    if (m.action == ActionKind::trace && r.trace == kNoRule) r.trace = m.rule;
  }
  return r;
}

TEST(RuleGates, SameVerdictsAsEvaluatingEveryRule) {
  SetBuilder b;
  b.exact("complaints", {"+8613900139000", "+8613900139001"}).prefixes("premium", {"86900", "86901"});
  // Groups of gated rules around ungated ones, trace rules inside groups,
  // and rules whose gate holds but whose other predicates do not.
  for (int g = 0; g < 4; ++g) {
    const std::string n = std::to_string(g);
    b.rule("ua-" + n, regex(Field::user_agent, {"(?i)dialer" + n, "scan" + n + "[0-9]"}),
           g == 1 ? act(ActionKind::trace) : act(ActionKind::drop), 50);
    b.rule("ua-list-" + n, all({regex(Field::user_agent, {"bot" + n}), in_list(Field::caller, "complaints")}),
           act(ActionKind::drop), 50);
    b.rule("dn-" + n, regex(Field::display_name, {"^Promo " + n, "Loan" + n}),
           g == 2 ? act(ActionKind::trace) : tag("X-Spam", "{rule}", 60), 40);
  }
  b.rule("complaints", in_list(Field::caller, "complaints"), reject(608), 45)
      .rule("premium", in_list(Field::ruri, "premium"), act(ActionKind::drop), 45)
      .rule("list-then-ua", all({in_list(Field::caller, "complaints"), regex(Field::user_agent, {"x"})}),
            act(ActionKind::drop), 45)
      .rule("late-ua", regex(Field::user_agent, {"late"}), act(ActionKind::drop), 10)
      // Regex first but no gate: they can match when the UA matches nothing.
      .rule("ua-or-list", any({regex(Field::user_agent, {"zz"}), in_list(Field::caller, "complaints")}),
            act(ActionKind::drop), 48)
      .rule("not-scan", not_(regex(Field::user_agent, {"(?i)scan"})), act(ActionKind::trace), 55);
  const auto set = compile_ok(b);
  ASSERT_TRUE(set);
  std::size_t gated = 0;
  for (const auto& g : set->rule_gates()) gated += g.target != rules::kNone;
  ASSERT_GE(gated, 12U);

  Scratch scratch;
  ASSERT_TRUE(scratch.prepare(*set));
  const char* const agents[] = {"",        "Yealink/1", "Dialer0 v2", "scan17", "bot2",        "bot3 late",
                                "DIALER3", "x",         "scan3x",     "late",   "bot0 dialer1"};
  const char* const names[] = {"", "Alice", "Promo 1", "Loan2 desk", "Promo 3 Loan0", "promo 1"};
  const char* const callers[] = {"+8613900139000", "+8613900139002", "13900139001", "anonymous"};
  const char* const callees[] = {"+8613800138000", "+869001234567", "0901234567"};
  std::mt19937 rng(5);
  std::size_t decided_by_rule = 0, traced = 0;
  for (int k = 0; k < 3000; ++k) {
    Invite i;
    i.user_agent = agents[rng() % std::size(agents)];
    const std::string name = names[rng() % std::size(names)];
    const std::string who = callers[rng() % std::size(callers)];
    i.from = (name.empty() ? "" : "\"" + name + "\" ") + "<sip:" + who + "@peer.example.com>;tag=1";
    i.ruri = std::string("sip:") + callees[rng() % std::size(callees)] + "@core.example.com";
    Parsed p(i);
    const PacketSource src = from_ip("10.1.2.3");
    const Explanation x = explain(*set, p.msg(), src, scratch);
    const Verdict v = classify::classify(*set, p.msg(), src, scratch);
    const Reference want = reference(x);
    SCOPED_TRACE(::testing::Message() << "UA '" << i.user_agent << "' From " << i.from << " R-URI " << i.ruri);
    ASSERT_EQ(v.rule, want.rule);
    ASSERT_EQ(v.trace_rule, want.trace);
    ASSERT_EQ(v.action, x.verdict.action);
    ASSERT_EQ(v.match_atom, x.verdict.match_atom);
    ASSERT_EQ(v.flags, 0);
    decided_by_rule += v.decided_by == DecidedBy::rule;
    traced += v.trace_rule != kNoRule;
  }
  // The mix must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(decided_by_rule, 300U);
  EXPECT_GT(traced, 100U);
}

}  // namespace
