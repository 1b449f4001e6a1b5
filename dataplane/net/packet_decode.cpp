#include "dataplane/net/packet_decode.h"

#include <algorithm>
#include <cstring>

#include "dataplane/net/bytes.h"

namespace sipwall::net {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;  // pre-standard S-tag still seen on carrier gear

// Decodes UDP or TCP at `off` inside `frame`; `end` is where the IP payload ends.
DecodeResult decode_l4(const std::uint8_t* frame, std::size_t off, std::size_t end, DecodedPacket& out) noexcept {
  out.l4_offset = static_cast<std::uint16_t>(off);
  out.ip_end = static_cast<std::uint32_t>(end);
  if (out.l4_proto == static_cast<std::uint8_t>(L4Proto::udp)) {
    if (end - off < 8) return DecodeResult::truncated_l4;
    const std::uint8_t* u = frame + off;
    out.src_port = rd16(u);
    out.dst_port = rd16(u + 2);
    std::size_t ulen = rd16(u + 4);
    if (out.is_fragment) {  // first fragment: the UDP length covers the whole datagram
      out.payload_offset = static_cast<std::uint16_t>(off + 8);
      out.payload_length = static_cast<std::uint16_t>(end - off - 8);
      return DecodeResult::ok;
    }
    if (ulen < 8 || ulen > end - off) return DecodeResult::bad_l4_length;
    out.payload_offset = static_cast<std::uint16_t>(off + 8);
    out.payload_length = static_cast<std::uint16_t>(ulen - 8);
    return DecodeResult::ok;
  }
  if (out.l4_proto == static_cast<std::uint8_t>(L4Proto::tcp)) {
    if (end - off < 20) return DecodeResult::truncated_l4;
    const std::uint8_t* t = frame + off;
    out.src_port = rd16(t);
    out.dst_port = rd16(t + 2);
    out.tcp_seq = rd32(t + 4);
    out.tcp_ack = rd32(t + 8);
    std::size_t doff = static_cast<std::size_t>(t[12] >> 4) * 4;
    out.tcp_flags = t[13];
    out.tcp_window = rd16(t + 14);
    if (doff < 20 || doff > end - off) return DecodeResult::bad_l4_length;
    out.payload_offset = static_cast<std::uint16_t>(off + doff);
    out.payload_length = static_cast<std::uint16_t>(end - off - doff);
    return DecodeResult::ok;
  }
  return DecodeResult::not_udp_tcp;
}

DecodeResult decode_ipv4(const std::uint8_t* frame, std::size_t off, std::size_t len, DecodedPacket& out) noexcept {
  if (len - off < 20) return DecodeResult::truncated_ip;
  const std::uint8_t* ip = frame + off;
  if ((ip[0] >> 4) != 4) return DecodeResult::bad_ip_header;
  // The addresses first: deny_sources drops a denied source's frames even
  // when the rest of the header is broken (docs/packet-handling.md §0).
  out.ip_version = 4;
  out.l3_offset = static_cast<std::uint16_t>(off);
  out.src = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, ip[12], ip[13], ip[14], ip[15]};
  out.dst = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, ip[16], ip[17], ip[18], ip[19]};
  std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
  std::size_t total = rd16(ip + 2);
  if (ihl < 20 || total < ihl || total > len - off) return DecodeResult::bad_ip_header;
  out.l4_proto = ip[9];
  std::uint16_t frag = rd16(ip + 6);
  std::uint16_t frag_off = frag & 0x1FFF;
  bool more = (frag & 0x2000) != 0;
  out.is_fragment = more || frag_off != 0;
  if (out.is_fragment && frag_off != 0) {  // no L4 header in a non-first fragment
    out.l4_offset = static_cast<std::uint16_t>(off + ihl);
    out.ip_end = static_cast<std::uint32_t>(off + total);
    out.payload_offset = out.l4_offset;
    out.payload_length = static_cast<std::uint16_t>(total - ihl);
    return DecodeResult::ok;
  }
  return decode_l4(frame, off + ihl, off + total, out);
}

bool is_ipv6_extension(std::uint8_t nh) noexcept {
  return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

DecodeResult decode_ipv6(const std::uint8_t* frame, std::size_t off, std::size_t len, DecodedPacket& out) noexcept {
  if (len - off < 40) return DecodeResult::truncated_ip;
  const std::uint8_t* ip = frame + off;
  if ((ip[0] >> 4) != 6) return DecodeResult::bad_ip_header;
  out.ip_version = 6;  // the addresses first, as for IPv4
  out.l3_offset = static_cast<std::uint16_t>(off);
  std::memcpy(out.src.data(), ip + 8, 16);
  std::memcpy(out.dst.data(), ip + 24, 16);
  std::size_t plen = rd16(ip + 4);
  if (plen > len - off - 40) return DecodeResult::bad_ip_header;
  std::size_t end = off + 40 + plen;
  std::size_t pos = off + 40;
  std::uint8_t nh = ip[6];
  // Walk the extension header chain; the count bound stops a crafted loop.
  for (int guard = 0; is_ipv6_extension(nh); ++guard) {
    if (guard > 8 || end - pos < 8) return DecodeResult::bad_ipv6_extension;
    const std::uint8_t* h = frame + pos;
    std::size_t hlen;
    if (nh == 44) {  // Fragment header: fixed 8 bytes
      std::uint16_t fo = rd16(h + 2);
      std::uint16_t frag_off = fo >> 3;
      bool more = (fo & 1) != 0;
      // An atomic fragment (offset 0, M clear; RFC 6946) is a whole datagram.
      out.is_fragment = out.is_fragment || more || frag_off != 0;
      if (out.ipv6_frag_header == 0) out.ipv6_frag_header = static_cast<std::uint16_t>(pos);
      hlen = 8;
      if (frag_off != 0) {  // no L4 header in a non-first fragment
        out.l4_proto = h[0];
        out.l4_offset = static_cast<std::uint16_t>(pos + 8);
        out.ip_end = static_cast<std::uint32_t>(end);
        out.payload_offset = out.l4_offset;
        out.payload_length = static_cast<std::uint16_t>(end - pos - 8);
        return DecodeResult::ok;
      }
    } else if (nh == 51) {  // AH: length in 4-octet units, minus 2
      out.has_ah = true;
      hlen = (static_cast<std::size_t>(h[1]) + 2) * 4;
    } else {
      hlen = (static_cast<std::size_t>(h[1]) + 1) * 8;
    }
    if (hlen > end - pos) return DecodeResult::bad_ipv6_extension;
    nh = h[0];
    pos += hlen;
  }
  out.l4_proto = nh;
  return decode_l4(frame, pos, end, out);
}

DecodeResult decode_ip_at(const std::uint8_t* frame, std::size_t off, std::size_t len, DecodedPacket& out) noexcept {
  if (off >= len) return DecodeResult::truncated_ip;
  switch (frame[off] >> 4) {
    case 4:
      return decode_ipv4(frame, off, len, out);
    case 6:
      return decode_ipv6(frame, off, len, out);
    default:
      return DecodeResult::bad_ip_header;
  }
}

}  // namespace

std::string_view to_string(DecodeResult r) noexcept {
  switch (r) {
#define SIPWALL_X(name, text) \
  case DecodeResult::name:    \
    return #name;
    SIPWALL_DECODE_RESULTS(SIPWALL_X)
#undef SIPWALL_X
    case DecodeResult::count_:
      break;
  }
  return "unknown";
}

DecodeResult decode_frame(const std::uint8_t* frame, std::size_t len, DecodedPacket& out) noexcept {
  out = DecodedPacket{};
  if (len < 14) return DecodeResult::truncated_ethernet;
  std::size_t off = 12;
  std::uint16_t type = rd16(frame + off);
  // Up to two tags: 802.1ad (or legacy 0x9100) outer, 802.1Q inner.
  while ((type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) && out.vlan_count < 2) {
    if (len < off + 6) return DecodeResult::truncated_ethernet;
    std::uint16_t tci = rd16(frame + off + 2) & 0x0FFF;
    if (out.vlan_count == 0)
      out.outer_vlan = tci;
    else
      out.inner_vlan = tci;
    ++out.vlan_count;
    off += 4;
    type = rd16(frame + off);
  }
  out.ethertype = type;
  off += 2;
  if (type == kEtherIpv4) return decode_ipv4(frame, off, len, out);
  if (type == kEtherIpv6) return decode_ipv6(frame, off, len, out);
  return DecodeResult::not_ip;
}

DecodeResult decode_ip(const std::uint8_t* ip, std::size_t len, DecodedPacket& out) noexcept {
  out = DecodedPacket{};
  return decode_ip_at(ip, 0, len, out);
}

namespace {

// Hand-written rather than snprintf: a reject formats the source address
// into its Via `received=` on the packet path, and snprintf's format parsing
// cost ~2,000 instructions per reject there (perf/profile.sh).
char* put_decimal(char* o, unsigned v) noexcept {
  if (v >= 100) *o++ = static_cast<char>('0' + v / 100);
  if (v >= 10) *o++ = static_cast<char>('0' + v / 10 % 10);
  *o++ = static_cast<char>('0' + v % 10);
  return o;
}

char* put_hex_group(char* o, unsigned v) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  int shift = 12;
  while (shift > 0 && ((v >> shift) & 0xF) == 0) shift -= 4;  // no leading zeros (RFC 5952 §4.1)
  for (; shift >= 0; shift -= 4) *o++ = kHex[(v >> shift) & 0xF];
  return o;
}

}  // namespace

std::size_t format_address(const std::array<std::uint8_t, 16>& a, char* buf, std::size_t cap) noexcept {
  if (cap == 0) return 0;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  char text[48];  // the longest form, 8 groups of 4 and 7 colons, is 39
  char* o = text;
  if (std::memcmp(a.data(), kMapped, 12) == 0) {
    for (int i = 12; i < 16; ++i) {
      if (i != 12) *o++ = '.';
      o = put_decimal(o, a[static_cast<std::size_t>(i)]);
    }
  } else {
    // Zero compression of the longest run of two or more zero groups, the
    // first of equal runs (RFC 5952 §4.2); lower-case hex.
    std::uint16_t g[8];
    for (int i = 0; i < 8; ++i) g[i] = rd16(a.data() + 2 * i);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (g[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && g[j] == 0) ++j;
      if (j - i > best_len && j - i > 1) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        *o++ = ':';
        *o++ = ':';
        i += best_len - 1;
        continue;
      }
      if (i != 0 && i != best + best_len) *o++ = ':';
      o = put_hex_group(o, g[i]);
    }
  }
  const std::size_t n = std::min(static_cast<std::size_t>(o - text), cap - 1);
  std::memcpy(buf, text, n);
  buf[n] = '\0';
  return n;
}

}  // namespace sipwall::net
