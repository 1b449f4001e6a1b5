// Memory for big tables that are read at random (number tables of the rule
// set, detection's counters and call table).
//
// With 4 KB pages a lookup in a table of tens or hundreds of MB is nearly
// always a TLB miss too: a page walk before the cache miss. A huge block is
// mapped on its own, 2 MB-aligned, its length rounded up to whole 2 MB
// pages, and marked MADV_HUGEPAGE before anything is written, so the kernel
// can back it with transparent huge pages (the Debian default, "madvise",
// gives them only to memory so marked). Where it does not (THP "never", no
// free 2 MB frames) the block works the same on 4 KB pages.
#pragma once

#include <cstddef>

namespace sipwall::memory {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

struct HugeBlock {
  void* base = nullptr;
  std::size_t mapped = 0;  // bytes mapped: the request rounded up to 2 MB
};

// A zero-filled block of at least `bytes` (> 0). Throws std::bad_alloc.
HugeBlock map_huge_block(std::size_t bytes);
void unmap_huge_block(const HugeBlock& block) noexcept;

// `bytes` rounded up to whole huge pages (what map_huge_block maps).
constexpr std::size_t huge_pages_for(std::size_t bytes) noexcept {
  return (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

}  // namespace sipwall::memory
