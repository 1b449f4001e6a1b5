#include "rules/model/outside_text.h"

#include <cstdint>
#include <cstdio>

namespace sipwall::rules {

namespace {

// Length of the valid, printable UTF-8 sequence at s[i] (1..4), or 0.
std::size_t sequence_at(std::string_view s, std::size_t i, bool allow_tab) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7F) return 0;
    return 1;
  }
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i <= n) return 0;
  for (std::size_t k = 1; k <= n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
      cp > 0x10FFFF || (cp >= 0x80 && cp < 0xA0)) {
    return 0;
  }
  return n + 1;
}

}  // namespace

bool printable_utf8(std::string_view s, bool allow_tab) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequence_at(s, i, allow_tab);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

namespace {

// The escaped first `max_bytes` of `s`; `cut` is set if there was more.
std::string escape_prefix(std::string_view s, std::size_t max_bytes, bool& cut) {
  std::string out;
  const std::size_t upto = s.size() < max_bytes ? s.size() : max_bytes;
  out.reserve(upto + 16);
  std::size_t i = 0;
  while (i < upto) {
    const std::size_t n = sequence_at(s, i, false);
    if (n == 0 || i + n > upto) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02X", static_cast<unsigned>(static_cast<unsigned char>(s[i])));
      out += b;
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  cut = upto < s.size();
  return out;
}

}  // namespace

std::string escape_text(std::string_view s, std::size_t max_bytes) {
  bool cut = false;
  std::string out = escape_prefix(s, max_bytes, cut);
  if (cut) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string quote_text(std::string_view s, std::size_t max_bytes) {
  bool cut = false;
  std::string out = "'" + escape_prefix(s, max_bytes, cut);
  out += cut ? "...' (" + std::to_string(s.size()) + " bytes)" : "'";
  return out;
}

}  // namespace sipwall::rules
