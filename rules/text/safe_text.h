// Showing bytes that came from outside (SIP messages, pcap and rule files,
// socket lines) to tools and to people, so that no byte can break the output
// or drive the terminal it lands on. One rule, used by every writer:
//
//  * Invalid UTF-8 becomes U+FFFD: each maximal subpart of an ill-formed
//    sequence (Unicode 15 §3.9, "U+FFFD Substitution of Maximal Subparts";
//    what browsers do) is replaced by one U+FFFD. Valid UTF-8 is kept.
//  * JSON (json_text.h, dump_json): strings hold the repaired text; the
//    encoder escapes C0 controls (\u0000-\u001f) and `"` `\`; the hidden
//    code points (below) are written as \uXXXX escapes too.
//  * Text for terminals and error messages (printable): printable ASCII as
//    is (a backslash doubled), TAB, CR, LF as \t \r \n, every other C0
//    control, DEL and every byte that is not part of well-formed UTF-8 as
//    \xHH (the reader sees exactly what arrived), the hidden code points
//    below as \uXXXX, all other UTF-8 as it is. Optionally capped: the rest
//    is counted, `...(+N bytes)`.
//  * Hidden code points, escaped in both: C1 controls, soft hyphen,
//    zero-width characters, U+2028/U+2029, bidirectional embeddings,
//    overrides and isolates, the BOM.
//
// docs/sip-parser.md ("Bytes from outside in output") states the rule for
// contributors. Plain C++, depends on nothing; allocates (not for the packet
// path: the data plane uses it on its main lcore only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sipwall::text {

inline constexpr char32_t kReplacement = 0xFFFD;

// One step of decoding: the code point at the start of `s` and the bytes it
// takes. An ill-formed start yields kReplacement with the length of its
// maximal subpart (at least 1). `s` must not be empty.
struct Decoded {
  char32_t cp;
  std::size_t len;
  bool valid;
};
Decoded decode_utf8(std::string_view s) noexcept;

bool is_valid_utf8(std::string_view s) noexcept;

// `s` with every ill-formed subpart replaced by U+FFFD (EF BF BD).
std::string to_valid_utf8(std::string_view s);

// True for the code points JSON and terminal output escape beyond C0 (the
// hidden code points above).
bool is_hidden_control(char32_t cp) noexcept;

// `s` as one line of text safe for a terminal (see above), showing at most
// `max_bytes` of it.
std::string printable(std::string_view s, std::size_t max_bytes = static_cast<std::size_t>(-1));

// How much of a value from a file an error message quotes: enough to
// recognise it, never a whole file.
inline constexpr std::size_t kMaxQuotedBytes = 64;

// A value from outside quoted in a message: 'abc', 'a\nb', 'xxx...(+936 bytes)'
// (printable() between single quotes).
std::string quote(std::string_view s, std::size_t max_bytes = kMaxQuotedBytes);

// True if printable() shows `s` as it is (backslashes aside): valid UTF-8
// without C0 controls, DEL or hidden code points. For text that is stored
// and shown later, e.g. a rule set's name and version.
bool is_printable(std::string_view s) noexcept;

// Text that is already safe (is_printable) cut to at most `max_bytes`
// without splitting a character, the rest counted as printable() counts it.
std::string capped(std::string_view s, std::size_t max_bytes);

// Post-pass over serialised JSON (valid UTF-8, as nlohmann writes it):
// rewrites C1 controls, U+2028/U+2029 and bidirectional controls as \uXXXX.
// They can only occur inside strings (JSON structure is ASCII), so the
// document means the same.
void escape_hidden_controls_in_json(std::string& json);

// How many bytes of `s` to keep when cutting it to at most `max` bytes:
// `max`, moved back (at most 3 bytes) so the cut does not split a UTF-8
// sequence. Used on the packet path (trace records), hence inline.
inline std::size_t utf8_cut(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s.size();
  auto cont = [&](std::size_t i) { return (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; };
  if (!cont(max)) return max;  // the next byte starts a character: a clean cut
  std::size_t lead = max;
  for (int back = 0; back < 3 && lead > 0 && cont(lead); ++back) --lead;
  const unsigned char b = static_cast<unsigned char>(s[lead]);
  const std::size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
  // Cut before a sequence that would end past `max`; otherwise the byte at
  // `max` is a stray continuation byte and `max` cuts nothing in half.
  return !cont(lead) && lead + need > max ? lead : max;
}

}  // namespace sipwall::text
