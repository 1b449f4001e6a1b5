// What a tag action writes into From and P-Asserted-Identity besides its
// header line (docs/rules.md "tag"): a label in front of the display name and
// a `verstat` parameter. The verstat values are 3GPP TS 24.229's (the result
// a terminating network reports after RFC 8588 / STIR verification): a closed
// set, since a handset or IMS core that reads the parameter knows no others.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/text/safe_text.h"

namespace sipwall::rules {

enum class Verstat : std::uint8_t { none, tn_validation_passed, tn_validation_failed, no_tn_validation };

inline constexpr std::array<std::string_view, 3> kVerstatValues = {"TN-Validation-Passed", "TN-Validation-Failed",
                                                                   "No-TN-Validation"};

// The parameter value as written on the wire; empty for none or an unknown code.
constexpr std::string_view verstat_text(Verstat v) noexcept {
  const auto i = static_cast<std::size_t>(v);
  return i >= 1 && i <= kVerstatValues.size() ? kVerstatValues[i - 1] : std::string_view();
}

// The value spelled exactly as in kVerstatValues, else Verstat::none.
constexpr Verstat verstat_from_text(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kVerstatValues.size(); ++i) {
    if (kVerstatValues[i] == s) return static_cast<Verstat>(i + 1);
  }
  return Verstat::none;
}

// A label is a short warning ("[骚扰]", "SPAM?"): a handset shows a few words
// of the caller's name at most.
inline constexpr std::size_t kMaxTagLabelBytes = 64;

// True if `s` can go inside a quoted display name as written (RFC 3261 §25.1
// quoted-string): 1..kMaxTagLabelBytes bytes of valid UTF-8 (qdtext allows
// UTF8-NONASCII) without control characters, '"' or '\\' (they would end or
// escape the quote), not starting or ending with a space (one is added after
// it when the name is not empty).
inline bool tag_label_ok(std::string_view s) noexcept {
  return !s.empty() && s.size() <= kMaxTagLabelBytes && text::is_printable(s) &&
         s.find_first_of("\"\\") == std::string_view::npos && s.front() != ' ' && s.back() != ' ';
}

}  // namespace sipwall::rules
