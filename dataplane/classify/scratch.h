// Per-worker working memory for classify(): the Hyperscan scratch and the
// per-message regex result bits. One per worker lcore (or thread); never
// shared while in use.
//
// prepare() allocates and is called OFF the packet path. Reload protocol:
// before publishing a new CompiledRuleSet, the main lcore calls prepare(new
// set) on a Scratch no worker is using (a fresh one, or the worker's spare),
// then hands the worker the (set, scratch) pair. Hyperscan may reallocate its
// scratch inside prepare(), so prepare() must never race with classify() on
// the same object. A Scratch prepared for several sets (call prepare for
// each) serves all of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct hs_scratch;

namespace sipwall::rules {
class CompiledRuleSet;
}

namespace sipwall::classify {

namespace detail {
class Engine;
}

class Scratch {
 public:
  Scratch() = default;
  ~Scratch();
  Scratch(Scratch&& other) noexcept;
  Scratch& operator=(Scratch&& other) noexcept;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Grows the Hyperscan scratch for every database of `set` and sizes the
  // result bits. False (and `*error` set) if Hyperscan refuses.
  bool prepare(const rules::CompiledRuleSet& set, std::string* error = nullptr);
  // True if prepare() covered a set of this shape (cheap; for asserts).
  bool ready_for(const rules::CompiledRuleSet& set) const noexcept;

 private:
  friend class detail::Engine;
  hs_scratch* hs_ = nullptr;
  std::vector<std::uint64_t> regex_bits_;    // one bit per regex slot
  std::vector<std::uint32_t> target_epoch_;  // target scanned in message `epoch_`
  std::vector<std::uint8_t> target_hit_;     // that scan set some result bit of the target
  std::uint32_t epoch_ = 0;
  // The result bits are cleared once per message, at its first scan, and
  // only if a scan since the last clear matched something (most messages
  // match nothing): then every target's bits are zero before its one scan
  // of the message, which is all a target's scan reads.
  bool bits_dirty_ = false;
  std::uint32_t cleared_epoch_ = 0;  // the message whose first scan cleared (or found clean) the bits
};

}  // namespace sipwall::classify
