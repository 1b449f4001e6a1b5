// Structural equality of model parts, ignoring where they were written. Used
// by `diff` (did this rule's match change?) and the shadowing analysis
// (identical matches).
#pragma once

#include <string_view>

#include "rules/model/rule_model.h"

namespace sipwall::rules {

// Header names compare case-insensitively (RFC 3261 7.3.1).
bool same_header_name(std::string_view a, std::string_view b) noexcept;
bool same(const NumberRange& a, const NumberRange& b) noexcept;
bool same(const Predicate& a, const Predicate& b) noexcept;
bool same(const MatchExpr& a, const MatchExpr& b) noexcept;
bool same(const Action& a, const Action& b) noexcept;
bool same(const TrunkSource& a, const TrunkSource& b) noexcept;
bool same(const Trunk& a, const Trunk& b) noexcept;
bool same(const number::DialPlan& a, const number::DialPlan& b) noexcept;
bool same(const Defaults& a, const Defaults& b) noexcept;
bool same(const GuardRails& a, const GuardRails& b) noexcept;

}  // namespace sipwall::rules
