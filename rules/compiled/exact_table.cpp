#include "rules/compiled/exact_table.h"

#include <algorithm>
#include <cmath>

namespace sipwall::rules {

ExactTable ExactTable::build(std::span<const number::E164Key> keys, std::span<const std::uint32_t> values,
                             double load_factor) {
  ExactTable t;
  const std::size_t n = keys.size();
  if (n == 0) return t;
  const bool narrow = std::all_of(values.begin(), values.end(), [](std::uint32_t v) { return v <= kMaxNarrowValue; });
  if (!(load_factor > 0.05 && load_factor <= 0.95)) load_factor = narrow ? kNarrowLoad : kWideLoad;
  const auto home_buckets =
      static_cast<std::uint64_t>(std::ceil(static_cast<double>(n) / (load_factor * static_cast<double>(kSlots))));
  t.home_buckets_ = std::max<std::uint64_t>(home_buckets, 1);
  t.size_ = n;

  // Counting sort of the keys by home bucket: placing them in that order is
  // linear probing with every key as close to home as it can be.
  std::vector<std::uint32_t> start(t.home_buckets_ + 1, 0);
  std::vector<std::uint32_t> homes(n);
  for (std::size_t i = 0; i < n; ++i) {
    homes[i] = static_cast<std::uint32_t>(t.home(keys[i]));
    ++start[homes[i] + 1];
  }
  for (std::size_t b = 0; b < t.home_buckets_; ++b) start[b + 1] += start[b];
  std::vector<std::uint32_t> order(n);
  {
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) order[fill[homes[i]]++] = static_cast<std::uint32_t>(i);
  }
  homes.clear();
  homes.shrink_to_fit();

  // Place, straight into the final arrays. `next` is the first free slot;
  // keys never move left of home. Spills past the last home bucket grow the
  // table by whole buckets (there is no wrap-around).
  t.keys_.assign(t.home_buckets_ * kSlots, 0);
  if (!narrow) t.values_.assign(t.home_buckets_ * kSlots, 0);
  std::uint64_t next = 0;
  std::uint64_t marked_upto = 0;  // spill bits are set below this bucket
  for (std::uint64_t b = 0; b < t.home_buckets_; ++b) {
    const std::uint64_t first_slot = b * kSlots;
    for (std::uint32_t j = start[b]; j < start[b + 1]; ++j) {
      const std::uint32_t i = order[j];
      if (next < first_slot) next = first_slot;
      if (next >= t.keys_.size()) {
        t.keys_.resize(t.keys_.size() + kSlots, 0);
        if (!narrow) t.values_.resize(t.values_.size() + kSlots, 0);
      }
      if (narrow) {
        t.keys_[next] = keys[i] | (static_cast<std::uint64_t>(values[i]) << kValueShift);
      } else {
        t.keys_[next] = keys[i];
        t.values_[next] = values[i];
      }
      // Every bucket from home up to the one it landed in was full when this
      // key passed it: a lookup that misses there must read on.
      const std::uint64_t landed = next / kSlots;
      for (std::uint64_t pb = std::max(b, marked_upto); pb < landed; ++pb) {
        t.keys_[pb * kSlots] |= kSpillBit;
      }
      marked_upto = std::max(marked_upto, landed);
      ++next;
    }
  }
  return t;
}

std::size_t ExactTable::spilled_buckets() const noexcept {
  std::size_t c = 0;
  for (std::size_t b = 0; b < buckets(); ++b) c += (keys_[b * kSlots] & kSpillBit) != 0;
  return c;
}

bool ExactTable::from_raw(AlignedVector<std::uint64_t> keys, std::vector<std::uint32_t> values,
                          std::uint64_t home_buckets, std::uint64_t size, ExactTable& out) {
  if (keys.size() % kSlots != 0) return false;
  if (!values.empty() && values.size() != keys.size()) return false;
  if (size == 0) {
    if (!keys.empty() || !values.empty()) return false;
  } else {
    if (home_buckets == 0 || home_buckets > keys.size() / kSlots) return false;
    // The last bucket must stop every probe sequence (no spill bit) or a
    // lookup would run off the end.
    if (keys[keys.size() - kSlots] & kSpillBit) return false;
  }
  out.keys_ = std::move(keys);
  out.values_ = std::move(values);
  out.home_buckets_ = home_buckets;
  out.size_ = size;
  return true;
}

}  // namespace sipwall::rules
