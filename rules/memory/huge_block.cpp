#include "rules/memory/huge_block.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace sipwall::memory {

HugeBlock map_huge_block(std::size_t bytes) {
  // Over-map by one huge page, keep the 2 MB-aligned part, give back the rest.
  const std::size_t want = huge_pages_for(bytes);
  void* p = mmap(nullptr, want + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(p, aligned - start);
  const std::uintptr_t end = start + want + kHugePage;
  if (end > aligned + want) munmap(reinterpret_cast<void*>(aligned + want), end - (aligned + want));
  HugeBlock b{reinterpret_cast<void*>(aligned), want};
  madvise(b.base, b.mapped, MADV_HUGEPAGE);  // advice: a refusal leaves plain pages
  return b;
}

void unmap_huge_block(const HugeBlock& block) noexcept {
  if (block.base != nullptr) munmap(block.base, block.mapped);
}

}  // namespace sipwall::memory
