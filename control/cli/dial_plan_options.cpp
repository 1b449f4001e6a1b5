#include "control/cli/dial_plan_options.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "control/client/dial_plan_json.h"
#include "rules/compiled/artifact.h"
#include "rules/loader/loader.h"

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

bool plan_flags_given(const DialPlanOptions& p) {
  return !p.preset.empty() || !p.country_code.empty() || !p.international_prefix.empty() || p.national_prefix_set;
}

std::optional<number::DialPlan> dial_plan_for(const DialPlanOptions& flags, const std::string& rules,
                                              const nlohmann::json* control_status, std::string& why) {
  number::DialPlan plan;
  if (plan_flags_given(flags)) {
    if (!build_dial_plan(flags, plan, why)) return std::nullopt;
    return plan;
  }
  if (!rules.empty()) {
    if (rules::is_artifact_file(rules)) {
      rules::ArtifactLoadResult r = rules::load_artifact(rules);
      if (!r.ok()) {
        why = r.message;
        return std::nullopt;
      }
      return r.set->dial_plan();
    }
    rules::LoadOptions lo;
    lo.analyze = false;
    rules::LoadResult lr = rules::load_rule_set(rules, lo);
    if (!lr.ok()) {
      why = rules + " does not load: " + (lr.diagnostics.empty() ? "" : rules::format(lr.diagnostics.front()));
      return std::nullopt;
    }
    return lr.rule_set->dial_plan;
  }
  if (control_status && control_status->contains("ruleset") && (*control_status)["ruleset"].is_object()) {
    const nlohmann::json& rs = (*control_status)["ruleset"];
    if (rs.contains("dial_plan") && control::dial_plan_from_json(rs["dial_plan"], plan, &why)) return plan;
  }
  why =
      "no dial plan to normalise the numbers with: sipwall-control is not reachable or has published no rule set; "
      "pass --country-code (or --dial-plan, --rules FILE)";
  return std::nullopt;
}

}  // namespace sipwall::cli
