// Internal to sipwall_number: up to 16 ASCII digits held in one 128-bit
// register, first digit in the lowest byte, zero bytes above the length.
//
// Why: the normaliser glues country code, area and local number together and
// then needs the digits, the "+digits" text and the packed key. Doing that
// with byte-wise memcpy and reading the result back stalls on store
// forwarding and costs more than the rest of the work; shifts and masks on a
// register do not. Every source of digits here (DigitString, the scan
// buffers) has 16 readable bytes from where a run starts, so loads are whole.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace sipwall::number::detail {

static_assert(std::endian::native == std::endian::little, "digit packing assumes little endian");

__extension__ typedef unsigned __int128 u128;

// Forced: a call boundary would move the 128-bit values through the stack.
#define SIPWALL_DIGITS_INLINE [[gnu::always_inline]] inline

struct Digits16 {
  u128 v = 0;      // byte i = digit i (ASCII); bytes >= n are zero
  unsigned n = 0;  // 0..16
};

// All-ones in the low `n` bytes (n >= 16: all ones).
SIPWALL_DIGITS_INLINE u128 low_bytes(unsigned n) noexcept {
  return n >= 16 ? ~u128{0} : (u128{1} << (8 * n)) - 1;
}

// `p` must have 16 readable bytes; only the first n (<= 16) are kept.
SIPWALL_DIGITS_INLINE Digits16 load16(const char* p, unsigned n) noexcept {
  u128 v;
  std::memcpy(&v, p, sizeof v);
  return {v & low_bytes(n), n};
}

// a then b; the caller has checked a.n + b.n <= 16.
SIPWALL_DIGITS_INLINE Digits16 concat(Digits16 a, Digits16 b) noexcept {
  return {a.v | (a.n >= 16 ? u128{0} : b.v << (8 * a.n)), a.n + b.n};
}

// Without the first k (<= n) digits.
SIPWALL_DIGITS_INLINE Digits16 drop(Digits16 d, unsigned k) noexcept {
  return {k >= 16 ? u128{0} : d.v >> (8 * k), d.n - k};
}

SIPWALL_DIGITS_INLINE unsigned first_digit(Digits16 d) noexcept {
  return static_cast<unsigned>(d.v & 0xFF) - '0';
}

// The first `k` digits of `d` equal the first `k` of `p` (16 readable bytes).
SIPWALL_DIGITS_INLINE bool starts_with(Digits16 d, const char* p, unsigned k) noexcept {
  if (k > d.n) return false;
  if (k <= 8) {  // prefixes, country codes, leads: one 64-bit compare
    std::uint64_t q;
    std::memcpy(&q, p, sizeof q);
    const std::uint64_t m = k == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * k)) - 1;
    return ((static_cast<std::uint64_t>(d.v) ^ q) & m) == 0;
  }
  u128 q;
  std::memcpy(&q, p, sizeof q);
  return ((d.v ^ q) & low_bytes(k)) == 0;
}

// Eight digit values (0..9, most significant in the lowest byte) to their
// integer (D. Lemire, "Fast integer parsing", SWAR form).
SIPWALL_DIGITS_INLINE std::uint64_t eight_values(std::uint64_t val) noexcept {
  val = (val * 10) + (val >> 8);
  return (((val & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
          (((val >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
         32;
}

// The digits as an integer; 1 <= d.n <= 15.
SIPWALL_DIGITS_INLINE std::uint64_t value_of(Digits16 d) noexcept {
  const u128 zeros = ~u128{0} / 0xFF * 0x30;  // '0' in every byte
  u128 vals = d.v - (zeros & low_bytes(d.n));
  vals <<= 8 * (16 - d.n);                                 // right-align: leading zero digits
  const auto hi = static_cast<std::uint64_t>(vals);        // first 8 digits
  const auto lo = static_cast<std::uint64_t>(vals >> 64);  // last 8 digits
  return eight_values(hi) * 100000000ull + eight_values(lo);
}

// True if all 8 bytes of x are '0'..'9' (Lemire).
SIPWALL_DIGITS_INLINE bool eight_digits(std::uint64_t x) noexcept {
  return ((x & 0xF0F0F0F0F0F0F0F0ull) | (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
         0x3333333333333333ull;
}

}  // namespace sipwall::number::detail
