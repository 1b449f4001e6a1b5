// compile -> save -> load -> the same verdicts on the same messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <vector>

#include "dataplane/classify/classify.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "tests/unit/dataplane/classify/sip_fixtures.h"
#include "tests/unit/rules/compiled/rule_builders.h"

using namespace sipwall;
using namespace sipwall::classify;
using namespace sipwall::classify::test;
using namespace sipwall::rules::test;
using rules::ActionKind;
using rules::Field;

TEST(ArtifactVerdicts, LoadedSetDecidesExactlyLikeTheCompiledOne) {
  SetBuilder b;
  std::vector<number::E164Key> complaints;
  for (std::uint64_t i = 0; i < 5000; ++i) complaints.push_back(number::pack(std::to_string(8613900000000ULL + i * 3)));
  b.exact_keys("complaints", complaints)
      .prefixes("premium", {"86168", "86169"})
      .ranges("dnc", {{"8613800000000", "8613800004999"}})
      .trunk("intl", "international", {SetBuilder::source("10.1.0.0/16")}, {"44"})
      .trunk("cc", "call_center", {SetBuilder::source("10.2.0.0/16")})
      .rule("trace", equals(Field::trunk, {"intl"}), act(ActionKind::trace), 100)
      .rule("complaint", in_list(Field::caller, "complaints"), reject(608, "Reported"), 50)
      .rule("dnc", all({equals(Field::trunk_class, {"call_center"}), in_list(Field::ruri, "dnc")}), reject(603, "DNC"),
            40)
      .rule("spoof", all({equals(Field::trunk_class, {"international"}), trunk_ranges(false)}), act(ActionKind::drop),
            30)
      .rule("ua", regex(Field::user_agent, {"(?i)scanner"}), act(ActionKind::drop), 20)
      .rule("premium", in_list(Field::ruri, "premium"), tag("X-Risk", "{rule}/{score}", 60));
  b.rs.guard_rails.emergency = {"110"};
  rules::CompileResult r = rules::compile(b.rs);
  ASSERT_TRUE(r.ok());
  const auto dir = std::filesystem::temp_directory_path() / ("sipwall-av-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "set.swr").string();
  ASSERT_TRUE(rules::save_artifact(*r.set, path).ok);
  rules::ArtifactLoadResult l = rules::load_artifact(path);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(l.ok()) << l.message;

  Scratch s1, s2;
  ASSERT_TRUE(s1.prepare(*r.set));
  ASSERT_TRUE(s2.prepare(*l.set));
  std::mt19937_64 rng(1);
  const char* sources[] = {"10.1.0.7", "10.2.3.4", "192.0.2.55"};
  const char* uas[] = {"", "friendly-scanner", "Yealink SIP-T46"};
  std::size_t decided_by_rule = 0;
  for (int n = 0; n < 600; ++n) {
    Invite i;
    const std::uint64_t c = 8613900000000ULL + rng() % 20000;
    i.from = "<sip:+" + std::to_string(c) + "@x>;tag=1";
    if (rng() % 5 == 0) i.from = "<sip:+44207946" + std::to_string(1000 + rng() % 9000) + "@x>;tag=1";
    const std::uint64_t callee = rng() % 4 == 0 ? 8616800000000ULL + rng() % 1000 : 8613800000000ULL + rng() % 10000;
    i.ruri = rng() % 50 == 0 ? "sip:110@core" : "sip:+" + std::to_string(callee) + "@core";
    i.user_agent = uas[rng() % 3];
    Parsed p(i);
    const PacketSource src = from_ip(sources[rng() % 3]);
    const Verdict a = classify::classify(*r.set, p.msg(), src, s1);
    const Verdict v = classify::classify(*l.set, p.msg(), src, s2);
    ASSERT_EQ(a.action, v.action) << n;
    ASSERT_EQ(a.decided_by, v.decided_by) << n;
    ASSERT_EQ(a.rule, v.rule) << n;
    ASSERT_EQ(a.rule_id, v.rule_id) << n;
    ASSERT_EQ(a.trace_rule, v.trace_rule) << n;
    ASSERT_EQ(a.match_list, v.match_list) << n;
    ASSERT_EQ(a.trunk, v.trunk) << n;
    ASSERT_EQ(a.tag_line, v.tag_line) << n;
    ASSERT_EQ(a.reason_line, v.reason_line) << n;
    decided_by_rule += a.decided_by == DecidedBy::rule;
  }
  EXPECT_GT(decided_by_rule, 100U);  // the mix exercises the rules, not just the default
}

// The data plane's UDP order (WorkerContext::udp): message k is started
// before message k-1's verdict is taken, on one shared Scratch, so two
// engines with their own scan epochs are alive at once. Same verdicts as
// classify() one message at a time.
TEST(InFlight, OverlappedVerdictsAreThoseOfClassify) {
  SetBuilder b;
  b.exact("l", {"+8613900139000", "+8613900139001"})
      .prefixes("p", {"86168"})
      .trunk("cc", "call_center", {SetBuilder::source("10.2.0.0/16")}, {"86139"})
      .rule("ua", regex(Field::user_agent, {"(?i)dialer"}), act(ActionKind::drop), 9)
      .rule("dn", regex(Field::display_name, {"^Bank"}), reject(603), 8)
      .rule("caller", in_list(Field::caller, "l"), reject(608), 7)
      .rule("spoof", trunk_ranges(false), act(ActionKind::drop), 6)
      .rule("prem", in_list(Field::ruri, "p"), tag("X-R", "{rule}", 1));
  rules::CompileResult r = rules::compile(b.rs);
  ASSERT_TRUE(r.ok());
  Scratch one;
  ASSERT_TRUE(one.prepare(*r.set));
  std::vector<std::unique_ptr<Parsed>> parsed;
  std::vector<const sip::Message*> msgs;
  std::vector<PacketSource> srcs;
  std::mt19937_64 rng(5);
  const char* uas[] = {"", "AutoDialer 2", "Yealink"};
  const char* names[] = {"Bank of X", "Alice", ""};
  for (int n = 0; n < 37; ++n) {
    Invite i;
    i.from = std::string("\"") + names[rng() % 3] + "\" <sip:+861390013900" + std::to_string(rng() % 3) + "@x>;tag=1";
    i.ruri = rng() % 2 ? "sip:+8616812345678@core" : "sip:+8613812345678@core";
    i.user_agent = uas[rng() % 3];
    parsed.push_back(std::make_unique<Parsed>(i));
    msgs.push_back(&parsed.back()->msg());
    srcs.push_back(from_ip(rng() % 2 ? "10.2.0.9" : "192.0.2.4"));
  }
  std::vector<Verdict> out(msgs.size());
  std::set<std::string> seen;
  for (std::size_t k = 0; k < msgs.size(); ++k) {
    out[k] = classify::classify(*r.set, *msgs[k], srcs[k], one);
    ASSERT_EQ(out[k].flags, 0) << k;
    seen.insert(std::string(out[k].rule_id));
  }
  EXPECT_GE(seen.size(), 5U);  // the mix reaches most rules, the regex ones included

  Scratch overlapped;
  ASSERT_TRUE(overlapped.prepare(*r.set));
  classify::InFlight slot[2];
  for (std::size_t k = 0; k <= msgs.size(); ++k) {
    if (k < msgs.size()) slot[k & 1].start(*r.set, *msgs[k], srcs[k], overlapped);
    if (k == 0) continue;
    const Verdict v = slot[(k - 1) & 1].verdict();
    ASSERT_EQ(v.rule_id, out[k - 1].rule_id) << k - 1;
    ASSERT_EQ(v.action, out[k - 1].action) << k - 1;
    ASSERT_EQ(v.decided_by, out[k - 1].decided_by) << k - 1;
    ASSERT_EQ(v.match_list, out[k - 1].match_list) << k - 1;
    ASSERT_EQ(v.caller.key, out[k - 1].caller.key) << k - 1;
    ASSERT_EQ(v.flags, 0) << k - 1;
  }
}
