// L2-L4 decoding of one frame: Ethernet, 802.1Q / 802.1ad (QinQ), IPv4,
// IPv6 with extension headers, UDP, TCP. Plain C++ over bytes (no DPDK types)
// so the same code serves the data plane, sipwallctl and the tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipwall::net {

#define SIPWALL_DECODE_RESULTS(X)                                      \
  X(ok, "decoded")                                                     \
  X(truncated_ethernet, "frame shorter than its Ethernet/VLAN header") \
  X(not_ip, "EtherType is neither IPv4 nor IPv6")                      \
  X(truncated_ip, "IP header truncated")                               \
  X(bad_ip_header, "IP header malformed (version, IHL, lengths)")      \
  X(bad_ipv6_extension, "IPv6 extension header chain malformed")       \
  X(not_udp_tcp, "IP payload is neither UDP nor TCP")                  \
  X(truncated_l4, "UDP/TCP header truncated")                          \
  X(bad_l4_length, "UDP length or TCP data offset malformed")

enum class DecodeResult : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_DECODE_RESULTS(SIPWALL_X)
#undef SIPWALL_X
      count_
};
std::string_view to_string(DecodeResult r) noexcept;

enum class L4Proto : std::uint8_t { none = 0, tcp = 6, udp = 17 };

// TCP header flag bits (byte 13).
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;

inline constexpr std::uint16_t kNoVlan = 0xFFFF;

struct DecodedPacket {
  // Layer 2.
  std::uint16_t outer_vlan = kNoVlan;  // first VLAN id (802.1ad S-tag or 802.1Q tag)
  std::uint16_t inner_vlan = kNoVlan;  // second tag of QinQ
  std::uint8_t vlan_count = 0;
  std::uint16_t ethertype = 0;  // after the VLAN tags
  // Layer 3. Addresses are 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
  std::uint8_t ip_version = 0;  // 4 or 6
  std::array<std::uint8_t, 16> src{};
  std::array<std::uint8_t, 16> dst{};
  std::uint16_t l3_offset = 0;
  std::uint16_t l4_offset = 0;
  std::uint32_t ip_end = 0;   // one past the IP datagram (Ethernet padding excluded)
  std::uint8_t l4_proto = 0;  // IP protocol number of the payload
  // Fragments: for IPv4 from the header, for IPv6 from the Fragment header.
  bool is_fragment = false;            // MF set or offset != 0
  std::uint16_t ipv6_frag_header = 0;  // offset of the IPv6 Fragment header, 0 if none
  bool has_ah = false;                 // IPv6 AH in the chain: rewriting would break its ICV
  // Layer 4.
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t tcp_seq = 0;
  std::uint32_t tcp_ack = 0;
  std::uint16_t tcp_window = 0;  // raw (unscaled) window field
  std::uint8_t tcp_flags = 0;
  std::uint16_t payload_offset = 0;  // first byte of UDP/TCP payload in the frame
  std::uint16_t payload_length = 0;  // bytes of payload (bounded by IP and UDP lengths)

  std::string_view payload(const std::uint8_t* frame) const noexcept {
    return {reinterpret_cast<const char*>(frame) + payload_offset, payload_length};
  }
};

// Decodes `frame` (starting at the Ethernet header). A fragment decodes up to
// L3 (is_fragment set, l4_offset at the fragment data) and returns ok; its L4
// fields stay zero unless it is the first fragment (then the ports are read and
// payload_length is what this fragment carries). Up to two VLAN tags (0x8100,
// 0x88A8, 0x9100 in any order); a third tag ends decoding with not_ip. Never
// reads outside [frame, frame + len). Checksums are not verified here (see
// checksum.h). IPv6 jumbograms (payload length 0) are refused as malformed.
DecodeResult decode_frame(const std::uint8_t* frame, std::size_t len, DecodedPacket& out) noexcept;

// Same, for a frame that starts at the IP header (pcap LINKTYPE_RAW, Linux cooked).
DecodeResult decode_ip(const std::uint8_t* ip, std::size_t len, DecodedPacket& out) noexcept;

// Formats a 16-byte address (IPv4-mapped shown as dotted quad, IPv6 in RFC 5952
// form). Writes at most cap-1 characters plus a NUL; returns the characters
// written (0 if cap is 0).
std::size_t format_address(const std::array<std::uint8_t, 16>& a, char* buf, std::size_t cap) noexcept;

}  // namespace sipwall::net
