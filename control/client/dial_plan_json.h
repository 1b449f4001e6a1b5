// A dial plan as JSON, so sipwall-control can tell sipwallctl how the running
// rule set normalises numbers (`trace --caller 013800138000` must find
// "+8613800138000") without sipwallctl loading a whole artifact.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "rules/number/dial_plan.h"

namespace sipwall::control {

nlohmann::json dial_plan_to_json(const number::DialPlan& plan);
// False (and *why set) if a field is missing or malformed, or the plan is not valid().
bool dial_plan_from_json(const nlohmann::json& j, number::DialPlan& out, std::string* why);

}  // namespace sipwall::control
