// Internal: header-name tables and the perfect hash that maps a header name
// (already validated as a token) to its HeaderId with one table probe.
// Functions have internal linkage (see sip_chars.h); the tables are constants.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "dataplane/sip/sip_message.h"

namespace sipwall::sip::detail {

// --- word-at-a-time lookup for names already validated as tokens ---------
// A token byte ORed with 0x20 equals a lower-case letter only if it was that
// letter in either case, and equals '-' only if it was '-' (0x0D is no token
// byte), so `word | 0x2020...` compares a token case-insensitively against
// the lower-case literals below in one instruction per 8 bytes.
static inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v | 0x2020202020202020ull;
}
constexpr std::uint64_t key8(const char* s, std::size_t off, std::size_t len) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < len; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[off + i]) | 0x20u) << (8 * i);
  }
  return v;
}
inline constexpr std::array<std::string_view, static_cast<std::size_t>(HeaderId::count_)> kHeaderNames = {
    "",
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Content-Encoding",
    "Subject",
    "Supported",
    "Event",
    "Refer-To",
    "Allow-Events",
    "Referred-By",
    "Session-Expires",
    "Identity",
    "Accept-Contact",
    "Reject-Contact",
    "Request-Disposition",
    "P-Asserted-Identity",
    "Remote-Party-ID",
    "Diversion",
    "History-Info",
    "User-Agent",
    "Route",
    "Record-Route",
    "Require",
    "Proxy-Require",
    "Expires",
};

// --- perfect hash ----------------------------------------------------------
// slot = ((first 8 bytes, case-folded, cut to the name) * kHashMul >> 58) +
// length, mod 64, has no collision among the long names (checked at compile
// time), so one table probe and at most three word compares decide a name.
inline constexpr std::uint64_t kHashMul = 0x2dca13e640e9fd11ull;

struct HashEntry {
  std::uint64_t w0 = 0;  // bytes 0-7 (cut to the name), folded
  std::uint64_t w1 = 0;  // last 8 bytes, folded (names longer than 8)
  std::uint64_t wm = 0;  // bytes 8-15, folded (names longer than 16)
  std::uint8_t len = 0;  // 0: empty slot
  HeaderId id = HeaderId::other;
};

constexpr std::size_t hash_slot(std::uint64_t w0, std::size_t len) {
  return static_cast<std::size_t>(((w0 * kHashMul) >> 58) + len) & 63;
}

constexpr std::array<HashEntry, 64> make_hash_table() {
  std::array<HashEntry, 64> t{};
  for (std::size_t i = 1; i < kHeaderNames.size(); ++i) {
    const std::string_view n = kHeaderNames[i];
    HashEntry e;
    e.len = static_cast<std::uint8_t>(n.size());
    e.id = static_cast<HeaderId>(i);
    e.w0 = key8(n.data(), 0, n.size() < 8 ? n.size() : 8);
    if (n.size() > 8) e.w1 = key8(n.data(), n.size() - 8, 8);
    if (n.size() > 16) e.wm = key8(n.data(), 8, 8);
    HashEntry& slot = t[hash_slot(e.w0, n.size())];
    if (slot.len != 0) throw "header-name hash collision: pick another kHashMul";
    slot = e;
  }
  return t;
}
inline constexpr std::array<HashEntry, 64> kHashTable = make_hash_table();

// The id of a token name of 2..19 bytes with 8 readable bytes at n.
static inline HeaderId header_id_hashed(const char* n, std::size_t len) noexcept {
  const std::uint64_t w0 = load8(n) & (len >= 8 ? ~0ull : ~0ull >> (64 - 8 * len));
  const HashEntry& e = kHashTable[hash_slot(w0, len)];
  if (e.len != len || e.w0 != w0) return HeaderId::other;
  if (len > 8 && load8(n + len - 8) != e.w1) return HeaderId::other;
  if (len > 16 && load8(n + 8) != e.wm) return HeaderId::other;
  return e.id;
}

}  // namespace sipwall::sip::detail
