#include "rules/model/precedence.h"

#include <algorithm>
#include <numeric>

namespace sipwall::rules {

bool evaluated_before(const Rule& a, const Rule& b) noexcept {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.file_order < b.file_order;
}

std::vector<std::uint32_t> precedence_order(std::span<const Rule> rules) {
  std::vector<std::uint32_t> order(rules.size());
  std::iota(order.begin(), order.end(), 0U);
  // Stable, and file_order breaks ties, so the order is total even if two
  // rules carry the same file_order (hand-built sets in tests).
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t x, std::uint32_t y) { return evaluated_before(rules[x], rules[y]); });
  return order;
}

}  // namespace sipwall::rules
