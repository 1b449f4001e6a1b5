// A worker's table of watched calls (docs/export.md): Call-ID hash -> the
// watch slots that marked the call at its INVITE, the set generation then,
// and when the entry expires. Fixed size (a power of two, allocated once),
// open addressing with a bounded probe: a lookup or a mark touches at most
// kProbe slots, never allocates, never fails. When every slot of a probe
// window is live, the one that expires first is taken (counted by the
// caller): newer calls win, as the table can only hold so many.
//
// Owned by one worker; nothing here is shared (the CallTable of detection is
// another thing: this table exists only while a watch is in force).
#pragma once

#include <cstdint>
#include <memory>

namespace sipwall::watch {

// What a copy of a watched call's message carries: the watch slots the call
// was marked for and the set generation then. mask 0: not watched.
struct WatchMark {
  std::uint32_t generation = 0;
  std::uint8_t mask = 0;
};

class WatchTable {
 public:
  static constexpr unsigned kProbe = 8;

  struct Entry {
    std::uint64_t key = 0;  // Call-ID hash; 0: free
    std::uint64_t expires_ms = 0;
    std::uint32_t generation = 0;
    std::uint8_t mask = 0;
  };

  enum class MarkResult : std::uint8_t { added, updated, evicted };

  // `capacity` is rounded up to a power of two (at least kProbe).
  explicit WatchTable(std::uint32_t capacity);

  // Marks the call `key` for the slots in `mask` at `now_ms`, until
  // `expires_ms`. evicted: a live call of the window made room.
  MarkResult mark(std::uint64_t key, std::uint8_t mask, std::uint32_t generation, std::uint64_t now_ms,
                  std::uint64_t expires_ms) noexcept;
  // The live entry of `key` at `now_ms`, or null.
  const Entry* find(std::uint64_t key, std::uint64_t now_ms) const noexcept;

  std::uint32_t capacity() const noexcept { return mask_ + 1; }

 private:
  static std::uint64_t stored(std::uint64_t key) noexcept { return key != 0 ? key : 1; }
  std::unique_ptr<Entry[]> slots_;
  std::uint32_t mask_ = 0;
};

}  // namespace sipwall::watch
