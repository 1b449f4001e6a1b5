#include "rules/text/safe_text.h"

#include <algorithm>

namespace sipwall::text {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void append_u_escape(std::string& out, char32_t cp) {  // cp < 0x10000
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
}

}  // namespace

Decoded decode_utf8(std::string_view s) noexcept {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = b(0);
  if (b0 < 0x80) return {b0, 1, true};
  // Length and the allowed range of the second byte (Unicode Table 3-7);
  // later bytes are always 80..BF.
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {kReplacement, 1, false};  // 80..C1, F5..FF never start a character
  }
  for (std::size_t i = 1; i < need; ++i) {
    if (i >= s.size()) return {kReplacement, i, false};  // truncated: the subpart so far
    const unsigned char c = b(i);
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return {kReplacement, i, false};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {cp, need, true};
}

bool is_valid_utf8(std::string_view s) noexcept {
  while (!s.empty()) {
    const Decoded d = decode_utf8(s);
    if (!d.valid) return false;
    s.remove_prefix(d.len);
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const Decoded d = decode_utf8(s);
    if (d.valid)
      out.append(s.data(), d.len);
    else
      append_utf8(out, kReplacement);
    s.remove_prefix(d.len);
  }
  return out;
}

bool is_hidden_control(char32_t cp) noexcept {
  return (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls (0x9B is CSI to many terminals)
         cp == 0xAD ||                      // soft hyphen
         (cp >= 0x200B && cp <= 0x200F) ||  // zero-width space/joiners, LRM, RLM
         (cp >= 0x2028 && cp <= 0x202E) ||  // line/paragraph separators, bidi embeddings and overrides
         (cp >= 0x2060 && cp <= 0x2069) ||  // word joiner, invisible operators, bidi isolates
         cp == 0xFEFF;                      // zero-width no-break space (BOM)
}

std::string printable(std::string_view s, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 16);
  std::size_t i = 0;
  while (i < s.size() && i < max_bytes) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {  // printable ASCII; a backslash doubled, so escapes stay unambiguous
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\t' || c == '\r' || c == '\n') {
      out += c == '\t' ? "\\t" : c == '\r' ? "\\r" : "\\n";
      ++i;
      continue;
    }
    const Decoded d = c >= 0x80 ? decode_utf8(s.substr(i)) : Decoded{c, 1, false};
    if (d.valid && i + d.len > max_bytes) break;  // a character cut by the cap: counted, not shown
    if (d.valid) {
      if (is_hidden_control(d.cp))
        append_u_escape(out, d.cp);
      else
        out.append(s.data() + i, d.len);
      i += d.len;
      continue;
    }
    // C0 controls, DEL and every byte that is not part of well-formed UTF-8:
    // one \xHH each, so the reader sees exactly what arrived.
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    ++i;
  }
  if (i < s.size()) out += "...(+" + std::to_string(s.size() - i) + " bytes)";
  return out;
}

std::string quote(std::string_view s, std::size_t max_bytes) {
  return "'" + printable(s, max_bytes) + "'";
}

bool is_printable(std::string_view s) noexcept {
  while (!s.empty()) {
    const Decoded d = decode_utf8(s);
    if (!d.valid || d.cp < 0x20 || d.cp == 0x7F || is_hidden_control(d.cp)) return false;
    s.remove_prefix(d.len);
  }
  return true;
}

std::string capped(std::string_view s, std::size_t max_bytes) {
  const std::size_t keep = utf8_cut(s, max_bytes);
  std::string out(s.substr(0, keep));
  if (keep < s.size()) out += "...(+" + std::to_string(s.size() - keep) + " bytes)";
  return out;
}

void escape_hidden_controls_in_json(std::string& json) {
  // Every such code point is two or three bytes starting C2, E2 or EF; find the
  // first, and rebuild only if there is one (the usual case has none).
  std::size_t i = 0;
  for (; i < json.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(json[i]);
    if (c != 0xC2 && c != 0xE2 && c != 0xEF) continue;
    const Decoded d = decode_utf8(std::string_view(json).substr(i));
    if (d.valid && is_hidden_control(d.cp)) break;
  }
  if (i == json.size()) return;
  std::string out(json, 0, i);
  std::string_view rest = std::string_view(json).substr(i);
  while (!rest.empty()) {
    const Decoded d = decode_utf8(rest);
    if (d.valid && is_hidden_control(d.cp))
      append_u_escape(out, d.cp);
    else
      out.append(rest.data(), d.len);
    rest.remove_prefix(d.len);
  }
  json = std::move(out);
}

}  // namespace sipwall::text
