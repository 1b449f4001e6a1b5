#include "rules/yaml/suggest.h"

#include <algorithm>
#include <vector>

namespace sipwall::yaml {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

template <typename S>
std::string closest_impl(std::string_view word, std::span<const S> candidates) {
  // Allow about one edit per three letters, at least one, at most three:
  // "prioirty" -> "priority", but "x" does not suggest "to".
  const std::size_t budget = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  std::size_t best = budget + 1;
  std::string_view best_name;
  for (const auto& c : candidates) {
    const std::string_view name(c);
    const std::size_t d = edit_distance(word, name);
    if (d < best && d < name.size()) {
      best = d;
      best_name = name;
    }
  }
  return std::string(best_name);
}

template <typename S>
std::string join_impl(std::span<const S> names, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) {
    if (i) out += ", ";
    out += std::string_view(names[i]);
  }
  if (names.size() > max) out += ", ...";
  return out;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance, case-insensitive, O(|a|*|b|): keys and
  // names are short.
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[m];
}

std::string closest(std::string_view word, std::span<const std::string> candidates) {
  return closest_impl(word, candidates);
}
std::string closest(std::string_view word, std::span<const std::string_view> candidates) {
  return closest_impl(word, candidates);
}
std::string join_names(std::span<const std::string> names, std::size_t max) {
  return join_impl(names, max);
}
std::string join_names(std::span<const std::string_view> names, std::size_t max) {
  return join_impl(names, max);
}

}  // namespace sipwall::yaml
