// Internal: byte classes of the RFC 3261 / RFC 3966 grammar and the SIMD
// scanners built on them. Not part of the public API (only the parser's .cpp
// files include it; every function here has internal linkage so translation
// units built with other instruction-set flags cannot collide).
//
// Why SIMD: the parser validates every byte of the fields it extracts. Doing
// that one byte at a time cost ~13k instructions per 1 KB INVITE; classifying
// 16 bytes at once with two pshufb nibble lookups (SSSE3) brings the field
// parsers to a few instructions per run of valid bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__SSSE3__)
#include <tmmintrin.h>
#endif

namespace sipwall::sip::detail {

// One bit per grammar class; a 256-entry table answers "is byte c in class X"
// with one load. Every class used by a SIMD scanner also gets a nibble table
// (ByteClass below) generated from this same table, so the two cannot differ.
enum : std::uint32_t {
  kToken = 1u << 0,         // token (RFC 3261 §25.1)
  kUser = 1u << 1,          // sip user: unreserved / user-unreserved (+ '#', liberal); not '%'
  kUserNoSep = 1u << 2,     // kUser without ';' '?' ',' (addr-spec form: those end or break it)
  kPassword = 1u << 3,      // password: unreserved / & = + $ , ; not '%'
  kHost = 1u << 4,          // hostname / IPv4 (+ '_', liberal)
  kParamRun = 1u << 5,      // uri-parameters: paramchar plus ';' '='; not '%'
  kUriHeaderRun = 1u << 6,  // uri headers: hnv-unreserved / unreserved plus '=' '&'; not '%'
  kCallId = 1u << 7,        // Call-ID: word chars, '@', bytes >= 0x80 (liberal)
  kHex = 1u << 8,
  kDigit = 1u << 9,
  kTel = 1u << 10,          // tel: number: phonedigit-hex / '+' / visual separators; not '%'
  kScheme = 1u << 11,       // scheme chars after the first ALPHA
  kGenValue = 1u << 12,     // gen-value without quotes: token / host (incl. IPv6 '[' ']' ':')
  kIpv6 = 1u << 13,         // inside an IPv6 reference: HEXDIG ':' '.'
  kOpaque = 1u << 14,       // absoluteURI of an unknown scheme: printable but SP < > "
  kOpaqueNoSep = 1u << 15,  // kOpaque without ';' ',' (addr-spec form)
  kDisplay = 1u << 16,      // unquoted display name: token / LWS / ',' / bytes >= 0x80 (liberal)
  kDisplayList = 1u << 17,  // kDisplay without ',' (in a list ',' separates values)
  kQText = 1u << 18,        // inside a quoted-string: anything but '"' and '\'
};

constexpr bool in_set(int c, const char* set) {
  for (const char* s = set; *s; ++s) {
    if (static_cast<unsigned char>(*s) == c) return true;
  }
  return false;
}

constexpr std::array<std::uint32_t, 256> make_char_table() {
  std::array<std::uint32_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    const bool alpha = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z');
    const bool digit = i >= '0' && i <= '9';
    const bool hex = digit || (i >= 'a' && i <= 'f') || (i >= 'A' && i <= 'F');
    const bool alnum = alpha || digit;
    const bool unreserved = alnum || in_set(i, "-_.!~*'()");
    const bool high = i >= 0x80;
    const bool lws = in_set(i, " \t\r\n");
    const bool token = alnum || in_set(i, "-.!%*_+`'~");
    std::uint32_t v = 0;
    if (token) v |= kToken;
    if (unreserved || in_set(i, "&=+$,;?/#")) v |= kUser;
    if (unreserved || in_set(i, "&=+$/#")) v |= kUserNoSep;
    if (unreserved || in_set(i, "&=+$,")) v |= kPassword;
    if (alnum || in_set(i, "-._")) v |= kHost;
    if (unreserved || in_set(i, "[]/:&+$;=")) v |= kParamRun;
    if (unreserved || in_set(i, "[]/?:+$=&")) v |= kUriHeaderRun;
    if (alnum || high || in_set(i, "-.!%*_+`'~()<>:\\\"/[]?{}@")) v |= kCallId;
    if (hex) v |= kHex;
    if (digit) v |= kDigit;
    if (hex || in_set(i, "*#+-.()")) v |= kTel;
    if (alnum || in_set(i, "+-.")) v |= kScheme;
    if (token || in_set(i, "[]:")) v |= kGenValue;
    if (hex || in_set(i, ":.")) v |= kIpv6;
    const bool opaque = (i > 0x20 && i < 0x7f && !in_set(i, "<>\"")) || high;
    if (opaque) v |= kOpaque;
    if (opaque && !in_set(i, ";,")) v |= kOpaqueNoSep;
    if (token || lws || high || i == ',') v |= kDisplay;
    if (token || lws || high) v |= kDisplayList;
    if (i != '"' && i != '\\') v |= kQText;
    t[static_cast<std::size_t>(i)] = v;
  }
  return t;
}

inline constexpr std::array<std::uint32_t, 256> kCharTable = make_char_table();

// pshufb nibble tables: byte x is in the class iff lo[x & 15] & hi[x >> 4] != 0.
// Each distinct row (set of low nibbles per high nibble) gets one of 8 bits;
// ASCII classes have at most 6 distinct non-empty rows plus one shared by all
// bytes >= 0x80, so the mapping is exact (checked at compile time).
struct ByteClass {
  std::uint8_t lo[16];
  std::uint8_t hi[16];
};

constexpr ByteClass make_byte_class(std::uint32_t bit) {
  ByteClass c{};
  std::uint16_t rows[16] = {};
  for (int i = 0; i < 256; ++i) {
    if (kCharTable[static_cast<std::size_t>(i)] & bit) {
      rows[i >> 4] = static_cast<std::uint16_t>(rows[i >> 4] | (1u << (i & 15)));
    }
  }
  std::uint16_t ids[8] = {};
  int n = 0;
  for (int h = 0; h < 16; ++h) {
    if (rows[h] == 0) continue;
    int k = 0;
    while (k < n && ids[k] != rows[h]) ++k;
    if (k == n) {
      if (n == 8) throw "byte class needs more than 8 distinct nibble rows";
      ids[n++] = rows[h];
    }
    c.hi[h] = static_cast<std::uint8_t>(c.hi[h] | (1u << k));
  }
  for (int k = 0; k < n; ++k) {
    for (int l = 0; l < 16; ++l) {
      if ((ids[k] >> l) & 1) c.lo[l] = static_cast<std::uint8_t>(c.lo[l] | (1u << k));
    }
  }
  return c;
}

// All classes the scanners use, indexed by bit position.
inline constexpr std::array<ByteClass, 19> kByteClasses = [] {
  std::array<ByteClass, 19> a{};
  for (int b = 0; b < 19; ++b) a[static_cast<std::size_t>(b)] = make_byte_class(1u << b);
  return a;
}();

static inline bool is(char c, std::uint32_t cls) noexcept {
  return (kCharTable[static_cast<unsigned char>(c)] & cls) != 0;
}
static inline bool is_wsp(char c) noexcept {
  return c == ' ' || c == '\t';
}
// LWS inside a header value: folded lines keep their CRLF in the view.
// One compare for the usual byte (> ' '), a bit test for the rest.
static inline bool is_lws(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u <= ' ' && ((1ull << u) & (1ull << ' ' | 1ull << '\t' | 1ull << '\r' | 1ull << '\n')) != 0;
}
static inline char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

static inline const char* skip_lws(const char* p, const char* end) noexcept {
  while (p < end && is_lws(*p)) ++p;
  return p;
}
static inline const char* trim_lws_back(const char* begin, const char* end) noexcept {
  while (end > begin && is_lws(end[-1])) --end;
  return end;
}
// Byte-at-a-time class scan (short runs, or no SIMD).
static inline const char* skip_class(const char* p, const char* end, std::uint32_t cls) noexcept {
  while (p < end && is(*p, cls)) ++p;
  return p;
}

// Case-insensitive equality against a lower-case ASCII literal.
static inline bool iequals_lower(std::string_view s, std::string_view lower_lit) noexcept {
  if (s.size() != lower_lit.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != lower_lit[i]) return false;
  }
  return true;
}
static inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

static inline std::string_view view(const char* b, const char* e) noexcept {
  return std::string_view(b, static_cast<std::size_t>(e - b));
}

static inline bool escape_ok(const char* p, const char* end) noexcept {
  return end - p >= 3 && is(p[1], kHex) && is(p[2], kHex);
}

#if defined(__SSSE3__)
// Bit i set <=> byte i of v is in class `bit` (a single kXxx bit).
static inline unsigned class_mask(__m128i v, std::uint32_t bit) noexcept {
  const ByteClass& c = kByteClasses[static_cast<std::size_t>(__builtin_ctz(bit))];
  const __m128i k0f = _mm_set1_epi8(0x0f);
  const __m128i lo_t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.lo));
  const __m128i hi_t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.hi));
  const __m128i lo = _mm_shuffle_epi8(lo_t, _mm_and_si128(v, k0f));
  const __m128i hi = _mm_shuffle_epi8(hi_t, _mm_and_si128(_mm_srli_epi16(v, 4), k0f));
  const __m128i none = _mm_cmpeq_epi8(_mm_and_si128(lo, hi), _mm_setzero_si128());
  return ~static_cast<unsigned>(_mm_movemask_epi8(none)) & 0xffffu;
}
#endif

// First byte in [p, end) that is NOT in class `bit`, or `end`. 16-byte loads
// are done only while they stay below `limit` (the end of the caller's
// buffer, >= end), so nothing outside the buffer is ever read.
static inline const char* skip_run(const char* p, const char* end, const char* limit, std::uint32_t bit) noexcept {
#if defined(__SSSE3__)
  while (p < end && limit - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned out = ~class_mask(v, bit) & 0xffffu;
    if (out != 0) {
      const char* q = p + __builtin_ctz(out);
      return q < end ? q : end;
    }
    p += 16;
  }
  // A block of class bytes that ran past `end` leaves p beyond it.
  if (p >= end) return end;
#else
  (void)limit;
#endif
  return skip_class(p, end, bit);
}

// Like skip_run for a class that excludes '%', but steps over valid %HH
// escapes. Stops at a bad escape too: the caller sees '%' and reports it.
static inline const char* skip_escaped(const char* p, const char* end, const char* limit, std::uint32_t bit) noexcept {
  for (;;) {
    p = skip_run(p, end, limit, bit);
    if (p < end && *p == '%' && escape_ok(p, end)) {
      p += 3;
      continue;
    }
    return p;
  }
}

// First byte in [p, end) that is a C0 control (0x00-0x1F) or DEL, or `end`.
// This is the header scanner's only per-byte pass: CR, LF and HT are controls,
// so one scan finds line ends and rejects stray control bytes at the same time.
// SSE2 is the x86-64 baseline; loads stay inside [p, end).
static inline const char* find_ctl(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i k7f = _mm_set1_epi8(0x7f);
  // x <= 0x1f (unsigned) <=> min(x, 0x1f) == x
  auto ctl = [&](__m128i v) { return _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, k1f), v), _mm_cmpeq_epi8(v, k7f)); };
  // 32 bytes per step: header lines average 40-60 bytes.
  while (end - p >= 32) {
    const __m128i a = ctl(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m128i b = ctl(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(a)) | static_cast<unsigned>(_mm_movemask_epi8(b))
                                                                            << 16;
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 32;
  }
  if (end - p >= 16) {
    const unsigned mask =
        static_cast<unsigned>(_mm_movemask_epi8(ctl(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) return p;
  }
  return end;
}

// URI schemes four bytes at a time (the URI parser and the name-addr fast
// path share the test): reads 4 bytes; bytes 0..2 are folded to lower case
// with |0x20, which is exact for comparing against "sip"/"tel" letters (only
// 'A'-'Z' and 'a'-'z' fold onto them); byte 3 is compared as is, against
// lit4("sip:"), lit4("sips"), lit4("tel:").
inline std::uint32_t scheme4(const char* p) noexcept {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w | 0x00202020u;
}
constexpr std::uint32_t lit4(const char (&s)[5]) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[3])) << 24;
}

// Checks that the SIMD classification agrees with kCharTable for every byte
// and class (unit-tested; compiled with the library's own flags).
bool verify_byte_classes() noexcept;

}  // namespace sipwall::sip::detail
