// Where a SIP message came from, as the data plane's L2-L4 decoder saw it.
// Plain data, no DPDK types.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sipwall::classify {

enum class IpFamily : std::uint8_t { ipv4, ipv6 };
enum class Transport : std::uint8_t { udp, tcp, tls, sctp, other };

inline constexpr std::int32_t kNoVlan = -1;

struct PacketSource {
  // 16 bytes, network order; IPv4 addresses as IPv4-mapped IPv6
  // (::ffff:a.b.c.d), the form trunk prefixes are stored in.
  std::array<std::uint8_t, 16> src_ip{};
  std::array<std::uint8_t, 16> dst_ip{};
  IpFamily family = IpFamily::ipv4;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;   // the local port the call arrived on (trunk `port:`)
  std::int32_t vlan = kNoVlan;  // outer 802.1Q VLAN id, or kNoVlan if untagged
  Transport transport = Transport::udp;

  // ::ffff:a.b.c.d from the four bytes of an IPv4 address (network order).
  static std::array<std::uint8_t, 16> ipv4_mapped(const std::uint8_t v4[4]) noexcept;
  // "192.0.2.1" or "2001:db8::1" -> 16 bytes (IPv4 mapped). False if neither.
  static bool parse_ip(std::string_view text, std::array<std::uint8_t, 16>& out, IpFamily& family) noexcept;
};

}  // namespace sipwall::classify
