// TableMemory: the zeroed, fixed block a counting table lives in.
//
// A worker's tables are tens of MB and are read at random, one line per
// key: with 4 KB pages nearly every lookup is also a TLB miss (measured:
// bench_detect, docs/detection.md). Blocks of 2 MB and more are therefore
// huge blocks (rules/memory/huge_block.h: 2 MB-aligned, MADV_HUGEPAGE; the
// kernel may still refuse, then they are plain pages). Every byte is written
// at construction, so the memory is really taken then, not at the first
// flood.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace sipwall::detect {

class TableMemory {
 public:
  TableMemory() = default;
  explicit TableMemory(std::size_t bytes);  // throws std::bad_alloc
  ~TableMemory();
  TableMemory(TableMemory&& o) noexcept : base_(o.base_), mapped_(o.mapped_), bytes_(o.bytes_), mmap_(o.mmap_) {
    o.base_ = nullptr;
    o.mapped_ = o.bytes_ = 0;
  }
  TableMemory& operator=(TableMemory&& o) noexcept {
    if (this != &o) {
      release();
      base_ = o.base_;
      mapped_ = o.mapped_;
      bytes_ = o.bytes_;
      mmap_ = o.mmap_;
      o.base_ = nullptr;
      o.mapped_ = o.bytes_ = 0;
    }
    return *this;
  }
  TableMemory(const TableMemory&) = delete;
  TableMemory& operator=(const TableMemory&) = delete;

  void* data() const noexcept { return base_; }
  std::size_t size() const noexcept { return bytes_; }

 private:
  void release() noexcept;

  void* base_ = nullptr;
  std::size_t mapped_ = 0;
  std::size_t bytes_ = 0;
  bool mmap_ = false;
};

// An array of n value-initialised T (trivial, at most 4 KB-aligned) in a TableMemory.
template <class T>
class TableArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  TableArray() = default;
  explicit TableArray(std::size_t n) : mem_(n * sizeof(T)), n_(n) {
    data_ = std::uninitialized_value_construct_n(static_cast<T*>(mem_.data()), n) - n;
  }
  TableArray(TableArray&& o) noexcept : mem_(std::move(o.mem_)), data_(o.data_), n_(o.n_) {
    o.data_ = nullptr;
    o.n_ = 0;
  }
  TableArray& operator=(TableArray&& o) noexcept {
    mem_ = std::move(o.mem_);
    data_ = o.data_;
    n_ = o.n_;
    o.data_ = nullptr;
    o.n_ = 0;
    return *this;
  }

  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* get() noexcept { return data_; }
  const T* get() const noexcept { return data_; }
  std::size_t size() const noexcept { return n_; }
  std::size_t bytes() const noexcept { return n_ * sizeof(T); }

 private:
  TableMemory mem_;
  T* data_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace sipwall::detect
