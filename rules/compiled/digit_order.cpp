#include "rules/compiled/digit_order.h"

namespace sipwall::rules {

bool is_digit_string(std::string_view s) noexcept {
  if (s.empty() || s.size() > static_cast<std::size_t>(kOrderDigits)) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

OrderInterval prefix_interval(std::string_view prefix) noexcept {
  const std::uint64_t lo = order_key(prefix);
  return {lo, lo + kPow11[kOrderDigits - prefix.size()] - 1};
}

}  // namespace sipwall::rules
