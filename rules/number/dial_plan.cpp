// DigitString, the two built-in plans, and the checks the rules loader runs on
// a plan built from YAML (or read back from an artifact).
#include "rules/number/dial_plan.h"

#include <algorithm>

namespace sipwall::number {

namespace {

bool all_digits(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

DigitString digits_of(std::string_view s) noexcept {
  DigitString d;
  d.assign(s);
  return d;
}

bool starts_with(const DigitString& s, const DigitString& prefix) noexcept {
  return !prefix.empty() && s.view().substr(0, prefix.len) == prefix.view();
}

}  // namespace

bool DigitString::assign(std::string_view digits) noexcept {
  d.fill('\0');
  len = 0;
  if (digits.size() > kMaxDigits || !all_digits(digits)) return false;
  std::copy(digits.begin(), digits.end(), d.begin());
  len = static_cast<std::uint8_t>(digits.size());
  return true;
}

bool DigitString::well_formed() const noexcept {
  return len <= kMaxDigits && all_digits({d.data(), len});
}

DialPlan DialPlan::china() noexcept {
  DialPlan p;
  p.country_code = digits_of("86");
  p.international_prefix = digits_of("00");
  p.national_prefix = digits_of("0");
  // Fixed lines: 2-digit area + 8 digits, or 3-digit area + 7/8 digits;
  // mobiles 11 digits. (13-digit IoT numbers 140-144 are left out.)
  p.min_national_length = 10;
  p.max_national_length = 11;
  p.national_first_digits = 0x3FE;  // 1-9: a leading 0 is the national prefix
  for (const char* lead : {"13", "14", "15", "16", "17", "18", "19"}) p.add_local_pattern(lead, 11);
  p.add_local_pattern("400", 10);  // nationwide service numbers, dialled without 0
  p.add_local_pattern("800", 10);
  for (const char* code : {"110", "112", "119", "120", "122"}) p.add_short_code(code);
  p.country_code_without_prefix = true;
  return p;
}

DialPlan DialPlan::north_america() noexcept {
  DialPlan p;
  p.country_code = digits_of("1");
  p.international_prefix = digits_of("011");
  p.national_prefix = digits_of("1");
  p.min_national_length = 10;
  p.max_national_length = 10;
  p.national_first_digits = 0x3FC;  // area codes start 2-9
  p.add_local_pattern("", 10);      // 10-digit dialling
  // N11 service codes and the 988 crisis line.
  for (const char* code : {"211", "311", "411", "511", "611", "711", "811", "911", "988"}) {
    p.add_short_code(code);
  }
  // "1" + NSN is already the national-prefix form; nothing more to accept.
  p.country_code_without_prefix = false;
  return p;
}

bool DialPlan::preset(std::string_view name, DialPlan* out) noexcept {
  if (name == "china") {
    *out = china();
  } else if (name == "north_america") {
    *out = north_america();
  } else {
    return false;
  }
  return true;
}

bool DialPlan::add_local_pattern(std::string_view lead, unsigned length) noexcept {
  if (local_pattern_count >= kMaxLocalPatterns || length == 0 || length > kMaxDigits) return false;
  LocalPattern lp;
  if (!lp.lead.assign(lead) || lead.size() > length) return false;
  lp.length = static_cast<std::uint8_t>(length);
  local_patterns[local_pattern_count++] = lp;
  return true;
}

bool DialPlan::add_short_code(std::string_view digits) noexcept {
  if (short_code_count >= kMaxShortCodes || digits.empty() || digits.size() > kMaxShortCodeDigits) return false;
  DigitString d;
  if (!d.assign(digits)) return false;
  short_codes[short_code_count++] = d;
  return true;
}

bool DialPlan::set_national_first_digits(std::string_view digits) noexcept {
  if (digits.empty() || !all_digits(digits)) return false;
  std::uint16_t mask = 0;
  for (char c : digits) mask = static_cast<std::uint16_t>(mask | (1u << (c - '0')));
  national_first_digits = mask;
  return true;
}

bool DialPlan::valid(std::string* why) const {
  auto fail = [why](std::string msg) {
    if (why) *why = std::move(msg);
    return false;
  };
  // Data may come from an artifact file: check the raw shapes first.
  if (!country_code.well_formed() || !international_prefix.well_formed() || !national_prefix.well_formed())
    return fail("dial plan: a prefix or the country code holds something other than digits");
  if (local_pattern_count > kMaxLocalPatterns)
    return fail("local_patterns: more than " + std::to_string(kMaxLocalPatterns) + " entries");
  if (short_code_count > kMaxShortCodes)
    return fail("short_codes: more than " + std::to_string(kMaxShortCodes) + " entries");

  if (country_code.len < 1 || country_code.len > kMaxCountryCodeDigits || country_code.d[0] == '0')
    return fail("country_code: must be 1 to 3 digits, not starting with 0 (got \"" + std::string(country_code.view()) +
                "\")");
  if (international_prefix.len < 1 || international_prefix.len > kMaxPrefixDigits)
    return fail("international_prefix: must be 1 to " + std::to_string(kMaxPrefixDigits) + " digits");
  if (national_prefix.len > kMaxPrefixDigits)
    return fail("national_prefix: at most " + std::to_string(kMaxPrefixDigits) + " digits");
  if (national_prefix == international_prefix) return fail("national_prefix: equals international_prefix");
  // The international prefix is tried first (China: "00" before "0"), so a
  // national prefix that begins with it could never apply.
  if (starts_with(national_prefix, international_prefix))
    return fail("national_prefix: starts with international_prefix \"" + std::string(international_prefix.view()) +
                "\" and so could never apply");

  if (min_national_length < 1 || min_national_length > max_national_length)
    return fail("national_number_length: need 1 <= min <= max (got [" + std::to_string(min_national_length) + ", " +
                std::to_string(max_national_length) + "])");
  if (country_code.len + max_national_length > kMaxDigits)
    return fail("national_number_length: country code + " + std::to_string(max_national_length) +
                " digits exceeds the 15 digits of E.164");
  // Keeps every national E.164 number longer than any short code, so their
  // keys cannot collide.
  if (country_code.len + min_national_length < kMinE164Digits)
    return fail("national_number_length: country code + " + std::to_string(min_national_length) +
                " digits is shorter than the " + std::to_string(kMinE164Digits) +
                " digits of the shortest E.164 number");
  if ((national_first_digits & 0x3FF) == 0 || (national_first_digits & ~0x3FFu) != 0)
    return fail("national_number_first_digits: must name at least one digit 0-9");

  for (unsigned i = 0; i < local_pattern_count; ++i) {
    const LocalPattern& lp = local_patterns[i];
    const std::string where = "local_patterns[" + std::to_string(i) + "]: ";
    if (!lp.lead.well_formed()) return fail(where + "lead holds something other than digits");
    if (lp.length < min_national_length || lp.length > max_national_length)
      return fail(where + "length " + std::to_string(lp.length) + " is outside national_number_length");
    if (lp.lead.len > lp.length) return fail(where + "lead is longer than length");
    if (!lp.lead.empty() && !(national_first_digits & (1u << (lp.lead.d[0] - '0'))))
      return fail(where + "lead starts with a digit national_number_first_digits excludes");
    if (starts_with(lp.lead, international_prefix) || starts_with(lp.lead, national_prefix))
      return fail(where +
                  "lead starts with the international or national prefix, "
                  "which are tried first, so the pattern could never apply");
    for (unsigned j = 0; j < i; ++j)
      if (local_patterns[j] == lp) return fail(where + "duplicate pattern");
  }
  for (unsigned i = 0; i < short_code_count; ++i) {
    const DigitString& sc = short_codes[i];
    const std::string where = "short_codes[" + std::to_string(i) + "]: ";
    if (!sc.well_formed() || sc.len < 1 || sc.len > kMaxShortCodeDigits)
      return fail(where + "must be 1 to " + std::to_string(kMaxShortCodeDigits) + " digits");
    for (unsigned j = 0; j < i; ++j)
      if (short_codes[j] == sc) return fail(where + "duplicate \"" + std::string(sc.view()) + "\"");
  }
  return true;
}

bool operator==(const DialPlan& a, const DialPlan& b) noexcept {
  if (!(a.country_code == b.country_code && a.international_prefix == b.international_prefix &&
        a.national_prefix == b.national_prefix && a.min_national_length == b.min_national_length &&
        a.max_national_length == b.max_national_length && a.national_first_digits == b.national_first_digits &&
        a.local_pattern_count == b.local_pattern_count && a.short_code_count == b.short_code_count &&
        a.country_code_without_prefix == b.country_code_without_prefix))
    return false;
  const unsigned np = std::min<unsigned>(a.local_pattern_count, kMaxLocalPatterns);
  const unsigned ns = std::min<unsigned>(a.short_code_count, kMaxShortCodes);
  return std::equal(a.local_patterns.begin(), a.local_patterns.begin() + np, b.local_patterns.begin()) &&
         std::equal(a.short_codes.begin(), a.short_codes.begin() + ns, b.short_codes.begin());
}

}  // namespace sipwall::number
