// HEPv3, the Homer Encapsulation Protocol (docs/export.md): one captured SIP
// message as "HEP3", a 16-bit total length and typed chunks (vendor 0):
//
//   0x0001 IP family (2 IPv4, 10 IPv6)     0x0002 IP protocol (17 UDP, 6 TCP)
//   0x0003/0x0004 IPv4 source/destination  0x0005/0x0006 IPv6 source/destination
//   0x0007/0x0008 source/destination port  0x0009/0x000a time: seconds, microseconds
//   0x000b protocol type (1 = SIP)         0x000c capture agent id
//   0x000e authentication key (optional)   0x000f the captured payload
//   0x0011 correlation id (the Call-ID)
//
// Every integer is in network order. Plain bytes in, bytes out: no
// allocation, nothing thrown; what does not fit the 16-bit length (or the
// caller's buffer) is refused with 0.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipwall::watch {

struct HepMessage {
  std::uint8_t ip_version = 4;  // 4 or 6
  std::uint8_t ip_protocol = 17;
  std::array<std::uint8_t, 16> src{};  // IPv4 in the first 4 bytes
  std::array<std::uint8_t, 16> dst{};
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t time_s = 0;
  std::uint32_t time_us = 0;
  std::uint32_t agent_id = 0;
  std::string_view auth_key;        // not sent when empty
  std::string_view correlation_id;  // not sent when empty
  std::string_view payload;
};

inline constexpr std::size_t kHepMax = 65535;

// The encoded size of `m`, or 0 if it is over kHepMax or `ip_version` is
// neither 4 nor 6.
std::size_t hep_size(const HepMessage& m) noexcept;

// Writes `m` into out[0..cap); returns its length, 0 if it does not fit
// (hep_size(m) == 0 or > cap).
std::size_t encode_hep(const HepMessage& m, std::uint8_t* out, std::size_t cap) noexcept;

}  // namespace sipwall::watch
