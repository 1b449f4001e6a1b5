// E.164 numbers (and short codes) packed into 64 bits, the key every number
// table uses. Inline because the classifier packs and unpacks per lookup.
//
// Layout: digit count (1..15) in bits 50..53, the digits read as a decimal
// integer in bits 0..49 (10^15 - 1 < 2^50), all other bits zero. Because the
// count is stored, "0110" and "110" differ: the key is unique per digit
// string. 0 never encodes a number (count >= 1), so tables use it as "empty".
#pragma once

#include <cstdint>
#include <string_view>

#include "rules/number/dial_plan.h"

namespace sipwall::number {

using E164Key = std::uint64_t;
inline constexpr E164Key kNoNumber = 0;
inline constexpr unsigned kKeyLengthShift = 50;
inline constexpr std::uint64_t kKeyValueMask = (std::uint64_t{1} << kKeyLengthShift) - 1;

// digits: 1..15 of '0'..'9'; anything else gives kNoNumber.
constexpr E164Key pack(std::string_view digits) noexcept {
  if (digits.empty() || digits.size() > kMaxDigits) return kNoNumber;
  std::uint64_t v = 0;
  for (char c : digits) {
    const unsigned d = static_cast<unsigned char>(c) - static_cast<unsigned>('0');
    if (d > 9) return kNoNumber;
    v = v * 10 + d;
  }
  return (static_cast<std::uint64_t>(digits.size()) << kKeyLengthShift) | v;
}

constexpr std::uint8_t key_length(E164Key key) noexcept {
  return static_cast<std::uint8_t>((key >> kKeyLengthShift) & 0xF);
}

constexpr std::uint64_t key_value(E164Key key) noexcept {
  return key & kKeyValueMask;
}

// True if `key` is something pack() can return (count 1..15, value < 10^count,
// no stray bits). Keys read from an artifact file are checked with this.
constexpr bool key_valid(E164Key key) noexcept {
  const unsigned n = key_length(key);
  if (n == 0 || n > kMaxDigits) return false;
  if ((key >> (kKeyLengthShift + 4)) != 0) return false;
  std::uint64_t limit = 1;
  for (unsigned i = 0; i < n; ++i) limit *= 10;
  return key_value(key) < limit;
}

// The digits back (leading zeros restored from the count). False and `out`
// cleared if !key_valid(key).
bool unpack(E164Key key, DigitString* out) noexcept;

}  // namespace sipwall::number
