// The dial-plan flags shared by the commands that normalise numbers.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "rules/number/dial_plan.h"

namespace CLI {
class App;
}

namespace sipwall::cli {

struct DialPlanOptions {
  std::string preset;  // china | north_america (default china)
  std::string country_code;
  std::string international_prefix;
  std::string national_prefix;
  bool national_prefix_set = false;
};

void add_dial_plan_options(CLI::App& cmd, DialPlanOptions& o);
// Starts from the preset that matches the country code (86 → China, 1 → North
// America, otherwise a generic plan) and applies the flags.
bool build_dial_plan(const DialPlanOptions& o, number::DialPlan& out, std::string& why);

// True if any dial-plan flag was given.
bool plan_flags_given(const DialPlanOptions& p);

// The dial plan to normalise an operator's numbers with: the flags, else
// `rules_file`'s (YAML or artifact), else the one of the rule set
// sipwall-control published (`control_status`: its status reply, or null).
// nullopt with *why when there is none (cmd_live.cpp).
std::optional<number::DialPlan> dial_plan_for(const DialPlanOptions& plan_options, const std::string& rules_file,
                                              const nlohmann::json* control_status, std::string& why);

}  // namespace sipwall::cli
