// Exact E.164 numbers -> list-set id, in a flat, read-only open-addressing
// table built once from a sorted key list.
//
// Layout: buckets of 8 slots = one 64-byte cache line. A key's home bucket is
// a multiply-shift reduction of its hash onto a bucket count that need not be
// a power of two, so the table is sized to the load factor exactly. Keys that
// do not fit their home bucket spill into the next buckets (linear probing,
// placed in home-bucket order so no key is further from home than it must
// be); bit 63 of a bucket's first slot says "something spilled past me". A
// lookup reads the home line and only reads on if the key is absent AND that
// bit is set, so a miss (90% of INVITEs) usually costs one cache line.
//
// Slots: a packed key uses bits 0..53 (number/e164_key.h). When the rule set
// has fewer than 512 list combinations (the usual case) the list-set id sits
// in bits 54..62 of the same slot ("narrow": 8 bytes a slot, a hit reads one
// line too); otherwise ids live in a parallel array ("wide": 12 bytes a slot).
// Slot 0 (key kNoNumber) is empty.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rules/compiled/aligned_vector.h"
#include "rules/number/e164_key.h"

namespace sipwall::rules {

class ExactTable {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr std::uint64_t kSpillBit = std::uint64_t{1} << 63;
  static constexpr unsigned kValueShift = 54;
  static constexpr std::uint64_t kKeyMask = (std::uint64_t{1} << kValueShift) - 1;
  static constexpr std::uint32_t kMaxNarrowValue = (1U << 9) - 1;
  // Load factors (keys / slots) chosen per layout: ~12.8 bytes a number with
  // ~8% of buckets spilling (narrow), 15 bytes and ~31% (wide). See
  // docs/matching.md for the measured trade-off.
  static constexpr double kNarrowLoad = 0.625;
  static constexpr double kWideLoad = 0.80;

  ExactTable() = default;

  // `keys` strictly ascending, valid packed keys; values[i] (never 0: 0 is
  // what find() returns for an absent key) is stored for keys[i].
  // load_factor 0 picks kNarrowLoad / kWideLoad.
  static ExactTable build(std::span<const number::E164Key> keys, std::span<const std::uint32_t> values,
                          double load_factor = 0);

  // Value stored for `key`, 0 if absent (also for key 0). Hot path.
  std::uint32_t find(number::E164Key key) const noexcept {
    if (size_ == 0 || key == number::kNoNumber || (key & ~kKeyMask) != 0) return 0;
    std::size_t b = home(key);
    for (;;) {
      const std::uint64_t* line = keys_.data() + b * kSlots;
      const unsigned hit = match_mask(line, key);
      if (hit != 0) {
        const auto i = static_cast<std::size_t>(__builtin_ctz(hit));
        if (values_.empty()) return static_cast<std::uint32_t>((line[i] >> kValueShift) & kMaxNarrowValue);
        return values_[b * kSlots + i];
      }
      if ((line[0] & kSpillBit) == 0) return 0;
      ++b;
    }
  }

  // Start loading the key's home line (issue before a batch of finds).
  void prefetch(number::E164Key key) const noexcept {
    if (size_ != 0) __builtin_prefetch(keys_.data() + home(key & kKeyMask) * kSlots);
  }

  std::size_t size() const noexcept { return size_; }
  bool narrow() const noexcept { return values_.empty(); }
  std::size_t home_buckets() const noexcept { return home_buckets_; }
  std::size_t buckets() const noexcept { return keys_.size() / kSlots; }
  std::size_t bytes() const noexcept {
    return keys_.size() * sizeof(std::uint64_t) + values_.size() * sizeof(std::uint32_t);
  }
  // Buckets whose spill bit is set (a miss there reads a second line).
  std::size_t spilled_buckets() const noexcept;
  // Calls f(key, value) for every stored key (tests, validation).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t s = 0; s < keys_.size(); ++s) {
      const std::uint64_t k = keys_[s] & kKeyMask;
      if (k == 0) continue;
      f(k, values_.empty() ? static_cast<std::uint32_t>((keys_[s] >> kValueShift) & kMaxNarrowValue) : values_[s]);
    }
  }

  // For serialisation (rules/compiled/artifact.cpp) and tests.
  const AlignedVector<std::uint64_t>& raw_keys() const noexcept { return keys_; }
  const std::vector<std::uint32_t>& raw_values() const noexcept { return values_; }
  // Rebuilds from serialised parts; false if they are inconsistent.
  static bool from_raw(AlignedVector<std::uint64_t> keys, std::vector<std::uint32_t> values, std::uint64_t home_buckets,
                       std::uint64_t size, ExactTable& out);

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
  // Bit i set: slot i of the (64-byte aligned) line holds `key`.
  static unsigned match_mask(const std::uint64_t* line, number::E164Key key) noexcept {
#if defined(__SSE2__)
    // Four 2-lane compares. SSE2 has no 64-bit equality: compare 32-bit
    // halves and AND each half with its neighbour.
    const __m128i k = _mm_set1_epi64x(static_cast<long long>(key));
    const __m128i m = _mm_set1_epi64x(static_cast<long long>(kKeyMask));
    unsigned hit = 0;
    for (int j = 0; j < 4; ++j) {
      const __m128i v = _mm_and_si128(_mm_load_si128(reinterpret_cast<const __m128i*>(line) + j), m);
      __m128i c = _mm_cmpeq_epi32(v, k);
      c = _mm_and_si128(c, _mm_shuffle_epi32(c, _MM_SHUFFLE(2, 3, 0, 1)));
      hit |= static_cast<unsigned>(_mm_movemask_pd(_mm_castsi128_pd(c))) << (2 * j);
    }
    return hit;
#else
    unsigned hit = 0;
    for (std::size_t i = 0; i < kSlots; ++i) {
      hit |= static_cast<unsigned>((line[i] & kKeyMask) == key) << i;
    }
    return hit;
#endif
  }

  std::size_t home(number::E164Key key) const noexcept {
    // Multiply-shift range reduction onto [0, home_buckets_).
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::size_t>((static_cast<u128>(hash(key)) * home_buckets_) >> 64);
  }

 private:
  AlignedVector<std::uint64_t> keys_;
  std::vector<std::uint32_t> values_;  // empty when narrow
  std::uint64_t home_buckets_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace sipwall::rules
