#include "dataplane/detect/window_counter.h"

#include <cstring>
#include <stdexcept>

namespace sipwall::detect {

WindowCounter::WindowCounter(std::uint32_t capacity, std::uint32_t window_ms, unsigned lanes)
    : window_ms_(window_ms), bucket_ms_(bucket_width(window_ms)), lanes_(lanes) {
  if (capacity == 0 || capacity > kMaxCapacity) throw std::invalid_argument("WindowCounter: capacity");
  if (window_ms == 0) throw std::invalid_argument("WindowCounter: window_ms");
  if (lanes == 0 || lanes > kMaxLanes) throw std::invalid_argument("WindowCounter: lanes");
  groups_ = (capacity + kGroup - 1) / kGroup;
  slots_ = groups_ * kGroup;
  headers_ = TableArray<HeaderGroup>(groups_);
  lines_ = TableArray<BucketLine>(std::size_t{slots_} * lanes_);
  marks_ = TableArray<std::uint32_t>(slots_);
}

std::uint32_t WindowCounter::insert(std::uint64_t key, std::uint32_t base, unsigned empty, std::uint32_t e) noexcept {
  Header* g = &header(base);
  unsigned pick = empty;
  if (pick < kGroup) {
    ++size_;
  } else {
    // The lightest key, by its total as of its last update (0 once its
    // newest bucket left the window); among equals the one whose newest
    // bucket is oldest, then the one inserted first. Reads only the header
    // line: the totals may include buckets that have since expired, which
    // only matters between light keys.
    // The three criteria in one number, compared without branches (under
    // rotation which key is lightest is a coin toss to the branch
    // predictor): the complement of the count above bit 30, the age
    // (since() is 29-bit signed, clamped to 0: 28 bits) above the rank's 2.
    // The highest wins; the first among equals, as before.
    std::uint64_t best = 0;
    pick = 0;
    for (unsigned i = 0; i < kGroup; ++i) {
      std::int32_t age = since(e, g[i].head);
      age = age < 0 ? 0 : age;
      const std::uint32_t c = age >= static_cast<std::int32_t>(kBuckets) ? 0 : g[i].total;
      const std::uint32_t rank = g[i].head >> kRankShift;
      const std::uint64_t score = (std::uint64_t{kCountMax - c} << 30) | (static_cast<std::uint64_t>(age) << 2) | rank;
      const bool better = i == 0 || score > best;
      best = better ? score : best;
      pick = better ? i : pick;
    }
    if ((best >> 30) != kCountMax) ++evictions_;  // the key dropped had a count
  }
  // The others age by one rank (saturating at 3, the oldest); the new key is 0.
  for (unsigned i = 0; i < kGroup; ++i) {
    if (i == pick || g[i].key == 0) continue;
    const std::uint32_t rank = g[i].head >> kRankShift;
    if (rank < 3) g[i].head += 1u << kRankShift;
  }
  const std::uint32_t slot = base + pick;
  Header& h = g[pick];
  h.key = key;
  h.head = (e & kEpochMask) | kFresh;  // buckets and mark are written only if it is seen again
  h.total = 0;
  ++inserts_;
  return slot;
}

void WindowCounter::settle(std::uint32_t slot) noexcept {
  Header& h = header(slot);
  std::uint32_t* b = buckets(slot);
  std::memset(static_cast<void*>(b), 0, sizeof(BucketLine) * lanes_);
  b[h.head & (kBuckets - 1)] = h.total;
  marks_[slot] = 0;
  h.head &= ~kFresh;
}

bool WindowCounter::erase(std::uint64_t key) noexcept {
  if (key == 0) return false;
  const std::uint32_t base = group_of(key) * kGroup;
  for (unsigned i = 0; i < kGroup; ++i) {
    Header& h = header(base + i);
    if (h.key != key) continue;
    h = Header{};  // an empty slot's buckets and mark are not read
    --size_;
    return true;
  }
  return false;
}

void WindowCounter::clear() noexcept {
  // Empty slots' buckets and marks are never read: a new key starts fresh.
  std::memset(static_cast<void*>(headers_.get()), 0, sizeof(HeaderGroup) * groups_);
  size_ = 0;
}

std::size_t WindowCounter::memory_bytes() const noexcept {
  return sizeof(HeaderGroup) * groups_ + sizeof(BucketLine) * std::size_t{slots_} * lanes_ +
         sizeof(std::uint32_t) * slots_;
}

bool WindowCounter::check() const noexcept {
  std::uint32_t used = 0;
  for (std::uint32_t s = 0; s < slots_; ++s) {
    const Header& h = header(s);
    if (h.key == 0) {
      if (h.total != 0 || h.head != 0) return false;
      continue;
    }
    ++used;
    if ((h.head & kFresh) == 0) {  // a fresh slot's buckets are not written yet
      const std::uint32_t* b = buckets(s);
      std::uint64_t sum = 0;
      for (unsigned i = 0; i < kBuckets; ++i) sum += b[i];
      if (sum != h.total) return false;
    }
    if (group_of(h.key) != s / kGroup) return false;
    for (std::uint32_t t = (s / kGroup) * kGroup; t < s; ++t)
      if (header(t).key == h.key) return false;  // a key twice in its group
  }
  return used == size_;
}

}  // namespace sipwall::detect
