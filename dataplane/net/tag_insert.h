// The `tag` action on UDP: insert one header line (e.g. "X-Sipwall-Risk:
// score=70;rule=r12") just before the empty line that ends the SIP headers,
// inside the frame buffer, then fix IP/UDP lengths and checksums. The SIP
// body and Content-Length are untouched (the body does not change). TCP is
// refused here: a TCP edit shifts the byte stream and goes through
// SeqAdjTable::edit() (tcp_seqadj.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/net/packet_decode.h"

namespace sipwall::sip {
struct Message;
}

namespace sipwall::net {

#define SIPWALL_TAG_RESULTS(X)                                                  \
  X(ok, "header inserted")                                                      \
  X(not_udp, "not a UDP datagram")                                              \
  X(tcp, "TCP segment: use SeqAdjTable::edit")                                  \
  X(fragment, "IP fragment: tag the reassembled datagram instead")              \
  X(authenticated, "IPv6 AH protects the datagram")                             \
  X(bad_line, "header line is empty, has no colon, or contains CR/LF/controls") \
  X(bad_offset, "headers_end does not point at the empty line in the payload")  \
  X(exceeds_mtu, "tagged datagram would exceed the MTU")                        \
  X(no_tailroom, "frame buffer too small for the tagged frame")

enum class TagResult : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_TAG_RESULTS(SIPWALL_X)
#undef SIPWALL_X
      count_
};
std::string_view to_string(TagResult r) noexcept;

// True if `line` can be inserted as a header line: "name: value" with a token
// name, no CR, LF or other control characters except HTAB. Check it when the
// configuration is loaded; insert_header_line() checks it again.
bool valid_header_line(std::string_view line) noexcept;

// Inserts `line` + line terminator at UDP-payload offset `headers_end` (the
// first byte of the empty line, sip::Message::headers_end when the payload was
// parsed from its first byte). The terminator copies the message's: CRLF, or
// LF if the empty line is a bare LF. `frame_cap` is the writable size of the
// buffer at `frame` (data + tailroom); `mtu` bounds the new IP datagram length
// (0 = no bound). On success frame_len and pkt are updated (pkt.ip_end,
// pkt.payload_length); on any other result nothing was written.
TagResult insert_header_line(std::uint8_t* frame, std::size_t& frame_len, std::size_t frame_cap, DecodedPacket& pkt,
                             std::size_t headers_end, std::string_view line, std::size_t mtu) noexcept;

// Same, reading headers_end from the parsed message (parsed from the payload start).
TagResult insert_header_line(std::uint8_t* frame, std::size_t& frame_len, std::size_t frame_cap, DecodedPacket& pkt,
                             const sip::Message& msg, std::string_view line, std::size_t mtu) noexcept;

}  // namespace sipwall::net
