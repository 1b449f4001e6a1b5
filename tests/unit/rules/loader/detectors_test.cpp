// Behavioural detectors in the rule language (docs/rules.md "Detectors"):
// the `detectors:` schema and its errors with exact positions, the rule
// conditions on detectors and number structure, the compiled specs and
// their artifact section (round trip, hostile content refused whatever its
// checksum says), and `rules diff`.
#include <gtest/gtest.h>

#include <sstream>

#include "rules/compiled/access.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/detect/definition_hash.h"
#include "rules/diff/diff.h"
#include "rules/model/model_text.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

using detect::DetectCount;
using detect::DetectKey;

const std::string kBombing =
    "  - name: call_bombing\n"
    "    key: caller_callee\n"
    "    count: invites\n"
    "    window: 60s\n"
    "    block: 10\n"
    "    block_for: 10m\n";

class Detectors : public ::testing::Test {
 protected:
  // Error lines only (warnings dropped).
  Lines errors(const std::string& yaml) {
    const LoadResult r = dir.load(yaml);
    EXPECT_FALSE(r.ok());
    Lines out;
    for (const std::string& l : dir.lines(r))
      if (l.find(": warning: ") == std::string::npos) out.push_back(l);
    return out;
  }
  // One detector written as `body` (its lines indented by four), used by a rule.
  Lines detector_errors(const std::string& body) {
    return errors(kHead + "detectors:\n  - name: d\n" + body +
                  "rules:\n  - {id: r, match: {detector: d}, action: reject}\n");
  }
  std::unique_ptr<CompiledRuleSet> compile_ok(const std::string& yaml) {
    LoadResult r = dir.load(yaml);
    EXPECT_TRUE(r.ok()) << (dir.lines(r).empty() ? "" : dir.lines(r)[0]);
    if (!r.ok()) return nullptr;
    CompileResult c = compile(*r.rule_set);
    EXPECT_TRUE(c.set) << (c.diagnostics.empty() ? "" : c.diagnostics[0].message);
    return std::move(c.set);
  }
  TempDir dir;
};

TEST_F(Detectors, LoadsEveryField) {
  LoadResult r = dir.load(kHead + "detectors:\n" + kBombing +
                          "  - name: ring\n"
                          "    key: caller\n"
                          "    count: one_ring\n"
                          "    within: 3s\n"
                          "    window: 5m\n"
                          "    warn: 5\n"
                          "    block: 20\n"
                          "    block_for: 1h\n"
                          "    report: true\n"
                          "    capacity: 1000\n"
                          "  - name: low_asr\n"
                          "    key: trunk\n"
                          "    count: asr\n"
                          "    window: 1h\n"
                          "    min_attempts: 50\n"
                          "    warn: 30%\n"
                          "    block: 12.5%\n"
                          "rules:\n"
                          "  - {id: r1, match: {detector: call_bombing}, action: {reject: {code: 608}}}\n"
                          "  - {id: r2, match: {detector: {name: ring, level: warn}}, action: {tag: {score: 50}}}\n"
                          "  - {id: r3, match: {detector: low_asr}, action: drop}\n");
  ASSERT_TRUE(r.ok()) << dir.lines(r)[0];
  const auto& ds = r.rule_set->detectors;
  ASSERT_EQ(ds.size(), 3U);
  EXPECT_EQ(ds[0].name, "call_bombing");
  EXPECT_EQ(ds[0].spec.key, DetectKey::caller_callee);
  EXPECT_EQ(ds[0].spec.count, DetectCount::invites);
  EXPECT_EQ(ds[0].spec.window_ms, 60'000U);
  EXPECT_EQ(ds[0].spec.warn, 0U);
  EXPECT_EQ(ds[0].spec.block, 10U);
  EXPECT_EQ(ds[0].spec.block_for_ms, 600'000U);
  EXPECT_FALSE(ds[0].spec.report_only);
  EXPECT_EQ(ds[0].spec.capacity, 0U);  // not written: the data plane's detection.capacity
  EXPECT_EQ(ds[0].spec.definition_hash, detect::definition_hash(ds[0].spec));
  EXPECT_EQ(ds[0].where.line, 4U);
  EXPECT_EQ(ds[0].where.column, 5U);
  EXPECT_EQ(ds[1].spec.count, DetectCount::one_ring);
  EXPECT_EQ(ds[1].spec.within_ms, 3000U);
  EXPECT_EQ(ds[1].spec.window_ms, 300'000U);
  EXPECT_EQ(ds[1].spec.warn, 5U);
  EXPECT_EQ(ds[1].spec.block, 20U);
  EXPECT_EQ(ds[1].spec.block_for_ms, 3'600'000U);
  EXPECT_TRUE(ds[1].spec.report_only);
  EXPECT_EQ(ds[1].spec.capacity, 1000U);
  EXPECT_EQ(ds[2].spec.count, DetectCount::asr);
  EXPECT_EQ(ds[2].spec.min_attempts, 50U);
  EXPECT_EQ(ds[2].spec.warn, 300U);   // permille
  EXPECT_EQ(ds[2].spec.block, 125U);  // permille
  const Predicate& p = r.rule_set->rules[1].match.predicate;
  EXPECT_EQ(p.op, Op::detector);
  EXPECT_EQ(p.detector, "ring");
  EXPECT_EQ(p.level, detect::Level::warn);
  EXPECT_EQ(r.rule_set->rules[0].match.predicate.level, detect::Level::block);
  EXPECT_EQ(to_string(r.rule_set->rules[1].match), "detector ring at warn");
}

TEST_F(Detectors, SchemaErrorsNameFileLineColumn) {
  // Unknown keys of a detector, with a suggestion.
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    windw: 60s\n    block: 3\n"),
            (Lines{"r.yaml:4:5: missing required key 'window' in detector 'd'",
                   "r.yaml:7:5: unknown key 'windw' in detector 'd'; did you mean 'window'? (allowed: name, key, "
                   "count, window, warn, block, within, min_attempts, block_for, report, capacity)"}));
  EXPECT_EQ(detector_errors("    key: calller\n    count: invites\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:5:10: unknown detector key 'calller'; did you mean 'caller'? (keys: caller, callee, "
                   "caller_callee, source, source_callee, trunk)"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invite\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:6:12: unknown detector count 'invite'; did you mean 'invites'? (counts: invites, "
                   "distinct_callees, distinct_callers, one_ring, short_calls, unanswered, asr)"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60\n    block: 3\n"),
            (Lines{"r.yaml:7:13: 'window' must be a duration such as 500ms, 60s, 5m, 1h or 1d, got '60'"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 2d\n    block: 3\n"),
            (Lines{"r.yaml:7:13: 'window' must be between 1s and 24h, got 2d"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 500ms\n    block: 3\n"),
            (Lines{"r.yaml:7:13: 'window' must be between 1s and 24h, got 500ms"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60s\n"),
            (Lines{"r.yaml:4:5: detector 'd' needs 'warn' or 'block' (or both): the count above which it fires"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60s\n    block: 0\n"),
            (Lines{"r.yaml:8:12: 'block' must be between 1 and 10000000, got 0"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60s\n    warn: 10\n    block: 10\n"),
            (Lines{"r.yaml:8:11: 'warn' must be below 'block' (warn 10, block 10): warn is the earlier level"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: one_ring\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:6:5: count 'one_ring' needs 'within' (e.g. within: 3s)"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    within: 3s\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:7:5: 'within' applies only to count one_ring (cancelled within it of the first 18x) and "
                   "short_calls (ended within it of the answer)"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: short_calls\n    within: 2h\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:7:13: 'within' must be between 100ms and 1h, got 2h"}));
  EXPECT_EQ(detector_errors("    key: trunk\n    count: asr\n    window: 1h\n    block: 20%\n"),
            (Lines{"r.yaml:6:5: count 'asr' needs 'min_attempts' (the attempts in the window before the ratio is "
                   "judged)"}));
  EXPECT_EQ(detector_errors("    key: trunk\n    count: asr\n    min_attempts: 10\n    window: 1h\n    block: 20\n"),
            (Lines{"r.yaml:9:12: 'block' of an asr detector is a percentage above 0% and at most 100% such as 20% "
                   "or 12.5% (it fires when the answer-seizure ratio falls below it), got '20'"}));
  EXPECT_EQ(
      detector_errors("    key: trunk\n    count: asr\n    min_attempts: 10\n    window: 1h\n    warn: 10%\n    block: "
                      "20%\n"),
      (Lines{"r.yaml:9:11: 'warn' of an asr detector must be above 'block': the ratio falls below warn first"}));
  EXPECT_EQ(
      detector_errors("    key: caller\n    count: invites\n    min_attempts: 3\n    window: 60s\n    block: 3\n"),
      (Lines{"r.yaml:7:5: 'min_attempts' applies only to count asr"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60s\n    block: 3\n    block_for: 8d\n"),
            (Lines{"r.yaml:9:16: 'block_for' must be between 0s and 168h, got 8d"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60s\n    block: 3\n    report: maybe\n"),
            (Lines{"r.yaml:9:13: 'report' must be true or false, got 'maybe'"}));
  EXPECT_EQ(detector_errors("    key: caller\n    count: invites\n    window: 60s\n    block: 3\n    capacity: 3\n"),
            (Lines{"r.yaml:9:15: 'capacity' must be between 4 and 4194304, got 3"}));
  EXPECT_EQ(detector_errors("    key: caller_callee\n    count: distinct_callees\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:6:12: count 'distinct_callees' over key 'caller_callee' is at most 1; count it per a key "
                   "without that number (e.g. caller, callee, source or trunk)"}));
  EXPECT_EQ(errors(kHead + "detectors:\n  - key: caller\n    count: invites\n    window: 60s\n    block: 3\n"),
            (Lines{"r.yaml:4:5: missing required key 'name' in detector #1"}));
  EXPECT_EQ(errors(kHead + "detectors: {a: 1}\n"),
            (Lines{"r.yaml:3:12: 'detectors' must be a list of detectors, got a map"}));
  EXPECT_EQ(errors(kHead + "detectors:\n  - name: 'bad name'\n    key: caller\n    count: invites\n    window: "
                           "60s\n    block: 3\n"),
            (Lines{"r.yaml:4:11: invalid detector name 'bad name': use letters, digits, '_', '-' and '.', starting "
                   "with a letter or digit, at most 64"}));
  EXPECT_EQ(errors(kHead + "detectors:\n" + kBombing + kBombing + "rules: []\n"),
            (Lines{"r.yaml:10:11: duplicate detector name 'call_bombing' (first used at r.yaml:4:11)"}));
}

TEST_F(Detectors, MoreThan32AreRefused) {
  std::string yaml = kHead + "detectors:\n";
  for (int i = 0; i < 33; ++i) {
    yaml += "  - {name: d" + std::to_string(i) + ", key: caller, count: invites, window: 60s, block: 5}\n";
  }
  yaml += "rules: []\n";
  EXPECT_EQ(errors(yaml), (Lines{"r.yaml:36:5: too many detectors: a rule set may have at most 32 (each costs every "
                                 "INVITE a table update in every worker)"}));
  // And the compiler refuses a hand-built model with 33.
  LoadResult ok = dir.load(kHead + "detectors:\n" + kBombing + "rules: []\n");
  ASSERT_TRUE(ok.ok());
  RuleSet rs = *ok.rule_set;
  while (rs.detectors.size() < 33) {
    rs.detectors.push_back(rs.detectors[0]);
    rs.detectors.back().name = "d" + std::to_string(rs.detectors.size());
  }
  const CompileResult c = compile(rs);
  EXPECT_FALSE(c.set);
  ASSERT_FALSE(c.diagnostics.empty());
  EXPECT_EQ(c.diagnostics[0].message, "too many detectors: a rule set may have at most 32");
}

TEST_F(Detectors, ConditionErrorsNameFileLineColumn) {
  const std::string head = kHead + "detectors:\n" + kBombing + "rules:\n";
  EXPECT_EQ(errors(head + "  - {id: r, match: {detector: call_bombin}, action: drop}\n"),
            (Lines{"r.yaml:11:31: unknown detector 'call_bombin'; did you mean 'call_bombing'? (detectors: "
                   "call_bombing)"}));
  EXPECT_EQ(errors(kHead + "rules:\n  - {id: r, match: {detector: x}, action: drop}\n"),
            (Lines{"r.yaml:4:31: unknown detector 'x' (no detectors are defined)"}));
  EXPECT_EQ(errors(head + "  - {id: r, match: {detector: {name: call_bombing, level: blok}}, action: drop}\n"),
            (Lines{"r.yaml:11:59: unknown detector level 'blok'; did you mean 'block'? (levels: warn, block)"}));
  EXPECT_EQ(errors(head + "  - {id: r, match: {detector: {nam: call_bombing}}, action: drop}\n"),
            (Lines{"r.yaml:11:21: missing required key 'name' in 'detector'",
                   "r.yaml:11:32: unknown key 'nam' in 'detector'; did you mean 'name'? (allowed: name, level)"}));
  EXPECT_EQ(errors(head + "  - {id: r, match: {detector: [a, b]}, action: drop}\n"),
            (Lines{"r.yaml:11:31: 'detector' must be a detector name or {name: ..., level: warn|block}, got a list"}));
  EXPECT_EQ(errors(head + "  - {id: r, match: {caller: {is: invalidd}}, action: drop}\n"),
            (Lines{"r.yaml:11:34: unknown number shape 'invalidd'; did you mean 'invalid'? (shapes: absent, "
                   "not_a_number, invalid, short_code, too_short, too_long, bad_length)"}));
  EXPECT_EQ(errors(head + "  - {id: r, match: {caller_shares_callee_prefix: 16}, action: drop}\n"),
            (Lines{"r.yaml:11:50: 'caller_shares_callee_prefix' must be between 1 and 15, got 16"}));
  EXPECT_EQ(errors(head + "  - {id: r, match: {user_agent: {is: absent}}, action: drop}\n"),
            (Lines{"r.yaml:11:34: unknown key 'is' in 'user_agent' (allowed: regex, present)"}));
}

TEST_F(Detectors, NumberStructureConditionsLoad) {
  LoadResult r = dir.load(kHead +
                          "rules:\n"
                          "  - {id: spoof, match: {caller_shares_callee_prefix: 7}, action: {tag: {score: 50}}}\n"
                          "  - {id: odd, match: {caller: {is: [absent, invalid, too_long]}}, action: drop}\n"
                          "  - {id: sc, match: {from: {is: short_code}}, action: drop}\n");
  ASSERT_TRUE(r.ok()) << dir.lines(r)[0];
  const auto& rules = r.rule_set->rules;
  EXPECT_EQ(rules[0].match.predicate.op, Op::caller_shares_callee_prefix);
  EXPECT_EQ(rules[0].match.predicate.digits, 7U);
  EXPECT_EQ(to_string(rules[0].match), "caller_shares_callee_prefix 7");
  EXPECT_EQ(rules[1].match.predicate.op, Op::number_is);
  EXPECT_EQ(rules[1].match.predicate.shapes,
            shape_bit(NumberShape::absent) | shape_bit(NumberShape::invalid) | shape_bit(NumberShape::too_long));
  EXPECT_EQ(to_string(rules[1].match), "caller is [absent, invalid, too_long]");
  EXPECT_EQ(rules[2].match.predicate.field, Field::from);
}

TEST_F(Detectors, UnusedDetectorIsAWarning) {
  LoadResult r = dir.load(kHead + "detectors:\n" + kBombing + "rules: []\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(dir.lines(r), (Lines{"r.yaml:4:5: warning: detector 'call_bombing' is not used by any rule: it counts, "
                                 "but no call is acted on",
                                 "r.yaml:10:8: warning: the rule set has no rules; every INVITE gets the default "
                                 "action"}));
}

TEST_F(Detectors, ReportModeRuleShadowsNothing) {
  const std::string head = kHead + "detectors:\n" + kBombing;
  // Enforcing: the second rule can never match.
  LoadResult r = dir.load(head +
                          "rules:\n"
                          "  - {id: a, match: {detector: call_bombing}, action: reject}\n"
                          "  - {id: b, match: {detector: call_bombing}, action: drop}\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(dir.lines(r).size(), 1U);
  EXPECT_NE(dir.lines(r)[0].find("rule 'b' can never match"), std::string::npos);
  // Report mode: the first does not act, so the second is reachable.
  LoadResult q = dir.load(head + "    report: true\n" +
                          "rules:\n"
                          "  - {id: a, match: {detector: call_bombing}, action: reject}\n"
                          "  - {id: b, match: {detector: call_bombing}, action: drop}\n");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(dir.lines(q).empty()) << dir.lines(q)[0];
}

const std::string kSet = kHead + "detectors:\n" + kBombing +
                         "  - {name: fan, key: source, count: distinct_callees, window: 1m, warn: 50, block: 100, "
                         "report: true, capacity: 5000}\n"
                         "rules:\n"
                         "  - {id: bomb, match: {detector: call_bombing}, action: {reject: {code: 608}}}\n"
                         "  - {id: fan, match: {all: [{detector: {name: fan, level: warn}}, {caller: {is: "
                         "short_code}}]}, action: drop}\n"
                         "  - {id: spoof, match: {caller_shares_callee_prefix: 7}, action: {tag: {score: 50}}}\n";

TEST_F(Detectors, CompileAndArtifactRoundTrip) {
  auto set = compile_ok(kSet);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->detectors().size(), 2U);
  EXPECT_EQ(set->detector_name(0), "call_bombing");
  EXPECT_EQ(set->detector_name(1), "fan");
  EXPECT_EQ(set->detector_name(2), "");
  EXPECT_EQ(set->find_detector("fan"), 1U);
  EXPECT_EQ(set->detectors()[1].count, DetectCount::distinct_callees);
  EXPECT_TRUE(set->detectors()[1].report_only);
  EXPECT_EQ(set->detectors()[1].capacity, 5000U);
  bool det = false, shape = false, prefix = false;
  for (const Atom& a : set->atoms()) {
    det |= a.kind == AtomKind::detector_level && a.a == 1 && a.b == 1;
    shape |= a.kind == AtomKind::number_shape && a.a == shape_bit(NumberShape::short_code);
    prefix |= a.kind == AtomKind::caller_shares_callee_prefix && a.a == 7;
  }
  EXPECT_TRUE(det && shape && prefix);

  const std::string path = (dir.path() / "a.swr").string();
  ASSERT_TRUE(save_artifact(*set, path).ok);
  ArtifactLoadResult l = load_artifact(path);
  ASSERT_TRUE(l.ok()) << l.message;
  EXPECT_EQ(l.set->checksum(), set->checksum());
  ASSERT_EQ(l.set->detectors().size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& a = set->detectors()[i];
    const auto& b = l.set->detectors()[i];
    EXPECT_EQ(a.definition_hash, b.definition_hash);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.report_only, b.report_only);
    EXPECT_EQ(a.window_ms, b.window_ms);
    EXPECT_EQ(a.warn, b.warn);
    EXPECT_EQ(a.block, b.block);
    EXPECT_EQ(a.block_for_ms, b.block_for_ms);
    EXPECT_EQ(a.capacity, b.capacity);
    EXPECT_EQ(l.set->detector_name(i), set->detector_name(i));
  }

  // The checksum covers the detectors: another threshold, another checksum.
  std::string other = kSet;
  other.replace(other.find("block: 10\n"), 10, "block: 11\n");
  auto set2 = compile_ok(other);
  ASSERT_TRUE(set2);
  EXPECT_NE(set2->checksum(), set->checksum());
  EXPECT_NE(set2->detectors()[0].definition_hash, set->detectors()[0].definition_hash);
  EXPECT_EQ(set2->detectors()[1].definition_hash, set->detectors()[1].definition_hash);

  // Report mode is not part of the definition: moving a detector from
  // report to block keeps its state (counts and holds) across the reload.
  std::string blocking = kSet;
  blocking.replace(blocking.find("report: true, "), 14, "");
  auto set3 = compile_ok(blocking);
  ASSERT_TRUE(set3);
  EXPECT_FALSE(set3->detectors()[1].report_only);
  EXPECT_NE(set3->checksum(), set->checksum());
  EXPECT_EQ(set3->detectors()[1].definition_hash, set->detectors()[1].definition_hash);
}

TEST_F(Detectors, SetWithoutDetectorsKeepsItsBytes) {
  // No detectors section is written for a set without detectors, so its
  // checksum is what it was before detectors existed.
  auto with = compile_ok(kHead + "rules:\n  - {id: r, match: {caller: {prefix: '+86138'}}, action: drop}\n");
  ASSERT_TRUE(with);
  EXPECT_TRUE(with->detectors().empty());
  const std::string path = (dir.path() / "b.swr").string();
  ASSERT_TRUE(save_artifact(*with, path).ok);
  ArtifactLoadResult l = load_artifact(path);
  ASSERT_TRUE(l.ok()) << l.message;
  EXPECT_TRUE(l.set->detectors().empty());
}

// A set whose detector data was made hostile after compiling, resealed with
// a correct checksum (as an attacker who can write the file would): the
// loader refuses it as malformed.
TEST_F(Detectors, HostileDetectorSectionIsRefused) {
  struct Case {
    const char* what;
    void (*mutate)(CompiledRuleSetData&);
  };
  const Case cases[] = {
      {"window 0", [](CompiledRuleSetData& d) { d.detectors[0].window_ms = 0; }},
      {"window past 24h", [](CompiledRuleSetData& d) { d.detectors[0].window_ms = 90'000'000; }},
      {"huge capacity", [](CompiledRuleSetData& d) { d.detectors[0].capacity = 1U << 30; }},
      {"capacity below 4", [](CompiledRuleSetData& d) { d.detectors[0].capacity = 2; }},
      {"unknown key kind", [](CompiledRuleSetData& d) { d.detectors[0].key = static_cast<DetectKey>(9); }},
      {"unknown count kind", [](CompiledRuleSetData& d) { d.detectors[0].count = static_cast<DetectCount>(200); }},
      {"hash of another definition", [](CompiledRuleSetData& d) { d.detectors[0].block = 99; }},
      {"asr over 1000 permille",
       [](CompiledRuleSetData& d) {
         d.detectors[0].count = DetectCount::asr;
         d.detectors[0].min_attempts = 1;
         d.detectors[0].block = 5000;
         d.detectors[0].definition_hash = detect::definition_hash(d.detectors[0]);
       }},
      {"name out of the pool", [](CompiledRuleSetData& d) { d.detector_names[0].off = 0xFFFFFF00; }},
      {"empty name", [](CompiledRuleSetData& d) { d.detector_names[0].len = 0; }},
      {"name with a control byte",
       [](CompiledRuleSetData& d) { d.detector_names[0] = intern_string(d, std::string("a\nb", 3)); }},
      {"duplicate name", [](CompiledRuleSetData& d) { d.detector_names[1] = d.detector_names[0]; }},
      {"33 detectors",
       [](CompiledRuleSetData& d) {
         while (d.detectors.size() < 33) {
           d.detectors.push_back(d.detectors[0]);
           d.detector_names.push_back(intern_string(d, "x" + std::to_string(d.detectors.size())));
         }
       }},
      {"atom names a missing detector",
       [](CompiledRuleSetData& d) {
         for (Atom& a : d.atoms)
           if (a.kind == AtomKind::detector_level) a.a = 7;
       }},
      {"atom with level 3",
       [](CompiledRuleSetData& d) {
         for (Atom& a : d.atoms)
           if (a.kind == AtomKind::detector_level) a.b = 3;
       }},
      {"shape atom with unknown bits",
       [](CompiledRuleSetData& d) {
         for (Atom& a : d.atoms)
           if (a.kind == AtomKind::number_shape) a.a = 1U << 20;
       }},
      {"prefix atom of 16 digits",
       [](CompiledRuleSetData& d) {
         for (Atom& a : d.atoms)
           if (a.kind == AtomKind::caller_shares_callee_prefix) a.a = 16;
       }},
  };
  for (const Case& c : cases) {
    auto set = compile_ok(kSet);
    ASSERT_TRUE(set);
    CompiledRuleSetData& d = CompiledRuleSetAccess::data(*set);
    c.mutate(d);
    d.checksum = content_checksum(d);
    const std::string path = (dir.path() / "h.swr").string();
    ASSERT_TRUE(save_artifact(*set, path).ok) << c.what;
    ArtifactLoadResult l = load_artifact(path);
    EXPECT_FALSE(l.ok()) << c.what;
    EXPECT_EQ(l.error, ArtifactError::malformed) << c.what << ": " << l.message;
  }
}

TEST_F(Detectors, DiffShowsDetectorChangesAndKeptState) {
  LoadResult a = dir.load(kSet, "a.yaml");
  LoadResult b = dir.load(kHead + "detectors:\n" +
                              "  - name: call_bombing\n    key: caller_callee\n    count: invites\n    window: 5m\n"
                              "    block: 10\n    block_for: 10m\n"
                              "  - {name: fanout, key: source, count: distinct_callees, window: 1m, warn: 50, block: "
                              "100, report: true, capacity: 5000}\n"
                              "  - {name: ring, key: caller, count: one_ring, within: 3s, window: 5m, block: 20}\n"
                              "rules:\n"
                              "  - {id: bomb, match: {detector: call_bombing}, action: {reject: {code: 608}}}\n",
                          "b.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  const RuleSetDiff d = diff(*a.rule_set, *b.rule_set);
  ASSERT_EQ(d.detectors_changed.size(), 1U);
  EXPECT_EQ(d.detectors_changed[0].name, "call_bombing");
  EXPECT_EQ(d.detectors_changed[0].fields, std::vector<std::string>{"window 1m -> 5m"});
  EXPECT_FALSE(d.detectors_changed[0].state_kept);
  EXPECT_EQ(d.detectors_added,
            (std::vector<std::string>{"fanout: key source, count distinct_callees, window 1m, warn 50, block 100, "
                                      "block_for 0s, report true, capacity 5000 (state kept: same definition as a "
                                      "removed detector)",
                                      "ring: key caller, count one_ring, window 5m, warn none, block 20, within 3s, "
                                      "block_for 0s, report false, capacity data plane's detection.capacity"}));
  EXPECT_EQ(d.detectors_removed,
            (std::vector<std::string>{"fan: key source, count distinct_callees, window 1m, warn 50, block 100, "
                                      "block_for 0s, report true, capacity 5000"}));
  std::ostringstream os;
  print_diff(os, d);
  EXPECT_NE(os.str().find("detectors:\n"), std::string::npos);
  EXPECT_NE(os.str().find("  ~ call_bombing: window 1m -> 5m; (counts restart from zero on reload)\n"),
            std::string::npos)
      << os.str();
  EXPECT_FALSE(d.empty());
  // The same set: nothing to report.
  EXPECT_TRUE(diff(*a.rule_set, *a.rule_set).empty());
}

}  // namespace
}  // namespace sipwall::rules::test
