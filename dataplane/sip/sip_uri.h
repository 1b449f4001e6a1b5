// URI views for sip:, sips: and tel: (RFC 3261 §19.1, RFC 3966). Zero-copy.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "dataplane/sip/sip_errors.h"

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
  // Both of the above with one scan of the user part (the classifier reads
  // both for every number it normalises).
  void number_parts(std::string_view& number, std::string_view& context) const noexcept;
  // user=phone on a sip/sips URI.
  bool user_is_phone() const noexcept;
};

namespace detail {

// Index of the first ';' in s, or s.size(). Inline and word-at-a-time: it
// runs for every number the classifier normalises, on user parts of 8-20
// bytes, where a call to memchr cost more than the search. Reads only
// bytes of s.
inline std::size_t find_semicolon(std::string_view s) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kSemis = kOnes * ';';
  constexpr std::uint64_t kHighs = kOnes * 0x80;
  const char* p = s.data();
  const std::size_t n = s.size();
  // Bytes equal to ';' become zero; the lowest flagged zero byte is exact
  // (the borrow trick can only flag bytes above a real zero).
  auto semis = [&](std::size_t at) {
    std::uint64_t x;
    std::memcpy(&x, p + at, 8);
    x ^= kSemis;
    return (x - kOnes) & ~x & kHighs;
  };
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (p[i] == ';') return i;
    }
    return n;
  }
  if (n <= 16) {  // the usual user part: two words, no loop
    if (const std::uint64_t t = semis(0)) return static_cast<std::size_t>(std::countr_zero(t)) / 8;
    // Bytes 0..7 hold no ';': flags in the second word are exact.
    if (const std::uint64_t t = semis(n - 8)) return n - 8 + static_cast<std::size_t>(std::countr_zero(t)) / 8;
    return n;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (const std::uint64_t t = semis(i)) return i + static_cast<std::size_t>(std::countr_zero(t)) / 8;
  }
  if (i == n) return n;
  // The rest: the last 8 bytes, without the ones already searched (none of
  // them is ';', so none of them can flag a byte above it either).
  const std::size_t back = i - (n - 8);  // 1..7 bytes searched already
  if (const std::uint64_t t = semis(n - 8) >> (8 * back)) return i + static_cast<std::size_t>(std::countr_zero(t)) / 8;
  return n;
}

// phone-context in the ';' parameters of a sip user part (after its first
// ';') or in tel parameters; out of line (uncommon).
std::string_view find_phone_context(std::string_view params) noexcept;

}  // namespace detail

inline void Uri::number_parts(std::string_view& number, std::string_view& context) const noexcept {
  if (scheme == UriScheme::tel) {
    number = user;
    context = params.empty() ? std::string_view() : detail::find_phone_context(params);
    return;
  }
  if (scheme != UriScheme::sip && scheme != UriScheme::sips) {
    number = {};
    context = {};
    return;
  }
  const std::size_t semi = detail::find_semicolon(user);
  number = user.substr(0, semi);
  context = semi == user.size() ? std::string_view() : detail::find_phone_context(user.substr(semi + 1));
}

inline std::string_view Uri::number_text() const noexcept {
  if (scheme == UriScheme::tel) return user;
  if (scheme != UriScheme::sip && scheme != UriScheme::sips) return {};
  return user.substr(0, detail::find_semicolon(user));
}

inline std::string_view Uri::phone_context() const noexcept {
  std::string_view number, context;
  number_parts(number, context);
  return context;
}

// Parses `text` as exactly one URI. Resets `out`; its views point into
// `text`. Returns none, bad_uri, or bad_escape (a '%' not followed by two hex
// digits). %-escapes are validated but left as written in every view.
// Schemes other than sip/sips/tel are accepted as opaque (UriScheme::other).
ParseError parse_uri(std::string_view text, Uri& out) noexcept;

}  // namespace sipwall::sip
