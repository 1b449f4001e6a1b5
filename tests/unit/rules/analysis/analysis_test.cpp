// Precedence order, shadowed rules and unused lists.
#include "rules/analysis/analysis.h"

#include <gtest/gtest.h>

#include "rules/model/precedence.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

Rule rule(std::string id, std::int32_t priority, std::uint32_t order) {
  Rule r;
  r.id = std::move(id);
  r.priority = priority;
  r.file_order = order;
  return r;
}

TEST(Precedence, PriorityDescendingThenFileOrder) {
  const std::vector<Rule> rules = {rule("a", 0, 0), rule("b", 10, 1), rule("c", 0, 2), rule("d", -5, 3),
                                   rule("e", 10, 4)};
  EXPECT_EQ(precedence_order(rules), (std::vector<std::uint32_t>{1, 4, 0, 2, 3}));
  EXPECT_TRUE(evaluated_before(rules[1], rules[0]));
  EXPECT_TRUE(evaluated_before(rules[0], rules[2]));
  EXPECT_FALSE(evaluated_before(rules[2], rules[0]));
  EXPECT_TRUE(precedence_order(std::vector<Rule>{}).empty());
}

TEST(Precedence, FromALoadedSet) {
  TempDir dir;
  const LoadResult r = dir.load(kHead +
                                "rules:\n"
                                "  - {id: low, match: {caller: {prefix: \"+861\"}}, action: drop}\n"
                                "  - {id: high, priority: 5, match: {caller: {prefix: \"+862\"}}, action: drop}\n"
                                "  - {id: low2, match: {caller: {prefix: \"+863\"}}, action: drop}\n");
  ASSERT_TRUE(r.ok());
  std::vector<std::string> ids;
  for (std::uint32_t i : precedence_order(*r.rule_set)) ids.push_back(r.rule_set->rules[i].id);
  EXPECT_EQ(ids, (std::vector<std::string>{"high", "low", "low2"}));
}

class Shadowing : public ::testing::Test {
 protected:
  Lines warnings(const std::string& rules, const std::string& lists = "") {
    const LoadResult r = dir.load(kHead +
                                  "trunks:\n  gw: {class: international, sources: [198.51.100.0/24]}\n"
                                  "  cc: {class: call_center, sources: [203.0.113.0/25]}\n" +
                                  lists + "rules:\n" + rules);
    EXPECT_TRUE(r.ok()) << testing::PrintToString(dir.lines(r));
    return dir.lines(r);
  }
  TempDir dir;
};

TEST_F(Shadowing, IdenticalMatch) {
  EXPECT_EQ(warnings("  - {id: a, match: {user_agent: {regex: \"x\"}}, action: drop}\n"
                     "  - {id: b, match: {user_agent: {regex: \"x\"}}, action: {reject: {code: 603}}}\n"),
            Lines{"r.yaml:8:5: warning: rule 'b' can never match: it has the same match as 'a' "
                  "(r.yaml:7:5), which comes first (same priority, earlier in the file) and ends "
                  "evaluation with 'drop'"});
}

TEST_F(Shadowing, GeneralisationByConditionSubset) {
  // a: trunk_class international. b: trunk_class international AND caller prefix.
  EXPECT_EQ(warnings("  - {id: a, match: {trunk_class: international}, action: drop}\n"
                     "  - {id: b, match: {trunk_class: international, caller: {prefix: \"+86\"}}, action: drop}\n"),
            Lines{"r.yaml:8:5: warning: rule 'b' can never match: every call it matches also "
                  "matches 'a' (r.yaml:7:5), which comes first (same priority, earlier in the "
                  "file) and ends evaluation with 'drop'"});
}

TEST_F(Shadowing, PriorityDecidesWhoComesFirst) {
  // The general rule is later in the file but has a higher priority.
  EXPECT_EQ(warnings("  - {id: narrow, match: {caller: {prefix: \"+86 138\"}}, action: drop}\n"
                     "  - {id: wide, priority: 5, match: {caller: {prefix: \"+86 13\"}}, action: pass}\n"),
            Lines{"r.yaml:7:5: warning: rule 'narrow' can never match: every call it matches also "
                  "matches 'wide' (r.yaml:8:5), which comes first (priority 5 > 0) and ends "
                  "evaluation with 'pass'"});
  // Reversed priorities: the narrow rule runs first, nothing is shadowed.
  EXPECT_EQ(warnings("  - {id: narrow, priority: 5, match: {caller: {prefix: \"+86 138\"}}, action: drop}\n"
                     "  - {id: wide, match: {caller: {prefix: \"+86 13\"}}, action: pass}\n"),
            Lines{});
}

TEST_F(Shadowing, ContainmentOfNumbersRangesAndLists) {
  const std::string lists = "lists:\n  h: {entries: [\"+8613800138000\", \"+8613900139000\"]}\n";
  EXPECT_EQ(warnings("  - {id: l, match: {caller: {in: h}}, action: drop}\n"
                     "  - {id: n, match: {caller: {equals: \"+8613800138000\"}}, action: drop}\n"
                     "  - {id: r, match: {ruri: {range: \"+86 21 6000 0000 .. 9999\"}}, action: drop}\n"
                     "  - {id: r2, match: {ruri: {range: \"+86 21 6000 0100 .. 0199\"}}, action: drop}\n"
                     "  - {id: p, match: {to: {prefix: \"+86 21\"}}, action: drop}\n"
                     "  - {id: p2, match: {to: {range: \"+86 21 6000 0100 .. 0199\"}}, action: drop}\n"
                     "  - {id: q, match: {from: {present: true}}, action: drop}\n"
                     "  - {id: q2, match: {from: {regex: \"^\\\\+86\"}}, action: drop}\n",
                     lists),
            (Lines{"r.yaml:10:5: warning: rule 'n' can never match: every call it matches also "
                   "matches 'l' (r.yaml:9:5), which comes first (same priority, earlier in the "
                   "file) and ends evaluation with 'drop'",
                   "r.yaml:12:5: warning: rule 'r2' can never match: every call it matches also "
                   "matches 'r' (r.yaml:11:5), which comes first (same priority, earlier in the "
                   "file) and ends evaluation with 'drop'",
                   "r.yaml:14:5: warning: rule 'p2' can never match: every call it matches also "
                   "matches 'p' (r.yaml:13:5), which comes first (same priority, earlier in the "
                   "file) and ends evaluation with 'drop'",
                   "r.yaml:16:5: warning: rule 'q2' can never match: every call it matches also "
                   "matches 'q' (r.yaml:15:5), which comes first (same priority, earlier in the "
                   "file) and ends evaluation with 'drop'"}));
}

TEST_F(Shadowing, AnyAlternativesAndTrace) {
  EXPECT_EQ(warnings(
                // trace does not end evaluation: it shadows nothing.
                "  - {id: t, match: {trunk: gw}, action: trace}\n"
                "  - {id: a, match: {any: [{trunk: gw}, {trunk: cc}]}, action: drop}\n"
                // every alternative of b implies a's any: shadowed.
                "  - {id: b, match: {any: [{trunk: cc}, {trunk: gw, caller: {prefix: \"+1\"}}]}, action: drop}\n"
                // one alternative is not covered: not shadowed.
                "  - {id: c, match: {any: [{trunk: cc}, {caller: {prefix: \"+1\"}}]}, action: drop}\n"),
            Lines{"r.yaml:9:5: warning: rule 'b' can never match: every call it matches also "
                  "matches 'a' (r.yaml:8:5), which comes first (same priority, earlier in the "
                  "file) and ends evaluation with 'drop'"});
}

TEST_F(Shadowing, NoFalsePositives) {
  EXPECT_EQ(warnings("  - {id: a, match: {caller: {prefix: \"+86 138\"}}, action: drop}\n"
                     "  - {id: b, match: {from: {prefix: \"+86 138\"}}, action: drop}\n"   // other field
                     "  - {id: c, match: {caller: {prefix: \"+86 13\"}}, action: drop}\n"  // wider
                     "  - {id: d, match: {not: {caller: {prefix: \"+86 139\"}}}, action: drop}\n"
                     "  - {id: e, match: {header: {name: X-A, present: true}}, action: drop}\n"
                     "  - {id: f, match: {header: {name: X-B, present: true}}, action: drop}\n"
                     "  - {id: g, match: {user_agent: {regex: [\"x\", \"y\"]}}, action: drop}\n"
                     "  - {id: h, match: {user_agent: {regex: [\"y\", \"z\"]}}, action: drop}\n"),
            Lines{});
}

TEST(MatchImplies, NotReversesTheDirection) {
  TempDir dir;
  const LoadResult r = dir.load(kHead +
                                "rules:\n"
                                "  - {id: a, match: {not: {caller: {prefix: \"+86\"}}}, action: drop}\n"
                                "  - {id: b, match: {not: {caller: {prefix: \"+86 138\"}}}, action: drop}\n");
  ASSERT_TRUE(r.ok());
  const MatchExpr& a = r.rule_set->rules[0].match;
  const MatchExpr& b = r.rule_set->rules[1].match;
  // not(+86...) implies not(+86138...), not the other way.
  EXPECT_TRUE(match_implies(a, b));
  EXPECT_FALSE(match_implies(b, a));
  EXPECT_TRUE(match_implies(a, a));
}

TEST(UnusedLists, WarnsForListsNothingRefersTo) {
  TempDir dir;
  const LoadResult r = dir.load(kHead +
                                "lists:\n"
                                "  used: {entries: [\"+8613800138000\"]}\n"
                                "  vip: {entries: [\"+8613900139000\"]}\n"
                                "  orphan: {entries: [\"+8618600186000\"]}\n"
                                "guard_rails: {allow_callers: [vip], allow_callee_numbers: [\"+861012345678\"]}\n"
                                "rules:\n  - {id: a, match: {any: [{caller: {in: used}}]}, action: drop}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:6:3: warning: list 'orphan' is not used by any rule or guard rail"});
  // Without analysis the warning is not produced.
  LoadOptions no_analysis;
  no_analysis.analyze = false;
  EXPECT_EQ(dir.lines(dir.load(kHead + "lists:\n  orphan: {entries: [\"+8618600186000\"]}\n", "s.yaml", no_analysis)),
            Lines{"s.yaml:1:1: warning: the rule set has no 'rules'; every INVITE gets the default action"});
}

}  // namespace
}  // namespace sipwall::rules::test
