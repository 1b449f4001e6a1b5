// The order in which rules are evaluated. Guard rails (emergency numbers,
// allow lists) are checked before any rule and are not part of this order;
// among rules, higher `priority` first, equal priority in file order. The
// compiler, `explain` and the shadowing analysis all use this one function so
// they can never disagree.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rules/model/rule_model.h"

namespace sipwall::rules {

// Indexes into `rules`, in evaluation order.
std::vector<std::uint32_t> precedence_order(std::span<const Rule> rules);
inline std::vector<std::uint32_t> precedence_order(const RuleSet& rs) {
  return precedence_order(std::span<const Rule>(rs.rules));
}

// True if `a` is evaluated before `b`.
bool evaluated_before(const Rule& a, const Rule& b) noexcept;

}  // namespace sipwall::rules
