// Internal: the message masks and the special-byte window of a header value.
//
// The message is classified once, 64 bytes at a time, into two bit masks:
// control bytes (C0 and DEL), and "special" bytes, those that are not host
// characters [A-Za-z0-9._-] (one pshufb lookup per 16 or 32 bytes gives both
// bits). The line loop finds line ends and name ends in them with a shift and
// a tzcnt. The field parsers scan runs of many byte classes (URI user, host,
// parameters, tokens, quoted text...); every one of those classes contains
// all host characters, so a run can only end on a special byte: with the
// special mask of a value (its Window) a field parser moves from special
// byte to special byte with a tzcnt and one table lookup each, instead of a
// SIMD scan per run.
//
// Nothing here depends on the instruction set the including file is built
// with (the classifiers are out of line, in sip_chars.cpp), so the inline
// members are the same in every translation unit, tests included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/sip/sip_chars.h"

namespace sipwall::sip::detail {

constexpr bool is_host_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// pshufb nibble tables answering both questions in one lookup:
// r = lo[x & 15] & hi[x >> 4]; bits 0-4 are the five distinct nibble rows of
// the host class (r & 0x1f != 0 <=> host character); bit 7 is set for
// x < 0x20 (rows 0 and 1) and bit 6 for x == 0x7f (row 7, low nibble 15).
struct WindowTables {
  std::uint8_t lo[16];
  std::uint8_t hi[16];
};

constexpr WindowTables make_window_tables() {
  WindowTables t{};
  std::uint16_t ids[5] = {};
  int n = 0;
  for (int h = 0; h < 16; ++h) {
    std::uint16_t row = 0;
    for (int l = 0; l < 16; ++l) {
      if (is_host_char(h * 16 + l)) row = static_cast<std::uint16_t>(row | (1u << l));
    }
    if (row == 0) continue;
    int k = 0;
    while (k < n && ids[k] != row) ++k;
    if (k == n) {
      if (n == 5) throw "the host class needs more than 5 nibble rows";
      ids[n++] = row;
    }
    t.hi[h] = static_cast<std::uint8_t>(t.hi[h] | (1u << k));
  }
  for (int k = 0; k < n; ++k) {
    for (int l = 0; l < 16; ++l) {
      if ((ids[k] >> l) & 1) t.lo[l] = static_cast<std::uint8_t>(t.lo[l] | (1u << k));
    }
  }
  for (int l = 0; l < 16; ++l) t.lo[l] = static_cast<std::uint8_t>(t.lo[l] | 0x80u);
  t.hi[0] = static_cast<std::uint8_t>(t.hi[0] | 0x80u);
  t.hi[1] = static_cast<std::uint8_t>(t.hi[1] | 0x80u);
  t.lo[15] = static_cast<std::uint8_t>(t.lo[15] | 0x40u);
  t.hi[7] = static_cast<std::uint8_t>(t.hi[7] | 0x40u);
  return t;
}

inline constexpr WindowTables kWindowTables = make_window_tables();

constexpr bool window_tables_exact() {
  for (int c = 0; c < 256; ++c) {
    const int r = kWindowTables.lo[c & 15] & kWindowTables.hi[c >> 4];
    if (((r & 0x1f) != 0) != is_host_char(c)) return false;
    if (((r & 0xc0) != 0) != (c < 0x20 || c == 0x7f)) return false;
    if (is_host_char(c) != ((kCharTable[static_cast<std::size_t>(c)] & kHost) != 0)) return false;
  }
  return true;
}
static_assert(window_tables_exact(), "window nibble tables disagree with the grammar tables");

// True if every host character is in class `cls`: only then can a run of
// that class be found by looking at special bytes alone.
constexpr bool covers_host(std::uint32_t cls) {
  for (int c = 0; c < 256; ++c) {
    if (is_host_char(c) && (kCharTable[static_cast<std::size_t>(c)] & cls) == 0) return false;
  }
  return true;
}

// Bytes a window covers. Two 64-bit masks; the bit for position kWindow (one
// past the last covered byte) is always set, so a search never runs dry.
inline constexpr std::size_t kWindow = 127;

// The special bytes of [base, base + kWindow): bit i of m[i / 64] set <=>
// base[i] is not a host character. Bits past the classified bytes are set.
struct Window {
  const char* base = nullptr;  // null: no window (m is then not read)
  std::uint64_t m[2];

  // Does the window cover [base, end]? (end itself may be a special byte.)
  bool covers(const char* end) const noexcept {
    return base != nullptr && static_cast<std::size_t>(end - base) < kWindow;
  }
  // First special byte at or after q (base <= q <= base + kWindow): the
  // next special byte, or the first byte past the classified ones.
  __attribute__((always_inline)) const char* next(const char* q) const noexcept {
    const std::size_t off = static_cast<std::size_t>(q - base);
    if (off < 64) {
      const std::uint64_t x = m[0] >> off;
      if (x != 0) return q + __builtin_ctzll(x);
      return base + 64 + __builtin_ctzll(m[1]);
    }
    return q + __builtin_ctzll(m[1] >> (off - 64));
  }
  // First byte in [q, end) not in class Cls, or end: skip_run() for a class
  // that holds every host character; Cls == 0 is skip_run(kHost). end must
  // be covered.
  template <std::uint32_t Cls>
  __attribute__((always_inline)) const char* run(const char* q, const char* end) const noexcept {
    static_assert(Cls == 0 || covers_host(Cls), "Window::run needs a class holding all host characters (0: host run)");
    for (;;) {
      q = next(q);
      if (q >= end) return end;
      if constexpr (Cls == 0) {
        return q;
      } else {
        if (!is(*q, Cls)) return q;
        ++q;
      }
    }
  }
  // run<> that also steps over valid %HH escapes (skip_escaped()); stops at a
  // bad one, where the caller sees the '%'.
  template <std::uint32_t Cls>
  __attribute__((always_inline)) const char* run_escaped(const char* q, const char* end) const noexcept {
    static_assert(covers_host(Cls), "Window::run_escaped needs a class holding all host characters");
    for (;;) {
      q = next(q);
      if (q >= end) return end;
      if (is(*q, Cls)) {
        ++q;
      } else if (*q == '%' && escape_ok(q, end)) {
        q += 3;
      } else {
        return q;
      }
    }
  }
};

// Masks of one 64-byte block: bit i is set for byte i.
struct BlockMasks {
  std::uint64_t special;  // not a host character
  std::uint64_t ctl;      // a control byte
};

// Classifies n whole blocks of 64 readable bytes from p into special[i] and
// ctl[i] (sip_chars.cpp): with AVX2 when g_use_avx2, 32 bytes per step, else
// SSSE3 16 bytes per step (or byte by byte without SIMD).
void classify_blocks(const char* p, std::size_t n, std::uint64_t* special, std::uint64_t* ctl) noexcept;

// Set once at start-up: the CPU has AVX2 and SIPWALL_SIP_NO_AVX2 is not set
// in the environment (which forces the SSSE3 path, for tests). Tests may
// flip it; nothing else writes it.
extern bool g_use_avx2;

// The control-byte and special-byte masks of a whole message, classified
// 64 bytes at a time as the line loop reaches them. Why: with the masks, the
// line loop finds a name's end and a line's end with a shift and a tzcnt
// instead of a search loop whose exit depends on the line's length (a branch
// the CPU mispredicts once per line), and a field parser gets its Window
// for free. Each byte of the header section is classified once; the body is
// not read beyond the block that holds the end of the headers.
//
// The last kRing blocks are kept. The line loop moves forward and looks at
// most kLookahead blocks past the start of the current line.
class MessageMasks {
 public:
  static constexpr std::size_t kLookahead = 3;

  MessageMasks(const char* origin, const char* limit) noexcept
      : origin_(origin), size_(static_cast<std::size_t>(limit - origin)) {}
  MessageMasks(const MessageMasks&) = delete;
  MessageMasks& operator=(const MessageMasks&) = delete;

  const char* origin() const noexcept { return origin_; }

  // Classifies up to block k (blocks past the end of the buffer read as all
  // ones: every byte special, every byte a control byte). Callers read no
  // block below k - kLookahead afterwards.
  void need(std::size_t k) noexcept {
    if (__builtin_expect(k >= done_, 0)) fill(k);
  }
  // The 64 mask bits from offset `off`; blocks off/64 and off/64 + 1 must
  // have been classified and still be in the ring.
  std::uint64_t special64(std::size_t off) const noexcept { return bits(special_, off); }
  std::uint64_t ctl64(std::size_t off) const noexcept { return bits(ctl_, off); }
  // The Window of the kWindow bytes from offset `off` (blocks off/64 to
  // off/64 + 2 classified).
  void window(std::size_t off, Window& w) const noexcept {
    w.base = origin_ + off;
    w.m[0] = bits(special_, off);
    w.m[1] = bits(special_, off + 64);
  }

 private:
  static constexpr std::size_t kRing = 16;  // the loop reads kLookahead + 1 blocks + a batch

  static std::uint64_t bits(const std::uint64_t* a, std::size_t off) noexcept {
    const std::size_t k = off >> 6;
    const unsigned o = static_cast<unsigned>(off & 63);
    const std::uint64_t lo = a[k & (kRing - 1)];
    const std::uint64_t hi = a[(k + 1) & (kRing - 1)];
#if defined(__x86_64__)
    // One shrd: (lo >> o) | (hi << (64 - o)) for o < 64, and lo for o == 0.
    // The portable form below costs two variable shifts and an or (and a
    // 128-bit shift would make GCC handle o >= 64 and spill both words);
    // this runs four times per header line.
    std::uint64_t r = lo;
    asm("shrdq %%cl, %1, %0" : "+r"(r) : "r"(hi), "c"(o) : "cc");
    return r;
#else
    // (hi << 1) << (63 - o): no shift by 64 when o == 0.
    return (lo >> o) | ((hi << 1) << (63 - o));
#endif
  }

  // Classifies at least up to block k, kBatch blocks at a time: one call
  // every few lines, not one per line.
  static constexpr std::size_t kBatch = 4;
  [[gnu::noinline]] void fill(std::size_t k) noexcept {
    // The usual call: the next batch, all whole readable blocks, not wrapping
    // around the ring. What fill_any() would do in that case, without its
    // frame (the 64-byte-aligned tail buffer costs a realigned stack and six
    // saved registers on every call, three or four times per message).
    const std::size_t d = done_;
    const std::size_t slot = d & (kRing - 1);
    if (k < d + kBatch && d + kBatch <= (size_ >> 6) && slot <= kRing - kBatch) {
      classify_blocks(origin_ + (d << 6), kBatch, special_ + slot, ctl_ + slot);
      done_ = d + kBatch;
      return;
    }
    fill_any(k);
  }
  [[gnu::noinline]] void fill_any(std::size_t k) noexcept {
    // Blocks the loop went past (a long line taken by the general path) are
    // not classified at all: a caller asking for block k reads no block
    // below k - kLookahead.
    if (k > done_ + kLookahead) done_ = k - kLookahead;
    // Batches extend over whole readable blocks only; the buffer's partial
    // last block (classified byte by byte) and the blocks past it are
    // classified only when asked for.
    const std::size_t whole = size_ >> 6;
    std::size_t want = done_ + kBatch < whole ? done_ + kBatch : whole;
    if (want <= k) want = k + 1;
    while (done_ < want) {
      const std::size_t slot = done_ & (kRing - 1);
      std::size_t count = want - done_;
      if (count > kRing - slot) count = kRing - slot;  // up to the end of the ring
      const std::size_t start = done_ << 6;
      const std::size_t full = start < size_ ? (size_ - start) >> 6 : 0;  // readable whole blocks
      const std::size_t simd = full < count ? full : count;
      classify_blocks(origin_ + start, simd, special_ + slot, ctl_ + slot);
      for (std::size_t i = simd; i < count; ++i) {
        const std::size_t bs = start + (i << 6);
        special_[slot + i] = ~0ull;
        ctl_[slot + i] = ~0ull;
        if (bs < size_) {
          // The buffer's partial last block: its bytes copied into a block
          // of NULs, which classify as control and special bytes, exactly
          // what the bytes past the buffer must read as.
          alignas(64) char tail[64] = {};
          std::memcpy(tail, origin_ + bs, size_ - bs);
          classify_blocks(tail, 1, special_ + slot + i, ctl_ + slot + i);
        }
      }
      done_ += count;
    }
  }

  const char* origin_;
  std::size_t size_;
  std::size_t done_ = 0;  // blocks [0, done_) are classified
  std::uint64_t special_[kRing];
  std::uint64_t ctl_[kRing];
};

}  // namespace sipwall::sip::detail
