// SpscQueue: order, full/empty, wrap-around, one producer and one consumer thread.
#include "dataplane/detect/spsc_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

namespace sipwall::detect {
namespace {

TEST(SpscQueue, FifoFullAndEmpty) {
  SpscQueue<std::uint64_t> q(3);  // rounded up to 4
  EXPECT_EQ(q.capacity(), 4u);
  EXPECT_EQ(q.memory_bytes(), 4 * sizeof(std::uint64_t));
  std::uint64_t v = 0;
  EXPECT_FALSE(q.try_pop(v));
  for (std::uint64_t i = 1; i <= 4; ++i) EXPECT_TRUE(q.try_push(i));
  EXPECT_FALSE(q.try_push(5));
  EXPECT_EQ(q.size(), 4u);
  for (std::uint64_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(q.try_pop(v));
  // Wrap around many times.
  for (std::uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(q.try_push(i));
    ASSERT_TRUE(q.try_push(i + 1));
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, i);
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, i + 1);
  }
  EXPECT_THROW(SpscQueue<int>(0), std::invalid_argument);
}

TEST(SpscQueue, OneProducerOneConsumerThread) {
  SpscQueue<std::uint64_t> q(64);
  constexpr std::uint64_t kN = 200'000;
  std::thread producer([&] {
    for (std::uint64_t i = 1; i <= kN;)
      if (q.try_push(i))
        ++i;
      else
        std::this_thread::yield();
  });
  std::uint64_t expect = 1, v = 0, sum = 0;
  while (expect <= kN) {
    if (!q.try_pop(v)) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(v, expect);
    sum += v;
    ++expect;
  }
  producer.join();
  EXPECT_EQ(sum, kN * (kN + 1) / 2);
}

}  // namespace
}  // namespace sipwall::detect
