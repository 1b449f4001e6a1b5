#include "rules/compiled/trunk_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

namespace sipwall::rules {

namespace {

struct U128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator<(const U128& a, const U128& b) noexcept { return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo; }
  friend bool operator==(const U128& a, const U128& b) noexcept = default;
};

U128 load(const std::uint8_t* a) noexcept {  // network order -> two integers
  std::uint64_t hi;
  std::uint64_t lo;
  std::memcpy(&hi, a, 8);
  std::memcpy(&lo, a + 8, 8);
  if constexpr (std::endian::native == std::endian::little) {
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
  }
  return {hi, lo};
}

// First and last address of addr/len.
void bounds(const TrunkPrefix& p, U128& first, U128& last) noexcept {
  const U128 a = load(p.addr.data());
  const unsigned len = p.prefix_len > 128 ? 128 : p.prefix_len;
  auto mask_of = [](unsigned bits) -> std::uint64_t {  // top `bits` of 64 set
    return bits == 0 ? 0 : bits >= 64 ? ~std::uint64_t{0} : ~std::uint64_t{0} << (64 - bits);
  };
  const std::uint64_t mhi = mask_of(len > 64 ? 64 : len);
  const std::uint64_t mlo = mask_of(len > 64 ? len - 64 : 0);
  first = {a.hi & mhi, a.lo & mlo};
  last = {a.hi | ~mhi, a.lo | ~mlo};
}

int specificity(const TrunkCandidate& c) noexcept {
  const bool v = c.vlan != kAnyQualifier;
  const bool p = c.port != kAnyQualifier;
  return v && p ? 3 : v ? 2 : p ? 1 : 0;
}

U128 successor(U128 v, bool& overflow) noexcept {
  overflow = false;
  if (++v.lo == 0 && ++v.hi == 0) overflow = true;
  return v;
}

}  // namespace

TrunkTable TrunkTable::build(const std::vector<TrunkPrefix>& prefixes) {
  TrunkTable t;
  if (prefixes.empty()) return t;
  struct Range {
    U128 first, last;
    std::size_t index;
  };
  std::vector<Range> ranges;
  std::vector<U128> cuts{U128{}};
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    Range r{};
    bounds(prefixes[i], r.first, r.last);
    r.index = i;
    ranges.push_back(r);
    cuts.push_back(r.first);
    bool overflow = false;
    const U128 after = successor(r.last, overflow);
    if (!overflow) cuts.push_back(after);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  // Few trunks: quadratic is fine and obviously right.
  for (const U128& start : cuts) {
    std::vector<std::pair<TrunkCandidate, std::size_t>> here;
    for (const Range& r : ranges) {
      if (start < r.first || r.last < start) continue;  // segment not inside this prefix
      const TrunkPrefix& p = prefixes[r.index];
      here.push_back({TrunkCandidate{p.vlan, p.port, p.trunk, p.prefix_len}, r.index});
    }
    std::stable_sort(here.begin(), here.end(), [](const auto& a, const auto& b) {
      return std::make_tuple(-specificity(a.first), -static_cast<int>(a.first.prefix_len), a.second) <
             std::make_tuple(-specificity(b.first), -static_cast<int>(b.first.prefix_len), b.second);
    });
    TrunkSegment seg{start.hi, start.lo, static_cast<std::uint32_t>(t.candidates_.size()), 0};
    for (const auto& h : here) t.candidates_.push_back(h.first);
    seg.end = static_cast<std::uint32_t>(t.candidates_.size());
    // Merge with the previous segment if it holds the same candidates.
    if (!t.segments_.empty()) {
      const TrunkSegment& prev = t.segments_.back();
      const std::size_t n = prev.end - prev.begin;
      if (n == seg.end - seg.begin && std::equal(t.candidates_.begin() + prev.begin, t.candidates_.begin() + prev.end,
                                                 t.candidates_.begin() + seg.begin, [](const auto& a, const auto& b) {
                                                   return a.vlan == b.vlan && a.port == b.port && a.trunk == b.trunk &&
                                                          a.prefix_len == b.prefix_len;
                                                 })) {
        t.candidates_.resize(seg.begin);
        continue;
      }
    }
    t.segments_.push_back(seg);
  }
  return t;
}

std::uint32_t TrunkTable::find(const std::uint8_t* addr, std::int32_t vlan, std::uint16_t port) const noexcept {
  if (segments_.empty()) return kNoTrunk;
  // Last segment whose start <= a: a branch-free binary search (one 128-bit
  // compare and a conditional move per step; source addresses are random,
  // so a branch here would be mispredicted half the time).
  __extension__ typedef unsigned __int128 u128;
  const U128 a2 = load(addr);
  const u128 a = (u128{a2.hi} << 64) | a2.lo;
  const TrunkSegment* base = segments_.data();
  std::size_t n = segments_.size();
  while (n > 1) {
    const std::size_t half = n / 2;
    const TrunkSegment& s = base[half];
    const u128 start = (u128{s.start_hi} << 64) | s.start_lo;
    base = a >= start ? base + half : base;
    n -= half;
  }
  const TrunkSegment& seg = *base;
  for (std::uint32_t i = seg.begin; i < seg.end; ++i) {
    const TrunkCandidate& c = candidates_[i];
    if (c.vlan != kAnyQualifier && c.vlan != vlan) continue;
    if (c.port != kAnyQualifier && c.port != static_cast<std::int32_t>(port)) continue;
    return c.trunk;
  }
  return kNoTrunk;
}

bool TrunkTable::from_raw(std::vector<TrunkSegment> segments, std::vector<TrunkCandidate> cands,
                          std::uint32_t trunk_count, TrunkTable& out) {
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const TrunkSegment& s = segments[i];
    if (s.begin > s.end || s.end > cands.size()) return false;
    if (i == 0 && (s.start_hi != 0 || s.start_lo != 0)) return false;
    if (i > 0) {
      const TrunkSegment& p = segments[i - 1];
      if (!(U128{p.start_hi, p.start_lo} < U128{s.start_hi, s.start_lo})) return false;
    }
  }
  for (const TrunkCandidate& c : cands) {
    if (c.trunk >= trunk_count) return false;
  }
  out.segments_ = std::move(segments);
  out.candidates_ = std::move(cands);
  return true;
}

}  // namespace sipwall::rules
