#include "dataplane/watch/watch_table.h"

namespace sipwall::watch {

WatchTable::WatchTable(std::uint32_t capacity) {
  std::uint32_t n = kProbe;
  while (n < capacity && n < (1u << 30)) n <<= 1;
  slots_ = std::make_unique<Entry[]>(n);
  mask_ = n - 1;
}

WatchTable::MarkResult WatchTable::mark(std::uint64_t key, std::uint8_t mask, std::uint32_t generation,
                                        std::uint64_t now_ms, std::uint64_t expires_ms) noexcept {
  key = stored(key);
  const auto home = static_cast<std::uint32_t>(key);
  Entry* free_slot = nullptr;
  Entry* oldest = nullptr;
  for (unsigned i = 0; i < kProbe; ++i) {
    Entry& e = slots_[(home + i) & mask_];
    if (e.key == key) {
      e = Entry{key, expires_ms, generation, mask};
      return MarkResult::updated;
    }
    // A free or expired slot is taken only after the whole window was
    // searched for the key: the key may sit further on.
    if (free_slot == nullptr && (e.key == 0 || e.expires_ms <= now_ms)) free_slot = &e;
    if (oldest == nullptr || e.expires_ms < oldest->expires_ms) oldest = &e;
  }
  if (free_slot != nullptr) {
    *free_slot = Entry{key, expires_ms, generation, mask};
    return MarkResult::added;
  }
  *oldest = Entry{key, expires_ms, generation, mask};
  return MarkResult::evicted;
}

const WatchTable::Entry* WatchTable::find(std::uint64_t key, std::uint64_t now_ms) const noexcept {
  key = stored(key);
  const auto home = static_cast<std::uint32_t>(key);
  for (unsigned i = 0; i < kProbe; ++i) {
    const Entry& e = slots_[(home + i) & mask_];
    if (e.key == key) return e.expires_ms > now_ms ? &e : nullptr;
  }
  return nullptr;
}

}  // namespace sipwall::watch
