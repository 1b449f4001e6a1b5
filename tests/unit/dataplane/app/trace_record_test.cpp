// Verdict trace records (dataplane/app/trace_fill.h, trace_json.h): the
// worker writes only the fields trace-drain reads, into a ring slot that
// still holds an older record's bytes. Each case fills a slot of poison and
// a zeroed one and requires the same trace-drain JSON from both: a field the
// fill forgot shows the poison (and fails), and no byte the fill did not
// write reaches the control socket.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dataplane/app/trace_fill.h"
#include "dataplane/app/trace_json.h"
#include "rules/number/normalize.h"
#include "rules/text/json_text.h"

namespace sipwall::dataplane {
namespace {

using nlohmann::json;
using rules::ActionKind;

net::DecodedPacket packet(bool vlan) {
  net::DecodedPacket d;
  d.ip_version = 4;
  d.src = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 7};
  d.dst = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 51, 100, 1};
  d.l4_proto = 17;
  d.src_port = 5070;
  d.dst_port = 5060;
  if (vlan) {
    d.vlan_count = 1;
    d.outer_vlan = 42;
  }
  return d;
}

struct Case {
  const char* name;
  classify::Verdict v;
  VerdictNames names;
  bool vlan;
};

std::vector<Case> cases() {
  const number::DialPlan plan = number::DialPlan::china();
  std::vector<Case> out;
  {
    Case c{"reject by a rule, trunk, vlan", {}, {"carrier-a", "2026-12-07.1", ""}, true};
    c.v.action = ActionKind::reject;
    c.v.reject_code = 608;
    c.v.decided_by = classify::DecidedBy::rule;
    c.v.rule_id = "block-robocallers";
    c.v.trunk = 3;
    c.v.caller = number::normalize("+8613900139000", {}, plan);
    c.v.callee = number::normalize("+8610123456789", {}, plan);
    out.push_back(c);
  }
  {
    Case c{"passed, only traced, no trunk, no numbers", {}, {"unused", "v1", ""}, false};
    c.v.action = ActionKind::pass;
    c.v.decided_by = classify::DecidedBy::default_action;
    c.v.trace_rule = 0;
    c.v.trace_rule_id = "watch-everything";
    out.push_back(c);
  }
  {
    Case c{"default drop", {}, {"", "v2", ""}, false};
    c.v.action = ActionKind::drop;
    c.v.decided_by = classify::DecidedBy::default_action;
    c.v.caller = number::normalize("110", {}, plan);
    out.push_back(c);
  }
  {
    Case c{"enforcing detector", {}, {"t", "v3", "flood-per-caller"}, false};
    c.v.action = ActionKind::drop;
    c.v.decided_by = classify::DecidedBy::rule;
    c.v.rule_id = "flood";
    c.v.trunk = 0;
    c.v.detector = 1;
    c.v.detector_count = 412;
    c.v.detector_level = detect::Level::block;
    out.push_back(c);
  }
  {
    Case c{"report-mode detector", {}, {"", "v4", "scan"}, false};
    c.v.action = ActionKind::pass;
    c.v.decided_by = classify::DecidedBy::default_action;
    c.v.detector = 0;
    c.v.detector_count = 7;
    c.v.detector_level = detect::Level::warn;
    c.v.report_only = true;
    c.v.report_action = ActionKind::reject;
    out.push_back(c);
  }
  return out;
}

// The record as trace-drain serialises it, time_ns set as the main lcore
// sets it after the drain.
std::string drained(std::uint8_t fill_byte, const Case& c, std::string_view call_id) {
  TraceRecord r;
  std::memset(&r, fill_byte, sizeof r);
  fill_trace_record(r, c.v, c.names, call_id, packet(c.vlan), 1, 987654321);
  EXPECT_EQ(r.tsc, 987654321u) << c.name;
  r.time_ns = 1796616180123456789ULL;
  return text::dump_json(trace_json(r));
}

TEST(TraceRecord, EveryFieldReadIsWrittenWhateverTheSlotHeld) {
  const std::string call_id = "a84b4c76e66710@pc33.example.com";
  for (const Case& c : cases()) {
    const std::string zeroed = drained(0x00, c, call_id);
    for (std::uint8_t poison : {0xA5, 0xFF, 0x01, 0x7F}) {
      EXPECT_EQ(drained(poison, c, call_id), zeroed) << c.name << ", slot of 0x" << std::hex << int{poison};
    }
  }
}

TEST(TraceRecord, WhatTraceDrainShows) {
  const std::vector<Case> all = cases();
  json j = json::parse(drained(0xA5, all[0], "call-1"));
  EXPECT_EQ(j["time_ns"], 1796616180123456789ULL);
  EXPECT_EQ(j["action"], "reject");
  EXPECT_EQ(j["reject_code"], 608);
  EXPECT_EQ(j["in_port"], 1);
  EXPECT_EQ(j["transport"], "udp");
  EXPECT_EQ(j["src_ip"], "192.0.2.7");
  EXPECT_EQ(j["src_port"], 5070);
  EXPECT_EQ(j["dst_ip"], "198.51.100.1");
  EXPECT_EQ(j["dst_port"], 5060);
  EXPECT_EQ(j["vlan"], 42);
  EXPECT_EQ(j["trunk"], "carrier-a");
  EXPECT_EQ(j["rule_id"], "block-robocallers");
  EXPECT_EQ(j["ruleset_version"], "2026-12-07.1");
  EXPECT_EQ(j["call_id"], "call-1");
  EXPECT_EQ(j["caller"], "+8613900139000");
  EXPECT_EQ(j["callee"], "+8610123456789");
  EXPECT_FALSE(j.contains("detector"));

  j = json::parse(drained(0xA5, all[1], "call-2"));
  EXPECT_EQ(j["action"], "trace");
  EXPECT_EQ(j["rule_id"], "watch-everything");
  EXPECT_TRUE(j["trunk"].is_null());  // names.trunk is ignored without a trunk
  EXPECT_TRUE(j["caller"].is_null());
  EXPECT_TRUE(j["callee"].is_null());
  EXPECT_FALSE(j.contains("reject_code"));
  EXPECT_FALSE(j.contains("vlan"));
  EXPECT_FALSE(j.contains("detector"));

  j = json::parse(drained(0xA5, all[2], "call-3"));
  EXPECT_EQ(j["rule_id"], "(default)");
  EXPECT_EQ(j["caller"], "110");

  j = json::parse(drained(0xA5, all[3], "call-4"));
  EXPECT_EQ(j["detector"], (json{{"name", "flood-per-caller"}, {"count", 412}, {"level", "block"}, {"report", false}}));

  j = json::parse(drained(0xA5, all[4], "call-5"));
  EXPECT_EQ(j["action"], "trace");  // a call that passed is shown as traced
  EXPECT_EQ(j["detector"],
            (json{{"name", "scan"}, {"count", 7}, {"level", "warn"}, {"report", true}, {"would", "reject"}}));
}

TEST(TraceRecord, LongTextIsCutInsideTheFieldAndTerminated) {
  const Case c = cases()[0];
  const std::string call_id(300, 'x');
  const json j = json::parse(drained(0xA5, c, call_id));
  EXPECT_EQ(j["call_id"], std::string(sizeof(TraceRecord::call_id) - 1, 'x'));
  EXPECT_EQ(drained(0x00, c, call_id), drained(0xA5, c, call_id));
}

}  // namespace
}  // namespace sipwall::dataplane
