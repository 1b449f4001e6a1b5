// The keys `sipwallctl detections lift KEY` computes from an operator's text
// (dataplane/detect/key_text) must be the keys the classifier counts INVITEs
// under, or a lift (and the numbers shown for a key) would silently miss:
// IPv4 and IPv6 sources, caller numbers, caller+callee pairs, classified here
// through a compiled rule set and compared with key_text's answer.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dataplane/classify/classify.h"
#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/key_text.h"
#include "dataplane/detect/worker_detect.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"
#include "tests/unit/dataplane/classify/sip_fixtures.h"

namespace sipwall::detect {
namespace {

using classify::test::from_ip;
using classify::test::Invite;
using classify::test::Parsed;

const char* kRules =
    "version: \"1\"\n"
    "dial_plan: {preset: china}\n"
    "detectors:\n"
    "  - {name: src, key: source, count: invites, window: 60s, block: 100}\n"
    "  - {name: caller, key: caller, count: invites, window: 60s, block: 100}\n"
    "  - {name: pair, key: caller_callee, count: invites, window: 60s, block: 100}\n"
    "rules:\n"
    "  - {id: src, match: {detector: src}, action: drop}\n";

std::optional<std::uint32_t> no_trunk(std::string_view) {
  return std::nullopt;
}

// The keys the classifier gave each detector for one INVITE from `ip`.
Levels classify_from(const std::string& ip) {
  rules::LoadResult l = rules::load_rule_set_from_string(kRules, "t.yaml");
  EXPECT_TRUE(l.ok());
  rules::CompileResult c = rules::compile(*l.rule_set);
  EXPECT_TRUE(c.ok());
  classify::Scratch scratch;
  std::string err;
  EXPECT_TRUE(scratch.prepare(*c.set, &err)) << err;
  WorkerDetect worker(c.set->detectors(), WorkerOptions{});
  classify::DetectContext ctx;
  ctx.worker = &worker;
  ctx.now_ms = 1'000'000;
  Invite i;  // +8613900139000 -> +8613800138000
  Parsed p(i);
  classify::classify(*c.set, p.msg(), from_ip(ip), scratch, &ctx);
  return ctx.levels;
}

TEST(KeyTextMatchesClassify, SourcesAndNumbers) {
  for (const std::string ip : {"192.0.2.7", "2001:db8::7"}) {
    const Levels lv = classify_from(ip);
    ASSERT_EQ(lv.n, 3u) << ip;
    const std::optional<ParsedKey> src = parse_key(ip, no_trunk);
    ASSERT_TRUE(src) << ip;
    EXPECT_EQ(lv.d[0].key, key_hash(DetectKey::source, KeyParts{src->part, 0, true})) << ip;
    const std::optional<ParsedKey> caller = parse_key("+8613900139000", no_trunk);
    const std::optional<ParsedKey> callee = parse_key("+8613800138000", no_trunk);
    ASSERT_TRUE(caller && callee);
    EXPECT_EQ(lv.d[1].key, key_hash(DetectKey::caller, KeyParts{caller->part, 0, true}));
    EXPECT_EQ(lv.d[2].key, key_hash(DetectKey::caller_callee, KeyParts{caller->part, callee->part, true}));
  }
}

}  // namespace
}  // namespace sipwall::detect
