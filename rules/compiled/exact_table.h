// Exact E.164 numbers -> list-set id, in a flat, read-only open-addressing
// table built once from a sorted key list.
//
// Layout: buckets of 8 keys = one 64-byte cache line (keys) and a parallel
// array of 8 values (list-set ids). A key's home bucket is a multiply-shift
// reduction of its hash onto a bucket count that need not be a power of two,
// so the table can be sized to the load factor exactly. Keys that do not fit
// their home bucket spill into the next buckets (linear probing, placed in
// home-bucket order so no key is further from home than it must be); bit 63
// of a bucket's first key says "something spilled past me". A lookup reads
// the home line, and only reads on if the key is absent AND that bit is set:
// a miss (90% of INVITEs) usually costs one cache line and 8 compares.
// Key 0 (number::kNoNumber) marks an empty slot; real keys never use bit 63.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "number/normalize.h"
#include "rules/compiled/aligned_vector.h"

namespace sipwall::rules {

class ExactTable {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr std::uint64_t kSpillBit = std::uint64_t{1} << 63;
  static constexpr double kDefaultLoad = 0.80;

  ExactTable() = default;

  // `keys` strictly ascending, non-zero; values[i] is the id stored for keys[i]
  // (never 0: 0 is what find() returns for an absent key).
  static ExactTable build(std::span<const number::E164Key> keys,
                          std::span<const std::uint32_t> values,
                          double load_factor = kDefaultLoad);

  // Value stored for `key`, 0 if absent (also for key 0). Hot path.
  std::uint32_t find(number::E164Key key) const noexcept {
    if (size_ == 0 || key == number::kNoNumber) return 0;
    std::size_t b = home(key);
    for (;;) {
      const std::uint64_t* line = keys_.data() + b * kSlots;
      const std::uint64_t spill = line[0] & kSpillBit;
      unsigned hit = 0;
      for (std::size_t i = 0; i < kSlots; ++i) {
        hit |= static_cast<unsigned>((line[i] & ~kSpillBit) == key) << i;
      }
      if (hit != 0) return values_[b * kSlots + static_cast<std::size_t>(__builtin_ctz(hit))];
      if (spill == 0) return 0;
      ++b;
    }
  }

  // Start loading the key's home line (issue before a batch of finds).
  void prefetch(number::E164Key key) const noexcept {
    if (size_ != 0) __builtin_prefetch(keys_.data() + home(key) * kSlots);
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t home_buckets() const noexcept { return home_buckets_; }
  std::size_t buckets() const noexcept { return keys_.size() / kSlots; }
  std::size_t bytes() const noexcept {
    return keys_.size() * sizeof(std::uint64_t) + values_.size() * sizeof(std::uint32_t);
  }
  // Buckets whose spill bit is set (a miss there reads a second line).
  std::size_t spilled_buckets() const noexcept;

  // For serialisation (rules/compiled/artifact.cc) and tests.
  const AlignedVector<std::uint64_t>& raw_keys() const noexcept { return keys_; }
  const std::vector<std::uint32_t>& raw_values() const noexcept { return values_; }
  // Rebuilds from serialised parts; false if they are inconsistent.
  static bool from_raw(AlignedVector<std::uint64_t> keys, std::vector<std::uint32_t> values,
                       std::uint64_t home_buckets, std::uint64_t size, ExactTable& out);

  static std::uint64_t hash(number::E164Key key) noexcept {
    // murmur3 fmix64: E.164 keys share long runs of high bits (country code,
    // length); every input bit must reach the high bits the reduction uses.
    std::uint64_t h = key;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }

 private:
  std::size_t home(number::E164Key key) const noexcept {
    // Multiply-shift range reduction onto [0, home_buckets_).
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::size_t>((static_cast<u128>(hash(key)) * home_buckets_) >> 64);
  }

  AlignedVector<std::uint64_t> keys_;
  std::vector<std::uint32_t> values_;
  std::uint64_t home_buckets_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace sipwall::rules
