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
// Lookup finds the last segment start <= key with a static B+tree of 8-key
// nodes (one cache line each): the upper levels are a few KB and stay cached,
// so a lookup costs about one line per level below the cached ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rules/compiled/aligned_vector.h"
#include "rules/compiled/digit_order.h"
#include "rules/compiled/list_sets.h"

namespace sipwall::rules {

class IntervalMap {
 public:
  static constexpr std::size_t kFanout = 8;

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
    if (values_.empty()) return 0;
    std::size_t node = 0;
    const std::uint64_t* k = keys_.data();
    for (std::size_t level = 0; level < level_offsets_.size(); ++level) {
      const std::uint64_t* n = k + level_offsets_[level] + node * kFanout;
      std::size_t c = 0;
      for (std::size_t i = 0; i < kFanout; ++i) c += n[i] <= key;
      // The first key of every node is <= key (segment 0 starts at 0 and each
      // parent key is its child's first key), so c >= 1.
      node = node * kFanout + c - 1;
    }
    return values_[node];
  }

  std::size_t segments() const noexcept { return values_.size(); }
  std::size_t bytes() const noexcept {
    return keys_.size() * sizeof(std::uint64_t) + values_.size() * sizeof(std::uint32_t);
  }
  // Segment starts and set ids, for explain/tests.
  std::uint64_t segment_start(std::size_t i) const noexcept {
    return keys_[level_offsets_.back() + i];
  }
  std::uint32_t segment_set(std::size_t i) const noexcept { return values_[i]; }

  // Serialisation: the segment starts and values; the tree is rebuilt.
  std::vector<std::uint64_t> starts() const;
  const std::vector<std::uint32_t>& raw_values() const noexcept { return values_; }
  // False if `starts` is not strictly ascending from 0 or sizes differ, or a
  // value is not a set id below `set_count`.
  static bool from_segments(const std::vector<std::uint64_t>& starts,
                            std::vector<std::uint32_t> values, std::uint32_t set_count,
                            IntervalMap& out);

 private:
  void build_tree(const std::vector<std::uint64_t>& starts);

  AlignedVector<std::uint64_t> keys_;        // every level, top first, padded with ~0
  std::vector<std::uint32_t> level_offsets_;  // offset of each level in keys_, top first
  std::vector<std::uint32_t> values_;         // per segment
};

}  // namespace sipwall::rules
