// Every error the loader reports, with its exact "file:line:col: message".
#include <gtest/gtest.h>

#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

class LoaderErrors : public ::testing::Test {
 protected:
  // The errors only: fixtures without rules also draw a "no rules" warning.
  Lines errors(const std::string& yaml) {
    const LoadResult r = dir.load(yaml);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.rule_set.has_value());
    Lines out;
    for (const std::string& l : dir.lines(r)) {
      if (l.find(": warning: ") == std::string::npos) out.push_back(l);
    }
    return out;
  }
  TempDir dir;
};

TEST_F(LoaderErrors, YamlSyntaxErrorHasPosition) {
  EXPECT_EQ(errors(kHead + "rules:\n  - id: a\n    match: {caller: [1, 2}\n"),
            Lines{"r.yaml:5:26: YAML syntax error: illegal flow end"});
}

TEST_F(LoaderErrors, TabIndentationIsNamed) {
  EXPECT_EQ(errors(kHead + "rules:\n\t- id: a\n"),
            Lines{"r.yaml:4:2: YAML syntax error: illegal block entry (YAML indentation must use "
                  "spaces, not tabs)"});
}

TEST_F(LoaderErrors, EmptyFileAndNonMapRoot) {
  EXPECT_EQ(errors(""), Lines{"r.yaml:1:1: the rule set is empty; it needs at least 'version' and 'dial_plan'"});
  EXPECT_EQ(errors("- a\n- b\n"),
            Lines{"r.yaml:1:1: not a rule set: the file must be a YAML map of keys (version, dial_plan, "
                  "rules, ...), but it is a list"});
}

TEST_F(LoaderErrors, UnreadableRuleSetFile) {
  const LoadResult r = load_rule_set(dir.path() / "missing.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(dir.lines(r), Lines{"missing.yaml: cannot read the rule file: No such file or directory"});
}

TEST_F(LoaderErrors, UnknownKeySuggestsClosestAndListsAllowed) {
  EXPECT_EQ(
      errors(kHead + "verison: 2\n"),
      Lines{"r.yaml:3:1: unknown key 'verison' in the rule set; did you mean 'version'? "
            "(allowed: version, name, description, dial_plan, trunks, deny_sources, lists, detectors, guard_rails, "
            "defaults, rules)"});
  EXPECT_EQ(errors(kHead + "rules:\n  - id: a\n    prioirty: 3\n    match: {caller: {prefix: \"+86\"}}\n"
                           "    action: drop\n"),
            Lines{"r.yaml:5:5: unknown key 'prioirty' in rule 'a'; did you mean 'priority'? "
                  "(allowed: id, priority, description, match, action)"});
  // Far from every allowed key: no suggestion.
  EXPECT_EQ(errors(kHead + "defaults: {colour: red}\n"),
            Lines{"r.yaml:3:12: unknown key 'colour' in defaults (allowed: action, malformed)"});
}

TEST_F(LoaderErrors, MissingRequiredKeys) {
  EXPECT_EQ(errors("name: x\n"), (Lines{"r.yaml:1:1: missing required key 'version' in the rule set",
                                        "r.yaml:1:1: missing required key 'dial_plan' in the rule set"}));
  EXPECT_EQ(
      errors(kHead + "rules:\n  - priority: 1\n"),
      (Lines{"r.yaml:4:5: missing required key 'id' in rule #1", "r.yaml:4:5: missing required key 'match' in rule #1",
             "r.yaml:4:5: missing required key 'action' in rule #1"}));
  EXPECT_EQ(errors(kHead + "trunks:\n  t: {sources: [192.0.2.0/24]}\n"),
            Lines{"r.yaml:4:3: missing required key 'class' in trunk 't'"});
}

TEST_F(LoaderErrors, WrongTypes) {
  EXPECT_EQ(errors("version: [1]\ndial_plan: {preset: china}\n"),
            Lines{"r.yaml:1:10: 'version' must be a string, got a list"});
  EXPECT_EQ(errors(kHead + "rules: {a: 1}\n"), Lines{"r.yaml:3:8: 'rules' must be a list of rules, got a map"});
  EXPECT_EQ(errors(kHead + "rules:\n  - id: a\n    priority: high\n    match: {caller: {prefix: \"+86\"}}\n"
                           "    action: drop\n"),
            Lines{"r.yaml:5:15: 'priority' must be an integer from -1000000 to 1000000, got 'high'"});
  EXPECT_EQ(errors(kHead + "rules:\n  - id: a\n    match: {caller: \"+86\"}\n    action: drop\n"),
            Lines{"r.yaml:5:21: 'caller' must be a map, got '+86'"});
  EXPECT_EQ(errors(kHead + "rules:\n  - id: a\n    match: {caller: {present: yes}}\n    action: drop\n"),
            Lines{"r.yaml:5:31: 'present' must be true or false, got 'yes'"});
  EXPECT_EQ(errors(kHead + "lists:\n  l: {entries: {a: 1}}\n"),
            Lines{"r.yaml:4:16: 'entries' must be a number or a list of them, got a map"});
}

TEST_F(LoaderErrors, DuplicateKeysIdsAndNames) {
  EXPECT_EQ(errors(kHead + "name: a\nname: b\n"), Lines{"r.yaml:4:1: duplicate key 'name' (first at r.yaml:3:1)"});
  EXPECT_EQ(errors(kHead + "lists:\n  l: {entries: [\"+8613800138000\"]}\n  l: {entries: [\"+8613900139000\"]}\n"
                           "rules:\n  - id: a\n    match: {caller: {in: l}}\n    action: drop\n"),
            Lines{"r.yaml:5:3: duplicate list name 'l' (first at r.yaml:4:3)"});
  EXPECT_EQ(errors(kHead + "trunks:\n  t: {class: a, sources: [192.0.2.0/24]}\n"
                           "  t: {class: b, sources: [198.51.100.0/24]}\n"),
            Lines{"r.yaml:5:3: duplicate trunk name 't' (first at r.yaml:4:3)"});
  EXPECT_EQ(errors(kHead + "rules:\n"
                           "  - {id: a, match: {caller: {prefix: \"+861\"}}, action: drop}\n"
                           "  - {id: a, match: {caller: {prefix: \"+862\"}}, action: drop}\n"),
            Lines{"r.yaml:5:10: duplicate rule id 'a' (first used at r.yaml:4:10)"});
}

TEST_F(LoaderErrors, BadNames) {
  EXPECT_EQ(errors(kHead + "rules:\n  - {id: \"bad id\", match: {caller: {prefix: \"+86\"}}, action: drop}\n"),
            Lines{"r.yaml:4:10: invalid rule id 'bad id': use letters, digits, '_', '-' and '.', "
                  "starting with a letter or digit, at most 64"});
}

TEST_F(LoaderErrors, BadRegexReportsHyperscanMessageAtPattern) {
  EXPECT_EQ(errors(kHead + "rules:\n  - id: ua\n    match:\n      user_agent:\n        regex:\n"
                           "          - \"ok-pattern\"\n          - \"a(b\"\n          - \".*\"\n"
                           "    action: drop\n"),
            (Lines{"r.yaml:9:13: bad regex 'a(b': Missing close parenthesis for group started at index 1",
                   "r.yaml:10:13: bad regex '.*': Pattern matches empty buffer; use "
                   "HS_FLAG_ALLOWEMPTY to enable support"}));
  EXPECT_EQ(errors(kHead + "rules:\n  - id: ua\n    match: {header: {name: X-A, regex: \"(?<=x)y\"}}\n"
                           "    action: drop\n"),
            Lines{"r.yaml:5:40: bad regex '(?<=x)y': Zero-width assertions are not supported"});
}

TEST_F(LoaderErrors, NumbersThatDoNotNormaliseSayWhy) {
  EXPECT_EQ(errors(kHead + "rules:\n  - id: n\n    match:\n      ruri:\n        equals:\n"
                           "          - \"+86 21 600 9999\"\n          - \"abc\"\n          - \"12345\"\n"
                           "          - \"+86 0755 1234 5678\"\n    action: drop\n"),
            (Lines{"r.yaml:8:13: '+86 21 600 9999' does not normalise under the dial plan: the "
                   "national number '216009999' has 9 digits; the dial plan allows 10..11",
                   "r.yaml:9:13: 'abc' does not normalise under the dial plan: character 'a' is not a digit",
                   "r.yaml:10:13: '12345' does not normalise under the dial plan: it is too short "
                   "(5 digits) for any rule of the dial plan",
                   "r.yaml:11:13: '+86 0755 1234 5678' does not normalise under the dial plan: the "
                   "national number '075512345678' starts with a digit the dial plan does not allow "
                   "(allowed: 123456789)"}));
}

TEST_F(LoaderErrors, BadPrefixesAndRanges) {
  EXPECT_EQ(errors(kHead + "rules:\n  - id: n\n    match:\n      caller:\n"
                           "        prefix: [\"+86 1x\", \"+\"]\n"
                           "        range:\n"
                           "          - \"+86 21 6000 0000 .. +86 21 6000 00999\"\n"
                           "          - \"+86 21 6000 9999 .. 0000\"\n"
                           "          - \"+86 21 6000 0000\"\n"
                           "          - \"110 .. 119\"\n"
                           "    action: drop\n"),
            (Lines{"r.yaml:7:18: prefix '+86 1x': character 'x' is not a digit",
                   "r.yaml:7:28: prefix '+' has no digits after its prefix",
                   "r.yaml:9:13: range '+86 21 6000 0000 .. +86 21 6000 00999': start +862160000000 "
                   "has 12 digits but end +8621600000999 has 13; both ends must have the same length",
                   "r.yaml:10:13: range '+86 21 6000 9999 .. 0000': start +862160009999 is after "
                   "end +862160000000",
                   "r.yaml:11:13: range '+86 21 6000 0000' is not 'FIRST .. LAST' (or 'FIRST - LAST')",
                   "r.yaml:12:13: range start '110' is a short code; ranges are of E.164 numbers"}));
}

TEST_F(LoaderErrors, UnknownListTrunkAndClass) {
  const std::string head = kHead +
                           "trunks:\n  intl-gw: {class: international, sources: [198.51.100.0/24]}\n"
                           "lists:\n  harassment: {entries: [\"+8613800138000\"]}\n";
  EXPECT_EQ(errors(head + "rules:\n  - id: a\n    match:\n      caller: {in: harasment}\n"
                          "      trunk: intl-gwy\n      trunk_class: [international, internationl, peer]\n"
                          "    action: drop\n"),
            (Lines{"r.yaml:10:20: unknown list 'harasment'; did you mean 'harassment'? (lists: harassment)",
                   "r.yaml:11:14: unknown trunk 'intl-gwy'; did you mean 'intl-gw'? (trunks: intl-gw)",
                   "r.yaml:12:36: unknown trunk class 'internationl'; did you mean 'international'? "
                   "(classes used by trunks: international)",
                   "r.yaml:12:50: unknown trunk class 'peer' (classes used by trunks: international)"}));
  EXPECT_EQ(errors(kHead + "rules:\n  - {id: a, match: {trunk: {equals: x}}, action: drop}\n"),
            Lines{"r.yaml:4:37: unknown trunk 'x' (no trunks are defined)"});
  EXPECT_EQ(errors(kHead + "guard_rails: {allow_callers: [vip]}\n"),
            Lines{"r.yaml:3:31: unknown list 'vip' (no lists are defined)"});
}

TEST_F(LoaderErrors, OverlappingTrunkSourcesNameBothPlaces) {
  EXPECT_EQ(errors(kHead + "trunks:\n"
                           "  a:\n    class: peer\n    sources: [192.0.2.0/24, \"2001:db8::/32\"]\n"
                           "  b:\n    class: peer\n    sources:\n"
                           "      - 192.0.2.128/25\n"
                           "      - {cidr: \"2001:db8:1::/48\", port: 5060}\n"
                           "      - {cidr: 10.0.0.0/8, vlan: 10}\n"
                           "  c:\n    class: peer\n    sources:\n"
                           "      - {cidr: 10.1.0.0/16, vlan: 20}\n"  // other VLAN: no overlap
                           "      - {cidr: 10.2.0.0/16}\n"),          // any VLAN: overlaps b's
            (Lines{"r.yaml:10:9: source 192.0.2.128/25 of trunk 'b' overlaps source 192.0.2.0/24 "
                   "of trunk 'a' (at r.yaml:6:15); a packet could belong to both trunks",
                   "r.yaml:11:9: source 2001:db8:1::/48 port 5060 of trunk 'b' overlaps source "
                   "2001:db8::/32 of trunk 'a' (at r.yaml:6:29); a packet could belong to both trunks",
                   "r.yaml:17:9: source 10.2.0.0/16 of trunk 'c' overlaps source 10.0.0.0/8 vlan 10 "
                   "of trunk 'b' (at r.yaml:12:9); a packet could belong to both trunks"}));
}

TEST_F(LoaderErrors, BadSources) {
  EXPECT_EQ(errors(kHead + "trunks:\n  t:\n    class: peer\n    sources:\n"
                           "      - 198.51.100.7/24\n      - 198.51.100.0/33\n      - bogus\n"
                           "      - {cidr: \"2001:db8::1/32\"}\n      - {cidr: 10.0.0.0/8, vlan: 0, port: 70000}\n"
                           "      - {vlan: 3}\n"),
            (Lines{"r.yaml:7:9: bad source prefix: '198.51.100.7/24' has host bits set; did you mean "
                   "'198.51.100.0/24'?",
                   "r.yaml:8:9: bad source prefix: bad prefix length in '198.51.100.0/33': expected 0..32",
                   "r.yaml:9:9: bad source prefix: 'bogus' is not an IPv4 or IPv6 address or prefix",
                   "r.yaml:10:9: bad source prefix: '2001:db8::1/32' has host bits set; did you mean "
                   "'2001:db8::/32'?",
                   "r.yaml:11:34: 'vlan' must be between 1 and 4094, got 0",
                   "r.yaml:11:43: 'port' must be between 1 and 65535, got 70000",
                   "r.yaml:12:9: missing required key 'cidr' in a source of trunk 't'"}));
}

TEST_F(LoaderErrors, ListFileMissing) {
  EXPECT_EQ(errors(kHead + "lists:\n  l: {file: lists/nope.txt}\n"),
            Lines{"r.yaml:4:13: cannot read list file 'lists/nope.txt' of list 'l': No such file or directory"});
  EXPECT_EQ(errors(kHead + "lists:\n  l: {kind: exakt, entries: [\"+8613800138000\"]}\n  m: {}\n"),
            (Lines{"r.yaml:4:13: unknown list kind 'exakt'; did you mean 'exact'? (kinds: exact, prefix, range)",
                   "r.yaml:5:3: list 'm' has no 'file', 'files' or 'entries'"}));
}

TEST_F(LoaderErrors, BadActions) {
  auto rule = [](const std::string& action) {
    return kHead + "rules:\n  - id: a\n    match: {caller: {prefix: \"+86\"}}\n    action: " + action + "\n";
  };
  EXPECT_EQ(errors(rule("{reject: {code: 486}}")),
            Lines{"r.yaml:6:29: reject 'code' must be 603 (Decline) or 608 (Rejected), got 486"});
  EXPECT_EQ(errors(rule("block")),
            Lines{"r.yaml:6:13: unknown action 'block' (actions: pass, drop, reject, tag, trace)"});
  EXPECT_EQ(errors(rule("rejct")),
            Lines{"r.yaml:6:13: unknown action 'rejct'; did you mean 'reject'? (actions: pass, drop, "
                  "reject, tag, trace)"});
  EXPECT_EQ(errors(rule("tag")), Lines{"r.yaml:6:13: 'tag' needs a score: write  action: {tag: {score: 80}}"});
  EXPECT_EQ(errors(rule("{tag: {score: 150, header: From, value: \"{x} {rule\"}}")),
            (Lines{"r.yaml:6:27: 'score' must be between 0 and 100, got 150",
                   "r.yaml:6:40: tag 'header' 'From' would change how the call is routed or "
                   "identified; use an X- header",
                   "r.yaml:6:53: tag 'value' has an unknown placeholder '{x}' (placeholders: {rule}, {score})"}));
  EXPECT_EQ(errors(rule("{tag: {header: \"X Risk\"}}")),
            (Lines{"r.yaml:6:19: missing required key 'score' in tag",
                   "r.yaml:6:28: tag 'header' must be a header name (letters, digits, '-'), got 'X Risk'"}));
  EXPECT_EQ(errors(rule("{reject: {code: 603, call_info: \"https://x.example/a.jwt\"}}")),
            Lines{"r.yaml:6:34: 'call_info' is only for reject code 608 (RFC 8688)"});
  EXPECT_EQ(errors(rule("{reject: {code: 608, call_info: \"not a uri\", reason: \"a \\\"b\\\"\"}}")),
            (Lines{"r.yaml:6:45: 'call_info' must be an absolute URI without spaces or <>, e.g. "
                   "https://example.net/608.jwt, got 'not a uri'",
                   "r.yaml:6:66: 'reason' must not contain control characters, '\"' or '\\'"}));
  EXPECT_EQ(errors(rule("{drop: {x: 1}}")), Lines{"r.yaml:6:20: 'drop' takes no parameters, got a map"});
  EXPECT_EQ(errors(rule("{drop: , pass: }")),
            Lines{"r.yaml:6:13: an action is exactly one of pass, drop, reject, tag, trace; got 2 keys"});
}

TEST_F(LoaderErrors, BadDefaults) {
  EXPECT_EQ(errors(kHead + "defaults: {action: trace, malformed: fail_opne}\n"),
            (Lines{"r.yaml:3:20: the default action must be pass, drop or reject, got 'trace'",
                   "r.yaml:3:38: 'malformed' must be fail_open or fail_closed, got 'fail_opne'; "
                   "did you mean 'fail_open'?"}));
}

TEST_F(LoaderErrors, BadMatchShapes) {
  auto rule = [](const std::string& match) {
    return kHead + "rules:\n  - id: a\n    match: " + match + "\n    action: drop\n";
  };
  EXPECT_EQ(errors(rule("{}")), Lines{"r.yaml:5:12: an empty match would match every call; use 'defaults' for that"});
  EXPECT_EQ(errors(rule("{caller: {}}")),
            Lines{"r.yaml:5:13: 'caller' needs an operator (in, prefix, range, equals, number, regex, present, is)"});
  EXPECT_EQ(errors(rule("{user_agent: {in: x}}")),
            Lines{"r.yaml:5:26: unknown key 'in' in 'user_agent' (allowed: regex, present)"});
  EXPECT_EQ(errors(rule("{calller: {in: x}}")),
            Lines{"r.yaml:5:13: unknown key 'calller' in match; did you mean 'caller'? (allowed: caller, "
                  "from, pai, to, ruri, diversion, user_agent, display_name, trunk, trunk_class, header, "
                  "all, any, not, caller_in_trunk_ranges, detector, caller_shares_callee_prefix)"});
  EXPECT_EQ(errors(rule("{any: {caller: {prefix: \"+86\"}}}")),
            Lines{"r.yaml:5:18: 'any' must be a non-empty list of match expressions, got a map"});
  EXPECT_EQ(errors(rule("{header: {regex: \"x\"}}")), Lines{"r.yaml:5:13: missing required key 'name' in 'header'"});
  EXPECT_EQ(errors(rule("{header: {name: \"X A\", present: true}}")), Lines{"r.yaml:5:28: 'X A' is not a header name"});
  EXPECT_EQ(errors(rule("{caller: {prefix: []}}")), Lines{"r.yaml:5:30: 'prefix' needs at least one value"});
  EXPECT_EQ(errors(rule("{not: [a]}")), Lines{"r.yaml:5:18: match must be a map, got a list"});
}

TEST_F(LoaderErrors, BadDialPlans) {
  EXPECT_EQ(errors("version: \"1\"\ndial_plan: {preset: chinaa}\n"),
            Lines{"r.yaml:2:21: unknown dial plan preset 'chinaa'; did you mean 'china'? (presets: "
                  "china, north_america)"});
  EXPECT_EQ(errors("version: \"1\"\ndial_plan: {country_code: \"44\"}\n"),
            (Lines{"r.yaml:2:12: missing required key 'international_prefix' in dial_plan (no preset)",
                   "r.yaml:2:12: missing required key 'national_number_length' in dial_plan (no preset)"}));
  EXPECT_EQ(errors("version: \"1\"\ndial_plan:\n  preset: china\n  country_code: \"0\"\n"),
            Lines{"r.yaml:4:3: dial_plan: country_code: must be 1 to 3 digits, not starting with 0 "
                  "(got \"0\")"});
  EXPECT_EQ(errors("version: \"1\"\ndial_plan:\n  preset: china\n  national_number_length: [11, 3]\n"
                   "  short_codes: [\"1234567\"]\n  local_patterns: [{lead: x1, length: 11}]\n"),
            (Lines{"r.yaml:5:17: a short code must be 1..6 digits, got '1234567'",
                   "r.yaml:6:27: 'lead' must be digits, no longer than 'length', got 'x1'"}));
  EXPECT_EQ(errors("version: \"1\"\ndial_plan:\n  preset: china\n  national_number_length: [11, 3]\n"),
            Lines{"r.yaml:4:3: dial_plan: national_number_length: need 1 <= min <= max (got [11, 3])"});
}

TEST_F(LoaderErrors, EmergencyNumberUnknownToThePlan) {
  EXPECT_EQ(errors(kHead + "guard_rails: {emergency: [\"110\", \"911\"]}\n"),
            Lines{"r.yaml:3:34: emergency number '911' does not normalise under the dial plan: it is "
                  "too short (3 digits) for any rule of the dial plan; add it to dial_plan.short_codes "
                  "(now: 110 112 119 120 122)"});
}

// One run reports every problem, not only the first.
TEST_F(LoaderErrors, AllErrorsAreReported) {
  const LoadResult r = dir.load(kHead +
                                "lists:\n"
                                "  l: {file: missing.txt}\n"  // 1
                                "rules:\n"
                                "  - id: a\n"
                                "    match: {caller: {in: nolist}}\n"        // 2
                                "    action: {reject: {code: 600}}\n"        // 3
                                "  - id: a\n"                                // 4 duplicate
                                "    match: {user_agent: {regex: \"(\"}}\n"  // 5
                                "    action: drop\n");
  EXPECT_EQ(count_errors(r.diagnostics), 5u);
  EXPECT_EQ(dir.lines(r),
            (Lines{"r.yaml:4:13: cannot read list file 'missing.txt' of list 'l': No such file or directory",
                   "r.yaml:7:26: unknown list 'nolist' (lists: l)",
                   "r.yaml:8:29: reject 'code' must be 603 (Decline) or 608 (Rejected), got 600",
                   "r.yaml:9:9: duplicate rule id 'a' (first used at r.yaml:6:9)",
                   "r.yaml:10:33: bad regex '(': Missing close parenthesis for group started at index 0"}));
}

}  // namespace
}  // namespace sipwall::rules::test

namespace sipwall::rules::test {
namespace {

// Inputs no one should write still give an error, never a crash (run under
// ASan too).
TEST_F(LoaderErrors, OddInputsAreErrorsNotCrashes) {
  const std::vector<std::string> inputs = {
      "{",
      std::string(20000, '['),
      "a: &x [1, *x]\n",
      "version: \"1\"\ndial_plan: {preset: china}\nrules: [&r {id: a}, *r]\n",
      std::string("version: \"1\0\"\n", 14),
      "\t\tversion: 1\n",
      "version: \"1\"\ndial_plan: {preset: china}\nrules:\n  - {id: a, match: {all: [{any: [{not: {not: {}}}]}]}, "
      "action: drop}\n",
      "version: \"1\"\ndial_plan: {preset: china}\nrules:\n  - {id: a, match: {? [x] : y}, action: drop}\n",
      "version: \"1\"\ndial_plan: {preset: china}\nlists: {l: {entries: [~, [], {}]}}\n",
  };
  for (const std::string& in : inputs) {
    const LoadResult r = dir.load(in);
    EXPECT_FALSE(r.ok()) << in.substr(0, 60);
    EXPECT_GT(count_errors(r.diagnostics), 0u) << in.substr(0, 60);
  }
}

}  // namespace
}  // namespace sipwall::rules::test
