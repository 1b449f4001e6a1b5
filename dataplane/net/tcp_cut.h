// Cutting and rebuilding TCP segments, for the SIP-over-TCP reassembly
// (docs/packet-handling.md §6.7). Plain C++ over bytes, like the rest of net/.
//
// All sequence numbers here are in the *sender's* space: these functions run
// before SeqAdjTable maps a segment, so their output can go through
// SeqAdjTable::forward/edit/remove like any received segment.
//
// Lengths and checksums are updated incrementally (RFC 1624, via
// detail::splice_l4_payload): a segment that arrived with a bad checksum gives
// pieces with bad checksums, so cutting never launders a corrupted segment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/net/packet_decode.h"

namespace sipwall::net {

// Writes into out[0, cap) a copy of the TCP segment `src` (decoded as `pkt`,
// not a fragment) that carries only payload bytes [from, to): seq advanced by
// `from`, IP length and TCP checksum fixed, Ethernet padding dropped. FIN is
// kept only if `to` is the end of the payload (the FIN sits after the last
// byte); every other flag, the options, ack and window are kept. `out` may be
// `src` itself (in place). Returns the new frame length, or 0 (out untouched)
// if the range is outside the payload, the segment is not TCP, or cap is too
// small for the copy.
std::size_t cut_tcp_segment(const std::uint8_t* src, const DecodedPacket& pkt, std::size_t from, std::size_t to,
                            std::uint8_t* out, std::size_t cap) noexcept;

// Writes into out[0, cap) the segment `tmpl` with its payload replaced by
// `payload` (which must not lie inside out) and its sequence number set to
// `seq`; FIN is kept if `keep_fin` and tmpl has it, else cleared. Headers,
// options, ack and window come from tmpl. Returns the new frame length, or 0
// if it does not fit cap or a 16-bit IP length. Used to present a message that
// arrived in several segments to SeqAdjTable as one segment.
std::size_t rebuild_tcp_segment(const std::uint8_t* tmpl, const DecodedPacket& pkt, std::uint32_t seq,
                                std::string_view payload, bool keep_fin, std::uint8_t* out, std::size_t cap) noexcept;

// Sets the TCP flags byte of a decoded segment (checksum updated
// incrementally) and pkt.tcp_flags.
void set_tcp_flags(std::uint8_t* frame, DecodedPacket& pkt, std::uint8_t flags) noexcept;

}  // namespace sipwall::net
