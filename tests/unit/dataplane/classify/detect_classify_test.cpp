// classify() with behavioural detection: a real WorkerDetect (and Merger for
// holds) and explicit now_ms, rule sets from YAML through the real loader
// and compiler. Pins the semantics of docs/rules.md "Detectors": a call is
// counted when its INVITE is seen, the INVITE that makes the count exceed
// the threshold is acted on, holds last for block_for, report mode passes,
// guard rails win, state survives a reload of an unchanged definition.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dataplane/classify/classify.h"
#include "dataplane/classify/explain.h"
#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/merger.h"
#include "dataplane/detect/worker_detect.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"
#include "tests/unit/dataplane/classify/sip_fixtures.h"

using namespace sipwall;
using namespace sipwall::classify;
using namespace sipwall::classify::test;
using rules::ActionKind;

namespace {

const std::string kHead = "version: \"1\"\ndial_plan: {preset: china}\n";

const std::string kBehaviour = kHead +
                               "lists:\n"
                               "  vip: {entries: ['+8613700137000']}\n"
                               "guard_rails:\n"
                               "  allow_callers: [vip]\n"
                               "detectors:\n"
                               "  - {name: bomb, key: caller_callee, count: invites, window: 60s, block: 10, "
                               "block_for: 10m}\n"
                               "  - {name: fan, key: caller, count: distinct_callees, window: 60s, warn: 3, block: 5, "
                               "report: true}\n"
                               "rules:\n"
                               "  - id: bomb\n"
                               "    match: {detector: bomb}\n"
                               "    action: {reject: {code: 608}}\n"
                               "  - id: fan\n"
                               "    match: {detector: fan}\n"
                               "    action: drop\n"
                               "  - id: fan-warn\n"
                               "    match: {detector: {name: fan, level: warn}}\n"
                               "    action: {tag: {score: 40}}\n";

std::unique_ptr<rules::CompiledRuleSet> compile_yaml(const std::string& yaml) {
  rules::LoadResult l = rules::load_rule_set_from_string(yaml, "t.yaml");
  std::string errs;
  for (const auto& d : l.diagnostics) errs += rules::format(d) + "\n";
  EXPECT_TRUE(l.ok()) << errs;
  if (!l.ok()) return nullptr;
  rules::CompileResult c = rules::compile(*l.rule_set);
  EXPECT_TRUE(c.ok());
  return std::move(c.set);
}

// An INVITE from `caller` to `callee` with its own Call-ID.
std::string invite(const std::string& caller, const std::string& callee, const std::string& call_id,
                   std::uint32_t cseq = 1) {
  Invite i;
  i.ruri = "sip:" + callee + "@core.example.com";
  i.to = "<sip:" + callee + "@core.example.com>";
  i.from = "<sip:" + caller + "@peer.example.com>;tag=a1";
  std::string t = i.text();
  t.replace(t.find("a84b4c76e66710@10.1.0.5"), 23, call_id);
  t.replace(t.find("CSeq: 314159"), 12, "CSeq: " + std::to_string(cseq));
  return t;
}

class DetectClassify : public ::testing::Test {
 protected:
  void use(const std::string& yaml) {
    set_ = compile_yaml(yaml);
    ASSERT_TRUE(set_);
    std::string err;
    ASSERT_TRUE(scratch_.prepare(*set_, &err)) << err;
    worker_ = std::make_unique<detect::WorkerDetect>(set_->detectors(), detect::WorkerOptions{});
    ctx_.worker = worker_.get();
  }
  Verdict call(const std::string& text, std::uint64_t now_ms, const PacketSource& src = from_ip("10.1.2.3")) {
    Parsed p(text);
    ctx_.now_ms = now_ms;
    return classify::classify(*set_, p.msg(), src, scratch_, &ctx_);
  }
  // The n-th distinct call from `caller` to `callee`.
  Verdict nth(int n, std::uint64_t now_ms, const std::string& caller = "+8613900139000",
              const std::string& callee = "+8613800138000") {
    return call(invite(caller, callee, "c" + std::to_string(n) + "@x"), now_ms);
  }
  // Drains the worker's reports into the merger and publishes its set.
  void merge(std::uint64_t now_ms) {
    merger_->take(0, worker_->reports());
    dyn_ = merger_->merge(now_ms);
    worker_->set_dynamic(dyn_.get());
  }

  std::unique_ptr<rules::CompiledRuleSet> set_;
  Scratch scratch_;
  std::unique_ptr<detect::WorkerDetect> worker_;
  std::unique_ptr<detect::Merger> merger_;
  std::unique_ptr<detect::DynamicSet> dyn_;
  DetectContext ctx_;
};

TEST_F(DetectClassify, TenthCallPassesEleventhIsRejected) {
  use(kBehaviour);
  for (int n = 1; n <= 10; ++n) {
    const Verdict v = nth(n, 1000 + n * 100);
    EXPECT_EQ(v.action, ActionKind::pass) << "call " << n;
    EXPECT_EQ(v.decided_by, DecidedBy::default_action) << "call " << n;
    EXPECT_EQ(v.detector, kNoDetector);
    ASSERT_EQ(ctx_.levels.n, 2U);
    EXPECT_EQ(ctx_.levels.d[0].count, static_cast<std::uint32_t>(n));
  }
  const Verdict v = nth(11, 2200);
  EXPECT_EQ(v.action, ActionKind::reject);
  EXPECT_EQ(v.reject_code, 608);
  EXPECT_EQ(v.rule_id, "bomb");
  EXPECT_EQ(v.detector, 0);
  EXPECT_EQ(v.detector_count, 11U);
  EXPECT_EQ(v.detector_level, detect::Level::block);
  EXPECT_FALSE(v.report_only);
  ASSERT_NE(v.match_atom, rules::kNone);
  EXPECT_EQ(set_->str(set_->atom_info(v.match_atom).text), "detector bomb at block");
  // Every further call while over the threshold is rejected too.
  EXPECT_EQ(nth(12, 2300).action, ActionKind::reject);
  // Another callee is another key: it passes.
  EXPECT_EQ(nth(13, 2400, "+8613900139000", "+8613800138999").action, ActionKind::pass);
}

TEST_F(DetectClassify, RetransmissionsAreNotCounted) {
  use(kBehaviour);
  for (int k = 0; k < 30; ++k) {
    const Verdict v = call(invite("+8613900139000", "+8613800138000", "same@x"), 1000 + k);
    EXPECT_EQ(v.action, ActionKind::pass) << k;
  }
  EXPECT_EQ(ctx_.levels.d[0].count, 1U);
  EXPECT_EQ(ctx_.levels.call, detect::InviteKind::retransmit);
}

TEST_F(DetectClassify, CountsExpireWithTheWindow) {
  use(kBehaviour);
  for (int n = 1; n <= 10; ++n) EXPECT_EQ(nth(n, 1000).action, ActionKind::pass);
  // Two windows later the ten are gone: the 11th call is the first again.
  const Verdict v = nth(11, 1000 + 120'000);
  EXPECT_EQ(v.action, ActionKind::pass);
  EXPECT_EQ(ctx_.levels.d[0].count, 1U);
}

TEST_F(DetectClassify, BlockForHoldsAfterTheWindowEmpties) {
  use(kBehaviour);
  merger_ = std::make_unique<detect::Merger>(set_->detectors(), detect::MergerOptions{});
  for (int n = 1; n <= 10; ++n) EXPECT_EQ(nth(n, 1000).action, ActionKind::pass);
  EXPECT_EQ(nth(11, 1500).action, ActionKind::reject);  // fires at 1.5 s
  merge(1600);
  // Past the window (the count is back to 1) but inside the 10-minute hold.
  Verdict v = nth(12, 1500 + 5 * 60'000);
  EXPECT_EQ(v.action, ActionKind::reject);
  EXPECT_EQ(v.detector_level, detect::Level::block);
  EXPECT_EQ(ctx_.levels.d[0].held, detect::Level::block);
  merge(1500 + 5 * 60'000 + 100);
  // After the hold: passes.
  v = nth(13, 1500 + 10 * 60'000 + 61'000);
  merge(1500 + 10 * 60'000 + 61'100);
  v = nth(14, 1500 + 10 * 60'000 + 62'000);
  EXPECT_EQ(v.action, ActionKind::pass);
  EXPECT_EQ(ctx_.levels.d[0].held, detect::Level::none);
}

TEST_F(DetectClassify, ReportModeRecordsAndPasses) {
  use(kBehaviour);
  // fan: distinct callees per caller, warn > 3 (tag), block > 5 (drop), report mode.
  for (int n = 1; n <= 5; ++n) {
    const Verdict v = nth(n, 1000 + n, "+8613900139000", "+861380013800" + std::to_string(n));
    EXPECT_EQ(v.action, ActionKind::pass) << n;
    if (n <= 3) {
      EXPECT_FALSE(v.report_only) << n;
    } else {
      // Over warn: the tag rule matched through a report-mode detector.
      EXPECT_TRUE(v.report_only) << n;
      EXPECT_EQ(v.report_action, ActionKind::tag);
      EXPECT_EQ(v.report_rule_id, "fan-warn");
    }
  }
  const Verdict v = nth(6, 1006, "+8613900139000", "+8613800138006");
  EXPECT_EQ(v.action, ActionKind::pass);
  EXPECT_EQ(v.decided_by, DecidedBy::default_action);
  EXPECT_TRUE(v.report_only);
  EXPECT_EQ(v.report_action, ActionKind::drop);
  EXPECT_EQ(v.report_rule_id, "fan");
  EXPECT_EQ(v.detector, 1);
  EXPECT_EQ(v.detector_count, 6U);
  EXPECT_EQ(v.detector_level, detect::Level::block);
  EXPECT_TRUE(v.reject_phrase.empty() && v.tag_line.empty());
}

TEST_F(DetectClassify, ReportModeDoesNotOverrideOtherRules) {
  // A report-mode rule before a list rule: the list rule still acts.
  use(kHead +
      "lists:\n  bad: {entries: ['+8613900139000']}\n"
      "detectors:\n"
      "  - {name: bomb, key: caller, count: invites, window: 60s, block: 1, report: true}\n"
      "rules:\n"
      "  - {id: watch, priority: 10, match: {detector: bomb}, action: drop}\n"
      "  - {id: listed, match: {caller: {in: bad}}, action: {reject: {code: 603}}}\n");
  EXPECT_EQ(nth(1, 1000).rule_id, "listed");
  const Verdict v = nth(2, 1001);
  EXPECT_EQ(v.action, ActionKind::reject);
  EXPECT_EQ(v.rule_id, "listed");
  EXPECT_TRUE(v.report_only);
  EXPECT_EQ(v.report_rule_id, "watch");
  EXPECT_EQ(v.report_action, ActionKind::drop);
}

TEST_F(DetectClassify, EnforcingDetectorWinsOverReportMode) {
  use(kHead +
      "detectors:\n"
      "  - {name: watch, key: caller, count: invites, window: 60s, block: 1, report: true}\n"
      "  - {name: bomb, key: caller, count: invites, window: 60s, block: 2}\n"
      "rules:\n"
      "  - {id: watch, match: {detector: watch}, action: drop}\n"
      "  - {id: bomb, match: {detector: bomb}, action: {reject: {code: 608}}}\n");
  nth(1, 1000);
  EXPECT_TRUE(nth(2, 1001).report_only);
  const Verdict v = nth(3, 1002);
  EXPECT_EQ(v.rule_id, "bomb");
  EXPECT_EQ(v.action, ActionKind::reject);
  EXPECT_FALSE(v.report_only);  // what happened is the enforced rule
  EXPECT_EQ(v.detector, 1);
  EXPECT_EQ(v.detector_count, 3U);
}

TEST_F(DetectClassify, GuardRailsWinButTheCallIsCounted) {
  use(kBehaviour);
  for (int n = 1; n <= 15; ++n) {
    const Verdict v = nth(n, 1000 + n, "+8613700137000");
    EXPECT_EQ(v.action, ActionKind::pass) << n;
    EXPECT_EQ(v.decided_by, DecidedBy::allow_caller) << n;
    EXPECT_EQ(v.detector, kNoDetector);
  }
  EXPECT_EQ(ctx_.levels.d[0].count, 15U);
  EXPECT_EQ(ctx_.levels.d[0].level, detect::Level::block);
  // The emergency rail too (short-code callees have no E.164 key: not counted).
  const Verdict v = call(invite("+8613900139000", "110", "sos@x"), 2000);
  EXPECT_EQ(v.decided_by, DecidedBy::emergency);
}

TEST_F(DetectClassify, NoWorkerMeansDetectorConditionsAreFalse) {
  use(kBehaviour);
  for (int n = 1; n <= 20; ++n) {
    Parsed p(invite("+8613900139000", "+8613800138000", "n" + std::to_string(n)));
    EXPECT_EQ(classify::classify(*set_, p.msg(), from_ip("10.1.2.3"), scratch_).action, ActionKind::pass);
  }
  // A worker built for another set (other spec count) is not used either.
  const auto other = compile_yaml(kHead +
                                  "detectors:\n  - {name: x, key: caller, count: invites, window: 60s, "
                                  "block: 1}\nrules:\n  - {id: x, match: {detector: x}, action: drop}\n");
  detect::WorkerDetect w(other->detectors(), detect::WorkerOptions{});
  DetectContext c;
  c.worker = &w;
  c.now_ms = 1000;
  Parsed p(invite("+8613900139000", "+8613800138000", "z"));
  EXPECT_EQ(classify::classify(*set_, p.msg(), from_ip("10.1.2.3"), scratch_, &c).action, ActionKind::pass);
  EXPECT_EQ(c.levels.n, 0U);
}

TEST_F(DetectClassify, InviteKeysCarrySourceTrunkAndCallId) {
  use(kHead +
      "trunks:\n  gw: {class: peer, sources: [192.0.2.0/24]}\n"
      "detectors:\n"
      "  - {name: src, key: source, count: invites, window: 60s, block: 2}\n"
      "  - {name: tr, key: trunk, count: invites, window: 60s, block: 100}\n"
      "rules:\n"
      "  - {id: src, match: {detector: src}, action: drop}\n"
      "  - {id: tr, match: {detector: tr}, action: drop}\n");
  const PacketSource gw = from_ip("192.0.2.7");
  call(invite("+8613900139000", "+8613800138000", "k1"), 1000, gw);
  EXPECT_EQ(ctx_.levels.d[0].count, 1U);
  EXPECT_EQ(ctx_.levels.d[1].count, 1U);
  call(invite("+8613900139001", "+8613800138001", "k2"), 1001, gw);
  // Another address: another source key, no trunk (not counted by `tr`).
  call(invite("+8613900139001", "+8613800138001", "k3"), 1002, from_ip("10.9.9.9"));
  EXPECT_EQ(ctx_.levels.d[0].count, 1U);
  EXPECT_EQ(ctx_.levels.d[1].key, 0U);
  const Verdict v = call(invite("+8613900139002", "+8613800138002", "k4"), 1003, gw);
  EXPECT_EQ(v.rule_id, "src");
  EXPECT_EQ(v.detector_count, 3U);
  // The source key of an IPv4 address is the address itself.
  EXPECT_EQ(ctx_.levels.d[0].local, 3U);
}

TEST_F(DetectClassify, NeighbourSpoofingAndNumberStructure) {
  use(kHead +
      "rules:\n"
      "  - {id: spoof, match: {caller_shares_callee_prefix: 7}, action: {tag: {score: 60}}}\n"
      "  - {id: no-caller, match: {caller: {is: absent}}, action: drop}\n"
      "  - {id: odd-caller, match: {caller: {is: [invalid, not_a_number]}}, action: {reject: {code: 603}}}\n"
      "  - {id: sc-caller, match: {caller: {is: short_code}}, action: drop}\n"
      "  - {id: long-callee, match: {ruri: {is: too_long}}, action: drop}\n"
      "  - {id: short-callee, match: {ruri: {is: too_short}}, action: drop}\n");
  auto rule = [&](const std::string& caller, const std::string& callee) {
    Invite i;
    i.ruri = "sip:" + callee + "@core.example.com";
    i.to = "<sip:" + callee + "@core.example.com>";
    i.from = caller.empty() ? "<sip:peer.example.com>;tag=a" : "<sip:" + caller + "@peer.example.com>;tag=a";
    Parsed p(i);
    const Verdict v = classify::classify(*set_, p.msg(), from_ip("10.1.2.3"), scratch_);
    return v.decided_by == DecidedBy::rule ? std::string(v.rule_id) : std::string("-");
  };
  // +86 138 0013 xxxx: the first 7 E.164 digits are 8613800.
  EXPECT_EQ(rule("+8613800139999", "+8613800138000"), "spoof");
  EXPECT_EQ(rule("+8613800238000", "+8613800138000"), "spoof");  // 8613800 shared
  EXPECT_EQ(rule("+8613810138000", "+8613800138000"), "-");      // 8613810 vs 8613800
  EXPECT_EQ(rule("13800139999", "+8613800138000"), "spoof");     // national form normalises first
  EXPECT_EQ(rule("", "+8613800138000"), "no-caller");
  EXPECT_EQ(rule("anonymous", "+8613800138000"), "odd-caller");
  EXPECT_EQ(rule("+861234", "+8613800138000"), "odd-caller");  // invalid (bad national length)
  EXPECT_EQ(rule("110", "+8613800138000"), "sc-caller");
  EXPECT_EQ(rule("+8613900139000", "138001380001"), "long-callee");
  EXPECT_EQ(rule("+8613900139000", "12345678"), "short-callee");
  EXPECT_EQ(rule("+8613900139000", "+8613800138000"), "-");
}

TEST_F(DetectClassify, ReloadKeepsStateOfUnchangedDefinitions) {
  use(kBehaviour);
  for (int n = 1; n <= 10; ++n) nth(n, 1000);
  // The same definitions in another set (a rule added, the fan detector's
  // threshold changed): bomb's counts carry over, fan's restart.
  std::string next = kBehaviour;
  next.replace(next.find("warn: 3, block: 5"), 17, "warn: 3, block: 6");
  next += "  - {id: extra, match: {caller: {equals: ['+8613100131000']}}, action: drop}\n";
  auto set2 = compile_yaml(next);
  ASSERT_TRUE(set2);
  EXPECT_EQ(set2->detectors()[0].definition_hash, set_->detectors()[0].definition_hash);
  EXPECT_NE(set2->detectors()[1].definition_hash, set_->detectors()[1].definition_hash);
  auto w2 = std::make_unique<detect::WorkerDetect>(set2->detectors(), detect::WorkerOptions{});
  w2->adopt(*worker_);
  EXPECT_EQ(w2->adopted(), 1U);
  set_ = std::move(set2);
  std::string err;
  ASSERT_TRUE(scratch_.prepare(*set_, &err)) << err;
  worker_ = std::move(w2);
  ctx_.worker = worker_.get();
  const Verdict v = nth(11, 1100);
  EXPECT_EQ(v.action, ActionKind::reject);  // the 11th call of the window, across the reload
  EXPECT_EQ(v.detector_count, 11U);
  EXPECT_EQ(ctx_.levels.d[1].count, 1U);  // fan restarted: only this call's callee
}

// The worker keeps two INVITEs in flight. InFlights that share one
// DetectContext must each count their own keys: the second start() replaces
// what the first prepared, so the first verdict prepares its keys again
// instead of counting the second INVITE's.
TEST_F(DetectClassify, InFlightsSharingAContextCountTheirOwnKeys) {
  use(kBehaviour);
  for (int n = 1; n <= 3; ++n) {
    Parsed a(invite("+8613900139000", "+8613800138000", "a" + std::to_string(n)));
    Parsed b(invite("+8613900139111", "+8613800138111", "b" + std::to_string(n)));
    InFlight fa, fb;
    ctx_.now_ms = 1000 + n;
    fa.start(*set_, a.msg(), from_ip("10.1.2.3"), scratch_, &ctx_);
    fb.start(*set_, b.msg(), from_ip("10.1.2.4"), scratch_, &ctx_);
    fa.verdict();
    const std::uint64_t key_a = ctx_.levels.d[0].key;
    EXPECT_EQ(ctx_.levels.d[0].count, static_cast<std::uint32_t>(n));
    fb.verdict();
    EXPECT_EQ(ctx_.levels.d[0].count, static_cast<std::uint32_t>(n));
    EXPECT_NE(ctx_.levels.d[0].key, key_a);
  }
}

TEST_F(DetectClassify, InFlightAndExplainCountOnce) {
  use(kBehaviour);
  for (int n = 1; n <= 10; ++n) {
    Parsed p(invite("+8613900139000", "+8613800138000", "f" + std::to_string(n)));
    InFlight f;
    ctx_.now_ms = 1000;
    f.start(*set_, p.msg(), from_ip("10.1.2.3"), scratch_, &ctx_);
    EXPECT_EQ(f.verdict().action, ActionKind::pass);
  }
  Parsed p(invite("+8613900139000", "+8613800138000", "f11"));
  ctx_.now_ms = 1001;
  const Explanation x = explain(*set_, p.msg(), from_ip("10.1.2.3"), scratch_, &ctx_);
  EXPECT_EQ(x.verdict.rule_id, "bomb");
  EXPECT_EQ(ctx_.levels.d[0].count, 11U);  // counted once, by explain's classify()
  ASSERT_FALSE(x.matched.empty());
  EXPECT_TRUE(x.matched[0].decided);
  const std::string text = to_text(x, *set_);
  EXPECT_NE(text.find("because detector bomb at block"), std::string::npos) << text;
  EXPECT_NE(text.find("detector: bomb count 11 level block"), std::string::npos) << text;
}

TEST_F(DetectClassify, ExplainShowsReportModeAndShapeReasons) {
  use(kHead +
      "detectors:\n"
      "  - {name: watch, key: caller, count: invites, window: 60s, block: 1, report: true}\n"
      "rules:\n"
      "  - {id: watch, match: {detector: watch}, action: drop}\n"
      "  - {id: odd, match: {caller: {is: [invalid, not_a_number]}}, action: {reject: {code: 603}}}\n");
  nth(1, 1000, "anonymous");  // not E.164: no caller key, not counted
  nth(2, 1000);
  Parsed p(invite("+8613900139000", "+8613800138000", "e3"));
  ctx_.now_ms = 1001;
  const Explanation x = explain(*set_, p.msg(), from_ip("10.1.2.3"), scratch_, &ctx_);
  ASSERT_EQ(x.matched.size(), 1U);
  EXPECT_TRUE(x.matched[0].report_only);
  EXPECT_FALSE(x.matched[0].decided);
  EXPECT_TRUE(x.verdict.report_only);
  const std::string text = to_text(x, *set_);
  EXPECT_NE(text.find("[report mode, not applied] because detector watch at block"), std::string::npos) << text;
  EXPECT_NE(text.find("detector: watch count 2 level block (report mode)"), std::string::npos) << text;
  EXPECT_NE(text.find("report mode: rule 'watch' would have done drop; not applied"), std::string::npos) << text;
  EXPECT_NE(text.find("verdict: pass by the default action"), std::string::npos) << text;

  Parsed q(invite("anonymous", "+8613800138000", "e4"));
  const Explanation y = explain(*set_, q.msg(), from_ip("10.1.2.3"), scratch_, &ctx_);
  EXPECT_EQ(y.verdict.rule_id, "odd");
  EXPECT_NE(to_text(y, *set_).find("because caller is [not_a_number, invalid]"), std::string::npos)
      << to_text(y, *set_);
}

TEST(DetectKeys, CallIdHashIsStableAndNeverZero) {
  EXPECT_EQ(detect::call_id_hash("a84b4c76e66710@10.1.0.5"), detect::call_id_hash("a84b4c76e66710@10.1.0.5"));
  EXPECT_NE(detect::call_id_hash("a"), detect::call_id_hash(std::string_view("a\0", 2)));
  EXPECT_NE(detect::call_id_hash("abcdefgh1"), detect::call_id_hash("abcdefgh2"));
  EXPECT_NE(detect::call_id_hash(""), 0U);
}

}  // namespace
