#include "dataplane/detect/table_memory.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace sipwall::detect {

namespace {
constexpr std::size_t kHuge = std::size_t{2} << 20;
constexpr std::size_t kSmallAlign = 4096;
}  // namespace

TableMemory::TableMemory(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  if (bytes >= kHuge) {
    // Over-map by 2 MB, keep the 2 MB-aligned part, give back the rest.
    const std::size_t want = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = mmap(nullptr, want + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
    if (aligned > start) munmap(p, aligned - start);
    const std::uintptr_t end = start + want + kHuge;
    if (end > aligned + want) munmap(reinterpret_cast<void*>(aligned + want), end - (aligned + want));
    base_ = reinterpret_cast<void*>(aligned);
    mapped_ = want;
    mmap_ = true;
    madvise(base_, mapped_, MADV_HUGEPAGE);  // advice: a refusal leaves plain pages
    return;
  }
  base_ = std::aligned_alloc(kSmallAlign, (bytes + kSmallAlign - 1) / kSmallAlign * kSmallAlign);
  if (base_ == nullptr) throw std::bad_alloc();
}

TableMemory::~TableMemory() {
  release();
}

void TableMemory::release() noexcept {
  if (base_ == nullptr) return;
  if (mmap_)
    munmap(base_, mapped_);
  else
    std::free(base_);
  base_ = nullptr;
}

}  // namespace sipwall::detect
