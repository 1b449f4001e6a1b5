#include "dataplane/net/reply_frame.h"

#include <cstring>

#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/tcp_options.h"

namespace sipwall::net {
namespace {

constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kTcpHeader = 20;
constexpr std::size_t kTcpTsOption = 12;  // NOP NOP kind=8 len=10 TSval TSecr

// Everything the reply needs from the request, copied out first so the
// request buffer may be overwritten (in-place replies).
struct Saved {
  std::uint8_t mac_dst[6];
  std::uint8_t mac_src[6];
  std::uint8_t l2_tail[10];  // VLAN tags + EtherType (at most 2 tags)
  std::size_t l2_tail_len = 0;
  bool has_ethernet = false;
  std::uint8_t traffic_class = 0;  // IPv4 TOS / IPv6 traffic class
  std::uint8_t src[16];
  std::uint8_t dst[16];
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  bool has_ts = false;
  std::uint32_t tsval = 0;
  std::uint32_t tsecr = 0;
};

void save(const std::uint8_t* req, const DecodedPacket& pkt, Saved& s) noexcept {
  s.has_ethernet = pkt.l3_offset >= 14;
  if (s.has_ethernet) {
    std::memcpy(s.mac_dst, req, 6);
    std::memcpy(s.mac_src, req + 6, 6);
    s.l2_tail_len = pkt.l3_offset - 12u;
    if (s.l2_tail_len > sizeof s.l2_tail) s.l2_tail_len = sizeof s.l2_tail;
    std::memcpy(s.l2_tail, req + 12, s.l2_tail_len);
  }
  const std::uint8_t* ip = req + pkt.l3_offset;
  if (pkt.ip_version == 4) {
    s.traffic_class = ip[1];
    std::memcpy(s.src, ip + 12, 4);
    std::memcpy(s.dst, ip + 16, 4);
  } else {
    s.traffic_class = static_cast<std::uint8_t>(((ip[0] & 0x0F) << 4) | (ip[1] >> 4));
    std::memcpy(s.src, ip + 8, 16);
    std::memcpy(s.dst, ip + 24, 16);
  }
  s.sport = pkt.src_port;
  s.dport = pkt.dst_port;
  if (pkt.l4_proto == 6) {
    const std::uint8_t* tcp = req + pkt.l4_offset;
    const std::size_t doff = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    detail::for_each_tcp_option(tcp + kTcpHeader, doff - kTcpHeader,
                                [&](std::uint8_t kind, std::size_t off, std::size_t len) {
                                  if (kind == detail::kTcpOptTimestamp && len == 10) {
                                    s.has_ts = true;
                                    s.tsval = rd32(tcp + kTcpHeader + off + 2);
                                    s.tsecr = rd32(tcp + kTcpHeader + off + 6);
                                  }
                                });
  }
}

std::size_t header_bytes(const DecodedPacket& pkt, std::uint8_t proto, bool ts) noexcept {
  std::size_t n = pkt.l3_offset;
  n += pkt.ip_version == 4 ? kIpv4Header : kIpv6Header;
  n += proto == 17 ? kUdpHeader : kTcpHeader + (ts ? kTcpTsOption : 0);
  return n;
}

// Size checks shared by the one-shot and two-phase paths.
ReplyResult check_size(std::uint8_t ip_version, std::size_t l3_offset, std::size_t headers, std::size_t payload_length,
                       std::size_t cap, const ReplyOptions& o) noexcept {
  const std::size_t ip_len = headers - l3_offset + payload_length;
  const std::size_t ip_limit = ip_version == 4 ? 65535 : 65535 + kIpv6Header;
  if (ip_len > ip_limit) return ReplyResult::too_large;
  if (o.mtu != 0 && ip_len > o.mtu) return ReplyResult::exceeds_mtu;
  if (headers + payload_length > cap) return ReplyResult::no_room;
  return ReplyResult::ok;
}

ReplyLayout write_headers(const DecodedPacket& pkt, const Saved& s, std::uint8_t proto, const TcpReplySpec* spec,
                          std::uint8_t* out, const ReplyOptions& o) noexcept {
  ReplyLayout lay;
  lay.ip_version = pkt.ip_version;
  lay.l4_proto = proto;
  lay.l3_offset = pkt.l3_offset;
  if (s.has_ethernet) {
    std::memcpy(out, s.mac_src, 6);  // back to the sender's MAC
    std::memcpy(out + 6, s.mac_dst, 6);
    std::memcpy(out + 12, s.l2_tail, s.l2_tail_len);
  }
  std::uint8_t* ip = out + pkt.l3_offset;
  if (pkt.ip_version == 4) {
    ip[0] = 0x45;
    ip[1] = static_cast<std::uint8_t>(s.traffic_class & 0xFC);  // keep DSCP, clear ECN
    wr16(ip + 2, 0);                                            // total length: finish
    wr16(ip + 4, o.ip_id);
    wr16(ip + 6, 0x4000);  // DF, offset 0
    ip[8] = o.ttl;
    ip[9] = proto;
    wr16(ip + 10, 0);
    std::memcpy(ip + 12, s.dst, 4);
    std::memcpy(ip + 16, s.src, 4);
    lay.l4_offset = static_cast<std::uint16_t>(pkt.l3_offset + kIpv4Header);
  } else {
    const std::uint8_t tc = static_cast<std::uint8_t>(s.traffic_class & 0xFC);
    ip[0] = static_cast<std::uint8_t>(0x60 | (tc >> 4));
    ip[1] = static_cast<std::uint8_t>(tc << 4);  // flow label 0
    ip[2] = 0;
    ip[3] = 0;
    wr16(ip + 4, 0);  // payload length: finish
    ip[6] = proto;    // extension headers dropped
    ip[7] = o.ttl;
    std::memcpy(ip + 8, s.dst, 16);
    std::memcpy(ip + 24, s.src, 16);
    lay.l4_offset = static_cast<std::uint16_t>(pkt.l3_offset + kIpv6Header);
  }
  std::uint8_t* l4 = out + lay.l4_offset;
  if (proto == 17) {
    wr16(l4, s.dport);
    wr16(l4 + 2, o.dst_port != 0 ? o.dst_port : s.sport);
    wr16(l4 + 4, 0);
    wr16(l4 + 6, 0);
    lay.payload_offset = static_cast<std::uint16_t>(lay.l4_offset + kUdpHeader);
  } else {
    wr16(l4, s.dport);
    wr16(l4 + 2, s.sport);
    wr32(l4 + 4, spec->seq);
    wr32(l4 + 8, spec->ack);
    const std::size_t hl = kTcpHeader + (s.has_ts ? kTcpTsOption : 0);
    l4[12] = static_cast<std::uint8_t>((hl / 4) << 4);
    l4[13] = 0;  // flags: finish (PSH only with a payload)
    wr16(l4 + 14, spec->window);
    wr16(l4 + 16, 0);
    wr16(l4 + 18, 0);
    if (s.has_ts) {
      l4[20] = detail::kTcpOptNop;
      l4[21] = detail::kTcpOptNop;
      l4[22] = detail::kTcpOptTimestamp;
      l4[23] = 10;
      wr32(l4 + 24, s.tsecr);
      wr32(l4 + 28, s.tsval);
    }
    lay.payload_offset = static_cast<std::uint16_t>(lay.l4_offset + hl);
  }
  return lay;
}

}  // namespace

std::string_view to_string(ReplyResult r) noexcept {
  switch (r) {
#define SIPWALL_X(name, text) \
  case ReplyResult::name:     \
    return #name;
    SIPWALL_REPLY_RESULTS(SIPWALL_X)
#undef SIPWALL_X
    case ReplyResult::count_:
      break;
  }
  return "unknown";
}

ReplyLayout finish_reply(std::uint8_t* out, ReplyLayout lay, std::size_t payload_length, std::size_t cap,
                         const ReplyOptions& o) noexcept {
  if (lay.result != ReplyResult::ok) return lay;
  lay.result = check_size(lay.ip_version, lay.l3_offset, lay.payload_offset, payload_length, cap, o);
  if (lay.result != ReplyResult::ok) return lay;
  std::uint8_t* ip = out + lay.l3_offset;
  std::uint8_t* l4 = out + lay.l4_offset;
  const std::size_t l4_len = lay.payload_offset - lay.l4_offset + payload_length;
  std::uint32_t pseudo;
  if (lay.ip_version == 4) {
    wr16(ip + 2, static_cast<std::uint16_t>(kIpv4Header + l4_len));
    wr16(ip + 10, ipv4_header_checksum(ip));
    pseudo = csum_pseudo_v4(ip + 12, ip + 16, lay.l4_proto, static_cast<std::uint16_t>(l4_len));
  } else {
    wr16(ip + 4, static_cast<std::uint16_t>(l4_len));
    pseudo = csum_pseudo_v6(ip + 8, ip + 24, lay.l4_proto, static_cast<std::uint32_t>(l4_len));
  }
  if (lay.l4_proto == 17) {
    wr16(l4 + 4, static_cast<std::uint16_t>(l4_len));
  } else {
    l4[13] = payload_length != 0 ? (kTcpPsh | kTcpAck) : kTcpAck;
  }
  wr16(l4 + (lay.l4_proto == 17 ? 6 : 16), 0);
  wr16(l4 + (lay.l4_proto == 17 ? 6 : 16), l4_checksum(pseudo, l4, l4_len, lay.l4_proto));
  lay.length = lay.payload_offset + payload_length;
  return lay;
}

ReplyLayout begin_udp_reply(const std::uint8_t* req, const DecodedPacket& pkt, std::uint8_t* out, std::size_t cap,
                            const ReplyOptions& o) noexcept {
  ReplyLayout lay;
  if (pkt.l4_proto != 17 || pkt.ip_version == 0) {
    lay.result = ReplyResult::not_udp;
    return lay;
  }
  if (pkt.is_fragment) {
    lay.result = ReplyResult::fragment;
    return lay;
  }
  const std::size_t hdr = header_bytes(pkt, 17, false);
  lay.result = check_size(pkt.ip_version, pkt.l3_offset, hdr, 0, cap, o);
  if (lay.result != ReplyResult::ok) return lay;
  Saved s;
  save(req, pkt, s);
  return write_headers(pkt, s, 17, nullptr, out, o);
}

ReplyLayout build_tcp_reply(const std::uint8_t* req, const DecodedPacket& pkt, const TcpReplySpec& spec,
                            std::string_view payload, std::uint8_t* out, std::size_t cap,
                            const ReplyOptions& o) noexcept {
  ReplyLayout lay;
  if (pkt.ip_version == 0 || pkt.l4_proto != 6) {
    lay.result = ReplyResult::not_tcp;
    return lay;
  }
  if (pkt.is_fragment) {
    lay.result = ReplyResult::fragment;
    return lay;
  }
  ReplyOptions tcp_o = o;
  tcp_o.dst_port = 0;  // a TCP reply belongs to the connection
  Saved s;
  save(req, pkt, s);
  const std::size_t hdr = header_bytes(pkt, 6, s.has_ts);
  lay.result = check_size(pkt.ip_version, pkt.l3_offset, hdr, payload.size(), cap, tcp_o);
  if (lay.result != ReplyResult::ok) return lay;
  // Payload first: its source may overlap the request headers (in place).
  if (!payload.empty()) std::memmove(out + hdr, payload.data(), payload.size());
  lay = write_headers(pkt, s, 6, &spec, out, tcp_o);
  return finish_reply(out, lay, payload.size(), cap, tcp_o);
}

}  // namespace sipwall::net
