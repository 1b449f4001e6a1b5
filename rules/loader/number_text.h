// Numbers, prefixes and ranges as operators write them in rule files and list
// files, turned into E.164 digit strings under the rule set's dial plan, with
// a message that says why when they cannot be.
#pragma once

#include <string>
#include <string_view>

#include "rules/model/rule_model.h"
#include "rules/number/dial_plan.h"
#include "rules/number/normalize.h"

namespace sipwall::rules::loader {

struct NumberText {
  bool ok = false;
  bool short_code = false;  // digits are a short code of the plan, not E.164
  std::string digits;       // E.164 digits without '+', or the short code
  std::string error;        // why not, when !ok (no trailing period)
};

// A full number: "+86 138-0013-8000", "013800138000", "tel:+8613800138000".
NumberText parse_number(std::string_view text, const number::DialPlan& plan);

// A number prefix: "+86 10", "010", "0086 21", "138" (national, no prefix).
NumberText parse_prefix(std::string_view text, const number::DialPlan& plan);

struct RangeText {
  bool ok = false;
  NumberRange range;
  std::string error;
};

// "FIRST .. LAST" or "FIRST - LAST" (spaces around the dash), both full E.164
// numbers of the same length; LAST may be just its last 1..6 digits:
// "+86 21 6000 0000 .. 9999".
RangeText parse_range(std::string_view text, const number::DialPlan& plan);

// Why `text` did not normalise (the normaliser says only *that* it failed).
std::string explain_not_a_number(std::string_view text, const number::Number& result, const number::DialPlan& plan);

// Is `text` a range ("a .. b" / "a - b")? Used to tell ranges from prefixes
// in trunk caller_ranges.
bool looks_like_range(std::string_view text) noexcept;

std::string_view trim(std::string_view s) noexcept;

}  // namespace sipwall::rules::loader
