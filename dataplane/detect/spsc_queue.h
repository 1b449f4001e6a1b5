// SpscQueue: a fixed-size ring for one producer thread and one consumer
// thread (a worker pushing hot-key reports, the main lcore draining them).
// Lock-free: the producer owns tail_, the consumer head_; each reads the
// other's index with acquire and keeps a cached copy so the common case
// touches no shared cache line. try_push() fails (and the caller counts it)
// rather than waiting when the ring is full.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace sipwall::detect {

template <class T>
class SpscQueue {
  static_assert(std::is_trivially_copyable_v<T>, "SpscQueue holds plain records");

 public:
  // capacity: rounded up to a power of two, at least 2.
  explicit SpscQueue(std::uint32_t capacity) {
    if (capacity == 0 || capacity > (1u << 30)) throw std::invalid_argument("SpscQueue: capacity");
    std::uint32_t c = 2;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    ring_.reset(new T[c]());
  }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer only.
  bool try_push(const T& v) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    ring_[tail & mask_] = v;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only.
  bool try_pop(T& out) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    out = ring_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Either side; exact only when the other side is idle.
  std::uint32_t size() const noexcept {
    return static_cast<std::uint32_t>(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }
  std::uint32_t capacity() const noexcept { return mask_ + 1; }
  std::size_t memory_bytes() const noexcept { return sizeof(T) * (std::size_t{mask_} + 1); }

 private:
  std::unique_ptr<T[]> ring_;
  std::uint32_t mask_ = 0;
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the producer
  std::uint64_t head_cache_ = 0;                    // producer's copy of head_
  alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the consumer
  std::uint64_t tail_cache_ = 0;                    // consumer's copy of tail_
};

}  // namespace sipwall::detect
