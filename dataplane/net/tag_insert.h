// The `tag` action on UDP: insert one header line (e.g. "X-Sipwall-Risk:
// score=70;rule=r12") just before the empty line that ends the SIP headers,
// and (insert_tag) the display-name label and verstat of identity_marks.h,
// inside the frame buffer, then fix IP/UDP lengths and checksums. The SIP
// body and Content-Length are untouched (the body does not change). TCP is
// refused here: a TCP edit shifts the byte stream and goes through
// SeqAdjTable::edit() (tcp_seqadj.h; dataplane/tcp/send.h tag_piece).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/net/identity_marks.h"
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
  X(bad_line, "header line, label or verstat holds CR/LF, controls or quotes.") \
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

// The whole tag of `spec`: its header line and, when the spec has them, the
// label and verstat marks in From and every kept P-Asserted-Identity value
// (identity_marks.h), for the message `msg` parsed from the first byte of
// the UDP payload. Each mark is spliced in place from the last to the first
// (a tagged INVITE costs a few memmoves of its tail; no scratch buffer). The
// MTU and frame room are checked for the largest intermediate length before
// anything is written: on any result but ok the frame is untouched.
// `plan` (if not null) receives what was planned (labels/verstats counts).
TagResult insert_tag(std::uint8_t* frame, std::size_t& frame_len, std::size_t frame_cap, DecodedPacket& pkt,
                     const sip::Message& msg, const TagSpec& spec, std::size_t mtu, TagPlan* plan = nullptr) noexcept;

}  // namespace sipwall::net
