// Internal to sipwall_number: the byte-level pass shared by the number and the
// phone-context. One pass, no allocation, never reads past the input.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "rules/number/digits16.h"
#include "rules/number/normalize.h"

namespace sipwall::number::detail {

// No valid number has more digits than an international or national prefix
// plus 15; longer inputs are too_long whatever the plan says, but are still
// scanned to the end so that letters win (not_a_number).
inline constexpr unsigned kMaxInputDigits = kMaxDigits + kMaxPrefixDigits;
// The buffer is larger so that a 16-byte load from any digit position up to
// 32 stays inside it (see digits16.h), and 8 digits can be stored at once.
inline constexpr unsigned kScratchBytes = 48;

struct Scanned {
  // The first 16 digits (zero above `count`), as two halves written and read
  // 8 bytes at a time: a 16-byte read of two 8-byte writes would stall on
  // store forwarding. The fast path fills only these and leaves `digits`.
  std::uint64_t head_lo = 0;
  std::uint64_t head_hi = 0;
  char digits[kScratchBytes] = {};
  unsigned count = 0;                       // digits seen; may exceed kScratchBytes
  bool plus = false;                        // a '+' came before the first digit
  NumberKind fail_kind = NumberKind::e164;  // e164 here means "no failure"
  Reason fail = Reason::none;

  u128 head() const noexcept { return (u128{head_hi} << 64) | head_lo; }
  void set_head(u128 v) noexcept {
    head_lo = static_cast<std::uint64_t>(v);
    head_hi = static_cast<std::uint64_t>(v >> 64);
  }
};

// The common case, "8613800138000" or "+8613800138000": 1..16 plain digits,
// read with whole-word loads that stay inside the input (two overlapping
// loads cover any length) and assembled in a register. False: take the
// general path.
SIPWALL_DIGITS_INLINE bool plain_digits(const unsigned char* p, std::size_t m, u128* head) noexcept {
  if (m >= 8) {
    if (m > 16) return false;
    std::uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + m - 8, 8);
    if (!eight_digits(a) || !eight_digits(b)) return false;
    *head = u128{a} | (u128{b} << (8 * (m - 8)));  // overlapping bytes are equal
    return true;
  }
  if (m >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + m - 4, 4);
    if (!eight_digits(a | (std::uint64_t{b} << 32))) return false;
    *head = a | (std::uint64_t{b} << (8 * (m - 4)));
    return true;
  }
  u128 h = 0;
  for (std::size_t j = 0; j < m; ++j) {
    if (static_cast<unsigned>(p[j] - '0') > 9) return false;
    h |= u128{p[j]} << (8 * j);
  }
  *head = h;
  return m != 0;
}

// Everything plain_digits() does not take: separators, escapes, ';', bad bytes.
void scan_general(std::string_view s, Scanned& out) noexcept;

// Reads digits, RFC 3966 visual separators ("-.()") and spaces, one leading
// '+', and %-escapes (decoded once). Stops at a raw ';'. The first byte that
// cannot be part of a number decides the failure.
SIPWALL_DIGITS_INLINE void scan(std::string_view s, Scanned& out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  const std::size_t skip = (n != 0 && p[0] == '+') ? 1 : 0;
  u128 head;
  if (plain_digits(p + skip, n - skip, &head)) {
    out.set_head(head);
    out.plus = skip != 0;
    out.count = static_cast<unsigned>(n - skip);
    return;  // `digits` is only read for runs longer than 16
  }
  scan_general(s, out);
}

// ASCII-only, case-insensitive prefix test used by the URI helpers.
bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept;

}  // namespace sipwall::number::detail
