#include "sip/sip_chars.h"

namespace sipwall::sip::detail {

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
