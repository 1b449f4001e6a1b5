// Internal: replace a byte range inside the L4 payload of a decoded UDP/TCP
// frame and fix every length and checksum that covers it. Used by tag_insert
// (UDP) and tcp_seqadj (TCP edits). Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/net/packet_decode.h"

namespace sipwall::net::detail {

// Replaces `remove_n` bytes at frame offset `at` (inside the L4 payload) by
// `insert`, moving the rest of the IP datagram; bytes after the datagram
// (Ethernet padding) are dropped. Fixes IPv4 total length + header checksum or
// the IPv6 payload length, the UDP length, and the UDP/TCP checksum, all
// incrementally (RFC 1624): an already wrong checksum stays wrong, so a
// corrupted datagram is never laundered into a valid one, and IPv6 routing-
// header pseudo-headers need no special case. A UDP-over-IPv4 checksum of 0
// ("none") stays 0. Updates pkt.ip_end and pkt.payload_length; frame_len
// becomes the new frame length.
//
// The caller has checked: not a fragment, UDP or TCP, at/remove_n inside the
// payload, `insert` outside the frame, and that the result fits (see
// splice_fits). Never writes at or past frame + cap.
void splice_l4_payload(std::uint8_t* frame, std::size_t& frame_len, DecodedPacket& pkt, std::size_t at,
                       std::size_t remove_n, std::string_view insert) noexcept;

// New IP datagram length after the splice, or 0 if it would not fit `cap`,
// 65535, or `mtu` (0 = no MTU check).
std::size_t splice_fits(const DecodedPacket& pkt, std::size_t cap, std::size_t remove_n, std::size_t insert_n,
                        std::size_t mtu) noexcept;

}  // namespace sipwall::net::detail
