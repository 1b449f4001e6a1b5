// The floors a parser of the INVITE mix is measured against (issue 15): the
// least work that touching each byte of a message takes.
//
//   memchr_pass  memchr for every LF (the baseline of issue 2);
//   avx2_pass    one pass of 32-byte compares: the LF mask of the message;
//   avx512_pass  one pass of 64-byte compares: its LF and colon masks.
//
// A SIMD pass leaves its masks in an index (one 64-bit word per 64 bytes, per
// mask), what the first stage of a two-stage parser must produce at the
// least. Each pass returns the number of LFs, so a caller can check that a
// pass finds what memchr finds. The AVX2 and AVX-512BW passes are compiled
// for those instruction sets by function attributes only (whatever includes
// this stays at the build's baseline) and must be called only when
// cpu_has_avx2() / cpu_has_avx512bw() say so. No byte past a message is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace sipwall::perf {

inline std::size_t memchr_pass(std::string_view m) noexcept {
  std::size_t lines = 0;
  const char* p = m.data();
  const char* end = p + m.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
    ++lines;
    ++p;
  }
  return lines;
}

#if defined(__x86_64__)
inline constexpr std::size_t kIndexWords = 65536 / 64 + 1;  // a datagram of up to 64 KiB
// The index the passes write; a caller keeps the compiler from dropping the
// stores (benchmark::DoNotOptimize, or an asm memory clobber).
struct FloorIndex {
  alignas(64) std::uint64_t lf[kIndexWords];
  alignas(64) std::uint64_t colon[kIndexWords];
};

inline bool cpu_has_avx2() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
inline bool cpu_has_avx512bw() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

__attribute__((target("avx2"))) inline std::uint64_t lf_mask64_avx2(const char* p) noexcept {
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  const auto lo = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, lf)));
  const auto hi = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, lf)));
  return lo | static_cast<std::uint64_t>(hi) << 32;
}

// LF mask, 64 bytes per step (two 32-byte compares); the partial last block
// is copied into a block of NULs.
__attribute__((target("avx2"))) inline std::size_t avx2_pass(std::string_view m, FloorIndex& ix) noexcept {
  std::size_t lines = 0;
  const char* p = m.data();
  const std::size_t whole = m.size() / 64;
  std::size_t k = 0;
  for (; k < whole; ++k) {
    const std::uint64_t lf = lf_mask64_avx2(p + 64 * k);
    ix.lf[k] = lf;
    lines += static_cast<std::size_t>(__builtin_popcountll(lf));
  }
  if (const std::size_t rest = m.size() - 64 * whole; rest != 0) {
    alignas(64) char tail[64] = {};
    std::memcpy(tail, p + 64 * whole, rest);
    const std::uint64_t lf = lf_mask64_avx2(tail);
    ix.lf[k] = lf;
    lines += static_cast<std::size_t>(__builtin_popcountll(lf));
  }
  return lines;
}

// LF and colon masks, one 64-byte compare each per step; the partial last
// block is a masked load.
__attribute__((target("avx512f,avx512bw"))) inline std::size_t avx512_pass(std::string_view m,
                                                                           FloorIndex& ix) noexcept {
  const __m512i lf = _mm512_set1_epi8('\n');
  const __m512i colon = _mm512_set1_epi8(':');
  std::size_t lines = 0;
  const char* p = m.data();
  const std::size_t n = m.size();
  std::size_t k = 0;
  for (std::size_t off = 0; off < n; off += 64, ++k) {
    const std::size_t rest = n - off;
    const __mmask64 keep = rest >= 64 ? ~0ull : (1ull << rest) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(keep, p + off);
    const std::uint64_t l = _mm512_cmpeq_epi8_mask(v, lf);
    ix.lf[k] = l;
    ix.colon[k] = _mm512_cmpeq_epi8_mask(v, colon);
    lines += static_cast<std::size_t>(__builtin_popcountll(l));
  }
  return lines;
}
#endif

}  // namespace sipwall::perf
