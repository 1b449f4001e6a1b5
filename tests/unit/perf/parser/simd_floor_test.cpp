// The SIMD floors of perf/parser/simd_floor.h find exactly the LFs (and, with
// AVX-512BW, the colons) memchr finds, at every length around the 64-byte
// block and its partial tail, with LFs on every position of a block. A floor
// that missed or invented line ends would be a floor of nothing.
#include "perf/parser/simd_floor.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

using sipwall::perf::FloorIndex;
using sipwall::perf::memchr_pass;

// A message of n bytes with an LF wherever (i * step + phase) % 7 == 0 and a
// colon wherever it is 3; the rest printable.
std::string sample(std::size_t n, std::size_t step, std::size_t phase) {
  std::string s(n, 'a');
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = (i * step + phase) % 7;
    s[i] = r == 0 ? '\n' : r == 3 ? ':' : static_cast<char>('a' + i % 26);
  }
  return s;
}

// The bits of `words` masks for n bytes, compared with the bytes themselves.
void expect_mask(const std::uint64_t* words, const std::string& s, char c) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    ASSERT_EQ(((words[i / 64] >> (i % 64)) & 1) != 0, s[i] == c) << "byte " << i << " of " << s.size();
  }
  // Past the end: no bit (nothing beyond the message was read as one).
  for (std::size_t i = s.size(); i % 64 != 0; ++i) ASSERT_EQ((words[i / 64] >> (i % 64)) & 1, 0u) << i;
}

TEST(SimdFloor, MemchrCountsEveryLf) {
  EXPECT_EQ(memchr_pass(""), 0u);
  EXPECT_EQ(memchr_pass("\n"), 1u);
  EXPECT_EQ(memchr_pass("a\r\nb\n\n"), 3u);
}

#if defined(__x86_64__)
TEST(SimdFloor, Avx2PassFindsWhatMemchrFinds) {
  if (!sipwall::perf::cpu_has_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
  auto ix = std::make_unique<FloorIndex>();
  for (std::size_t n : {0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1020, 1500}) {
    for (std::size_t step : {1, 3}) {
      for (std::size_t phase = 0; phase < 7; ++phase) {
        const std::string s = sample(n, step, phase);
        ASSERT_EQ(sipwall::perf::avx2_pass(s, *ix), memchr_pass(s)) << n << " " << step << " " << phase;
        expect_mask(ix->lf, s, '\n');
      }
    }
  }
}

TEST(SimdFloor, Avx512PassFindsLfsAndColons) {
  if (!sipwall::perf::cpu_has_avx512bw()) GTEST_SKIP() << "this CPU has no AVX-512BW";
  auto ix = std::make_unique<FloorIndex>();
  for (std::size_t n : {0, 1, 2, 63, 64, 65, 127, 128, 129, 1020, 1500}) {
    for (std::size_t step : {1, 3}) {
      for (std::size_t phase = 0; phase < 7; ++phase) {
        const std::string s = sample(n, step, phase);
        ASSERT_EQ(sipwall::perf::avx512_pass(s, *ix), memchr_pass(s)) << n << " " << step << " " << phase;
        expect_mask(ix->lf, s, '\n');
        expect_mask(ix->colon, s, ':');
      }
    }
  }
}
#endif

}  // namespace
