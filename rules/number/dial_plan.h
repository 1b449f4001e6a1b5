// A dial plan says how numbers written in one country's conventions become
// E.164. It is plain data (trivially copyable, no pointers) so that the rules
// compiler can build it from YAML and the data plane can hold it inside an
// immutable rule set. docs/numbers.md describes every field.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sipwall::number {

inline constexpr std::size_t kMaxDigits = 15;     // E.164 maximum
inline constexpr std::size_t kMinE164Digits = 7;  // shortest real E.164 (e.g. +683 xxxx)
inline constexpr std::size_t kMaxCountryCodeDigits = 3;
inline constexpr std::size_t kMaxPrefixDigits = 6;  // international / national prefix
inline constexpr std::size_t kMaxShortCodes = 32;
// Short codes are kept below the shortest E.164 number so that a short code's
// key can never equal an E.164 number's key (both use pack()).
inline constexpr std::size_t kMaxShortCodeDigits = kMinE164Digits - 1;
inline constexpr std::size_t kMaxLocalPatterns = 16;

// A run of digits stored inline (no allocation). Bytes past `len` are zero
// after assign(), so the struct can be hashed or compared bytewise.
struct DigitString {
  std::array<char, kMaxDigits + 1> d{};
  std::uint8_t len = 0;
  std::string_view view() const noexcept { return {d.data(), len}; }
  bool empty() const noexcept { return len == 0; }
  // False (and *this cleared) if longer than kMaxDigits or not all '0'..'9'.
  bool assign(std::string_view digits) noexcept;
  // True if len <= kMaxDigits and the first len bytes are digits; guards data
  // that came from outside (an artifact file).
  bool well_formed() const noexcept;
  friend bool operator==(const DigitString& a, const DigitString& b) noexcept { return a.view() == b.view(); }
};

// A national number that may be dialled without the national prefix: numbers
// whose first digits are `lead` and whose length is `length`, e.g. China
// mobiles: lead "13", length 11. An empty lead matches any first digit.
struct LocalPattern {
  DigitString lead;
  std::uint8_t length = 0;
  friend bool operator==(const LocalPattern&, const LocalPattern&) noexcept = default;
};

struct DialPlan {
  DigitString country_code;          // "86", "1"
  DigitString international_prefix;  // "00", "011"
  DigitString national_prefix;       // "0", "1"; may be empty
  // National significant number (NSN: the E.164 digits after the country
  // code) length bounds, applied to every number of this country.
  std::uint8_t min_national_length = 0;
  std::uint8_t max_national_length = 0;
  // Bit d set: an NSN may start with digit d. NANP area codes start 2-9, so
  // "+10125551234" is rejected; China's NSNs never start with 0.
  std::uint16_t national_first_digits = 0x3FF;
  // National numbers dialled with no prefix at all (China mobiles, NANP 10 digits).
  std::array<LocalPattern, kMaxLocalPatterns> local_patterns{};
  std::uint8_t local_pattern_count = 0;
  // Short service codes the plan maps (emergency 110/119/120/112/911 ...):
  // reported as NumberKind::short_code, never as E.164. 1..kMaxShortCodeDigits digits.
  std::array<DigitString, kMaxShortCodes> short_codes{};
  std::uint8_t short_code_count = 0;
  // Accept the country code without '+' or international prefix
  // ("8613800138000") when no national rule matches and the rest is a valid
  // NSN. Many Chinese switches send numbers this way.
  bool country_code_without_prefix = false;

  static DialPlan china() noexcept;          // 86 / 00 / 0
  static DialPlan north_america() noexcept;  // 1 / 011 / 1
  // "china" or "north_america" (the YAML `preset:` values); false otherwise.
  static bool preset(std::string_view name, DialPlan* out) noexcept;

  // Helpers for the YAML loader; each returns false (plan unchanged) if the
  // value is malformed or the table is full. valid() checks the whole plan.
  bool add_local_pattern(std::string_view lead, unsigned length) noexcept;
  bool add_short_code(std::string_view digits) noexcept;
  // "23456789" → only those digits may start an NSN.
  bool set_national_first_digits(std::string_view digits) noexcept;

  // Checks every field and the fields against each other. On failure writes
  // one sentence naming the field (YAML key) into *why (if not null).
  bool valid(std::string* why) const;

  friend bool operator==(const DialPlan& a, const DialPlan& b) noexcept;
};

}  // namespace sipwall::number
