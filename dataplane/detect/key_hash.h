// The 64-bit keys the counting tables are keyed by, made from the parts of an
// INVITE a detector watches. Inline: computed per detector per INVITE.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

// MurmurHash3's 64-bit finaliser. A bijection, so distinct single-part keys
// of one kind never collide; pairs collide with probability ~2^-64.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// The source part of an InviteKeys for an address (16 bytes, network order,
// IPv4 as ::ffff:a.b.c.d): an IPv4 address is its 32-bit value (a.b.c.d ->
// a<<24 | b<<16 | c<<8 | d), so it can be shown; an IPv6 address a 64-bit
// hash with bit 63 set (never an IPv4 value). 0.0.0.0 gives 0: no source.
// The classifier (InviteKeys) and `detections lift ADDRESS` both use it.
inline std::uint64_t source_key(const std::array<std::uint8_t, 16>& a) noexcept {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(a.data(), kMapped, 12) == 0)
    return (std::uint64_t{a[12]} << 24) | (std::uint64_t{a[13]} << 16) | (std::uint64_t{a[14]} << 8) | a[15];
  std::uint64_t hi, lo;
  std::memcpy(&hi, a.data(), 8);
  std::memcpy(&lo, a.data() + 8, 8);
  return mix64(mix64(hi) ^ lo) | (std::uint64_t{1} << 63);
}

// The raw values a key is made of (E.164 keys, source hash, trunk id), kept
// next to the hash so an operator sees numbers, not hashes.
struct KeyParts {
  std::uint64_t a = 0;
  std::uint64_t b = 0;   // second part of caller_callee / source_callee, else 0
  bool present = false;  // false: the INVITE lacks a part (no caller, no trunk, ...)
};

constexpr bool two_part(DetectKey k) noexcept {
  return k == DetectKey::caller_callee || k == DetectKey::source_callee;
}

constexpr KeyParts key_parts(DetectKey kind, const InviteKeys& k) noexcept {
  switch (kind) {
    case DetectKey::caller:
      return {k.caller, 0, k.caller != 0};
    case DetectKey::callee:
      return {k.callee, 0, k.callee != 0};
    case DetectKey::caller_callee:
      return {k.caller, k.callee, k.caller != 0 && k.callee != 0};
    case DetectKey::source:
      return {k.source, 0, k.source != 0};
    case DetectKey::source_callee:
      return {k.source, k.callee, k.source != 0 && k.callee != 0};
    case DetectKey::trunk:
      return {k.trunk, 0, k.trunk != kNoTrunk};
  }
  return {};
}

// The key a detector of `kind` counts `p` under. Salted by kind so the same
// number as caller and as callee are different keys. Never 0 (0 marks an
// empty slot in every table).
constexpr std::uint64_t key_hash(DetectKey kind, const KeyParts& p) noexcept {
  const std::uint64_t salt = (static_cast<std::uint64_t>(kind) + 1) * 0x9E3779B97F4A7C15ULL;
  std::uint64_t h = mix64(p.a ^ salt);
  if (two_part(kind)) h = mix64(h ^ (mix64(p.b + 0x632BE59BD9B4E019ULL) * 3));
  return h != 0 ? h : 1;
}

// Which of n groups a table puts a 64-bit key in: one multiply (Fibonacci
// hashing spreads sequential and structured keys, and keeps mixed ones
// mixed), then multiply-shift range reduction (any n, no division).
constexpr std::uint32_t group_index(std::uint64_t key, std::uint32_t n) noexcept {
  return static_cast<std::uint32_t>((((key * 0x9E3779B97F4A7C15ULL) >> 32) * n) >> 32);
}

// The key of the pair (counted key, distinct value) in a PairSeen table.
constexpr std::uint64_t pair_hash(std::uint64_t key, std::uint64_t value) noexcept {
  const std::uint64_t h = mix64(key ^ mix64(value ^ 0xD6E8FEB86659FD93ULL));
  return h != 0 ? h : 1;
}

// The call table's key for a Call-ID (the INVITE, its responses, CANCEL, ACK
// and BYE all carry it): 8 bytes at a time through mix64, the length folded
// in so "a" and "a\0" differ. Never 0 (0 marks an empty slot). Unseeded: a
// sender who makes two of its own Call-IDs collide only merges its own calls.
inline std::uint64_t call_id_hash(std::string_view id) noexcept {
  std::uint64_t h = 0x243F6A8885A308D3ULL ^ (static_cast<std::uint64_t>(id.size()) * 0x9E3779B97F4A7C15ULL);
  const char* p = id.data();
  std::size_t n = id.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix64(h ^ w) * 0x9E3779B97F4A7C15ULL;
    p += 8;
    n -= 8;
  }
  if (n != 0) {
    // The last n bytes as a little-endian word, zero above them. An ID of
    // 8 bytes or more: one 8-byte load ending at its last byte, shifted
    // down (the same word, without a memcpy call of variable length).
    std::uint64_t w = 0;
    if (id.size() >= 8) {
      std::memcpy(&w, p + n - 8, 8);
      w >>= (8 - n) * 8;
    } else {
      std::memcpy(&w, p, n);
    }
    h = mix64(h ^ w ^ 0xA0761D6478BD642FULL) * 0x9E3779B97F4A7C15ULL;
  }
  h = mix64(h);
  return h != 0 ? h : 1;
}

}  // namespace sipwall::detect
