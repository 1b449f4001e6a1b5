// Turning a received request frame into the frame that answers it: Ethernet
// addresses swapped (VLAN tags kept as they are), IP addresses swapped, a
// fresh IP header, ports swapped, the given payload, lengths and checksums.
//
// Where the answer goes: a bump in the wire has no routes, so the reply leaves
// through the ingress port to the frame's source MAC, addressed to the
// packet's source IP and port. That is where the request came from, NAT
// included; RFC 3261 §18.2.2 would pick the Via received/rport or sent-by
// port instead, which is the same for symmetric signalling (RFC 3581) and for
// trunks that send from their listening port. ReplyOptions::dst_port lets a
// caller apply the Via rule (see via_response_port() in sip_response.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/net/packet_decode.h"

namespace sipwall::net {

#define SIPWALL_REPLY_RESULTS(X)                           \
  X(ok, "reply built")                                     \
  X(not_udp, "request is not a UDP datagram")              \
  X(not_tcp, "request is not a TCP segment")               \
  X(fragment, "request is an IP fragment")                 \
  X(no_room, "output buffer too small")                    \
  X(exceeds_mtu, "reply IP datagram would exceed the MTU") \
  X(too_large, "reply longer than an IP length field can carry")

enum class ReplyResult : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_REPLY_RESULTS(SIPWALL_X)
#undef SIPWALL_X
      count_
};
std::string_view to_string(ReplyResult r) noexcept;

struct ReplyOptions {
  std::uint16_t ip_id = 0;     // IPv4 Identification (a per-lcore counter; DF is set)
  std::uint8_t ttl = 64;       // IPv4 TTL / IPv6 hop limit
  std::uint16_t dst_port = 0;  // UDP only: 0 = the request's source port
  std::size_t mtu = 0;         // bound on the reply IP datagram length, 0 = none
};

// What was written: offsets in the output frame and its total length.
struct ReplyLayout {
  ReplyResult result = ReplyResult::ok;
  std::uint8_t ip_version = 0;
  std::uint8_t l4_proto = 0;
  std::uint16_t l3_offset = 0;
  std::uint16_t l4_offset = 0;
  std::uint16_t payload_offset = 0;
  std::size_t length = 0;  // whole frame (valid after finish / one-shot build)
};

// A UDP reply in two phases, so the SIP response is built straight into the
// reply buffer: begin writes L2-L4 headers and returns where the payload goes
// (out must not be the request buffer: the response is built from views into
// the request); the caller writes payload_length bytes at out +
// payload_offset (at most cap - payload_offset); finish fills lengths and
// checksums. IPv4: IHL 5 (options dropped), DSCP kept, ECN cleared, DF, TTL,
// ip_id, checksum. IPv6: traffic class kept (ECN cleared), flow label 0,
// extension headers dropped, hop limit. The Ethernet frame is not padded to
// 60 bytes (the NIC pads).
ReplyLayout begin_udp_reply(const std::uint8_t* req, const DecodedPacket& pkt, std::uint8_t* out, std::size_t cap,
                            const ReplyOptions& o) noexcept;
ReplyLayout finish_reply(std::uint8_t* out, ReplyLayout layout, std::size_t payload_length, std::size_t cap,
                         const ReplyOptions& o) noexcept;

// TCP reply segment toward the sender of `req` (a segment of the same
// connection): seq/ack/window from the plan (see SeqAdjTable in
// tcp_seqadj.h), flags PSH|ACK with a payload, ACK alone without. If the
// request carried a Timestamps option (RFC 7323) the reply carries one with
// TSval = the request's TSecr (a value of the peer's clock the sender has
// already seen, so PAWS accepts it) and TSecr = the request's TSval.
struct TcpReplySpec {
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint16_t window = 0xFFFF;
};
ReplyLayout build_tcp_reply(const std::uint8_t* req, const DecodedPacket& pkt, const TcpReplySpec& spec,
                            std::string_view payload, std::uint8_t* out, std::size_t cap,
                            const ReplyOptions& o) noexcept;

}  // namespace sipwall::net
