// Internal to sipwall_number: the fast path of normalize() for the forms SIP
// user parts nearly always carry:
//   A. "+" and 7..15 digits (E.164 as written; a phone-context is ignored for
//      these, as on the full path);
//   B. 7..16 plain digits without '+' and without a phone-context
//      ("13800138000", "013800138000", "008613800138000", "8613800138000").
// Anything else (separators, escapes, ';', short codes, a phone-context on a
// local number, odd plan fields) returns false and goes down the full path.
//
// Why a second implementation: the full path keeps the digits in a 128-bit
// register and shifts it by variable amounts; GCC turns each such shift into
// a dozen instructions with branches, so a plain "+8613800138000" cost ~255
// instructions. Here the digits are two 64-bit words (digits 0-7 and 8-15)
// and every variable shift is a 64-bit one whose amount is known to be in
// range. It must give exactly the Number the full path gives, byte for byte:
// tests/unit/rules/number/fast_path_test.cpp checks that on the table tests and on
// random inputs, against detail::normalize_full().
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "rules/number/normalize.h"

namespace sipwall::number::detail {

// The full path alone: what normalize() did before the fast path existed,
// and the reference the fast path is tested against.
Number normalize_full(std::string_view number_text, std::string_view phone_context, const DialPlan& plan) noexcept;

namespace fast {

#define SIPWALL_FAST_INLINE [[gnu::always_inline]] inline

inline constexpr std::uint64_t kLowNibbles = 0x0F0F0F0F0F0F0F0Full;

// Up to 16 ASCII digits: byte i of lo = digit i (i < 8), byte i - 8 of hi =
// digit i; bytes at and above n are zero.
struct D16 {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  unsigned n = 0;
};

// Eight digit values (0..9, most significant in the lowest byte) to their
// integer (D. Lemire, "Fast integer parsing", SWAR form).
SIPWALL_FAST_INLINE std::uint64_t eight_values(std::uint64_t val) noexcept {
  val = (val * 10) + (val >> 8);
  return (((val & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
          (((val >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
         32;
}

SIPWALL_FAST_INLINE std::uint64_t load8(const void* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
SIPWALL_FAST_INLINE std::uint32_t load4(const void* p) noexcept {
  std::uint32_t x;
  std::memcpy(&x, p, 4);
  return x;
}

// All-ones in the low k bytes, 1 <= k <= 8.
SIPWALL_FAST_INLINE std::uint64_t mask_bytes(unsigned k) noexcept {
  return ~std::uint64_t{0} >> (64 - 8 * k);
}

// Lemire's digit test, for two words at once: bytes '0'..'9' have high
// nibble 3, and adding 6 leaves them below ':' + 6 = 0x40.
SIPWALL_FAST_INLINE bool sixteen_digits(std::uint64_t a, std::uint64_t b) noexcept {
  constexpr std::uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ull;
  constexpr std::uint64_t kSix = 0x0606060606060606ull;
  constexpr std::uint64_t kThrees = 0x3333333333333333ull;
  const std::uint64_t ta = (a & kHigh) | (((a + kSix) & kHigh) >> 4);
  const std::uint64_t tb = (b & kHigh) | (((b + kSix) & kHigh) >> 4);
  return ((ta ^ kThrees) | (tb ^ kThrees)) == 0;
}

// m (4..16) digits at p, read with whole loads that stay inside [p, p + m).
// False if any byte is not a digit.
SIPWALL_FAST_INLINE bool load_digits(const unsigned char* p, unsigned m, D16& d) noexcept {
  if (m >= 8) {
    const std::uint64_t a = load8(p);
    const std::uint64_t b = load8(p + m - 8);
    if (!sixteen_digits(a, b)) return false;
    d.lo = a;
    d.hi = m > 8 ? b >> (8 * (16 - m)) : 0;  // digits 8..m-1: the last m - 8 bytes of b
  } else {
    const std::uint32_t a = load4(p);
    const std::uint32_t b = load4(p + m - 4);
    const std::uint64_t both = a | (std::uint64_t{b} << 32);
    if (!sixteen_digits(both, both)) return false;
    d.lo = a | (std::uint64_t{b} << (8 * (m - 4)));  // overlapping bytes are equal
    d.hi = 0;
  }
  d.n = m;
  return true;
}

// The first k (1..8) digits of d equal the first k bytes of `prefix` (which
// has 16 readable bytes). k <= d.n is the caller's business.
SIPWALL_FAST_INLINE bool starts_with(const D16& d, const DigitString& prefix, unsigned k) noexcept {
  return ((d.lo ^ load8(prefix.d.data())) & mask_bytes(k)) == 0;
}

// Without the first k (1..8) digits.
SIPWALL_FAST_INLINE D16 drop(const D16& d, unsigned k) noexcept {
  const unsigned s = 8 * k - 8;  // 0..56: two shifts make 8k without shifting by 64
  return {((d.lo >> s) >> 8) | (d.hi << (64 - 8 * k)), (d.hi >> s) >> 8, d.n - k};
}

// The plan's country code (c = 1..3 digits, in ccw) and then d; c + d.n <= 16.
SIPWALL_FAST_INLINE D16 prepend(std::uint64_t ccw, unsigned c, const D16& d) noexcept {
  return {ccw | (d.lo << (8 * c)), (d.hi << (8 * c)) | (d.lo >> (64 - 8 * c)), d.n + c};
}

SIPWALL_FAST_INLINE unsigned first_digit(const D16& d) noexcept {
  return static_cast<unsigned>(d.lo & 0xFF) - '0';
}

inline constexpr std::array<std::uint64_t, 9> kPow10 = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// The digits as an integer; 1 <= d.n <= 15.
SIPWALL_FAST_INLINE std::uint64_t value(const D16& d) noexcept {
  const std::uint64_t lo = d.lo & kLowNibbles;               // digit values; zero bytes stay zero
  if (d.n <= 8) return eight_values(lo << (8 * (8 - d.n)));  // right-aligned: leading zeros
  const std::uint64_t hi = d.hi & kLowNibbles;
  return eight_values(lo) * kPow10[d.n - 8] + eight_values(hi << (8 * (16 - d.n)));
}

// What the fast path decided, in registers: an E.164 number (reason none)
// or an invalid one. Turned into a Number once, at the end (to_number()).
struct Result {
  D16 d;
  Reason reason = Reason::none;
};

SIPWALL_FAST_INLINE Result invalid(Reason r) noexcept {
  return {{}, r};
}
SIPWALL_FAST_INLINE Result e164(const D16& d) noexcept {
  return {d, Reason::none};
}

// The Number, written as six 8-byte words in the layout normalize.cpp
// asserts (text, digits, length/kind/reason/text length, key). Each word is
// stored on its own: building the words in an array and copying it made GCC
// write them to the stack 8 bytes at a time and read them back 16 bytes at
// a time (a store-forwarding stall per pair); filling the Number field by
// field made it zero the whole object first.
SIPWALL_FAST_INLINE void put(Number& out, unsigned word, std::uint64_t v) noexcept {
  std::memcpy(reinterpret_cast<char*>(&out) + 8 * word, &v, 8);
}

SIPWALL_FAST_INLINE Number to_number(const Result& r) noexcept {
  Number out;
  if (r.reason == Reason::none) {
    const D16& d = r.d;  // 1..15 digits, so the top byte of hi is zero
    put(out, 0, '+' | (d.lo << 8));
    put(out, 1, (d.lo >> 56) | (d.hi << 8));
    put(out, 2, d.lo);
    put(out, 3, d.hi);
    put(out, 4, d.n | (static_cast<unsigned>(NumberKind::e164) << 8) | ((d.n + 1) << 24));
    put(out, 5, (static_cast<E164Key>(d.n) << kKeyLengthShift) | value(d));
  } else {
    put(out, 0, 0);
    put(out, 1, 0);
    put(out, 2, 0);
    put(out, 3, 0);
    put(out, 4, (static_cast<unsigned>(NumberKind::invalid) << 8) | (static_cast<unsigned>(r.reason) << 16));
    put(out, 5, kNoNumber);
  }
  return out;
}

// check_national() of the full path, for a national number of `len`
// digits whose first digit is the byte `first` ('0'..'9'; unused if len 0).
SIPWALL_FAST_INLINE Reason check_national(const DialPlan& plan, unsigned c, unsigned first, unsigned len) noexcept {
  if (len == 0) return Reason::bad_national_length;
  if (!(plan.national_first_digits & (1u << (first - '0')))) return Reason::bad_national_number;
  if (len < plan.min_national_length || len > plan.max_national_length || c + len > kMaxDigits)
    return Reason::bad_national_length;
  return Reason::none;
}
SIPWALL_FAST_INLINE Reason check_national(const DialPlan& plan, unsigned c, const D16& nsn) noexcept {
  return check_national(plan, c, static_cast<unsigned>(nsn.lo & 0xFF), nsn.n);
}
// The same for what follows the first k (1..3) digits of d: the country code.
SIPWALL_FAST_INLINE Reason check_after(const DialPlan& plan, unsigned k, const D16& d) noexcept {
  return check_national(plan, k, static_cast<unsigned>((d.lo >> (8 * k)) & 0xFF), d.n - k);
}

// A national significant number of the plan's country: country code + nsn.
SIPWALL_FAST_INLINE Result national(const DialPlan& plan, std::uint64_t ccw, unsigned c, const D16& nsn) noexcept {
  const Reason r = check_national(plan, c, nsn);
  if (r != Reason::none) return invalid(r);
  return e164(prepend(ccw, c, nsn));
}

// international() of the full path for 1..15 digits (country code first).
SIPWALL_FAST_INLINE Result international(const DialPlan& plan, unsigned c, const D16& all) noexcept {
  if (first_digit(all) == 0) return invalid(Reason::bad_country_code);
  if (all.n >= c && starts_with(all, plan.country_code, c)) {
    // Country code + nsn glued back together is `all` itself.
    const Reason r = check_after(plan, c, all);
    if (r != Reason::none) return invalid(r);
    return e164(all);
  }
  if (all.n < kMinE164Digits) return invalid(Reason::too_short);
  return e164(all);
}

// Form B: dialled() of the full path with no area, for 7..16 digits (so no
// short code can match: they have at most 6).
SIPWALL_FAST_INLINE bool dialled(const DialPlan& plan, std::uint64_t ccw, unsigned c, const D16& all,
                                 Result& out) noexcept {
  const unsigned n = all.n;
  const unsigned ip = plan.international_prefix.len;
  if (ip != 0 && n >= ip) {
    if (ip > 8) return false;
    if (starts_with(all, plan.international_prefix, ip)) {
      if (n == ip) {
        out = invalid(Reason::too_short);
      } else {
        // At most 15 digits are left (n <= 16, ip >= 1).
        out = international(plan, c, drop(all, ip));
      }
      return true;
    }
  }
  const unsigned np = plan.national_prefix.len;
  if (np != 0 && n >= np) {
    if (np > 8) return false;
    if (starts_with(all, plan.national_prefix, np)) {
      out = n == np ? invalid(Reason::too_short) : national(plan, ccw, c, drop(all, np));
      return true;
    }
  }
  const unsigned patterns = plan.local_pattern_count < kMaxLocalPatterns ? plan.local_pattern_count : kMaxLocalPatterns;
  for (unsigned i = 0; i < patterns; ++i) {
    const LocalPattern& lp = plan.local_patterns[i];
    if (lp.length != n) continue;
    const unsigned k = lp.lead.len;
    if (k > 8) return false;
    if (k == 0 || (k <= n && starts_with(all, lp.lead, k))) {
      out = national(plan, ccw, c, all);
      return true;
    }
  }
  if (plan.country_code_without_prefix && n > c && n <= kMaxDigits && starts_with(all, plan.country_code, c) &&
      check_after(plan, c, all) == Reason::none) {
    out = e164(all);
    return true;
  }
  out = invalid(n < plan.min_national_length   ? Reason::too_short
                : n > plan.max_national_length ? Reason::too_long
                                               : Reason::unrecognised);
  return true;
}

}  // namespace fast

// Form A: true (and to_number(out) is exactly what normalize_full() returns
// with any phone-context) for "+" and 7..15 digits; false otherwise.
[[gnu::always_inline]] inline bool normalize_fast_global(std::string_view text, const DialPlan& plan,
                                                         fast::Result& out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  if (size < 8 || size > 16 || p[0] != '+') return false;
  fast::D16 d;
  if (!fast::load_digits(p + 1, static_cast<unsigned>(size - 1), d)) return false;
  // Plans without a country code, or with more digits than any real one,
  // take the full path.
  const unsigned c = plan.country_code.len;
  if (c - 1 > 2) return false;
  out = fast::international(plan, c, d);
  return true;
}

// Form B: true (and to_number(out) is exactly what normalize_full()
// returns) for 7..16 plain digits and no phone-context; false otherwise.
[[gnu::always_inline]] inline bool normalize_fast_dialled(std::string_view text, std::string_view context,
                                                          const DialPlan& plan, fast::Result& out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  if (size < 7 || size > 16 || !context.empty()) return false;
  fast::D16 d;
  if (!fast::load_digits(p, static_cast<unsigned>(size), d)) return false;
  const unsigned c = plan.country_code.len;
  if (c - 1 > 2) return false;
  const std::uint64_t ccw = fast::load8(plan.country_code.d.data()) & fast::mask_bytes(c);
  return fast::dialled(plan, ccw, c, d, out);
}

#undef SIPWALL_FAST_INLINE

}  // namespace sipwall::number::detail
