#include "control/client/dial_plan_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sipwall::control {
namespace {

TEST(DialPlanJson, RoundTripsThePresets) {
  for (const auto& plan : {number::DialPlan::china(), number::DialPlan::north_america()}) {
    nlohmann::json j = dial_plan_to_json(plan);
    // Through text, as it travels on the socket.
    nlohmann::json back = nlohmann::json::parse(j.dump());
    number::DialPlan out{};
    std::string why;
    ASSERT_TRUE(dial_plan_from_json(back, out, &why)) << why;
    EXPECT_TRUE(out == plan) << j.dump();
  }
  EXPECT_EQ(dial_plan_to_json(number::DialPlan::china())["country_code"], "86");
}

TEST(DialPlanJson, RejectsBrokenInput) {
  number::DialPlan out{};
  std::string why;
  EXPECT_FALSE(dial_plan_from_json(nlohmann::json::array(), out, &why));
  nlohmann::json j = dial_plan_to_json(number::DialPlan::china());
  j.erase("short_codes");
  EXPECT_FALSE(dial_plan_from_json(j, out, &why));
  j = dial_plan_to_json(number::DialPlan::china());
  j["country_code"] = "8x";
  EXPECT_FALSE(dial_plan_from_json(j, out, &why));
  EXPECT_NE(why.find("country_code"), std::string::npos) << why;
}

}  // namespace
}  // namespace sipwall::control
