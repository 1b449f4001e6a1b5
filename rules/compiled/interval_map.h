// Prefixes (or ranges) of numbers: a static map from 64-bit keys to list-set
// ids, as sorted, disjoint segments covering the whole key space. Prefixes
// use digit-order keys (digit_order.h), ranges packed E.164 keys.
//
// Compile time does the work: every prefix/range of every list becomes an
// interval; a sweep over the interval ends cuts the line into elementary
// segments and gives each the UNION of the lists of every interval covering
// it (so a number inside 86 and 86138 sees both lists with one lookup; this
// is "propagating ancestors' sets"). Adjacent segments with the same set merge.
//
// Lookup: a 1024-entry index on the key's top bits narrows the range, then a
// branchless binary search finds the last segment start <= key in one sorted
// array (8 bytes a segment: 100k prefixes are ~1.6 MB and stay in L2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rules/compiled/digit_order.h"
#include "rules/compiled/list_sets.h"

namespace sipwall::rules {

class IntervalMap {
 public:
  IntervalMap() = default;

  struct Interval {
    OrderInterval span;
    std::uint32_t bit = 0;
  };
  // Builds the map; the sets it refers to are interned into `sets` (whose
  // bit_count() must exceed every bit used).
  static IntervalMap build(std::vector<Interval> intervals, ListSets& sets);

  // List-set id of the segment holding `key` (0 if none). Hot path.
  std::uint32_t find(std::uint64_t key) const noexcept {
    std::size_t n = starts_.size();
    if (n == 0) return 0;
    // starts_[0] == 0 <= key, so the answer is in [0, n).
    const std::uint64_t* base = starts_.data();
    if (!index_.empty()) {
      // The segment holding bucket b's first key, and the one holding the
      // next bucket's first key, bound the answer.
      std::size_t b = static_cast<std::size_t>(key >> index_shift_);
      if (b >= kIndexSize) b = kIndexSize - 1;
      base += index_[b];
      n = index_[b + 1] - index_[b] + 1;
    }
    while (n > 1) {
      const std::size_t half = n / 2;
      base = base[half] <= key ? base + half : base;  // compiles to a cmov
      n -= half;
    }
    return values_[static_cast<std::size_t>(base - starts_.data())];
  }

  std::size_t segments() const noexcept { return values_.size(); }
  std::size_t bytes() const noexcept {
    return starts_.size() * sizeof(std::uint64_t) + (values_.size() + index_.size()) * sizeof(std::uint32_t);
  }
  // Serialisation.
  const std::vector<std::uint64_t>& starts() const noexcept { return starts_; }
  const std::vector<std::uint32_t>& raw_values() const noexcept { return values_; }
  // False if `starts` is not strictly ascending from 0 or sizes differ, or a
  // value is not a set id below `set_count`.
  static bool from_segments(std::vector<std::uint64_t> starts, std::vector<std::uint32_t> values,
                            std::uint32_t set_count, IntervalMap& out);

 private:
  static constexpr std::size_t kIndexSize = 1024;
  static constexpr std::size_t kIndexFrom = 64;  // segments; below this a plain search is as fast
  void build_index();

  std::vector<std::uint64_t> starts_;  // segment starts, ascending, starts_[0] == 0
  std::vector<std::uint32_t> values_;  // per segment
  std::vector<std::uint32_t> index_;   // kIndexSize + 1 entries, or empty
  unsigned index_shift_ = 0;
};

}  // namespace sipwall::rules
