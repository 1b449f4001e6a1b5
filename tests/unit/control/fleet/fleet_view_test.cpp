#include "control/fleet/fleet_view.h"

#include <gtest/gtest.h>

namespace sipwall::fleet {
namespace {

using nlohmann::json;

json detector(const char* name, const char* key, const char* count, unsigned warn, unsigned block) {
  return json{{"name", name}, {"key_kind", key}, {"count", count},          {"window_ms", 60000u},
              {"warn", warn}, {"block", block},  {"block_for_ms", 300000u}, {"report_only", false}};
}

json reply_with(json entries) {
  return json{{"ok", true},
              {"v", 1},
              {"detections", std::move(entries)},
              {"report_percent", 20u},
              {"detectors",
               json::array({detector("bomb", "caller_callee", "invites", 0, 10),
                            detector("rate", "caller", "invites", 20, 40), detector("asr", "caller", "asr", 0, 200)})}};
}

json entry(const char* det, const char* key, unsigned count) {
  return json{{"detector", det}, {"key", key}, {"count", count}, {"external", false}};
}

TEST(FleetView, ParsesTheDataPlanesReplyAndPicksKeysNearAThreshold) {
  std::string err;
  auto v = parse_dataplane_view(
      reply_with(json::array({entry("bomb", "+8613800000001 -> +8613900000002", 4),
                              entry("bomb", "+8613800000003 -> +8613900000002", 2), entry("rate", "+8613800000001", 7),
                              entry("rate", "+8613800000004", 6), entry("asr", "+8613800000001", 50)})),
      err);
  ASSERT_TRUE(v) << err;
  EXPECT_EQ(v->report_percent, 20u);
  EXPECT_EQ(v->keys.size(), 5u);
  // 30 % of bomb's 10 is 3, of rate's lowest (warn 20) is 6; asr is a ratio: never summed.
  const std::vector<HotKey> push = keys_to_push(*v, 30);
  ASSERT_EQ(push.size(), 3u);
  EXPECT_EQ(push[0].field(), "rate\t+8613800000001");  // highest count first
  EXPECT_EQ(push[1].field(), "rate\t+8613800000004");
  EXPECT_EQ(push[2].field(), "bomb\t+8613800000001 -> +8613900000002");
  EXPECT_EQ(keys_to_push(*v, 100).size(), 0u);
}

TEST(FleetView, HostileRepliesAreRefusedOrSkipped) {
  std::string err;
  EXPECT_FALSE(parse_dataplane_view(json{{"ok", false}, {"error", "no"}}, err));
  EXPECT_FALSE(parse_dataplane_view(json{{"ok", true}, {"detections", json::array()}}, err));  // an older data plane
  EXPECT_FALSE(parse_dataplane_view(json::array(), err));
  // Fields of another type are refused, not thrown on (json::value() would
  // throw: found by fuzz_fleet_input).
  EXPECT_FALSE(parse_dataplane_view(json{{"ok", 1}, {"detectors", json::array()}, {"detections", json::array()}}, err));
  EXPECT_FALSE(parse_dataplane_view(json{{"ok", json::array()}, {"error", 7}}, err));
  EXPECT_NE(err.find("no reason"), std::string::npos);
  auto odd = parse_dataplane_view(json{{"ok", true},
                                       {"detectors", json::array({json{{"name", "d"},
                                                                       {"key_kind", "caller"},
                                                                       {"count", "invites"},
                                                                       {"window_ms", 1000u},
                                                                       {"warn", 0u},
                                                                       {"block", 10u},
                                                                       {"block_for_ms", 1000u},
                                                                       {"report_only", "yes"}}})},
                                       {"detections", json::array()}},
                                  err);
  ASSERT_TRUE(odd);
  EXPECT_FALSE(odd->detectors.at("d").report_only);
  json r = reply_with(json::array({entry("nosuch", "+8613800000001", 9), entry("rate", "bad\nkey", 9),
                                   json{{"detector", "rate"}, {"key", "+8613800000001"}, {"count", -3}},
                                   json{{"detector", "rate"}, {"key", "+8613800000001"}, {"count", 1ull << 40}},
                                   json("not an object")}));
  r["detectors"].push_back(json{{"name", "w"},
                                {"key_kind", "caller"},
                                {"count", "invites"},
                                {"window_ms", 0u},
                                {"warn", 1u},
                                {"block", 2u},
                                {"block_for_ms", 0u}});  // no window: skipped
  auto v = parse_dataplane_view(r, err);
  ASSERT_TRUE(v) << err;
  EXPECT_EQ(v->keys.size(), 0u);
  EXPECT_EQ(v->detectors.count("w"), 0u);
}

TEST(FleetView, TheFleetTotalSumsFreshSharesOnly) {
  const std::int64_t now = 1'000'000'000;
  const FleetTotal t = fleet_total({{"a1", share_value(4, now - 500)},
                                    {"a2", share_value(4, now - 59'000)},
                                    {"a3", share_value(4, now)},
                                    {"a4", share_value(9, now - 61'000)},  // older than the 60 s window
                                    {"a5", "junk"},
                                    {"a6", "7 x"}},
                                   now, 60'000);
  EXPECT_EQ(t.total, 12u);
  ASSERT_EQ(t.shares.size(), 3u);
  EXPECT_EQ(shares_text(t), "a1 4 + a2 4 + a3 4 = 12");
}

TEST(FleetView, LevelsAsTheDataPlaneCountsThem) {
  ViewDetector d{"rate", "caller", "invites", 60000, 20, 40, 0, false};
  EXPECT_EQ(d.lowest(), 20u);
  EXPECT_EQ(d.level_of(20), "");  // equal to a threshold is not over it
  EXPECT_EQ(d.level_of(21), "warn");
  EXPECT_EQ(d.level_of(41), "block");
  ViewDetector b{"bomb", "caller_callee", "invites", 60000, 0, 10, 0, false};
  EXPECT_EQ(b.lowest(), 10u);
  EXPECT_EQ(b.level_of(11), "block");
  ViewDetector a{"asr", "caller", "asr", 60000, 0, 200, 0, false};
  EXPECT_EQ(a.lowest(), 0u);
  EXPECT_EQ(a.level_of(1), "");
}

}  // namespace
}  // namespace sipwall::fleet
