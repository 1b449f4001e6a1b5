// Source address (+ VLAN, + local port) -> trunk id.
//
// Addresses live in one 128-bit space: IPv4 as IPv4-mapped IPv6
// (::ffff:a.b.c.d), as in the rule model. Each source prefix is an interval
// of that space; compile time cuts the space into disjoint segments and gives
// each the candidates covering it, most specific first:
//   1. VLAN and port both given and equal to the packet's,
//   2. VLAN given (any port),
//   3. port given (any VLAN),
//   4. neither;
// within one class the longer prefix first, then the order the trunks were
// written in. The first candidate whose qualifiers match wins. (The loader
// rejects overlapping prefixes of the same qualifiers, so ties only arise in
// hand-built sets; the order above still makes them deterministic.) Trunks
// are few (hundreds), so a binary search over the segments is enough.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sipwall::rules {

inline constexpr std::uint32_t kNoTrunk = 0xFFFFFFFFU;
inline constexpr std::int32_t kAnyQualifier = -1;

struct TrunkCandidate {
  std::int32_t vlan = kAnyQualifier;  // 0..4095 or kAnyQualifier
  std::int32_t port = kAnyQualifier;  // 0..65535 or kAnyQualifier
  std::uint32_t trunk = kNoTrunk;
  std::uint32_t prefix_len = 0;
};

struct TrunkSegment {
  std::uint64_t start_hi = 0;  // segment start, as a 128-bit big-endian address
  std::uint64_t start_lo = 0;
  std::uint32_t begin = 0;  // candidates [begin, end)
  std::uint32_t end = 0;
};

struct TrunkPrefix {
  std::array<std::uint8_t, 16> addr{};
  std::uint8_t prefix_len = 0;  // 0..128
  std::int32_t vlan = kAnyQualifier;
  std::int32_t port = kAnyQualifier;
  std::uint32_t trunk = kNoTrunk;
};

class TrunkTable {
 public:
  static TrunkTable build(const std::vector<TrunkPrefix>& prefixes);

  // `addr` 16 bytes in network order (IPv4 mapped); vlan < 0 = untagged.
  std::uint32_t find(const std::uint8_t* addr, std::int32_t vlan, std::uint16_t port) const noexcept;

  bool empty() const noexcept { return candidates_.empty(); }
  std::size_t bytes() const noexcept {
    return segments_.size() * sizeof(TrunkSegment) + candidates_.size() * sizeof(TrunkCandidate);
  }

  const std::vector<TrunkSegment>& raw_segments() const noexcept { return segments_; }
  const std::vector<TrunkCandidate>& raw_candidates() const noexcept { return candidates_; }
  static bool from_raw(std::vector<TrunkSegment> segments, std::vector<TrunkCandidate> cands, std::uint32_t trunk_count,
                       TrunkTable& out);

 private:
  std::vector<TrunkSegment> segments_;  // sorted by start; first starts at 0
  std::vector<TrunkCandidate> candidates_;
};

}  // namespace sipwall::rules
