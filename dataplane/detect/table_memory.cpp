#include "dataplane/detect/table_memory.h"

#include <cstdlib>

#include "rules/memory/huge_block.h"

namespace sipwall::detect {

namespace {
constexpr std::size_t kSmallAlign = 4096;
}  // namespace

TableMemory::TableMemory(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  if (bytes >= memory::kHugePage) {
    const memory::HugeBlock b = memory::map_huge_block(bytes);
    base_ = b.base;
    mapped_ = b.mapped;
    mmap_ = true;
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
    memory::unmap_huge_block({base_, mapped_});
  else
    std::free(base_);
  base_ = nullptr;
}

}  // namespace sipwall::detect
