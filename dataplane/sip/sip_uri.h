// URI views for sip:, sips: and tel: (RFC 3261 §19.1, RFC 3966). Zero-copy.
#pragma once

#include <cstdint>
#include <string_view>

#include "sip/sip_errors.h"

namespace sipwall::sip {

enum class UriScheme : std::uint8_t { none, sip, sips, tel, other };

struct Uri {
  UriScheme scheme = UriScheme::none;
  std::string_view text;  // the whole URI as written
  std::string_view scheme_name;
  // sip/sips: the userinfo user part as written (may hold ';' parameters of a
  //   telephone-subscriber and %-escapes).
  // tel: the number (global or local), without its parameters.
  std::string_view user;
  std::string_view password;
  std::string_view host;     // IPv6 references keep their brackets
  std::uint16_t port = 0;    // 0 when absent
  std::string_view params;   // uri-parameters (sip) or tel parameters, without the first ';'
  std::string_view headers;  // after '?', sip/sips only

  // Value of a ;name=value parameter in `params` (case-insensitive name).
  // Returns true if the parameter is present; `value` is empty for a flag param.
  bool param(std::string_view name, std::string_view& value) const noexcept;
  // The number part a normaliser should read: tel: number, or the sip user up
  // to its first ';'. Still %-escaped.
  std::string_view number_text() const noexcept;
  // phone-context of the number: from tel parameters, or from the ';'
  // parameters inside a sip user part. Empty if none.
  std::string_view phone_context() const noexcept;
  // user=phone on a sip/sips URI.
  bool user_is_phone() const noexcept;
};

// Parses `text` as exactly one URI. Resets `out`; its views point into
// `text`. Returns none, bad_uri, or bad_escape (a '%' not followed by two hex
// digits). %-escapes are validated but left as written in every view.
// Schemes other than sip/sips/tel are accepted as opaque (UriScheme::other).
ParseError parse_uri(std::string_view text, Uri& out) noexcept;

}  // namespace sipwall::sip
