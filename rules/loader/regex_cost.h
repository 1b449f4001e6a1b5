// What a pattern will cost Hyperscan to compile, estimated from its text
// before anything is compiled. Bounded repeats are what make compiles slow:
// `[^x]{10000}y` is ten thousand NFA positions (about 5 s to compile, and the
// loader compiles each pattern once on its own and once in the database), and
// the time grows faster than the positions. So the loader refuses, with the
// pattern's file:line:col (docs/rules.md "Limits"):
//   * a pattern of more than kMaxRegexPositions positions once its bounded
//     repeats are written out (`a{3}` is `aaa`, `(ab|cd){2}` four times two);
//   * patterns whose bounded repeats add more than kMaxRepeatPositions
//     positions in all (distinct patterns, counted once each).
#pragma once

#include <cstdint>
#include <string_view>

namespace sipwall::rules::loader {

inline constexpr std::uint64_t kMaxRegexPositions = 500;
inline constexpr std::uint64_t kMaxRepeatPositions = 10000;

struct RegexCost {
  std::uint64_t positions = 0;  // after writing out bounded repeats
  std::uint64_t repeated = 0;   // of which added by bounded repeats
};

// An upper estimate (saturating, never wraps); the syntax is not checked
// here (Hyperscan does that afterwards).
RegexCost regex_cost(std::string_view pattern) noexcept;

}  // namespace sipwall::rules::loader
