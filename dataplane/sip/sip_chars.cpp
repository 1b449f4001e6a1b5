#include "dataplane/sip/sip_chars.h"

#include <cstdlib>

#include "dataplane/sip/sip_window.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace sipwall::sip::detail {

#if defined(__x86_64__)
namespace {
bool detect_avx2() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && std::getenv("SIPWALL_SIP_NO_AVX2") == nullptr;
}
}  // namespace

bool g_use_avx2 = detect_avx2();

// Only these two functions are compiled for AVX2 (a function attribute, not
// a compiler flag): everything else stays at the library's baseline, so no
// inline function shared with another translation unit can pick up AVX2
// code, and they run only when the CPU has AVX2.
//
// r = lo[x & 15] & hi[x >> 4] (see WindowTables) for 32 bytes: bit 7 of
// r | r + r marks control bytes, r & 0x1f == 0 the special bytes.
__attribute__((target("avx2"), always_inline)) static inline void classify32_avx2(const char* q, __m256i lo_t,
                                                                                  __m256i hi_t, std::uint32_t& special,
                                                                                  std::uint32_t& ctl) noexcept {
  const __m256i k0f = _mm256_set1_epi8(0x0f);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
  const __m256i r = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, _mm256_and_si256(v, k0f)),
                                     _mm256_shuffle_epi8(hi_t, _mm256_and_si256(_mm256_srli_epi16(v, 4), k0f)));
  ctl = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_or_si256(r, _mm256_add_epi8(r, r))));
  special = static_cast<std::uint32_t>(
      _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(r, _mm256_set1_epi8(0x1f)), _mm256_setzero_si256())));
}

__attribute__((target("avx2"))) static void classify_blocks_avx2(const char* p, std::size_t n, std::uint64_t* special,
                                                                 std::uint64_t* ctl) noexcept {
  const __m256i lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kWindowTables.lo)));
  const __m256i hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kWindowTables.hi)));
  for (std::size_t i = 0; i < n; ++i, p += 64) {
    std::uint32_t s0, c0, s1, c1;
    classify32_avx2(p, lo_t, hi_t, s0, c0);
    classify32_avx2(p + 32, lo_t, hi_t, s1, c1);
    special[i] = s0 | static_cast<std::uint64_t>(s1) << 32;
    ctl[i] = c0 | static_cast<std::uint64_t>(c1) << 32;
  }
}
#else
bool g_use_avx2 = false;
#endif

#if defined(__SSSE3__)
namespace {
// Control-byte and special-byte masks of the 16 bytes at p: r = lo[x & 15] &
// hi[x >> 4] (WindowTables); bit 7 of r | r + r marks control bytes (r + r
// moves the DEL bit 6 onto bit 7), r & 0x1f == 0 the special bytes.
inline void classify16(const char* p, std::uint64_t& special, std::uint64_t& ctl, int shift) noexcept {
  const __m128i k0f = _mm_set1_epi8(0x0f);
  const __m128i lo_t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kWindowTables.lo));
  const __m128i hi_t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kWindowTables.hi));
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i r = _mm_and_si128(_mm_shuffle_epi8(lo_t, _mm_and_si128(v, k0f)),
                                  _mm_shuffle_epi8(hi_t, _mm_and_si128(_mm_srli_epi16(v, 4), k0f)));
  ctl |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(r, _mm_add_epi8(r, r)))))
         << shift;
  special |= static_cast<std::uint64_t>(static_cast<unsigned>(
                 _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(r, _mm_set1_epi8(0x1f)), _mm_setzero_si128()))))
             << shift;
}
}  // namespace
#endif

void classify_blocks(const char* p, std::size_t n, std::uint64_t* special, std::uint64_t* ctl) noexcept {
#if defined(__x86_64__)
  if (g_use_avx2) {
    classify_blocks_avx2(p, n, special, ctl);
    return;
  }
#endif
  for (std::size_t i = 0; i < n; ++i, p += 64) {
    std::uint64_t sp = 0;
    std::uint64_t ct = 0;
#if defined(__SSSE3__)
    classify16(p, sp, ct, 0);
    classify16(p + 16, sp, ct, 16);
    classify16(p + 32, sp, ct, 32);
    classify16(p + 48, sp, ct, 48);
#else
    for (std::size_t j = 0; j < 64; ++j) {
      const auto c = static_cast<unsigned char>(p[j]);
      if (!is_host_char(c)) sp |= 1ull << j;
      if (c < 0x20 || c == 0x7f) ct |= 1ull << j;
    }
#endif
    special[i] = sp;
    ctl[i] = ct;
  }
}

bool verify_byte_classes() noexcept {
  for (std::uint32_t b = 0; b < kByteClasses.size(); ++b) {
    const std::uint32_t bit = 1u << b;
    for (int i = 0; i < 256; ++i) {
      const auto c = static_cast<unsigned char>(i);
      const ByteClass& cls = kByteClasses[b];
      const bool nibble = (cls.lo[c & 15] & cls.hi[c >> 4]) != 0;
      if (nibble != is(static_cast<char>(c), bit)) return false;
    }
#if defined(__SSSE3__)
    // The SIMD path over all 256 bytes, 16 at a time.
    for (int base = 0; base < 256; base += 16) {
      alignas(16) unsigned char block[16];
      for (int j = 0; j < 16; ++j) block[j] = static_cast<unsigned char>(base + j);
      const unsigned m = class_mask(_mm_load_si128(reinterpret_cast<const __m128i*>(block)), bit);
      for (int j = 0; j < 16; ++j) {
        if ((((m >> j) & 1u) != 0) != is(static_cast<char>(block[j]), bit)) return false;
      }
    }
#endif
  }
  return true;
}

}  // namespace sipwall::sip::detail
