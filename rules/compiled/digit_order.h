// Digit strings as points on one ordered line, so that prefixes and ranges of
// numbers become plain integer intervals.
//
// A digit string d0 d1 .. d(n-1) (n <= 15) maps to
//     order_key = sum (di + 1) * 11^(14 - i)
// i.e. base 11 with the digits shifted by one and 0 meaning "no digit here".
// Every extension of P sorts right after P and before the next string of
// P's length, and a string shorter than P can never land inside P's
// interval (its "no digit" 0 sorts below every digit), so prefix P (length
// L) = [order_key(P), order_key(P) + 11^(15-L) - 1] holds exactly the strings
// that start with P, and nested prefixes give nested intervals.
// 11^15 < 2^52, so keys fit in 64 bits with room to spare.
//
// (Ranges do not use this order: a range holds numbers of exactly its
// length, which is one interval of packed E.164 keys, length-major.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>


namespace sipwall::rules {

inline constexpr int kOrderDigits = 15;

// 11^k for k = 0..15.
inline constexpr std::uint64_t kPow11[16] = {
    1ULL,
    11ULL,
    121ULL,
    1331ULL,
    14641ULL,
    161051ULL,
    1771561ULL,
    19487171ULL,
    214358881ULL,
    2357947691ULL,
    25937424601ULL,
    285311670611ULL,
    3138428376721ULL,
    34522712143931ULL,
    379749833583241ULL,
    4177248169415651ULL,
};

// Largest order key + 1 (every key is below it).
inline constexpr std::uint64_t kOrderKeyEnd = kPow11[15];

struct OrderInterval {
  std::uint64_t lo = 0;  // inclusive
  std::uint64_t hi = 0;  // inclusive
};

// `digits` must be 1..15 ASCII digits (checked by is_digit_string). Hot path.
inline std::uint64_t order_key(std::string_view digits) noexcept {
  // Horner over the digits, then shift the string to the left end.
  std::uint64_t k = 0;
  const std::size_t n = digits.size() < kOrderDigits ? digits.size() : kOrderDigits;
  for (std::size_t i = 0; i < n; ++i) {
    k = k * 11 + static_cast<std::uint64_t>(digits[i] - '0' + 1);
  }
  return k * kPow11[kOrderDigits - n];
}

bool is_digit_string(std::string_view s) noexcept;  // 1..15 ASCII digits

// Inclusive interval of every digit string starting with `prefix` (1..15 digits).
OrderInterval prefix_interval(std::string_view prefix) noexcept;
}  // namespace sipwall::rules
