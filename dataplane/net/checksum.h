// Internet checksums (RFC 1071): IPv4 header, UDP/TCP over IPv4 and IPv6
// pseudo-headers, and incremental updates (RFC 1624) for small edits.
//
// Conventions: a "sum" is an unfolded 32-bit accumulator of 16-bit words read
// in network byte order; a "checksum" is the 16-bit value as it is written into
// the packet (host-order integer of the big-endian field, write it with a
// big-endian store). Chained partial sums must start at even offsets of the
// whole checksummed range; use csum_partial_at() for a piece at an odd offset.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipwall::net {

struct DecodedPacket;

// Adds `len` bytes at `data` (an even offset of the whole range) to `sum`.
std::uint32_t csum_partial(const void* data, std::size_t len, std::uint32_t sum = 0) noexcept;
// Same for bytes that sit at an odd (odd_offset=true) or even offset.
std::uint32_t csum_partial_at(const void* data, std::size_t len, bool odd_offset, std::uint32_t sum = 0) noexcept;
// Folds a sum to 16 bits (end-around carry), not complemented.
std::uint16_t csum_fold(std::uint32_t sum) noexcept;
// The checksum to store for a sum that covered the field as zero.
inline std::uint16_t csum_finish(std::uint32_t sum) noexcept {
  return static_cast<std::uint16_t>(~csum_fold(sum));
}

// Pseudo-header sums (RFC 768/793 for IPv4, RFC 8200 §8.1 for IPv6).
// `l4_length` is the UDP length / TCP segment length (header + data).
std::uint32_t csum_pseudo_v4(const std::uint8_t* src4, const std::uint8_t* dst4, std::uint8_t proto,
                             std::uint16_t l4_length) noexcept;
std::uint32_t csum_pseudo_v6(const std::uint8_t* src16, const std::uint8_t* dst16, std::uint8_t proto,
                             std::uint32_t l4_length) noexcept;

// IPv4 header checksum of the header at `ip` (IHL read from it); the checksum
// field itself is skipped, so the result can be stored directly.
std::uint16_t ipv4_header_checksum(const std::uint8_t* ip) noexcept;
// True if the stored IPv4 header checksum is right.
bool ipv4_header_checksum_ok(const std::uint8_t* ip) noexcept;

// UDP/TCP checksum of `l4_length` bytes at `l4` given the pseudo-header sum;
// the 16-bit field at `csum_field` (6 for UDP, 16 for TCP) counts as zero.
// For UDP a computed 0 is returned as 0xFFFF (RFC 768: 0 means "none").
std::uint16_t l4_checksum(std::uint32_t pseudo_sum, const std::uint8_t* l4, std::size_t l4_length,
                          std::uint8_t proto) noexcept;

// Frame-level helpers over a decoded (non-fragment) UDP/TCP packet. The
// IPv6 pseudo-header uses the IPv6 destination field: a packet whose Routing
// header still has segments left is checksummed to its final destination by
// the sender, which these helpers do not look for (such packets are rare on
// SIP trunks; the rewrite paths use incremental updates and are unaffected).
std::uint16_t compute_l4_checksum(const std::uint8_t* frame, const DecodedPacket& pkt) noexcept;
// True if the stored L4 checksum verifies (UDP over IPv4 with checksum 0 counts as valid).
bool l4_checksum_ok(const std::uint8_t* frame, const DecodedPacket& pkt) noexcept;

// Incremental updates, RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
std::uint16_t csum_update16(std::uint16_t check, std::uint16_t old_word, std::uint16_t new_word) noexcept;
std::uint16_t csum_update32(std::uint16_t check, std::uint32_t old_value, std::uint32_t new_value) noexcept;
// General form: the covered data lost words summing to `removed` and gained
// words summing to `added` (sums as returned by csum_partial*).
std::uint16_t csum_adjust(std::uint16_t check, std::uint32_t removed, std::uint32_t added) noexcept;

}  // namespace sipwall::net
