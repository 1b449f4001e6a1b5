// PairSeen: which (key, value) pairs a distinct-count detector has already
// counted in its window, so a caller calling the same callee again (or a
// retransmission that slipped past the call table) is not counted twice.
//
// Each entry holds a pair's hash and the epoch (WindowCounter bucket) its
// unit currently sits in. A pair is "counted" while that epoch is less than
// window_epochs old. Slots come in groups of 4 (one cache line); a new pair in
// a full group replaces the least recently seen pair (an expired one first;
// within one bucket, the one touched longest ago).
//
// Error: evicting a pair that is still counted makes its next sighting in the
// window count again, so a distinct count can be OVER-estimated, by at most
// the number of such live evictions of that key's pairs (live_evictions()
// counts them). None happen while every group holds at most 4 pairs seen in
// the last window, which with a uniform hash means: keep the number of pairs
// seen per window well below capacity (see docs/detection.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/table_memory.h"

namespace sipwall::detect {

class PairSeen {
 public:
  static constexpr unsigned kGroup = 4;

  explicit PairSeen(std::uint32_t capacity);
  PairSeen(PairSeen&&) noexcept = default;
  PairSeen& operator=(PairSeen&&) noexcept = default;

  struct Touch {
    bool counted;              // the pair was already counted in the window ...
    std::uint32_t prev_epoch;  // ... with its unit in this epoch's bucket
  };

  // Records `pair` (never 0) as seen in `epoch` and says whether it was
  // already counted in the window of `window_epochs` buckets ending there.
  Touch touch(std::uint64_t pair, std::uint32_t epoch, std::uint32_t window_epochs) noexcept {
    return touch(pair, group(pair), epoch, window_epochs);
  }
  // As touch(pair, ...), with grp = group(pair) computed once by the caller.
  Touch touch(std::uint64_t pair, std::uint32_t grp, std::uint32_t epoch, std::uint32_t window_epochs) noexcept {
    Entry* g = &groups_[grp].e[0];
    const std::uint32_t stamp = ++clock_;
    unsigned victim = 0;
    std::int32_t oldest = -1;
    std::int32_t oldest_touch = -1;
    for (unsigned i = 0; i < kGroup; ++i) {
      if (g[i].pair == pair) {
        g[i].stamp = stamp;
        const std::uint32_t prev = g[i].epoch;
        const std::int32_t age = static_cast<std::int32_t>(epoch - prev);
        if (age >= static_cast<std::int32_t>(window_epochs)) {
          g[i].epoch = epoch;
          return {false, prev};
        }
        if (age > 0) g[i].epoch = epoch;  // time going backwards keeps the newer epoch
        return {true, prev};
      }
      // Empty slots first (age "infinite"), then the oldest epoch, then the
      // oldest touch.
      const std::int32_t age = g[i].pair == 0 ? INT32_MAX : static_cast<std::int32_t>(epoch - g[i].epoch);
      const std::int32_t touch = static_cast<std::int32_t>(stamp - g[i].stamp);
      if (age > oldest || (age == oldest && touch > oldest_touch)) {
        oldest = age;
        oldest_touch = touch;
        victim = i;
      }
    }
    Entry& v = g[victim];
    if (v.pair == 0) {
      ++size_;
    } else {
      ++evictions_;
      if (oldest < static_cast<std::int32_t>(window_epochs)) ++live_evictions_;
    }
    v.pair = pair;
    v.epoch = epoch;
    v.stamp = stamp;
    return {false, epoch};
  }

  std::uint32_t group(std::uint64_t pair) const noexcept { return group_index(pair, slots_ / kGroup); }
  void prefetch_group(std::uint32_t g) const noexcept { __builtin_prefetch(&groups_[g]); }

  void clear() noexcept;

  std::uint32_t capacity() const noexcept { return slots_; }
  std::uint32_t size() const noexcept { return size_; }
  std::uint64_t evictions() const noexcept { return evictions_; }
  // Evictions of pairs still counted in the window: each may add one to a distinct count.
  std::uint64_t live_evictions() const noexcept { return live_evictions_; }
  std::size_t memory_bytes() const noexcept { return sizeof(Group) * (slots_ / kGroup); }

 private:
  struct Entry {
    std::uint64_t pair;   // 0 = empty
    std::uint32_t epoch;  // the bucket the pair's unit is in
    std::uint32_t stamp;  // clock_ at its last touch: orders pairs within a bucket
  };
  struct alignas(64) Group {
    Entry e[kGroup];
  };

  TableArray<Group> groups_;
  std::uint32_t slots_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t clock_ = 0;  // counts touches (wraps; compared by difference)
  std::uint64_t evictions_ = 0;
  std::uint64_t live_evictions_ = 0;
};

}  // namespace sipwall::detect
