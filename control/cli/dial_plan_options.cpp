#include "control/cli/dial_plan_options.h"

#include <CLI/CLI.hpp>

namespace sipwall::cli {

void add_dial_plan_options(CLI::App& cmd, DialPlanOptions& o) {
  cmd.add_option("--dial-plan", o.preset, "Dial-plan preset: china (default) or north_america")
      ->check(CLI::IsMember({"china", "north_america"}));
  cmd.add_option("--country-code", o.country_code, "Country code, e.g. 86");
  cmd.add_option("--international-prefix", o.international_prefix, "International prefix, e.g. 00");
  cmd.add_option("--national-prefix", o.national_prefix, "National (trunk) prefix, e.g. 0")
      ->each([&o](const std::string&) { o.national_prefix_set = true; });
}

bool build_dial_plan(const DialPlanOptions& o, number::DialPlan& out, std::string& why) {
  std::string cc = o.country_code;
  if (!o.preset.empty() && !cc.empty()) {
    number::DialPlan preset =
        o.preset == "north_america" ? number::DialPlan::north_america() : number::DialPlan::china();
    if (preset.country_code.view() != cc) {
      why = "--country-code " + cc + " contradicts --dial-plan " + o.preset;
      return false;
    }
  }
  if (o.preset == "north_america" || cc == "1") {
    out = number::DialPlan::north_america();
  } else if (o.preset == "china" || cc.empty() || cc == "86") {
    out = number::DialPlan::china();
  } else {
    // A country without a preset: international and national prefixes from
    // the flags, national numbers of any length that still fits E.164.
    out = number::DialPlan{};
    if (!out.country_code.assign(cc) || cc.size() > 3 || cc[0] == '0') {
      why = "--country-code must be 1 to 3 digits, not starting with 0";
      return false;
    }
    out.min_national_length = 4;
    out.max_national_length = static_cast<std::uint8_t>(number::kMaxDigits - cc.size());
    out.international_prefix.assign("00");
  }
  if (!o.international_prefix.empty() && !out.international_prefix.assign(o.international_prefix)) {
    why = "--international-prefix must be digits";
    return false;
  }
  if (o.national_prefix_set && !out.national_prefix.assign(o.national_prefix)) {
    why = "--national-prefix must be digits (or empty)";
    return false;
  }
  return true;
}

}  // namespace sipwall::cli
