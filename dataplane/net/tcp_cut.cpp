#include "dataplane/net/tcp_cut.h"

#include <cstring>

#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/splice.h"

namespace sipwall::net {
namespace {

inline bool is_tcp_segment(const DecodedPacket& pkt) noexcept {
  return pkt.l4_proto == 6 && !pkt.is_fragment && pkt.ip_version != 0 &&
         pkt.payload_offset + std::size_t{pkt.payload_length} <= pkt.ip_end;
}

void rewrite_seq(std::uint8_t* frame, const DecodedPacket& pkt, std::uint32_t seq) noexcept {
  std::uint8_t* tcp = frame + pkt.l4_offset;
  const std::uint32_t old = rd32(tcp + 4);
  if (old == seq) return;
  wr32(tcp + 4, seq);
  wr16(tcp + 16, csum_update32(rd16(tcp + 16), old, seq));
}

}  // namespace

void set_tcp_flags(std::uint8_t* frame, DecodedPacket& pkt, std::uint8_t flags) noexcept {
  std::uint8_t* tcp = frame + pkt.l4_offset;
  const std::uint16_t old_word = rd16(tcp + 12);
  tcp[13] = flags;
  wr16(tcp + 16, csum_update16(rd16(tcp + 16), old_word, rd16(tcp + 12)));
  pkt.tcp_flags = flags;
}

std::size_t cut_tcp_segment(const std::uint8_t* src, const DecodedPacket& pkt, std::size_t from, std::size_t to,
                            std::uint8_t* out, std::size_t cap) noexcept {
  if (!is_tcp_segment(pkt) || from > to || to > pkt.payload_length) return 0;
  if (pkt.ip_end > cap) return 0;
  if (out != src) std::memcpy(out, src, pkt.ip_end);
  DecodedPacket d = pkt;
  std::size_t len = pkt.ip_end;
  const std::size_t n = pkt.payload_length;
  // Tail first, so the head cut moves as few bytes as possible.
  if (to < n) detail::splice_l4_payload(out, len, d, d.payload_offset + to, n - to, {});
  if (from > 0) detail::splice_l4_payload(out, len, d, d.payload_offset, from, {});
  rewrite_seq(out, d, pkt.tcp_seq + static_cast<std::uint32_t>(from));
  if (to < n && (pkt.tcp_flags & kTcpFin)) {
    set_tcp_flags(out, d, static_cast<std::uint8_t>(pkt.tcp_flags & ~kTcpFin));
  }
  return len;
}

std::size_t rebuild_tcp_segment(const std::uint8_t* tmpl, const DecodedPacket& pkt, std::uint32_t seq,
                                std::string_view payload, bool keep_fin, std::uint8_t* out, std::size_t cap) noexcept {
  if (!is_tcp_segment(pkt)) return 0;
  if (pkt.ip_end > cap) return 0;
  if (detail::splice_fits(pkt, cap, pkt.payload_length, payload.size(), 0) == 0) return 0;
  std::memcpy(out, tmpl, pkt.ip_end);
  DecodedPacket d = pkt;
  std::size_t len = pkt.ip_end;
  detail::splice_l4_payload(out, len, d, d.payload_offset, d.payload_length, payload);
  rewrite_seq(out, d, seq);
  if (!keep_fin && (pkt.tcp_flags & kTcpFin)) {
    set_tcp_flags(out, d, static_cast<std::uint8_t>(pkt.tcp_flags & ~kTcpFin));
  }
  return len;
}

}  // namespace sipwall::net
