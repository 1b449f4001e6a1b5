// Huge blocks: 2 MB-aligned, zeroed, whole huge pages, and marked so that the
// kernel may back them with transparent huge pages; the rule set's big
// tables (AlignedVector) live in them.
#include "rules/memory/huge_block.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rules/compiled/aligned_vector.h"
#include "rules/compiled/exact_table.h"
#include "rules/number/e164_key.h"

namespace sipwall::memory {
namespace {

bool aligned_to(const void* p, std::size_t a) {
  return reinterpret_cast<std::uintptr_t>(p) % a == 0;
}

// The THP mode in force ("always", "madvise" or "never"), "" if unknown.
std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(f, line)) return "";
  const auto a = line.find('['), b = line.find(']');
  return a == std::string::npos || b == std::string::npos ? "" : line.substr(a + 1, b - a - 1);
}

// The "THPeligible:" of the mapping that holds `p` in /proc/self/smaps:
// 1 or 0, -1 if the kernel does not say.
int thp_eligible(const void* p) {
  std::ifstream f("/proc/self/smaps");
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= addr && addr < hi;
      continue;
    }
    if (inside && line.rfind("THPeligible:", 0) == 0) return std::stoi(line.substr(12));
  }
  return -1;
}

// Skips (saying why) where the kernel cannot give huge pages at all.
#define SKIP_WITHOUT_THP()                                                                      \
  do {                                                                                          \
    const std::string mode = thp_mode();                                                        \
    if (mode.empty() || mode == "never")                                                        \
      GTEST_SKIP() << "transparent huge pages are off or unknown here (mode '" << mode << "')"; \
  } while (0)

TEST(HugeBlock, IsAlignedZeroedAndWhole) {
  const HugeBlock b = map_huge_block(5 << 20);
  ASSERT_NE(b.base, nullptr);
  EXPECT_TRUE(aligned_to(b.base, kHugePage));
  EXPECT_EQ(b.mapped, std::size_t{6} << 20);
  const auto* bytes = static_cast<const unsigned char*>(b.base);
  EXPECT_TRUE(std::all_of(bytes, bytes + b.mapped, [](unsigned char c) { return c == 0; }));
  std::memset(b.base, 0xAB, b.mapped);  // every byte of it is ours
  unmap_huge_block(b);
  EXPECT_EQ(huge_pages_for(1), kHugePage);
  EXPECT_EQ(huge_pages_for(kHugePage), kHugePage);
  EXPECT_EQ(huge_pages_for(kHugePage + 1), 2 * kHugePage);
}

TEST(HugeBlock, IsMarkedForHugePages) {
  SKIP_WITHOUT_THP();
  const HugeBlock b = map_huge_block(4 << 20);
  const int eligible = thp_eligible(b.base);
  unmap_huge_block(b);
  if (eligible < 0) GTEST_SKIP() << "this kernel's /proc/self/smaps has no THPeligible";
  EXPECT_EQ(eligible, 1) << "with THP '" << thp_mode() << "', a block without MADV_HUGEPAGE gets no huge pages";
}

// The rule set's tables: big ones in huge blocks, small ones on the heap,
// both on a cache line, and growing across the limit loses nothing.
TEST(AlignedVector, BigStorageIsAHugeBlockSmallIsACacheLine) {
  rules::AlignedVector<std::uint64_t> small(100, 7);
  EXPECT_TRUE(aligned_to(small.data(), rules::kCacheLine));
  rules::AlignedVector<std::uint64_t> big((3u << 20) / sizeof(std::uint64_t), 9);
  EXPECT_TRUE(aligned_to(big.data(), kHugePage));
  EXPECT_EQ(big.front(), 9u);
  EXPECT_EQ(big.back(), 9u);
  for (std::uint64_t i = 0; i < 400'000; ++i) small.push_back(i);  // 3.2 MB: moved into a huge block
  EXPECT_TRUE(aligned_to(small.data(), kHugePage));
  EXPECT_EQ(small[99], 7u);
  EXPECT_EQ(small[100 + 399'999], 399'999u);
  small.resize(10);
  small.shrink_to_fit();  // back onto the heap
  EXPECT_TRUE(aligned_to(small.data(), rules::kCacheLine));
  EXPECT_EQ(small[9], 7u);
}

TEST(AlignedVector, BigNumberTableIsMarkedForHugePages) {
  SKIP_WITHOUT_THP();
  // 400k numbers: about 5 MB of slots.
  std::vector<number::E164Key> keys;
  for (std::uint64_t i = 0; i < 400'000; ++i) keys.push_back(number::pack(std::to_string(8613800000000ULL + 2 * i)));
  const std::vector<std::uint32_t> values(keys.size(), 1);
  const rules::ExactTable t = rules::ExactTable::build(keys, values);
  ASSERT_GE(t.raw_keys().size() * sizeof(std::uint64_t), kHugePage);
  EXPECT_TRUE(aligned_to(t.raw_keys().data(), kHugePage));
  const int eligible = thp_eligible(t.raw_keys().data());
  if (eligible < 0) GTEST_SKIP() << "this kernel's /proc/self/smaps has no THPeligible";
  EXPECT_EQ(eligible, 1);
  for (std::size_t i = 0; i < keys.size(); i += 997) EXPECT_EQ(t.find(keys[i]), 1u);
  EXPECT_EQ(t.find(number::pack("8613800000001")), 0u);
}

}  // namespace
}  // namespace sipwall::memory
