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

namespace detail {

// Eight base-11 values b0..b7 (0..10, b0 in the lowest byte) to
// sum bi * 11^(7 - i), in three multiply-add steps over lanes of 8, 16 and
// 32 bits (D. Lemire's SWAR digit parsing, base 11). No lane overflows:
// 10 * 11 + 10 = 120 < 2^8, 120 * 121 + 120 < 2^16, 14640 * 14641 + 14640
// < 2^32.
inline std::uint64_t base11_8(std::uint64_t v) noexcept {
  v = ((v * 11) + (v >> 8)) & 0x00FF00FF00FF00FFULL;
  v = ((v * 121) + (v >> 16)) & 0x0000FFFF0000FFFFULL;
  return ((v * 14641) + (v >> 32)) & 0xFFFFFFFFULL;
}

inline std::uint64_t load_le8(const char* p) noexcept {
  std::uint64_t x;
  __builtin_memcpy(&x, p, 8);
  return x;
}

}  // namespace detail

// `digits` must be 1..15 ASCII digits (checked by is_digit_string); more
// than 15 count as their first 15. Hot path (one per INVITE for the prefix
// lookup): 8 or more digits, the usual case, go two words at a time, which
// is a third of the instructions of the Horner loop below and gives the
// same key (tests/unit/rules/compiled/digit_order_test.cpp checks it).
inline std::uint64_t order_key(std::string_view digits) noexcept {
  const std::size_t n = digits.size() < kOrderDigits ? digits.size() : kOrderDigits;
  const char* p = digits.data();
  if (n >= 8 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    constexpr std::uint64_t kLow = 0x0F0F0F0F0F0F0F0FULL;
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    // Digits 0-7, each as digit + 1.
    const std::uint64_t hi = detail::base11_8((detail::load_le8(p) & kLow) + kOnes);
    // Digits 8..n-1 (0-7 of them) in the low bytes, zeros after: the last
    // n - 8 bytes of the word that ends the string. Position 15 is always
    // zero (n <= 15), so that word's value is 11 times theirs.
    const unsigned m = static_cast<unsigned>(n - 8);
    std::uint64_t lo = 0;
    if (m != 0) {
      const std::uint64_t w = detail::load_le8(p + n - 8) >> (8 * (8 - m));
      lo = detail::base11_8((w & kLow) + (kOnes >> (8 * (8 - m)))) / 11;
    }
    return hi * kPow11[7] + lo;
  }
  // Horner over the digits, then shift the string to the left end.
  std::uint64_t k = 0;
  for (std::size_t i = 0; i < n; ++i) {
    k = k * 11 + static_cast<std::uint64_t>(digits[i] - '0' + 1);
  }
  return k * kPow11[kOrderDigits - n];
}

bool is_digit_string(std::string_view s) noexcept;  // 1..15 ASCII digits

// Inclusive interval of every digit string starting with `prefix` (1..15 digits).
OrderInterval prefix_interval(std::string_view prefix) noexcept;
}  // namespace sipwall::rules
