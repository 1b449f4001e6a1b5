// Shadow analysis at scale (issue 12: 10,000 rules took 7 s to check and
// 20,000 took 25 s, every rule compared with every earlier one). The
// analysis now compares a rule only with earlier rules an index says could
// shadow it. Checked without a clock: the number of comparisons must grow
// linearly with the rule count, and the warnings must be exactly those of the
// all-pairs comparison.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>

#include "rules/analysis/analysis.h"
#include "rules/model/compare.h"
#include "rules/model/model_text.h"
#include "rules/model/precedence.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

MatchExpr pred(Field f, Op op, std::vector<std::string> values) {
  MatchExpr m;
  m.predicate.field = f;
  m.predicate.op = op;
  m.predicate.values = std::move(values);
  return m;
}
MatchExpr range(Field f, std::string first, std::string last) {
  MatchExpr m;
  m.predicate.field = f;
  m.predicate.op = Op::range;
  m.predicate.ranges.push_back({std::move(first), std::move(last)});
  return m;
}
MatchExpr in_list(Field f, std::string list) {
  MatchExpr m;
  m.predicate.field = f;
  m.predicate.op = Op::in_list;
  m.predicate.list = std::move(list);
  return m;
}
MatchExpr present(Field f) {
  MatchExpr m;
  m.predicate.field = f;
  m.predicate.op = Op::present;
  return m;
}
MatchExpr node(MatchExpr::Kind k, std::vector<MatchExpr> children) {
  MatchExpr m;
  m.kind = k;
  m.children = std::move(children);
  return m;
}

Rule rule(std::size_t i, MatchExpr m, std::int32_t priority, ActionKind a = ActionKind::drop) {
  Rule r;
  r.id = "r" + std::to_string(i);
  r.priority = priority;
  r.file_order = static_cast<std::uint32_t>(i);
  r.match = std::move(m);
  r.action.kind = a;
  r.where = SourceLocation{"r.yaml", static_cast<std::uint32_t>(i + 1), 3};
  return r;
}

// The rule shapes of real sets: numbers, prefixes, ranges, names, lists,
// conjunctions of them; a few of them shadowed on purpose.
RuleSet typical(std::size_t n) {
  RuleSet rs;
  NumberList dnc;
  dnc.name = "dnc";
  dnc.kind = ListKind::prefix;
  dnc.prefixes = {"86400", "86800"};
  rs.lists.push_back(dnc);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string num = std::to_string(8613800000000ULL + i * 7);
    MatchExpr m;
    switch (i % 6) {
      case 0:
        m = pred(Field::caller, Op::equals, {num});
        break;
      case 1:
        m = pred(Field::ruri, Op::prefix, {std::to_string(861000000 + i)});
        break;
      case 2:
        m = pred(Field::user_agent, Op::regex, {"scanner-" + std::to_string(i)});
        break;
      case 3:
        m = node(MatchExpr::Kind::all, {pred(Field::trunk_class, Op::equals, {"c" + std::to_string(i % 50)}),
                                        pred(Field::ruri, Op::equals, {num})});
        break;
      case 4:
        m = range(Field::caller, num, std::to_string(8613800000000ULL + i * 7 + 5));
        break;
      default:
        m = node(MatchExpr::Kind::any, {pred(Field::from, Op::equals, {num}), in_list(Field::to, "dnc")});
        break;
    }
    rs.rules.push_back(rule(i, std::move(m), static_cast<std::int32_t>(i % 7)));
  }
  // Shadowed: a number inside an earlier prefix, a range inside an earlier
  // one, an identical match.
  rs.rules.push_back(rule(n, pred(Field::ruri, Op::equals, {"8610000011234"}), -1));
  rs.rules.push_back(rule(n + 1, range(Field::caller, "8613800000029", "8613800000030"), -1));
  rs.rules.push_back(rule(n + 2, pred(Field::caller, Op::equals, {"8613800000000"}), -1));
  return rs;
}

// The analysis as it was: every rule against every earlier terminal rule.
std::vector<std::string> all_pairs(const RuleSet& rs) {
  std::vector<std::string> out;
  const std::vector<std::uint32_t> order = precedence_order(rs);
  for (std::size_t i = 1; i < order.size(); ++i) {
    const Rule& later = rs.rules[order[i]];
    for (std::size_t j = 0; j < i; ++j) {
      const Rule& earlier = rs.rules[order[j]];
      if (!is_terminal(earlier.action.kind) || !match_implies(later.match, earlier.match, &rs)) continue;
      out.push_back(later.id + " by " + earlier.id);
      break;
    }
  }
  return out;
}

std::vector<std::string> indexed(const RuleSet& rs, ShadowStats* st = nullptr) {
  std::vector<std::string> out;
  for (const Diagnostic& d : find_shadowed_rules(rs, st)) {
    // "rule 'LATER' can never match: ... 'EARLIER' (file:line:col), ..."
    const std::string& m = d.message;
    const std::size_t a = m.find('\'') + 1;
    const std::size_t s = m.find('\'', m.find(": ")) + 1;
    out.push_back(m.substr(a, m.find('\'', a) - a) + " by " + m.substr(s, m.find('\'', s) - s));
  }
  return out;
}

TEST(ShadowIndex, ComparisonsGrowLinearlyWithTheRuleCount) {
  ShadowStats small, large;
  const std::vector<std::string> w10 = indexed(typical(10000), &small);
  const std::vector<std::string> w20 = indexed(typical(20000), &large);
  // All pairs would be n(n-1)/2: 50 million and 200 million comparisons.
  EXPECT_LE(small.implication_checks, 2u * 10000u);
  EXPECT_LE(large.implication_checks, 2u * 20000u);
  // Twice the rules, at most a little over twice the work.
  EXPECT_LE(10 * large.implication_checks, 21 * small.implication_checks);
  EXPECT_EQ(large.rules_cut_short, 0u);
  std::printf("comparisons: %zu for 10,000 rules, %zu for 20,000\n", small.implication_checks,
              large.implication_checks);
  // And the planted shadows are found.
  EXPECT_EQ(w20, (std::vector<std::string>{"r20000 by r1", "r20001 by r4", "r20002 by r0"}));
  EXPECT_EQ(w10, (std::vector<std::string>{"r10000 by r1", "r10001 by r4", "r10002 by r0"}));
}

// Random small sets mixing every operator and combinator: the index finds
// exactly what comparing all pairs finds, naming the same earlier rule.
TEST(ShadowIndex, SameWarningsAsComparingAllPairs) {
  std::mt19937 rng(12);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const Field fields[] = {Field::caller, Field::ruri, Field::user_agent, Field::header, Field::trunk_class};
  const char* nums[] = {"8613800138000", "8613800138005", "8613800137995", "861380", "86139", "8614"};
  // Ranges inside, across decimal boundaries, reversed, and with ends of two
  // lengths (which compare as strings).
  const std::pair<const char*, const char*> ranges[] = {{"8613800138000", "8613800138009"},
                                                        {"8613800138000", "8613800138001"},
                                                        {"8613800137990", "8613800138010"},
                                                        {"8613800138005", "8613800138001"},
                                                        {"8613800137", "86138001381"}};
  std::size_t shadowed = 0;
  for (int round = 0; round < 1000; ++round) {
    RuleSet rs;
    NumberList l;
    l.name = "L";
    l.kind = static_cast<ListKind>(pick(3));
    l.numbers = {number::pack("8613800138000")};
    l.prefixes = {"86138"};
    l.ranges = {{"8613800138000", "8613800138005"}};
    rs.lists.push_back(l);
    std::function<MatchExpr(int)> gen = [&](int depth) -> MatchExpr {
      const std::size_t k = depth > 2 ? pick(6) : pick(9);
      const Field f = fields[pick(5)];
      switch (k) {
        case 0:
          return pred(f, Op::equals, {nums[pick(6)]});
        case 1:
          return pred(f, Op::equals, {nums[pick(6)], nums[pick(6)]});
        case 2:
          return pred(f, Op::prefix, {nums[3 + pick(3)]});
        case 3: {
          const auto& r = ranges[pick(5)];
          return range(f, r.first, r.second);
        }
        case 4:
          return pick(2) ? in_list(f, "L") : present(f);
        case 5: {
          MatchExpr m = pred(f, Op::regex, {pick(2) ? "a" : "b"});
          if (f == Field::header) m.predicate.header_name = pick(2) ? "X-A" : "x-a";
          return m;
        }
        case 6:
          return node(MatchExpr::Kind::all, {gen(depth + 1), gen(depth + 1)});
        case 7:
          return node(MatchExpr::Kind::any, {gen(depth + 1), gen(depth + 1)});
        default:
          return node(MatchExpr::Kind::not_, {gen(depth + 1)});
      }
    };
    const std::size_t n = 5 + pick(25);
    for (std::size_t i = 0; i < n; ++i) {
      MatchExpr m = pick(8) == 0 ? node(MatchExpr::Kind::all, {}) : gen(0);
      rs.rules.push_back(rule(i, std::move(m), static_cast<std::int32_t>(pick(3)),
                              pick(6) == 0 ? ActionKind::trace : ActionKind::drop));
    }
    const std::vector<std::string> want = all_pairs(rs);
    const std::vector<std::string> got = indexed(rs);
    EXPECT_EQ(got, want) << "round " << round;
    if (got != want) {
      for (const Rule& r : rs.rules) std::printf("  %s p%d %s\n", r.id.c_str(), r.priority, to_string(r.match).c_str());
    }
    shadowed += want.size();
  }
  EXPECT_GT(shadowed, 1000u);  // the mix does shadow, so the comparison means something
}

}  // namespace
}  // namespace sipwall::rules::test
