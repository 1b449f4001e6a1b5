#include "protocol/echo.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace sipwall::protocol {
namespace {

// Length of the well-formed UTF-8 sequence at s[0] (RFC 3629, table 3-7 of
// the Unicode standard: no overlong forms, no surrogates, nothing past
// U+10FFFF), or 0. `cp` receives the code point.
std::size_t utf8_sequence(std::string_view s, std::uint32_t& cp) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i < s.size() && b(i) >= lo && b(i) <= hi;
  };
  unsigned c = b(0);
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    cp = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2)) return 0;
    cp = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return 0;
    cp = ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    return 4;
  }
  return 0;
}

// Code points that change how text around them is shown: C1 controls,
// zero-width and bidi formatting characters, line/paragraph separators.
bool invisible(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF;
}

}  // namespace

std::string printable(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes) + 16);
  std::size_t i = 0;
  char esc[16];
  while (i < bytes.size() && i < max_bytes) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t n = c >= 0x80 ? utf8_sequence(bytes.substr(i), cp) : 0;
    if (n && i + n > max_bytes) break;  // a character cut by the cap: counted, not shown
    if (n) {
      if (invisible(cp)) {
        std::snprintf(esc, sizeof esc, "\\u{%04x}", static_cast<unsigned>(cp));
        out += esc;
      } else {
        out.append(bytes.substr(i, n));
      }
      i += n;
      continue;
    }
    std::snprintf(esc, sizeof esc, "\\x%02x", c);
    out += esc;
    ++i;
  }
  if (i < bytes.size()) out += "...(+" + std::to_string(bytes.size() - i) + " bytes)";
  return out;
}

}  // namespace sipwall::protocol
