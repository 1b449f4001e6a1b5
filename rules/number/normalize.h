// Number normalisation: what is in a URI user part or a tel: URI becomes an
// E.164 number according to a DialPlan. No allocation, no exceptions; safe on
// arbitrary bytes. The rules, step by step, are in docs/numbers.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "rules/number/dial_plan.h"
#include "rules/number/e164_key.h"

namespace sipwall::number {

enum class NumberKind : std::uint8_t {
  e164,          // a full international number
  short_code,    // a service code the plan maps (e.g. 110, 911)
  not_a_number,  // alice, anonymous, a user part with letters
  invalid,       // looks like a number but cannot be one (too long, bad escape, ...)
  absent,        // nothing to normalise (empty input)
};
std::string_view to_string(NumberKind k) noexcept;

// Why a number is not_a_number / invalid / absent. none for e164 and short_code.
enum class Reason : std::uint8_t {
  none,
  empty,                // absent: no characters before the first ';'
  not_numeric,          // not_a_number: a letter or a byte no phone number has
  bad_escape,           // '%' not followed by two hex digits
  misplaced_plus,       // '+' after a digit, or twice
  star_or_hash,         // '*' or '#': a feature code, not an E.164 number
  no_digits,            // only separators and/or '+'
  too_short,            // fewer digits than any rule of the plan (or E.164) accepts
  too_long,             // more digits than any rule of the plan (or E.164) accepts
  bad_country_code,     // the E.164 digits start with 0
  bad_national_length,  // this country's national number has a length the plan rejects
  bad_national_number,  // this country's national number starts with a digit the plan rejects
  unrecognised,         // a plausible length, but no prefix or local pattern of the plan fits
  bad_context,          // phone-context is neither +digits nor a domain name
};
std::string_view to_string(Reason r) noexcept;

struct Number {
  // The order of the fields is for speed (the normaliser writes a Number as
  // three 16-byte words); use the names, never positional initialisation.
  char text_buf[kMaxDigits + 1] = {};  // storage behind text(); written only by the normaliser
  DigitString digits;                  // E.164 digits without '+', or the short code's digits
  NumberKind kind = NumberKind::absent;
  Reason reason = Reason::empty;
  std::uint8_t text_len = 0;
  E164Key key = kNoNumber;  // pack(digits) for e164 and short_code; kNoNumber otherwise

  // "+8613800138000"; for short codes just the digits; empty otherwise.
  // Points into *this: valid while this object lives, safe to copy the Number.
  std::string_view text() const noexcept { return {text_buf, text_len}; }
};

// `number_text` is the user part up to its first ';' (or the tel: number),
// possibly %-escaped; anything from a ';' on is ignored. `phone_context` is
// the RFC 3966 phone-context value (empty if none), possibly %-escaped.
Number normalize(std::string_view number_text, std::string_view phone_context, const DialPlan& plan) noexcept;

// Convenience for operator-written input (rule files, lists, CLI):
// "+86 138-0013-8000", "013800138000", "tel:+8613800138000",
// "sip:12345678;phone-context=+86-10@host", "<tel:...>". Surrounding white space is
// ignored; a ";phone-context=" parameter is honoured.
Number normalize_written(std::string_view text, const DialPlan& plan) noexcept;

}  // namespace sipwall::number
