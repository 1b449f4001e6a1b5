// The hash of a TCP/UDP flow key (two 16-byte addresses, two ports), shared
// by the per-worker flow tables (TCP sequence adjustment, TCP reassembly).
// Direction matters: callers that want both directions of a flow in one slot
// order the endpoints first.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace sipwall::net {

// The murmur3/splitmix 64-bit finaliser: every input bit reaches every output bit.
inline std::uint64_t mix64(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

inline std::uint64_t flow_hash(const std::array<std::uint8_t, 16>& a0, const std::array<std::uint8_t, 16>& a1,
                               std::uint16_t p0, std::uint16_t p1) noexcept {
  std::uint64_t w[4];
  std::memcpy(w, a0.data(), 16);
  std::memcpy(w + 2, a1.data(), 16);
  std::uint64_t h = mix64(w[0] ^ 0x9E3779B97F4A7C15ull);
  h = mix64(h ^ w[1]);
  h = mix64(h ^ w[2]);
  h = mix64(h ^ w[3]);
  return mix64(h ^ ((std::uint64_t{p0} << 16) | p1));
}

}  // namespace sipwall::net
