// What the loader builds from valid rule sets: every key and its default.
#include <gtest/gtest.h>

#include "rules/model/model_text.h"
#include "rules/number/normalize.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

class Loader : public ::testing::Test {
 protected:
  // Loads `yaml`, expects no diagnostics at all, returns the set.
  RuleSet ok(const std::string& yaml, const Lines& warnings = {}) {
    LoadOptions options;
    options.analyze = false;  // analysis warnings have their own tests
    const LoadResult r = dir.load(yaml, "r.yaml", options);
    EXPECT_EQ(dir.lines(r), warnings);
    EXPECT_TRUE(r.ok());
    return r.rule_set.value_or(RuleSet{});
  }
  static const Rule& rule(const RuleSet& rs, const std::string& id) {
    for (const Rule& r : rs.rules) {
      if (r.id == id) return r;
    }
    throw std::runtime_error("no rule " + id);
  }
  static const NumberList& list(const RuleSet& rs, const std::string& name) {
    for (const NumberList& l : rs.lists) {
      if (l.name == name) return l;
    }
    throw std::runtime_error("no list " + name);
  }
  TempDir dir;
};

const std::string kOneRule = "rules:\n  - {id: r, match: {caller: {prefix: \"+86\"}}, action: drop}\n";

TEST_F(Loader, MinimalSetAndDefaults) {
  const RuleSet rs = ok("version: 2024-06-01\ndial_plan: {preset: china}\n" + kOneRule, {});
  EXPECT_EQ(rs.version, "2024-06-01");
  EXPECT_EQ(rs.name, "r");  // the file's stem when `name` is absent
  EXPECT_TRUE(rs.source_file.ends_with("/r.yaml"));
  EXPECT_TRUE(rs.dial_plan == number::DialPlan::china());
  EXPECT_EQ(rs.defaults.action.kind, ActionKind::pass);
  EXPECT_EQ(rs.defaults.malformed, MalformedPolicy::fail_open);
  // Emergency numbers default to the plan's short codes.
  EXPECT_EQ(rs.guard_rails.emergency, (std::vector<std::string>{"110", "112", "119", "120", "122"}));
  EXPECT_TRUE(rs.guard_rails.allow_callers.empty());
  ASSERT_EQ(rs.rules.size(), 1u);
  EXPECT_EQ(rs.rules[0].priority, 0);
  EXPECT_EQ(rs.rules[0].where.line, 4u);
  EXPECT_EQ(rs.rules[0].where.column, 5u);
}

TEST_F(Loader, NameVersionDescription) {
  const RuleSet rs =
      ok("version: 7\nname: edge-set\ndescription: anything\n"
         "dial_plan: {preset: china}\n" +
         kOneRule);
  EXPECT_EQ(rs.version, "7");
  EXPECT_EQ(rs.name, "edge-set");
}

TEST_F(Loader, ExplicitDialPlanMapsOntoDialPlan) {
  const RuleSet rs =
      ok("version: \"1\"\n"
         "dial_plan:\n"
         "  country_code: 44\n"
         "  international_prefix: \"00\"\n"
         "  national_prefix: \"0\"\n"
         "  national_number_length: [9, 10]\n"
         "  national_number_first_digits: \"1237\"\n"
         "  local_patterns: [{lead: \"7\", length: 10}]\n"
         "  short_codes: [\"999\", \"112\"]\n"
         "  country_code_without_prefix: true\n" +
         kOneRule);
  const number::DialPlan& p = rs.dial_plan;
  EXPECT_EQ(p.country_code.view(), "44");
  EXPECT_EQ(p.international_prefix.view(), "00");
  EXPECT_EQ(p.national_prefix.view(), "0");
  EXPECT_EQ(p.min_national_length, 9);
  EXPECT_EQ(p.max_national_length, 10);
  EXPECT_EQ(p.national_first_digits, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 7));
  ASSERT_EQ(p.local_pattern_count, 1);
  EXPECT_EQ(p.local_patterns[0].lead.view(), "7");
  EXPECT_EQ(p.local_patterns[0].length, 10);
  ASSERT_EQ(p.short_code_count, 2);
  EXPECT_EQ(p.short_codes[0].view(), "999");
  EXPECT_EQ(p.short_codes[1].view(), "112");
  EXPECT_TRUE(p.country_code_without_prefix);
  EXPECT_EQ(rs.guard_rails.emergency, (std::vector<std::string>{"999", "112"}));
  // And the plan is used: a UK national number in a rule.
  const RuleSet rs2 =
      ok("version: \"1\"\ndial_plan: {country_code: \"44\", international_prefix: \"00\", "
         "national_prefix: \"0\", national_number_length: 10}\n"
         "rules:\n  - {id: r, match: {caller: {equals: \"020 7946 0000\"}}, action: drop}\n");
  EXPECT_EQ(rs2.rules[0].match.predicate.values, std::vector<std::string>{"442079460000"});
}

TEST_F(Loader, PresetWithOverrides) {
  const RuleSet rs =
      ok("version: \"1\"\ndial_plan:\n  preset: china\n  short_codes: [\"110\", \"95555\"]\n" + kOneRule);
  number::DialPlan expected = number::DialPlan::china();
  expected.short_code_count = 0;
  expected.short_codes = {};
  expected.add_short_code("110");
  expected.add_short_code("95555");
  EXPECT_TRUE(rs.dial_plan == expected);
  const RuleSet na =
      ok("version: \"1\"\ndial_plan: {preset: north_america}\n"
         "rules:\n  - {id: r, match: {ruri: {equals: \"(212) 555-0123\"}}, action: drop}\n");
  EXPECT_TRUE(na.dial_plan == number::DialPlan::north_america());
  EXPECT_EQ(na.rules[0].match.predicate.values, std::vector<std::string>{"12125550123"});
}

TEST_F(Loader, Trunks) {
  const RuleSet rs = ok(kHead +
                        "trunks:\n"
                        "  intl-gw:\n"
                        "    class: international\n"
                        "    description: carrier A\n"
                        "    sources:\n"
                        "      - 198.51.100.0/24\n"
                        "      - {cidr: \"2001:db8:a::/48\", vlan: 100, port: 5060}\n"
                        "      - 203.0.113.9\n"
                        "    caller_ranges:\n"
                        "      - \"+86 21 6000 0000 .. +86 21 6000 9999\"\n"
                        "      - \"+86 21 6001\"\n" +
                        kOneRule);
  ASSERT_EQ(rs.trunks.size(), 1u);
  const Trunk& t = rs.trunks[0];
  EXPECT_EQ(t.name, "intl-gw");
  EXPECT_EQ(t.trunk_class, "international");
  EXPECT_EQ(t.where.line, 4u);
  ASSERT_EQ(t.sources.size(), 3u);
  const TrunkSource& v4 = t.sources[0];
  EXPECT_TRUE(v4.is_ipv4);
  EXPECT_EQ(v4.prefix_len, 96 + 24);
  const std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 0};
  EXPECT_EQ(v4.addr, mapped);
  EXPECT_FALSE(v4.vlan.has_value());
  EXPECT_EQ(v4.text, "198.51.100.0/24");
  EXPECT_EQ(v4.where.line, 8u);
  EXPECT_EQ(v4.where.column, 9u);
  const TrunkSource& v6 = t.sources[1];
  EXPECT_FALSE(v6.is_ipv4);
  EXPECT_EQ(v6.prefix_len, 48);
  EXPECT_EQ(v6.addr[0], 0x20);
  EXPECT_EQ(v6.addr[1], 0x01);
  EXPECT_EQ(v6.addr[5], 0x0a);
  EXPECT_EQ(v6.vlan, std::optional<std::uint16_t>(100));
  EXPECT_EQ(v6.port, std::optional<std::uint16_t>(5060));
  EXPECT_EQ(t.sources[2].prefix_len, 128);  // a host address
  ASSERT_EQ(t.caller_ranges.size(), 1u);
  EXPECT_EQ(t.caller_ranges[0].first, "862160000000");
  EXPECT_EQ(t.caller_ranges[0].last, "862160009999");
  EXPECT_EQ(t.caller_prefixes, std::vector<std::string>{"86216001"});
}

TEST_F(Loader, InlineListsOfEachKind) {
  const RuleSet rs = ok(kHead +
                            "lists:\n"
                            "  exact-l:\n    entries: [\"+86 139 0013 9000\", \"013800138000\", \"+8613800138000\"]\n"
                            "  prefix-l:\n    kind: prefix\n    entries: [\"+86 10\", \"0755\", \"138\"]\n"
                            "  range-l:\n    kind: range\n    entries: [\"+86 21 6000 0000 - +86 21 6000 0999\"]\n"
                            "rules:\n"
                            "  - id: r\n    match:\n      any:\n"
                            "        - caller: {in: exact-l}\n        - caller: {in: prefix-l}\n"
                            "        - caller: {in: range-l}\n"
                            "    action: drop\n",
                        {"r.yaml:4:3: warning: list 'exact-l': 1 duplicate entry ignored"});
  const NumberList& e = list(rs, "exact-l");
  EXPECT_EQ(e.kind, ListKind::exact);
  // Sorted and de-duplicated (013800138000 == +8613800138000).
  EXPECT_EQ(e.numbers, (std::vector<number::E164Key>{number::pack("8613800138000"), number::pack("8613900139000")}));
  EXPECT_EQ(e.where.line, 4u);
  const NumberList& p = list(rs, "prefix-l");
  EXPECT_EQ(p.prefixes, (std::vector<std::string>{"8610", "86138", "86755"}));
  const NumberList& r = list(rs, "range-l");
  ASSERT_EQ(r.ranges.size(), 1u);
  EXPECT_EQ(r.ranges[0].first, "862160000000");
  EXPECT_EQ(r.ranges[0].last, "862160000999");
}

TEST_F(Loader, ListsFromFilesResolveRelativeToTheRuleSet) {
  dir.write("lists/a.txt", "+8613800138000\n");
  dir.write("lists/b.txt", "+8613900139000\n+8613800138000\n");
  const RuleSet rs = ok(kHead +
                            "lists:\n  l:\n    file: lists/a.txt\n    files: [lists/b.txt]\n"
                            "    entries: [\"+8618600186000\"]\n"
                            "rules:\n  - {id: r, match: {caller: {in: l}}, action: drop}\n",
                        {"r.yaml:4:3: warning: list 'l': 1 duplicate entry ignored"});
  const NumberList& l = list(rs, "l");
  EXPECT_EQ(l.numbers.size(), 3u);
  ASSERT_EQ(l.files.size(), 2u);
  EXPECT_TRUE(l.files[0].ends_with("/lists/a.txt")) << l.files[0];
  EXPECT_TRUE(l.files[1].ends_with("/lists/b.txt")) << l.files[1];
}

TEST_F(Loader, GuardRails) {
  const RuleSet rs = ok(kHead +
                        "lists:\n  vip: {entries: [\"+8613800138000\"]}\n  hot: {entries: [\"+861012345678\"]}\n"
                        "guard_rails:\n"
                        "  emergency: [\"110\", \"+86 10 1234 5678\"]\n"
                        "  allow_callers: [vip]\n"
                        "  allow_callees: hot\n"
                        "  allow_caller_numbers: [\"+8613900139000\"]\n"
                        "  allow_callee_numbers: [\"120\"]\n" +
                        kOneRule);
  const GuardRails& g = rs.guard_rails;
  EXPECT_EQ(g.emergency, (std::vector<std::string>{"110", "861012345678"}));
  EXPECT_EQ(g.allow_callers, (std::vector<std::string>{"vip", "guard_rails.allow_callers"}));
  EXPECT_EQ(g.allow_callees, (std::vector<std::string>{"hot", "guard_rails.allow_callees"}));
  EXPECT_EQ(list(rs, "guard_rails.allow_callers").numbers, std::vector<number::E164Key>{number::pack("8613900139000")});
  // A short code is a key of its own digits.
  EXPECT_EQ(list(rs, "guard_rails.allow_callees").numbers, std::vector<number::E164Key>{number::pack("120")});
  EXPECT_EQ(g.where.line, 6u);
}

TEST_F(Loader, EmptyEmergencyListWarns) {
  const LoadResult r = dir.load(kHead + "guard_rails: {emergency: []}\n" + kOneRule);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.rule_set->guard_rails.emergency.empty());
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:3:26: warning: 'emergency' is empty: rules can block emergency calls"});
}

TEST_F(Loader, Defaults) {
  const RuleSet rs = ok(kHead + "defaults:\n  action: {reject: {code: 603}}\n  malformed: fail_closed\n" + kOneRule);
  EXPECT_EQ(rs.defaults.action.kind, ActionKind::reject);
  EXPECT_EQ(rs.defaults.action.reject_code, 603);
  EXPECT_EQ(rs.defaults.action.reason_text, "Decline");
  EXPECT_EQ(rs.defaults.malformed, MalformedPolicy::fail_closed);
  EXPECT_EQ(ok(kHead + "defaults: {action: drop}\n" + kOneRule).defaults.action.kind, ActionKind::drop);
}

TEST_F(Loader, Actions) {
  const RuleSet rs = ok(kHead +
                        "rules:\n"
                        "  - {id: p, match: {caller: {prefix: \"+861\"}}, action: pass}\n"
                        "  - {id: d, match: {caller: {prefix: \"+862\"}}, action: drop}\n"
                        "  - {id: t, match: {caller: {prefix: \"+863\"}}, action: trace}\n"
                        "  - {id: r, match: {caller: {prefix: \"+864\"}}, action: reject}\n"
                        "  - id: r608\n    match: {caller: {prefix: \"+865\"}}\n"
                        "    action:\n      reject:\n        code: 608\n        reason: Screened\n"
                        "        call_info: \"https://example.net/608.jwt\"\n"
                        "  - {id: r608d, match: {caller: {prefix: \"+866\"}}, action: {reject: {code: 608}}}\n"
                        "  - {id: tag, match: {caller: {prefix: \"+867\"}}, action: {tag: {score: 0}}}\n"
                        "  - id: tag2\n    match: {caller: {prefix: \"+868\"}}\n"
                        "    action: {tag: {header: X-Risk, value: \"{rule}/{score}\", score: 100}}\n"
                        "  - {id: d2, match: {caller: {prefix: \"+869\"}}, action: {drop: {}}}\n");
  EXPECT_EQ(rule(rs, "p").action.kind, ActionKind::pass);
  EXPECT_EQ(rule(rs, "d").action.kind, ActionKind::drop);
  EXPECT_EQ(rule(rs, "d2").action.kind, ActionKind::drop);
  EXPECT_EQ(rule(rs, "t").action.kind, ActionKind::trace);
  const Action& r = rule(rs, "r").action;
  EXPECT_EQ(r.kind, ActionKind::reject);
  EXPECT_EQ(r.reject_code, 603);
  EXPECT_EQ(r.reason_text, "Decline");
  const Action& r608 = rule(rs, "r608").action;
  EXPECT_EQ(r608.reject_code, 608);
  EXPECT_EQ(r608.reason_text, "Screened");
  EXPECT_EQ(r608.call_info, "https://example.net/608.jwt");
  EXPECT_EQ(r608.where.line, 11u);  // the action's value
  EXPECT_EQ(rule(rs, "r608d").action.reason_text, "Rejected");
  EXPECT_TRUE(rule(rs, "r608d").action.call_info.empty());
  const Action& tag = rule(rs, "tag").action;
  EXPECT_EQ(tag.kind, ActionKind::tag);
  EXPECT_EQ(tag.tag_header, "X-Sipwall-Risk");
  EXPECT_EQ(tag.tag_value, "score={score}; rule={rule}");
  EXPECT_EQ(tag.score, 0);
  const Action& tag2 = rule(rs, "tag2").action;
  EXPECT_EQ(tag2.tag_header, "X-Risk");
  EXPECT_EQ(tag2.tag_value, "{rule}/{score}");
  EXPECT_EQ(tag2.score, 100);
}

TEST_F(Loader, RulePriorityOrderAndDescription) {
  const RuleSet rs = ok(kHead +
                        "rules:\n"
                        "  - {id: a, priority: -5, match: {caller: {prefix: \"+861\"}}, action: drop}\n"
                        "  - id: b\n    priority: 10\n    description: the second\n"
                        "    match: {caller: {prefix: \"+862\"}}\n    action: drop\n");
  ASSERT_EQ(rs.rules.size(), 2u);
  EXPECT_EQ(rs.rules[0].id, "a");
  EXPECT_EQ(rs.rules[0].priority, -5);
  EXPECT_EQ(rs.rules[0].file_order, 0u);
  EXPECT_EQ(rs.rules[1].priority, 10);
  EXPECT_EQ(rs.rules[1].file_order, 1u);
  EXPECT_EQ(rs.rules[1].description, "the second");
}

// Every field and operator, and the shapes the YAML forms become.
TEST_F(Loader, MatchFieldsAndOperators) {
  const RuleSet rs = ok(kHead +
                        "trunks:\n"
                        "  cc: {class: call_center, sources: [203.0.113.0/25], caller_ranges: [\"+86 21 6000\"]}\n"
                        "  gw: {class: international, sources: [198.51.100.0/24]}\n"
                        "lists:\n  h: {entries: [\"+8613800138000\"]}\n  d: {entries: [\"+8613700137000\"]}\n"
                        "rules:\n"
                        "  - id: numbers\n"
                        "    match:\n"
                        "      caller: {in: h}\n"
                        "      from: {prefix: [\"+86 10\", \"021\"]}\n"
                        "      pai: {range: \"+86 21 6000 0000 .. 0999\"}\n"
                        "      to: {equals: [\"+86 137 0013 7000\", \"110\"]}\n"
                        "      ruri: {number: \"013700137000\"}\n"
                        "      diversion: {regex: \"^\\\\+8613\"}\n"
                        "    action: drop\n"
                        "  - id: texts\n"
                        "    match:\n"
                        "      user_agent: {regex: [\"(?i)sipvicious\", \"friendly-scanner\"]}\n"
                        "      display_name: {present: true}\n"
                        "      header: {name: X-Foo, regex: \"bar\", present: true}\n"
                        "    action: drop\n"
                        "  - id: trunks\n"
                        "    match:\n"
                        "      trunk: gw\n"
                        "      trunk_class: [call_center, international]\n"
                        "      not: {trunk: {present: true}}\n"
                        "    action: drop\n"
                        "  - id: logic\n"
                        "    match:\n"
                        "      any:\n"
                        "        - caller: {in: [h, d]}\n"
                        "        - all: [{pai: {present: false}}, {caller_in_trunk_ranges: false}]\n"
                        "    action: drop\n");
  const MatchExpr& n = rule(rs, "numbers").match;
  ASSERT_EQ(n.kind, MatchExpr::Kind::all);
  ASSERT_EQ(n.children.size(), 6u);
  auto pred = [](const MatchExpr& m) -> const Predicate& {
    EXPECT_EQ(m.kind, MatchExpr::Kind::predicate);
    return m.predicate;
  };
  EXPECT_EQ(pred(n.children[0]).field, Field::caller);
  EXPECT_EQ(pred(n.children[0]).op, Op::in_list);
  EXPECT_EQ(pred(n.children[0]).list, "h");
  EXPECT_EQ(pred(n.children[0]).where.line, 12u);
  EXPECT_EQ(pred(n.children[0]).where.column, 20u);  // `in`: the list name
  EXPECT_EQ(pred(n.children[1]).field, Field::from);
  EXPECT_EQ(pred(n.children[1]).op, Op::prefix);
  EXPECT_EQ(pred(n.children[1]).values, (std::vector<std::string>{"8610", "8621"}));
  ASSERT_EQ(pred(n.children[1]).value_where.size(), 2u);
  EXPECT_EQ(pred(n.children[1]).value_where[1].column, 33u);
  EXPECT_EQ(pred(n.children[2]).field, Field::pai);
  EXPECT_EQ(pred(n.children[2]).op, Op::range);
  ASSERT_EQ(pred(n.children[2]).ranges.size(), 1u);
  EXPECT_EQ(pred(n.children[2]).ranges[0].last, "862160000999");
  EXPECT_EQ(pred(n.children[3]).field, Field::to);
  EXPECT_EQ(pred(n.children[3]).op, Op::equals);
  EXPECT_EQ(pred(n.children[3]).values, (std::vector<std::string>{"8613700137000", "110"}));
  EXPECT_EQ(pred(n.children[4]).field, Field::ruri);
  EXPECT_EQ(pred(n.children[4]).op, Op::equals);
  EXPECT_EQ(pred(n.children[4]).values, std::vector<std::string>{"8613700137000"});
  EXPECT_EQ(pred(n.children[5]).field, Field::diversion);
  EXPECT_EQ(pred(n.children[5]).op, Op::regex);
  EXPECT_EQ(pred(n.children[5]).values, std::vector<std::string>{"^\\+8613"});

  const MatchExpr& t = rule(rs, "texts").match;
  ASSERT_EQ(t.children.size(), 3u);
  EXPECT_EQ(pred(t.children[0]).field, Field::user_agent);
  EXPECT_EQ(pred(t.children[0]).values.size(), 2u);
  EXPECT_EQ(pred(t.children[1]).field, Field::display_name);
  EXPECT_EQ(pred(t.children[1]).op, Op::present);
  // Two operators on one field: ANDed.
  const MatchExpr& h = t.children[2];
  ASSERT_EQ(h.kind, MatchExpr::Kind::all);
  ASSERT_EQ(h.children.size(), 2u);
  EXPECT_EQ(pred(h.children[0]).field, Field::header);
  EXPECT_EQ(pred(h.children[0]).header_name, "X-Foo");
  EXPECT_EQ(pred(h.children[0]).op, Op::regex);
  EXPECT_EQ(pred(h.children[1]).op, Op::present);
  EXPECT_EQ(pred(h.children[1]).header_name, "X-Foo");

  const MatchExpr& tr = rule(rs, "trunks").match;
  ASSERT_EQ(tr.children.size(), 3u);
  EXPECT_EQ(pred(tr.children[0]).field, Field::trunk);
  EXPECT_EQ(pred(tr.children[0]).op, Op::equals);
  EXPECT_EQ(pred(tr.children[0]).values, std::vector<std::string>{"gw"});
  EXPECT_EQ(pred(tr.children[1]).values, (std::vector<std::string>{"call_center", "international"}));
  ASSERT_EQ(tr.children[2].kind, MatchExpr::Kind::not_);
  EXPECT_EQ(pred(tr.children[2].children.at(0)).op, Op::present);

  const MatchExpr& lg = rule(rs, "logic").match;
  ASSERT_EQ(lg.kind, MatchExpr::Kind::any);
  ASSERT_EQ(lg.children.size(), 2u);
  // `in: [h, d]` is any(in h, in d).
  ASSERT_EQ(lg.children[0].kind, MatchExpr::Kind::any);
  EXPECT_EQ(pred(lg.children[0].children.at(1)).list, "d");
  const MatchExpr& all = lg.children[1];
  ASSERT_EQ(all.kind, MatchExpr::Kind::all);
  // `present: false` is not(present).
  ASSERT_EQ(all.children.at(0).kind, MatchExpr::Kind::not_);
  EXPECT_EQ(pred(all.children[0].children.at(0)).field, Field::pai);
  const Predicate& cr = pred(all.children.at(1));
  EXPECT_EQ(cr.op, Op::caller_in_trunk_ranges);
  EXPECT_FALSE(cr.expect);
  EXPECT_EQ(to_string(lg),
            "any(any(caller in h, caller in d), all(not(pai present), "
            "caller_in_trunk_ranges false))");
}

TEST_F(Loader, CallerInTrunkRangesWithoutAnyRangesWarns) {
  const LoadResult r = dir.load(kHead + "rules:\n  - {id: a, match: {caller_in_trunk_ranges: false}, action: drop}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:4:21: warning: no trunk has 'caller_ranges', so "
                                "caller_in_trunk_ranges never matches"});
}

// Issue 17: a trunk may take its caller from Remote-Party-ID.
TEST_F(Loader, TrunkCallerFrom) {
  const RuleSet rs = ok(kHead +
                        "trunks:\n"
                        "  old: {class: peer, sources: [10.1.0.0/16], caller_from: [pai, rpid, from]}\n"
                        "  new: {class: peer, sources: [10.2.0.0/16]}\n" +
                        kOneRule);
  ASSERT_EQ(rs.trunks.size(), 2u);
  EXPECT_EQ(rs.trunks[0].caller_from,
            (std::vector<CallerSource>{CallerSource::pai, CallerSource::rpid, CallerSource::from}));
  EXPECT_TRUE(rs.trunks[1].caller_from.empty());
  const LoadResult r = dir.load(kHead +
                                "trunks:\n"
                                "  a: {class: peer, sources: [10.1.0.0/16], caller_from: [rpid, ppi, from]}\n"
                                "  b: {class: peer, sources: [10.2.0.0/16], caller_from: [from, pai]}\n"
                                "  c: {class: peer, sources: [10.3.0.0/16], caller_from: [rpid, rpid, from]}\n"
                                "  d: {class: peer, sources: [10.4.0.0/16], caller_from: [rpid, pai]}\n" +
                                kOneRule);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(dir.lines(r),
            (Lines{"r.yaml:4:64: unknown caller source 'ppi' (allowed: pai = P-Asserted-Identity, rpid = "
                   "Remote-Party-ID, from = From)",
                   "r.yaml:5:58: 'from' must be the last caller source: every INVITE has a From, so nothing after "
                   "it is read",
                   "r.yaml:6:64: caller source 'rpid' is listed twice",
                   "r.yaml:7:64: 'caller_from' must end with from (the caller when no other header holds a number)"}));
}

TEST_F(Loader, FromStringUsesThePathForMessagesAndLists) {
  dir.write("sub/l.txt", "+8613800138000\n13800x\n");
  const LoadResult r = load_rule_set_from_string(kHead + "lists:\n  l: {file: l.txt}\n" + kOneRule,
                                                 dir.path() / "sub" / "in-memory.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(dir.lines(r), Lines{"sub/l.txt:2:1: '13800x' does not normalise under the dial plan: "
                                "character 'x' is not a digit"});
}

}  // namespace
}  // namespace sipwall::rules::test
