// RecentKeys: which keys an outcome-counted detector (one_ring, short_calls,
// unanswered, asr) may hold a count for, so an INVITE can skip that
// detector's table for every other caller.
//
// Why: those detectors are added to by call outcomes (a CANCEL after a 18x,
// a short call, ...) but read on every INVITE. Most callers never complete
// such an outcome, so most INVITEs look up a key that is not in the table:
// a cache miss in a table of megabytes, for nothing. A few kilobytes of bits
// (in L1/L2) answer "certainly absent" first.
//
// How: two bit sets of one bit per hashed key, for the current and the
// previous generation (their words interleaved, so a lookup reads one line); a generation is one window (16
// WindowCounter buckets). note() sets the key's bit in the current generation whenever the detector adds to the key; a
// note in a later generation first clears the set two generations back (both, after a jump). maybe() is true if the bit
// is set in either. A unit added at epoch e counts until epoch e + 15, i.e.
// at most into the next generation, and its bit stays set until a note two
// generations later: so while a key has a count, maybe() is true, as long as
// the INVITEs and the outcomes read one clock that does not go back by more
// than a window (the data plane's worker clock is monotonic; `rules explain`
// replays a capture's timestamps, whose small reorderings stay well inside).
// A set bit of an absent key (a lifted or evicted key, another key on the
// same bit) only costs the lookup the filter would have saved: the answer
// is the table's either way. Lifts and resets need not clear bits.
//
// Memory: 2 x 2^k bits with 2^k >= 2 x capacity (16 KB per set at the
// default 65,536 keys). Per packet: no allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace sipwall::detect {

class RecentKeys {
 public:
  RecentKeys() = default;
  // capacity: the detector's table capacity (keys).
  explicit RecentKeys(std::uint32_t capacity) {
    std::uint64_t bits = 4096;
    while (bits < 2ull * capacity) bits <<= 1;
    words_ = static_cast<std::size_t>(bits / 64);
    mask_ = bits - 1;
    sets_ = std::make_unique<std::uint64_t[]>(2 * words_);  // zeroed
  }

  explicit operator bool() const noexcept { return sets_ != nullptr; }

  // The key (a key_hash(), already mixed) may have a count: its bit is set
  // in the current or the previous generation.
  bool maybe(std::uint64_t key) const noexcept {
    const std::uint64_t b = key & mask_;
    const std::uint64_t* w = &sets_[2 * (b >> 6)];  // both generations' words: one cache line
    return ((w[0] | w[1]) & (std::uint64_t{1} << (b & 63))) != 0;
  }

  // The detector added to `key` in bucket `epoch` (WindowCounter::epoch()).
  void note(std::uint64_t key, std::uint32_t epoch) noexcept {
    const std::uint32_t gen = epoch >> 4;  // 16 buckets per window
    if (!started_) {
      current_ = gen;
      started_ = true;
    } else {
      const std::int32_t ahead = static_cast<std::int32_t>(gen - current_);
      if (ahead == 1) {
        for (std::size_t w = gen & 1; w < 2 * words_; w += 2) sets_[w] = 0;  // held generation current_ - 1
        current_ = gen;
      } else if (ahead > 1) {
        std::memset(sets_.get(), 0, 2 * words_ * sizeof(std::uint64_t));
        current_ = gen;
      }
      // ahead < 0 (an earlier time): kept in the current generation, which
      // lives at least as long.
    }
    const std::uint64_t b = key & mask_;
    sets_[2 * (b >> 6) + (current_ & 1)] |= std::uint64_t{1} << (b & 63);
  }

  std::size_t memory_bytes() const noexcept { return 2 * words_ * sizeof(std::uint64_t); }

 private:
  std::unique_ptr<std::uint64_t[]> sets_;
  std::size_t words_ = 0;
  std::uint64_t mask_ = 0;
  std::uint32_t current_ = 0;
  bool started_ = false;
};

}  // namespace sipwall::detect
