#include "dataplane/net/splice.h"

#include <cstring>

#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"

namespace sipwall::net::detail {
namespace {

inline std::uint16_t swap16(std::uint16_t v) noexcept {
  return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

}  // namespace

std::size_t splice_fits(const DecodedPacket& pkt, std::size_t cap, std::size_t remove_n, std::size_t insert_n,
                        std::size_t mtu) noexcept {
  const std::size_t ip_len = pkt.ip_end - pkt.l3_offset;
  if (remove_n > ip_len) return 0;
  const std::size_t new_ip_len = ip_len - remove_n + insert_n;
  // IPv4 total length and IPv6 payload length are 16-bit fields.
  const std::size_t limit = pkt.ip_version == 4 ? 65535 : 65535 + 40;
  if (new_ip_len > limit) return 0;
  if (mtu != 0 && new_ip_len > mtu) return 0;
  if (pkt.l3_offset + new_ip_len > cap) return 0;
  return new_ip_len;
}

void splice_l4_payload(std::uint8_t* frame, std::size_t& frame_len, DecodedPacket& pkt, std::size_t at,
                       std::size_t remove_n, std::string_view insert) noexcept {
  const std::size_t ins = insert.size();
  const std::size_t tail_begin = at + remove_n;
  const std::size_t tail_end = pkt.ip_end;
  std::uint8_t* l4 = frame + pkt.l4_offset;
  const bool udp = pkt.l4_proto == 17;

  // Checksum coverage ends at the UDP length (bytes after it inside the IP
  // payload are not covered) or at the end of the TCP segment.
  const std::size_t old_l4_len = udp ? rd16(l4 + 4) : tail_end - pkt.l4_offset;
  const std::size_t covered_end = pkt.l4_offset + old_l4_len;
  const std::size_t new_l4_len = old_l4_len - remove_n + ins;
  const std::uint16_t csum_off = udp ? 6 : 16;
  std::uint16_t check = rd16(l4 + csum_off);
  const bool has_check = !(udp && pkt.ip_version == 4 && check == 0);

  if (has_check) {
    // Parity of a byte = its offset from the L4 header start (the pseudo-
    // header is 12 or 40 bytes, so that is its parity in the whole sum).
    const bool par_at = ((at - pkt.l4_offset) & 1) != 0;
    std::uint32_t removed = 0;
    std::uint32_t added = 0;
    removed = csum_partial_at(frame + at, remove_n, par_at, removed);
    added = csum_partial_at(insert.data(), ins, par_at, added);
    if ((remove_n - ins) & 1) {
      // The covered tail moves by an odd count: its bytes swap word halves.
      std::size_t n = covered_end > tail_begin ? covered_end - tail_begin : 0;
      const bool par_old = ((tail_begin - pkt.l4_offset) & 1) != 0;
      std::uint16_t s = csum_fold(csum_partial_at(frame + tail_begin, n, par_old));
      removed += s;
      added += swap16(s);
    }
    // The L4 length sits in the pseudo-header, and for UDP also in the header.
    const int copies = udp ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      removed += static_cast<std::uint16_t>(old_l4_len);
      added += static_cast<std::uint16_t>(new_l4_len);
    }
    check = csum_adjust(check, removed, added);
    if (udp && check == 0) check = 0xFFFF;
  }

  std::memmove(frame + at + ins, frame + tail_begin, tail_end - tail_begin);
  if (ins) std::memcpy(frame + at, insert.data(), ins);

  if (udp) wr16(l4 + 4, static_cast<std::uint16_t>(new_l4_len));
  if (has_check) wr16(l4 + csum_off, check);

  std::uint8_t* ip = frame + pkt.l3_offset;
  if (pkt.ip_version == 4) {
    const std::uint16_t old_total = rd16(ip + 2);
    const auto new_total = static_cast<std::uint16_t>(old_total - remove_n + ins);
    wr16(ip + 2, new_total);
    wr16(ip + 10, csum_update16(rd16(ip + 10), old_total, new_total));
  } else {
    wr16(ip + 4, static_cast<std::uint16_t>(rd16(ip + 4) - remove_n + ins));
  }
  pkt.ip_end = static_cast<std::uint32_t>(tail_end - remove_n + ins);
  pkt.payload_length = static_cast<std::uint16_t>(pkt.payload_length - remove_n + ins);
  frame_len = pkt.ip_end;
}

}  // namespace sipwall::net::detail
