// A std::vector whose storage starts on a cache line, so that a table bucket
// of 8 keys (64 bytes) is exactly one line and a lookup touches one line.
// Storage of 2 MB and more is a huge block (rules/memory/huge_block.h): a
// 10M-number table is 129 MB read at random, and on 4 KB pages nearly every
// lookup would also be a TLB miss (docs/matching.md, "Huge pages").
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "rules/memory/huge_block.h"

namespace sipwall::rules {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() noexcept = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) noexcept {}  // NOLINT: rebind
  T* allocate(std::size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    if (n * sizeof(T) >= memory::kHugePage) return static_cast<T*>(memory::map_huge_block(n * sizeof(T)).base);
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) >= memory::kHugePage) {
      memory::unmap_huge_block({p, memory::huge_pages_for(n * sizeof(T))});
      return;
    }
    ::operator delete (p, std::align_val_t{kCacheLine});
  }
  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace sipwall::rules
