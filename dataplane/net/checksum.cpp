#include "dataplane/net/checksum.h"

#include <cstring>

#include "dataplane/net/bytes.h"
#include "dataplane/net/packet_decode.h"

namespace sipwall::net {
namespace {

inline std::uint16_t bswap16(std::uint16_t v) noexcept {
  return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// One's-complement addition of a 64-bit word: the carry out wraps around.
inline std::uint64_t add_wrap(std::uint64_t acc, std::uint64_t w) noexcept {
  acc += w;
  return acc + (acc < w ? 1 : 0);
}

}  // namespace

std::uint16_t csum_fold(std::uint32_t sum) noexcept {
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// The one's-complement sum is byte-order independent (RFC 1071 §2(B)) and can
// be taken over any word size and folded: sum native-order 64-bit words with
// end-around carry, 32 bytes per step, fold to 16 bits and swap once at the
// end. On x86-64 the step is one add/adc chain (as Linux's csum_partial);
// GCC does not make that chain from portable code.
std::uint32_t csum_partial(const void* data, std::size_t len, std::uint32_t sum) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint64_t acc = 0;
  while (len >= 32) {
    std::uint64_t a, b, c, d;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    std::memcpy(&c, p + 16, 8);
    std::memcpy(&d, p + 24, 8);
#if defined(__x86_64__)
    asm("addq %1, %0\n\tadcq %2, %0\n\tadcq %3, %0\n\tadcq %4, %0\n\tadcq $0, %0"
        : "+r"(acc)
        : "r"(a), "r"(b), "r"(c), "r"(d)
        : "cc");
#else
    acc = add_wrap(add_wrap(add_wrap(add_wrap(acc, a), b), c), d);
#endif
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    acc = add_wrap(acc, w);
    p += 8;
    len -= 8;
  }
  // To 33 bits, which leaves room for the tail.
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  if (len >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len) acc += kLittleEndian ? std::uint64_t{*p} : std::uint64_t{*p} << 8;
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  std::uint16_t folded = csum_fold(static_cast<std::uint32_t>(acc));
  if (kLittleEndian) folded = bswap16(folded);
  return std::uint32_t{csum_fold(sum)} + folded;
}

std::uint32_t csum_partial_at(const void* data, std::size_t len, bool odd_offset, std::uint32_t sum) noexcept {
  if (!odd_offset) return csum_partial(data, len, sum);
  // A byte at an odd offset is the low half of its word: the sum of a range
  // shifted by one byte is the byte-swapped sum.
  std::uint16_t s = bswap16(csum_fold(csum_partial(data, len, 0)));
  return std::uint32_t{csum_fold(sum)} + s;
}

std::uint32_t csum_pseudo_v4(const std::uint8_t* src4, const std::uint8_t* dst4, std::uint8_t proto,
                             std::uint16_t l4_length) noexcept {
  std::uint32_t sum = csum_partial(src4, 4);
  sum = csum_partial(dst4, 4, sum);
  return sum + proto + l4_length;
}

std::uint32_t csum_pseudo_v6(const std::uint8_t* src16, const std::uint8_t* dst16, std::uint8_t proto,
                             std::uint32_t l4_length) noexcept {
  std::uint32_t sum = csum_partial(src16, 16);
  sum = csum_partial(dst16, 16, sum);
  return sum + (l4_length >> 16) + (l4_length & 0xFFFF) + proto;
}

std::uint16_t ipv4_header_checksum(const std::uint8_t* ip) noexcept {
  std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
  std::uint32_t sum = csum_partial(ip, 10);
  sum = csum_partial(ip + 12, ihl - 12, sum);
  return csum_finish(sum);
}

bool ipv4_header_checksum_ok(const std::uint8_t* ip) noexcept {
  std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
  return csum_fold(csum_partial(ip, ihl)) == 0xFFFF;
}

std::uint16_t l4_checksum(std::uint32_t pseudo_sum, const std::uint8_t* l4, std::size_t l4_length,
                          std::uint8_t proto) noexcept {
  const std::size_t field = proto == 17 ? 6 : 16;
  std::uint32_t sum = csum_partial(l4, field, pseudo_sum);
  sum = csum_partial(l4 + field + 2, l4_length - field - 2, sum);
  std::uint16_t c = csum_finish(sum);
  if (proto == 17 && c == 0) c = 0xFFFF;
  return c;
}

namespace {

// Pseudo-header sum and covered length for a decoded packet.
std::uint32_t frame_pseudo(const std::uint8_t* frame, const DecodedPacket& pkt, std::size_t& l4_length) noexcept {
  const std::uint8_t* l4 = frame + pkt.l4_offset;
  if (pkt.l4_proto == 17) {
    l4_length = rd16(l4 + 4);
  } else {
    l4_length = static_cast<std::size_t>(pkt.ip_end - pkt.l4_offset);
  }
  if (pkt.ip_version == 4) {
    return csum_pseudo_v4(pkt.src.data() + 12, pkt.dst.data() + 12, pkt.l4_proto,
                          static_cast<std::uint16_t>(l4_length));
  }
  return csum_pseudo_v6(pkt.src.data(), pkt.dst.data(), pkt.l4_proto, static_cast<std::uint32_t>(l4_length));
}

}  // namespace

std::uint16_t compute_l4_checksum(const std::uint8_t* frame, const DecodedPacket& pkt) noexcept {
  std::size_t len = 0;
  std::uint32_t pseudo = frame_pseudo(frame, pkt, len);
  return l4_checksum(pseudo, frame + pkt.l4_offset, len, pkt.l4_proto);
}

bool l4_checksum_ok(const std::uint8_t* frame, const DecodedPacket& pkt) noexcept {
  const std::uint8_t* l4 = frame + pkt.l4_offset;
  if (pkt.l4_proto == 17 && pkt.ip_version == 4 && rd16(l4 + 6) == 0) return true;
  std::size_t len = 0;
  std::uint32_t pseudo = frame_pseudo(frame, pkt, len);
  return csum_fold(csum_partial(l4, len, pseudo)) == 0xFFFF;
}

std::uint16_t csum_update16(std::uint16_t check, std::uint16_t old_word, std::uint16_t new_word) noexcept {
  std::uint32_t sum = static_cast<std::uint16_t>(~check);
  sum += static_cast<std::uint16_t>(~old_word);
  sum += new_word;
  return static_cast<std::uint16_t>(~csum_fold(sum));
}

std::uint16_t csum_update32(std::uint16_t check, std::uint32_t old_value, std::uint32_t new_value) noexcept {
  std::uint32_t sum = static_cast<std::uint16_t>(~check);
  sum += static_cast<std::uint16_t>(~(old_value >> 16));
  sum += static_cast<std::uint16_t>(~old_value);
  sum += new_value >> 16;
  sum += new_value & 0xFFFF;
  return static_cast<std::uint16_t>(~csum_fold(sum));
}

std::uint16_t csum_adjust(std::uint16_t check, std::uint32_t removed, std::uint32_t added) noexcept {
  std::uint32_t sum = static_cast<std::uint16_t>(~check);
  sum += static_cast<std::uint16_t>(~csum_fold(removed));
  sum += csum_fold(added);
  return static_cast<std::uint16_t>(~csum_fold(sum));
}

}  // namespace sipwall::net
