// WindowCounter: a fixed-capacity table of sliding-window counts keyed by a
// 64-bit key, one per detector per worker.
//
// Window. Time is cut into buckets of width w = ceil(window_ms / 16) ms,
// aligned to multiples of w; epoch(t) = t / w. A key's count at time `now`
// is the sum of what was added in epochs epoch(now)-15 .. epoch(now): an
// event at time t is counted at `now` iff epoch(now) - epoch(t) < 16. So
// every event younger than 15w (< window) is counted, none of age >= 16w
// (>= window, < window + 16 ms) is, and in between it depends on where in
// its bucket it fell: the window is exact to within one bucket width.
// Time that goes backwards (pcap replay, two clocks) counts in the newest
// bucket the key has.
//
// Layout. Slots come in groups of 4; a key lives in the group its hash picks
// (no probing beyond it). The 4 slot headers (key, newest epoch, running
// total) share one cache line, so a lookup reads one line and a hit one more
// (its 16 buckets, 64 bytes; two lines with the second lane). A read is O(1)
// (running total); advancing a key's window clears the buckets that left it.
//
// Fresh slots. Most keys are seen once in a window (every caller of a busy
// trunk is a key), so a new key does not touch its bucket line or its mark:
// while every unit of lane 0 sits in the newest bucket and lane 1 is empty,
// the header alone says it all (the `fresh` bit) and the bucket line and
// mark hold stale bytes. The slot is written out ("settled") only when a
// unit would land in another bucket, lane 1 gets one, or the owner writes a
// non-zero mark. So inserting a key, and counting it again within the same
// bucket, costs the header line only: one cache miss, not three.
//
// Eviction. A new key in a full group replaces the slot with the smallest
// count (its total as of its last update, 0 once all its buckets are out of
// the window); among equal counts the one with the oldest newest bucket,
// then the one inserted first (a 2-bit rank per slot), so a new key outlives
// the next 3 newcomers to its group. The evicted key's count is
// lost, so counts are only ever under-estimated (2^-64 hash collisions
// aside), and a key is never evicted while another key in its group has a
// smaller count: a heavy key survives any flood of keys lighter than it.
//
// Per packet: no allocation, no exceptions, no locks; the hot functions are
// inline. Memory is fixed at construction (memory_bytes()).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/table_memory.h"

namespace sipwall::detect {

class WindowCounter {
 public:
  static constexpr unsigned kBuckets = 16;  // S: buckets per window
  static constexpr unsigned kGroup = 4;     // slots per group (one cache line of headers)
  static constexpr unsigned kMaxLanes = 2;  // asr counts attempts (lane 0) and answers (lane 1)
  static constexpr std::uint32_t npos = 0xFFFFFFFFu;

  // capacity: keys, rounded up to a multiple of kGroup. lanes: 1 or 2.
  WindowCounter(std::uint32_t capacity, std::uint32_t window_ms, unsigned lanes = 1);
  WindowCounter(WindowCounter&&) noexcept = default;
  WindowCounter& operator=(WindowCounter&&) noexcept = default;

  static constexpr std::uint32_t bucket_width(std::uint32_t window_ms) noexcept {
    return (window_ms + kBuckets - 1) / kBuckets;
  }

  // The bucket `now_ms` falls in. The last bucket's bounds are cached: a
  // worker sees the same bucket for thousands of INVITEs in a row, and a
  // 64-bit division costs more than the rest of a lookup.
  std::uint32_t epoch(std::uint64_t now_ms) noexcept {
    if (now_ms - cached_start_ >= bucket_ms_) {  // also true when now_ms < cached_start_
      const std::uint64_t e = now_ms / bucket_ms_;
      cached_start_ = e * bucket_ms_;
      cached_epoch_ = static_cast<std::uint32_t>(e);  // truncated: compared by signed difference
    }
    return cached_epoch_;
  }

  // The slot holding `key`, its window advanced to now_ms; npos if absent.
  std::uint32_t find(std::uint64_t key, std::uint64_t now_ms) noexcept {
    const std::uint32_t s = lookup(key);
    if (s != npos) advance(s, epoch(now_ms));
    return s;
  }

  // As find(), inserting the key with a zero count if absent (evicting the
  // group's lightest key when the group is full). key must not be 0.
  std::uint32_t find_or_insert(std::uint64_t key, std::uint64_t now_ms) noexcept {
    const std::uint32_t s = lookup_or_insert(key, now_ms);
    advance(s, epoch(now_ms));
    return s;
  }

  // The same in steps, so a caller with several tables can overlap their
  // cache misses: group() and prefetch_group() for each, then lookup() for
  // each (reads the header line) and prefetch_slot(), then advance_to() and
  // add(). group() mixes the key once for all of them.
  std::uint32_t group(std::uint64_t key) const noexcept { return group_of(key); }
  void prefetch_group(std::uint32_t g) const noexcept { __builtin_prefetch(&headers_[g]); }
  // The slot's bucket lines and mark; nothing for a fresh slot (it needs none).
  void prefetch_slot(std::uint32_t slot) const noexcept {
    if ((header(slot).head & kFresh) != 0) return;
    __builtin_prefetch(buckets(slot));
    if (lanes_ > 1) __builtin_prefetch(buckets(slot) + kBuckets);
    __builtin_prefetch(&marks_[slot]);
  }
  // The slot of `key` (in group g = group(key)) or npos; its window not advanced.
  std::uint32_t lookup(std::uint64_t key, std::uint32_t g) const noexcept {
    const std::uint32_t base = g * kGroup;
    const Header* h = &header(base);
    for (unsigned i = 0; i < kGroup; ++i)
      if (h[i].key == key) return base + i;
    return npos;
  }
  std::uint32_t lookup(std::uint64_t key) const noexcept { return lookup(key, group_of(key)); }
  // The slot of `key` (in group g), inserted if absent; its window not advanced.
  std::uint32_t lookup_or_insert(std::uint64_t key, std::uint32_t g, std::uint64_t now_ms) noexcept {
    const std::uint32_t base = g * kGroup;
    const Header* h = &header(base);
    unsigned empty = kGroup;
    for (unsigned i = 0; i < kGroup; ++i) {
      if (h[i].key == key) return base + i;
      if (h[i].key == 0 && empty == kGroup) empty = i;
    }
    return insert(key, base, empty, epoch(now_ms));
  }
  std::uint32_t lookup_or_insert(std::uint64_t key, std::uint64_t now_ms) noexcept {
    return lookup_or_insert(key, group_of(key), now_ms);
  }
  void advance_to(std::uint32_t slot, std::uint64_t now_ms) noexcept { advance(slot, epoch(now_ms)); }

  // Adds n to `lane` of the slot's newest bucket (the current one after
  // find()/find_or_insert() advanced it). Counts saturate at 2^32-1.
  void add(std::uint32_t slot, unsigned lane = 0, std::uint32_t n = 1) noexcept {
    Header& h = header(slot);
    if ((h.head & kFresh) != 0) {
      if (lane == 0) {  // stays fresh: every unit is in the newest bucket
        h.total = kCountMax - h.total < n ? kCountMax : h.total + n;
        return;
      }
      settle(slot);
    }
    std::uint32_t& b = buckets(slot)[lane * kBuckets + (h.head & (kBuckets - 1))];
    if (lane == 0) {
      if (kCountMax - h.total < n) n = kCountMax - h.total;
      h.total += n;
      b += n;  // b <= total, so no overflow
    } else {
      b = kCountMax - b < n ? kCountMax : b + n;
    }
  }

  // Adds one at now_ms, inserting the key if needed; the count after it.
  std::uint32_t increment(std::uint64_t key, std::uint64_t now_ms) noexcept {
    const std::uint32_t s = find_or_insert(key, now_ms);
    add(s);
    return header(s).total;
  }

  // The slot's count in its window (as of the last advance). Lane 0 is kept
  // as a running total; lane 1 is summed (16 adds, asr only).
  std::uint32_t count(std::uint32_t slot, unsigned lane = 0) const noexcept {
    if (lane == 0) return header(slot).total;
    if ((header(slot).head & kFresh) != 0) return 0;
    const std::uint32_t* b = buckets(slot) + lane * kBuckets;
    std::uint64_t sum = 0;
    for (unsigned i = 0; i < kBuckets; ++i) sum += b[i];
    return sum > kCountMax ? kCountMax : static_cast<std::uint32_t>(sum);
  }

  // Moves one unit of lane 0 from the bucket of `from_epoch` to the newest
  // bucket, so a distinct value seen again keeps counting for a whole window
  // from its latest sighting. Does nothing if that bucket already left the
  // window or is empty (the unit was lost to an eviction).
  void move_to_newest(std::uint32_t slot, std::uint32_t from_epoch) noexcept {
    Header& h = header(slot);
    const std::int32_t age = since(h.head, from_epoch);
    // A fresh slot has nothing in older buckets.
    if (age <= 0 || age >= static_cast<std::int32_t>(kBuckets) || (h.head & kFresh) != 0) return;
    std::uint32_t* b = buckets(slot);
    std::uint32_t& from = b[from_epoch & (kBuckets - 1)];
    if (from == 0) return;
    --from;
    ++b[h.head & (kBuckets - 1)];
  }

  // Drops `key` (lift). True if it was there.
  bool erase(std::uint64_t key) noexcept;
  // Drops every key.
  void clear() noexcept;

  // A word the owner keeps per key (WorkerDetect: what it last reported);
  // 0 when a key is inserted. Reading a fresh slot's mark reads only its
  // header; writing 0 to it writes nothing.
  std::uint32_t mark(std::uint32_t slot) const noexcept { return (header(slot).head & kFresh) != 0 ? 0 : marks_[slot]; }
  void set_mark(std::uint32_t slot, std::uint32_t value) noexcept {
    if ((header(slot).head & kFresh) != 0) {
      if (value == 0) return;
      settle(slot);
    }
    marks_[slot] = value;
  }
  std::uint64_t key_at(std::uint32_t slot) const noexcept { return header(slot).key; }
  // The slot's newest bucket (29 bits of its epoch: compare by since()).
  std::uint32_t newest_epoch(std::uint32_t slot) const noexcept { return header(slot).head & kEpochMask; }
  // True while the slot is fresh (see the top of this file): for tests.
  bool fresh(std::uint32_t slot) const noexcept { return (header(slot).head & kFresh) != 0; }

  // Epochs are kept to 29 bits (2^29 buckets: a year at the smallest bucket,
  // 63 ms for a 1 s window) and compared by their signed difference modulo
  // 2^29, so a key idle for over half that (6 months) reads as recent.
  static constexpr std::int32_t since(std::uint32_t later, std::uint32_t earlier) noexcept {
    return static_cast<std::int32_t>((later - earlier) << 3) >> 3;
  }

  std::uint32_t capacity() const noexcept { return slots_; }
  std::uint32_t size() const noexcept { return size_; }
  std::uint32_t window_ms() const noexcept { return window_ms_; }
  std::uint32_t bucket_ms() const noexcept { return bucket_ms_; }
  unsigned lanes() const noexcept { return lanes_; }
  // Keys removed while they still had a count in the window (their count is lost).
  std::uint64_t evictions() const noexcept { return evictions_; }
  // Keys inserted (new or after an eviction or expiry).
  std::uint64_t inserts() const noexcept { return inserts_; }
  std::size_t memory_bytes() const noexcept;

  // Internal consistency (every total equals its buckets' sum, empty slots
  // are zero, size() matches): for tests and the fuzzer. O(capacity).
  bool check() const noexcept;

 private:
  static constexpr std::uint32_t kCountMax = 0xFFFFFFFFu;
  static constexpr std::uint32_t kEpochMask = (1u << 29) - 1;
  static constexpr std::uint32_t kFresh = 1u << 29;
  static constexpr unsigned kRankShift = 30;

  struct Header {
    std::uint64_t key;    // 0 = empty
    std::uint32_t head;   // bits 0-28: epoch of the newest bucket; 29: fresh (buckets and mark not
                          // written: all of lane 0 in the newest bucket, lane 1 empty, mark 0);
                          // 30-31: insertion rank in the group (0 newest)
    std::uint32_t total;  // lane 0, sum of the 16 buckets
  };
  struct alignas(64) HeaderGroup {
    Header h[kGroup];
  };
  struct alignas(64) BucketLine {
    std::uint32_t b[kBuckets];
  };

  Header& header(std::uint32_t slot) noexcept { return headers_[slot / kGroup].h[slot % kGroup]; }
  const Header& header(std::uint32_t slot) const noexcept { return headers_[slot / kGroup].h[slot % kGroup]; }
  std::uint32_t* buckets(std::uint32_t slot) noexcept { return lines_[std::size_t{slot} * lanes_].b; }
  const std::uint32_t* buckets(std::uint32_t slot) const noexcept { return lines_[std::size_t{slot} * lanes_].b; }

  std::uint32_t group_of(std::uint64_t key) const noexcept { return group_index(key, groups_); }

  // Clears the buckets that left the window between the slot's newest
  // epoch and e. At most 16 buckets; usually 0 or 1.
  void advance(std::uint32_t slot, std::uint32_t e) noexcept {
    Header& h = header(slot);
    const std::int32_t d = since(e, h.head);
    if (d <= 0) return;
    if ((h.head & kFresh) != 0) {
      if (d >= static_cast<std::int32_t>(kBuckets) || h.total == 0) {
        h.total = 0;  // its units (all in the old newest bucket) left the window, or there are none
        h.head = (e & kEpochMask) | (h.head & ~kEpochMask);
        return;
      }
      settle(slot);  // its units stay behind in an older bucket: write them out
    }
    std::uint32_t* b = buckets(slot);
    if (d >= static_cast<std::int32_t>(kBuckets)) {
      for (unsigned i = 0; i < kBuckets * lanes_; ++i) b[i] = 0;
      h.total = 0;
    } else {
      for (std::int32_t k = 1; k <= d; ++k) {
        const unsigned idx = (h.head + static_cast<std::uint32_t>(k)) & (kBuckets - 1);
        h.total -= b[idx];
        b[idx] = 0;
        if (lanes_ > 1) b[kBuckets + idx] = 0;
      }
    }
    h.head = (e & kEpochMask) | (h.head & ~kEpochMask);
  }

  std::uint32_t insert(std::uint64_t key, std::uint32_t base, unsigned empty, std::uint32_t e) noexcept;
  // Writes a fresh slot's buckets and mark out and clears its fresh bit.
  void settle(std::uint32_t slot) noexcept;

  TableArray<HeaderGroup> headers_;
  TableArray<BucketLine> lines_;
  TableArray<std::uint32_t> marks_;
  std::uint32_t groups_ = 0;
  std::uint32_t slots_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t window_ms_ = 0;
  std::uint32_t bucket_ms_ = 1;
  unsigned lanes_ = 1;
  std::uint64_t cached_start_ = 0;
  std::uint32_t cached_epoch_ = 0;
  std::uint64_t evictions_ = 0;
  std::uint64_t inserts_ = 0;
};

}  // namespace sipwall::detect
