// The general byte-level pass over a number or phone-context (plain digit
// strings take the inline fast path in scan.h): a 256-entry class table, one
// load and one switch a byte, 8 bytes at a time through runs of digits.
#include "rules/number/scan.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace sipwall::number::detail {

namespace {

enum Class : std::uint8_t {
  kOther,   // not in any phone number: not_a_number
  kLetter,  // not_a_number (kept apart from kOther only for readability)
  kDigit,
  kSeparator,  // RFC 3966 visual-separator "-" "." "(" ")" and space
  kPlus,
  kPercent,   // start of a %-escape (raw input only)
  kEnd,       // ';' starts the URI parameters (raw input only)
  kStarHash,  // '*' '#': RFC 3966 allows them in local numbers; never E.164
};

// `raw`: classes for bytes as they appear; decoded bytes (from %XX) never
// start another escape or end the number, they are just characters.
constexpr std::array<std::uint8_t, 256> make_table(bool raw) {
  std::array<std::uint8_t, 256> t{};
  for (auto& c : t) c = kOther;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kLetter;
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  for (char c : {'-', '.', '(', ')', ' '}) t[static_cast<unsigned char>(c)] = kSeparator;
  t['+'] = kPlus;
  t['*'] = kStarHash;
  t['#'] = kStarHash;
  if (raw) {
    t['%'] = kPercent;
    t[';'] = kEnd;
  }
  return t;
}

constexpr auto kRaw = make_table(true);
constexpr auto kDecoded = make_table(false);

constexpr std::array<std::int8_t, 256> make_hex() {
  std::array<std::int8_t, 256> h{};
  for (auto& v : h) v = -1;
  for (int c = '0'; c <= '9'; ++c) h[c] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) h[c] = static_cast<std::int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) h[c] = static_cast<std::int8_t>(c - 'A' + 10);
  return h;
}
constexpr auto kHex = make_hex();

}  // namespace

namespace {

std::uint64_t load8(const unsigned char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

}  // namespace

void scan_general(std::string_view s, Scanned& out) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  unsigned count = 0;
  bool run_start = true;  // at the start of the input or just after a non-digit
  for (std::size_t i = 0; i < n;) {
    // A run of digits ("%2B8613800138000" after the escape): 8 at a time.
    if (run_start && n - i >= 8 && count <= kScratchBytes - 8) {
      const std::uint64_t x = load8(p + i);
      if (eight_digits(x)) {
        std::memcpy(out.digits + count, &x, 8);
        count += 8;
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    std::uint8_t cls = kRaw[c];
    if (cls == kDigit) {
      if (count < kScratchBytes) out.digits[count] = static_cast<char>(c);
      ++count;
      ++i;
      run_start = false;
      continue;
    }
    run_start = true;
    if (cls == kPercent) {
      // Both hex digits must be inside the input.
      if (n - i < 3 || kHex[p[i + 1]] < 0 || kHex[p[i + 2]] < 0) {
        out.fail_kind = NumberKind::invalid;
        out.fail = Reason::bad_escape;
        break;
      }
      c = static_cast<unsigned char>(kHex[p[i + 1]] * 16 + kHex[p[i + 2]]);
      cls = kDecoded[c];
      i += 3;
    } else {
      ++i;
    }
    switch (cls) {
      case kDigit:  // from an escape
        if (count < kScratchBytes) out.digits[count] = static_cast<char>(c);
        ++count;
        continue;
      case kSeparator:
        continue;
      case kPlus:
        if (count != 0 || out.plus) {
          out.fail_kind = NumberKind::invalid;
          out.fail = Reason::misplaced_plus;
          break;
        }
        out.plus = true;
        continue;
      case kEnd:
        i = n;  // parameters are not part of the number
        continue;
      case kStarHash:
        out.fail_kind = NumberKind::invalid;
        out.fail = Reason::star_or_hash;
        break;
      default:  // kLetter, kOther
        out.fail_kind = NumberKind::not_a_number;
        out.fail = Reason::not_numeric;
        break;
    }
    break;  // only failures reach here
  }
  out.count = count;
  if (out.fail != Reason::none) return;
  // One read of what was just stored byte-wise (a store-forwarding stall,
  // paid only off the fast path).
  out.set_head(load16(out.digits, std::min(count, 16u)).v);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;  // prefix is lower case
  }
  return true;
}

}  // namespace sipwall::number::detail
