// The dial-plan interpretation of a scanned number. The order of the steps is
// the contract documented in docs/numbers.md; each step either decides or
// hands on, nothing is retried.
#include "rules/number/normalize.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>

#include "rules/number/digits16.h"
#include "rules/number/fast_path.h"
#include "rules/number/scan.h"

namespace sipwall::number {

namespace {

// Everything below is inlined into normalize(): the digits travel in 128-bit
// registers, and a call boundary would pass them through the stack, where
// GCC writes them as two 8-byte halves and reads them back as one 16-byte
// vector, a store-forwarding stall that cost more than the rest of the work.
#define SIPWALL_INLINE [[gnu::always_inline]] inline

using detail::Digits16;
using detail::kMaxInputDigits;
using detail::Scanned;

// A run of scanned digits: its first 16 in a register, all of them in a
// buffer with 16 readable bytes from any digit position <= 32 (Scanned).
// Only runs longer than 16 digits (an international prefix + 15) ever read
// the buffer.
struct Run {
  const char* p = nullptr;
  unsigned n = 0;
  detail::u128 head = 0;  // first min(n, 16) digits, zero above

  SIPWALL_INLINE static Run of(const Scanned& s) noexcept { return {s.digits, s.count, s.head()}; }
  // k <= n
  SIPWALL_INLINE Run drop(unsigned k) const noexcept {
    const unsigned rest = n - k;
    if (n <= 16) return {p + k, rest, detail::drop({head, n}, k).v};
    return {p + k, rest, detail::load16(p + k, std::min(rest, 16u)).v};
  }
  SIPWALL_INLINE Digits16 load() const noexcept { return {head, std::min(n, 16u)}; }  // callers: n <= 16
};

SIPWALL_INLINE bool has_prefix(Run r, const DigitString& prefix) noexcept {
  return prefix.len != 0 && r.n >= prefix.len && detail::starts_with(r.load(), prefix.d.data(), prefix.len);
}

// A Number built as three 16-byte words in registers: text, digits, then
// length/kind/reason/text length/key. Declaring `Number out;` and filling it
// in made GCC clear all 48 bytes with `rep stos` first, a third of the time
// spent per number.
static_assert(sizeof(Number) == 48 && offsetof(Number, text_buf) == 0 && offsetof(Number, digits) == 16 &&
              offsetof(DigitString, len) == 16 && offsetof(Number, kind) == 33 && offsetof(Number, reason) == 34 &&
              offsetof(Number, text_len) == 35 && offsetof(Number, key) == 40);

SIPWALL_INLINE Number compose(detail::u128 text, detail::u128 digits, unsigned n, NumberKind kind, Reason reason,
                              unsigned text_len, E164Key key) noexcept {
  const detail::u128 tail = n | (static_cast<unsigned>(kind) << 8) | (static_cast<unsigned>(reason) << 16) |
                            (text_len << 24) | (detail::u128{key} << 64);
  const std::array<detail::u128, 3> words{text, digits, tail};
  return std::bit_cast<Number>(words);
}

SIPWALL_INLINE Number failed(NumberKind kind, Reason reason) noexcept {
  return compose(0, 0, 0, kind, reason, 0, kNoNumber);
}

SIPWALL_INLINE Number invalid(Reason reason) noexcept {
  return failed(NumberKind::invalid, reason);
}

// `d`: 1..15 digits, first digit 1-9, checked by the caller.
SIPWALL_INLINE Number make_e164(Digits16 d) noexcept {
  const E164Key key = (static_cast<E164Key>(d.n) << kKeyLengthShift) | detail::value_of(d);
  return compose((d.v << 8) | '+', d.v, d.n, NumberKind::e164, Reason::none, d.n + 1, key);
}

SIPWALL_INLINE Number make_short_code(const DigitString& code) noexcept {
  const Digits16 d = detail::load16(code.d.data(), code.len);
  const E164Key key = (static_cast<E164Key>(d.n) << kKeyLengthShift) | detail::value_of(d);
  return compose(d.v, d.v, d.n, NumberKind::short_code, Reason::none, d.n, key);
}

// The national significant number of the plan's own country, `nsn_len`
// digits long (possibly more than 16, then only the length matters).
SIPWALL_INLINE Reason check_national(const DialPlan& plan, Digits16 nsn, unsigned nsn_len) noexcept {
  if (nsn_len == 0) return Reason::bad_national_length;
  // The first digit is checked first: "+86 0755..." (a trunk 0 kept after
  // the country code) is a more useful thing to report than its length.
  if (!(plan.national_first_digits & (1u << detail::first_digit(nsn)))) return Reason::bad_national_number;
  if (nsn_len < plan.min_national_length || nsn_len > plan.max_national_length ||
      plan.country_code.len + nsn_len > kMaxDigits)
    return Reason::bad_national_length;
  return Reason::none;
}

SIPWALL_INLINE Number national(const DialPlan& plan, Digits16 nsn, unsigned nsn_len) noexcept {
  const Reason r = check_national(plan, nsn, nsn_len);
  if (r != Reason::none) return invalid(r);
  return make_e164(detail::concat(detail::load16(plan.country_code.d.data(), plan.country_code.len), nsn));
}

// A national number given as a run, which may be longer than 16 digits.
SIPWALL_INLINE Number national(const DialPlan& plan, Run nsn) noexcept {
  return national(plan, nsn.load(), nsn.n);
}

// Digits that are already international: country code first. Used after '+',
// after the international prefix, and for a foreign phone-context (`head`).
SIPWALL_INLINE Number international(const DialPlan& plan, Run head, Run tail) noexcept {
  const unsigned len = head.n + tail.n;
  if (len == 0) return invalid(Reason::too_short);
  if (len > kMaxDigits) return invalid(Reason::too_long);
  const Digits16 all = detail::concat(head.load(), tail.load());
  if (detail::first_digit(all) == 0) return invalid(Reason::bad_country_code);
  // Our own country: the plan's national rules apply to what follows the
  // code. (A phone-context head may be shorter than the code: compare the
  // joined digits.)
  const unsigned cc = plan.country_code.len;
  if (cc != 0 && detail::starts_with(all, plan.country_code.d.data(), cc)) {
    const Digits16 nsn = detail::drop(all, cc);
    return national(plan, nsn, nsn.n);
  }
  if (len < kMinE164Digits) return invalid(Reason::too_short);
  return make_e164(all);
}

// A number without '+' in the plan's own country. `area` is what a
// phone-context such as "+86-10" adds after the country code (else empty).
SIPWALL_INLINE Number dialled(const DialPlan& plan, Run all, Run area) noexcept {
  const unsigned n = all.n;
  // 1. Short codes match the whole string exactly.
  if (n <= kMaxShortCodeDigits) {
    const Digits16 d = all.load();
    const unsigned count = std::min<unsigned>(plan.short_code_count, kMaxShortCodes);
    for (unsigned i = 0; i < count; ++i) {
      const DigitString& code = plan.short_codes[i];
      if (code.len == n && detail::starts_with(d, code.d.data(), n)) return make_short_code(code);
    }
  }
  // 2. International prefix: the rest is country code + number.
  if (has_prefix(all, plan.international_prefix))
    return international(plan, {}, all.drop(plan.international_prefix.len));
  // 3. National prefix: the rest is the national number. Decisive: a national
  //    prefix never starts a local pattern (DialPlan::valid checks it).
  if (has_prefix(all, plan.national_prefix)) {
    const Run nsn = all.drop(plan.national_prefix.len);
    if (nsn.n == 0) return invalid(Reason::too_short);
    return national(plan, nsn);
  }
  // 4. Local patterns: national numbers dialled with no prefix.
  const unsigned patterns = std::min<unsigned>(plan.local_pattern_count, kMaxLocalPatterns);
  for (unsigned i = 0; i < patterns; ++i) {
    const LocalPattern& lp = plan.local_patterns[i];
    if (lp.length == n && (lp.lead.len == 0 || has_prefix(all, lp.lead))) return national(plan, all);
  }
  // 5. The country code without '+' ("8613800138000"), if the plan allows it
  //    and the rest is a valid national number; otherwise not decisive.
  if (plan.country_code_without_prefix && n > plan.country_code.len && n <= kMaxDigits &&
      has_prefix(all, plan.country_code)) {
    const Digits16 whole = all.load();
    const Digits16 nsn = detail::drop(whole, plan.country_code.len);
    if (check_national(plan, nsn, nsn.n) == Reason::none) return make_e164(whole);
  }
  // 6. A local number inside an area given by phone-context.
  if (area.n != 0) {
    if (area.n + n > kMaxDigits) return invalid(Reason::bad_national_length);
    return national(plan, detail::concat(area.load(), all.load()), area.n + n);
  }
  // 7. Nothing fits: say which way it is off.
  if (n < plan.min_national_length) return invalid(Reason::too_short);
  if (n > plan.max_national_length) return invalid(Reason::too_long);
  return invalid(Reason::unrecognised);
}

// phone-context = domainname / global-number-digits (RFC 3966 section 3).
// A loose domain check: letters, digits, '-' and '.', starting alphanumeric.
bool is_domain(std::string_view s) noexcept {
  if (s.empty()) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

// The full path; inlined into both normalize() and normalize_full().
SIPWALL_INLINE Number full(std::string_view number_text, std::string_view phone_context,
                           const DialPlan& plan) noexcept {
  if (number_text.empty() || number_text[0] == ';') return failed(NumberKind::absent, Reason::empty);

  Scanned num;
  detail::scan(number_text, num);
  if (num.fail != Reason::none) return failed(num.fail_kind, num.fail);
  if (num.count == 0) return invalid(Reason::no_digits);
  if (num.count > kMaxInputDigits) return invalid(Reason::too_long);
  const Run digits = Run::of(num);

  // A global number carries its own country code; RFC 3966 forbids a
  // phone-context on it, and we ignore one rather than fail the call.
  if (num.plus) return international(plan, {}, digits);

  if (phone_context.empty()) return dialled(plan, digits, {});

  const bool global_context = phone_context[0] == '+' || detail::starts_with_nocase(phone_context, "%2b");
  if (!global_context) {
    // A domain name: the operator's own network, so the plan applies as is.
    if (!is_domain(phone_context)) return invalid(Reason::bad_context);
    return dialled(plan, digits, {});
  }
  Scanned ctx;
  detail::scan(phone_context, ctx);
  if (ctx.fail != Reason::none || !ctx.plus || ctx.count == 0 || ctx.count > kMaxDigits)
    return invalid(Reason::bad_context);
  const Run context = Run::of(ctx);
  if (detail::first_digit(context.load()) == 0) return invalid(Reason::bad_context);

  // "+86" or "+86-755" in a China plan: dial by the plan, with "755" as the
  // area for numbers no rule of the plan takes.
  if (has_prefix(context, plan.country_code)) return dialled(plan, digits, context.drop(plan.country_code.len));
  // Another country: its dialling rules are unknown, so the context digits
  // simply prefix the local number (RFC 3966 section 5.1.5 warns this is a
  // convention, not a guarantee).
  return international(plan, context, digits);
}

}  // namespace

Number detail::normalize_full(std::string_view number_text, std::string_view phone_context,
                              const DialPlan& plan) noexcept {
  return full(number_text, phone_context, plan);
}

// The two fast paths first, then the full one, all inlined into one
// function: calling out to the full path (or from an inline "+digits" path
// in the header) cost more in call overhead and register saves than it
// saved. See fast_path.h.
Number normalize(std::string_view number_text, std::string_view phone_context, const DialPlan& plan) noexcept {
  detail::fast::Result r;
  if (detail::normalize_fast_global(number_text, plan, r) ||
      detail::normalize_fast_dialled(number_text, phone_context, plan, r))
    return detail::fast::to_number(r);
  return full(number_text, phone_context, plan);
}

std::string_view to_string(NumberKind k) noexcept {
  switch (k) {
    case NumberKind::e164:
      return "e164";
    case NumberKind::short_code:
      return "short_code";
    case NumberKind::not_a_number:
      return "not_a_number";
    case NumberKind::invalid:
      return "invalid";
    case NumberKind::absent:
      return "absent";
  }
  return "unknown";
}

std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::none:
      return "none";
    case Reason::empty:
      return "empty";
    case Reason::not_numeric:
      return "not_numeric";
    case Reason::bad_escape:
      return "bad_escape";
    case Reason::misplaced_plus:
      return "misplaced_plus";
    case Reason::star_or_hash:
      return "star_or_hash";
    case Reason::no_digits:
      return "no_digits";
    case Reason::too_short:
      return "too_short";
    case Reason::too_long:
      return "too_long";
    case Reason::bad_country_code:
      return "bad_country_code";
    case Reason::bad_national_length:
      return "bad_national_length";
    case Reason::bad_national_number:
      return "bad_national_number";
    case Reason::unrecognised:
      return "unrecognised";
    case Reason::bad_context:
      return "bad_context";
  }
  return "unknown";
}

}  // namespace sipwall::number
