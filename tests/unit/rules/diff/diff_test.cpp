// diff(): what changes between two rule sets, and the text report.
#include "rules/diff/diff.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

class Diff : public ::testing::Test {
 protected:
  RuleSet load(const std::string& yaml, const std::string& name) {
    const LoadResult r = dir.load(yaml, name);
    EXPECT_TRUE(r.ok()) << testing::PrintToString(dir.lines(r));
    return r.rule_set.value_or(RuleSet{});
  }
  TempDir dir;
};

const std::string kOld =
    "version: v1\nname: edge\ndial_plan: {preset: china}\n"
    "trunks:\n"
    "  gw: {class: international, sources: [198.51.100.0/24]}\n"
    "  cc: {class: call_center, sources: [203.0.113.0/25]}\n"
    "lists:\n"
    "  h: {file: h1.txt}\n"
    "  gone: {entries: [\"+8618600186000\"]}\n"
    "  p: {kind: prefix, entries: [\"+86 10\"]}\n"
    "rules:\n"
    "  - {id: keep, match: {caller: {in: h}}, action: drop}\n"
    "  - {id: act, match: {caller: {in: gone}}, action: {reject: {code: 603}}}\n"
    "  - {id: pri, match: {to: {in: p}}, action: drop}\n"
    "  - {id: old, match: {trunk: gw}, action: drop}\n";

const std::string kNew =
    "version: v2\nname: edge\ndial_plan: {preset: china}\n"
    "trunks:\n"
    "  gw: {class: international, sources: [198.51.100.0/25]}\n"
    "  cc: {class: call_centre, sources: [203.0.113.0/25]}\n"
    "  peer: {class: peer, sources: [192.0.2.0/24]}\n"
    "lists:\n"
    "  h: {file: h2.txt}\n"
    "  p: {kind: prefix, entries: [\"+86 10\", \"+86 21\"]}\n"
    "  fresh: {entries: [\"+8613700137000\"]}\n"
    "guard_rails: {emergency: [\"110\", \"119\"], allow_callees: [fresh]}\n"
    "defaults: {malformed: fail_closed}\n"
    "rules:\n"
    "  - {id: pri, priority: 5, match: {to: {in: p}}, action: drop}\n"
    "  - {id: keep, match: {caller: {in: h}}, action: drop}\n"
    "  - {id: act, match: {caller: {in: h}}, action: {reject: {code: 608}}}\n"
    "  - {id: added, match: {trunk: peer}, action: trace}\n";

TEST_F(Diff, ReportsEveryKindOfChange) {
  dir.write("h1.txt", "+8613800138000\n+8613800138001\n+8613800138002\n");
  dir.write("h2.txt", "+8613800138000\n+8613800138003\n+8613800138004\n+8613800138005\n");
  const RuleSet o = load(kOld, "old.yaml");
  const RuleSet n = load(kNew, "new.yaml");
  DiffOptions opt;
  opt.sample = 2;
  const RuleSetDiff d = diff(o, n, opt);
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(d.old_version, "v1");
  EXPECT_EQ(d.new_version, "v2");
  EXPECT_EQ(d.rules_added, std::vector<std::string>{"added"});
  EXPECT_EQ(d.rules_removed, std::vector<std::string>{"old"});
  ASSERT_EQ(d.rules_changed.size(), 2u);
  EXPECT_EQ(d.rules_changed[0].id, "pri");
  EXPECT_TRUE(d.rules_changed[0].priority);
  EXPECT_FALSE(d.rules_changed[0].match);
  EXPECT_EQ(d.rules_changed[1].id, "act");
  EXPECT_TRUE(d.rules_changed[1].match);
  EXPECT_TRUE(d.rules_changed[1].action);
  EXPECT_FALSE(d.rules_changed[1].priority);
  EXPECT_EQ(d.rules_changed[1].old_action, "reject 603 \"Decline\"");
  EXPECT_EQ(d.rules_changed[1].new_action, "reject 608 \"Rejected\"");
  EXPECT_TRUE(d.order_changed);
  EXPECT_EQ(d.new_order, (std::vector<std::string>{"pri", "keep", "act"}));

  ASSERT_EQ(d.lists_added.size(), 1u);
  EXPECT_EQ(d.lists_added[0].name, "fresh");
  EXPECT_EQ(d.lists_added[0].added_sample, std::vector<std::string>{"+8613700137000"});
  ASSERT_EQ(d.lists_removed.size(), 1u);
  EXPECT_EQ(d.lists_removed[0].name, "gone");
  EXPECT_EQ(d.lists_removed[0].removed, 1u);
  ASSERT_EQ(d.lists_changed.size(), 2u);
  const ListChange& h = d.lists_changed[0];
  EXPECT_EQ(h.name, "h");
  EXPECT_EQ(h.added, 3u);
  EXPECT_EQ(h.removed, 2u);
  EXPECT_EQ(h.added_sample, (std::vector<std::string>{"+8613800138003", "+8613800138004"}));
  EXPECT_EQ(h.removed_sample, (std::vector<std::string>{"+8613800138001", "+8613800138002"}));
  EXPECT_EQ(h.old_size, 3u);
  EXPECT_EQ(h.new_size, 4u);
  EXPECT_EQ(d.lists_changed[1].name, "p");
  EXPECT_EQ(d.lists_changed[1].added_sample, std::vector<std::string>{"+8621*"});

  EXPECT_EQ(d.trunks_added, std::vector<std::string>{"peer"});
  ASSERT_EQ(d.trunks_changed.size(), 2u);
  EXPECT_EQ(d.trunks_changed[0].name, "gw");
  EXPECT_TRUE(d.trunks_changed[0].sources);
  EXPECT_FALSE(d.trunks_changed[0].trunk_class);
  EXPECT_EQ(d.trunks_changed[1].name, "cc");
  EXPECT_TRUE(d.trunks_changed[1].trunk_class);
  EXPECT_FALSE(d.dial_plan_changed);
  EXPECT_TRUE(d.defaults_changed);
  EXPECT_TRUE(d.guard_rails_changed);

  std::ostringstream os;
  print_diff(os, d);
  EXPECT_EQ(os.str(),
            "rule set edge version v1 -> version v2\n"
            "rules:\n"
            "  + added\n"
            "  - old\n"
            "  ~ pri: priority 0 -> 5\n"
            "  ~ act: match caller in gone -> caller in h\n"
            "  ~ act: action reject 603 \"Decline\" -> reject 608 \"Rejected\"\n"
            "  evaluation order of existing rules is now: pri keep act\n"
            "lists:\n"
            "  + fresh (exact, 1 entry)\n"
            "      + +8613700137000\n"
            "  - gone (exact, 1 entry)\n"
            "      - +8618600186000\n"
            "  ~ h: +3 -2 (3 -> 4 entries); files changed\n"
            "      + +8613800138003\n"
            "      + +8613800138004\n"
            "      + ... 1 more\n"
            "      - +8613800138001\n"
            "      - +8613800138002\n"
            "  ~ p: +1 -0 (1 -> 2 entries)\n"
            "      + +8621*\n"
            "trunks:\n"
            "  + peer\n"
            "  ~ gw: sources changed;\n"
            "  ~ cc: class call_center -> call_centre;\n"
            "defaults: action pass, malformed fail_open -> action pass, malformed fail_closed\n"
            "guard rails:\n"
            "  emergency - 112\n"
            "  emergency - 120\n"
            "  emergency - 122\n"
            "  allow_callees + fresh\n");
}

TEST_F(Diff, IdenticalSetsHaveNoChanges) {
  dir.write("h1.txt", "+8613800138000\n");
  const RuleSet a = load(kOld, "a.yaml");
  const RuleSet b = load(kOld, "b.yaml");  // same content, other file: locations differ
  const RuleSetDiff d = diff(a, b);
  EXPECT_TRUE(d.empty());
  std::ostringstream os;
  print_diff(os, d);
  EXPECT_EQ(os.str(), "rule set edge version v1 -> version v1\nno changes\n");
}

// Issue 17: a trunk that starts reading Remote-Party-ID is a change.
TEST_F(Diff, TrunkCallerFromChange) {
  const std::string head = kHead;
  const std::string rules = "rules:\n  - {id: r, match: {caller: {prefix: \"+86\"}}, action: drop}\n";
  const RuleSet a = load(head + "trunks:\n  gw: {class: peer, sources: [10.1.0.0/16]}\n" + rules, "a.yaml");
  const RuleSet b =
      load(head + "trunks:\n  gw: {class: peer, sources: [10.1.0.0/16], caller_from: [pai, rpid, from]}\n" + rules,
           "b.yaml");
  const RuleSetDiff d = diff(a, b);
  ASSERT_EQ(d.trunks_changed.size(), 1u);
  EXPECT_TRUE(d.trunks_changed[0].caller_from);
  EXPECT_FALSE(d.trunks_changed[0].sources);
  std::ostringstream os;
  print_diff(os, d);
  EXPECT_NE(os.str().find("  ~ gw: caller_from changed;"), std::string::npos) << os.str();
}

TEST_F(Diff, ListKindChangeAndLargeCounts) {
  std::string big_a, big_b;
  for (int i = 0; i < 5000; ++i) big_a += "+86138" + std::to_string(10000000 + i) + "\n";
  for (int i = 1000; i < 7000; ++i) big_b += "+86138" + std::to_string(10000000 + i) + "\n";
  dir.write("a.txt", big_a);
  dir.write("b.txt", big_b);
  const std::string head = kHead;
  const RuleSet a =
      load(head +
               "lists:\n  l: {file: a.txt}\n  k: {entries: [\"+8613800138000\"]}\n"
               "rules:\n  - {id: r, match: {any: [{caller: {in: l}}, {caller: {in: k}}]}, action: drop}\n",
           "a.yaml");
  const RuleSet b =
      load(head +
               "lists:\n  l: {file: b.txt}\n  k: {kind: prefix, entries: [\"+86138\"]}\n"
               "rules:\n  - {id: r, match: {any: [{caller: {in: l}}, {caller: {in: k}}]}, action: drop}\n",
           "b.yaml");
  const RuleSetDiff d = diff(a, b);
  ASSERT_EQ(d.lists_changed.size(), 2u);
  EXPECT_EQ(d.lists_changed[0].name, "l");
  EXPECT_EQ(d.lists_changed[0].added, 2000u);
  EXPECT_EQ(d.lists_changed[0].removed, 1000u);
  EXPECT_EQ(d.lists_changed[0].added_sample.size(), 10u);
  EXPECT_EQ(d.lists_changed[0].added_sample[0], "+8613810005000");
  EXPECT_EQ(d.lists_changed[0].removed_sample[9], "+8613810000009");
  const ListChange& k = d.lists_changed[1];
  EXPECT_TRUE(k.kind_changed);
  EXPECT_EQ(k.removed_sample, std::vector<std::string>{"+8613800138000"});
  EXPECT_EQ(k.added_sample, std::vector<std::string>{"+86138*"});
  EXPECT_TRUE(d.rules_changed.empty());
}

}  // namespace
}  // namespace sipwall::rules::test
