// libFuzzer target for frame decoding and the per-frame rewrites built on it
// (dataplane/net, docs/packet-handling.md §1-5). The input is one Ethernet
// frame, as a NIC or a pcap hands it to the data plane. Checked on every
// input:
//  * decode_frame / decode_ip: whatever they accept lies inside the frame
//    (every offset, length and payload byte; ASan sees a read outside), in
//    the documented order (l3 < l4 <= payload <= ip_end <= frame length);
//  * UDP: a reply (begin_udp_reply + finish_reply, as the worker builds
//    it) decodes back with ports swapped and good checksums; the tag
//    insertion at the message's empty line keeps a good checksum good and
//    grows the payload exactly;
//  * TCP: a cut piece (cut_tcp_segment), a rebuilt segment
//    (rebuild_tcp_segment) and a reply (build_tcp_reply) decode back with
//    the payload and numbers asked for, and never launder or break a
//    checksum: good stays good, bad stays bad.
// Seeds: tests/fuzz/seeds/frame_decode (the frames of tests/data/sample.pcap).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/tag_insert.h"
#include "dataplane/net/tcp_cut.h"
#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/net/udp_reply.h"

namespace {

using namespace sipwall::net;

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "invariant broken at line %d: %s\n", line, what);
  std::abort();
}
#define check(cond)                     \
  do {                                  \
    if (!(cond)) fail(#cond, __LINE__); \
  } while (0)

std::uint64_t g_sum = 0;  // keeps the payload reads

void check_decoded(const std::uint8_t* frame, std::size_t len, const DecodedPacket& d, bool from_l3) {
  check(d.ip_version == 4 || d.ip_version == 6);
  check(from_l3 ? d.l3_offset == 0 : d.l3_offset >= 14);
  check(d.l3_offset < d.l4_offset || d.l4_offset == 0);
  check(d.ip_end <= len);
  check(d.l4_offset <= d.ip_end);
  check(d.payload_offset >= d.l4_offset);
  check(std::size_t{d.payload_offset} + d.payload_length <= d.ip_end);
  if (d.ipv6_frag_header != 0) check(d.ipv6_frag_header >= d.l3_offset + 40u && d.ipv6_frag_header + 8u <= d.ip_end);
  if (!d.is_fragment && d.l4_proto == 6) check(d.payload_offset >= d.l4_offset + 20u);
  if (!d.is_fragment && d.l4_proto == 17) check(d.payload_offset == d.l4_offset + 8u);
  for (std::size_t i = 0; i < d.payload_length; ++i) g_sum += frame[d.payload_offset + i];
  for (std::size_t i = d.l3_offset; i < d.payload_offset; ++i) g_sum += frame[i];
}

bool decodes_as(const std::uint8_t* f, std::size_t n, std::uint8_t proto, DecodedPacket& out) {
  return decode_frame(f, n, out) == DecodeResult::ok && !out.is_fragment && out.l4_proto == proto;
}

// Payload bytes chosen from the input, for the rewrites.
std::string_view tail(const std::uint8_t* data, std::size_t size, std::size_t max) {
  const std::size_t n = size < max ? size : max;
  return {reinterpret_cast<const char*>(data + size - n), n};
}

void udp_rewrites(const std::uint8_t* frame, std::size_t len, const DecodedPacket& d) {
  const std::string_view payload = tail(frame, len, 300);
  std::vector<std::uint8_t> out(len + 512);
  ReplyOptions o;
  o.ip_id = 7;
  ReplyLayout lay = nettest::udp_reply(frame, d, payload, out.data(), out.size(), o);
  if (lay.result == ReplyResult::ok) {
    DecodedPacket r;
    check(decodes_as(out.data(), lay.length, 17, r));
    check(r.src == d.dst && r.dst == d.src && r.src_port == d.dst_port && r.dst_port == d.src_port);
    check(r.payload_length == payload.size() &&
          std::memcmp(out.data() + r.payload_offset, payload.data(), payload.size()) == 0);
    check(l4_checksum_ok(out.data(), r));
    if (r.ip_version == 4) check(ipv4_header_checksum_ok(out.data() + r.l3_offset));
  }
  // The tag at the end of the headers, if the payload has them.
  const std::string_view p = d.payload(frame);
  const std::size_t e = p.find("\r\n\r\n");
  if (e == std::string_view::npos) return;
  std::vector<std::uint8_t> f(frame, frame + len);
  f.resize(len + 128);
  std::size_t flen = len;
  DecodedPacket t = d;
  const bool was_ok = l4_checksum_ok(frame, d);
  const std::string_view line = "X-Sipwall-Risk: score=70; rule=fuzz";
  if (insert_header_line(f.data(), flen, f.size(), t, e + 2, line, 0) == TagResult::ok) {
    DecodedPacket r;
    check(decodes_as(f.data(), flen, 17, r));
    check(r.payload_length == d.payload_length + line.size() + 2);
    check(l4_checksum_ok(f.data(), r) == was_ok);
  }
  // The whole tag with a label and a verstat, when the payload is a SIP message.
  sipwall::sip::Message msg;
  if (sipwall::sip::parse_message(p, msg) != sipwall::sip::ParseError::none) return;
  std::vector<std::uint8_t> g(frame, frame + len);
  g.resize(len + 2048);
  std::size_t glen = len;
  DecodedPacket u = d;
  const TagSpec spec{line, "[骚扰]", "No-TN-Validation"};
  TagPlan plan;
  if (insert_tag(g.data(), glen, g.size(), u, msg, spec, 0, &plan) == TagResult::ok) {
    DecodedPacket r;
    check(decodes_as(g.data(), glen, 17, r));
    check(static_cast<std::int64_t>(r.payload_length) == d.payload_length + plan.growth(spec));
    check(l4_checksum_ok(g.data(), r) == was_ok);
    // The marked message is still one SIP message, labelled where the plan says.
    sipwall::sip::Message m2;
    check(sipwall::sip::parse_message(r.payload(g.data()), m2) == sipwall::sip::ParseError::none);
    if (plan.labels != 0 && msg.from.present) {
      check(m2.from.display_name.substr(0, spec.label.size()) == spec.label);
    }
  }
}

void tcp_rewrites(const std::uint8_t* frame, std::size_t len, const DecodedPacket& d) {
  const bool was_ok = l4_checksum_ok(frame, d);
  const std::size_t n = d.payload_length;
  // A piece chosen by the first payload bytes (or the whole when there are none).
  const std::size_t from = n ? frame[d.payload_offset] % (n + 1) : 0;
  const std::size_t to = n ? from + (n > 1 ? frame[d.payload_offset + 1] : 0) % (n - from + 1) : 0;
  std::vector<std::uint8_t> out(len + 64);
  std::size_t l = cut_tcp_segment(frame, d, from, to, out.data(), out.size());
  if (l != 0) {
    DecodedPacket c;
    check(decodes_as(out.data(), l, 6, c));
    check(c.payload_length == to - from);
    check(std::memcmp(out.data() + c.payload_offset, frame + d.payload_offset + from, to - from) == 0);
    check(c.tcp_seq == static_cast<std::uint32_t>(d.tcp_seq + from) && c.tcp_ack == d.tcp_ack);
    check(l4_checksum_ok(out.data(), c) == was_ok);
    if (c.ip_version == 4)
      check(ipv4_header_checksum_ok(out.data() + c.l3_offset) == ipv4_header_checksum_ok(frame + d.l3_offset));
  }
  const std::string_view payload = tail(frame, len, 500);
  out.assign(len + 600, 0);
  l = rebuild_tcp_segment(frame, d, d.tcp_seq + 1000, payload, true, out.data(), out.size());
  if (l != 0) {
    DecodedPacket c;
    check(decodes_as(out.data(), l, 6, c));
    check(c.tcp_seq == static_cast<std::uint32_t>(d.tcp_seq + 1000) && c.payload_length == payload.size());
    check(std::memcmp(out.data() + c.payload_offset, payload.data(), payload.size()) == 0);
    check(l4_checksum_ok(out.data(), c) == was_ok);
  }
  TcpReplySpec spec;
  spec.seq = d.tcp_ack;
  spec.ack = d.tcp_seq + static_cast<std::uint32_t>(n);
  spec.window = 1234;
  ReplyOptions o;
  out.assign(len + 700, 0);
  ReplyLayout lay = build_tcp_reply(frame, d, spec, payload, out.data(), out.size(), o);
  if (lay.result == ReplyResult::ok) {
    DecodedPacket r;
    check(decodes_as(out.data(), lay.length, 6, r));
    check(r.src == d.dst && r.dst == d.src && r.src_port == d.dst_port && r.dst_port == d.src_port);
    check(r.tcp_seq == spec.seq && r.tcp_ack == spec.ack && r.tcp_window == spec.window);
    check(r.payload_length == payload.size());
    check(l4_checksum_ok(out.data(), r));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A private copy, exactly the input's size, so ASan sees any read past it.
  std::vector<std::uint8_t> frame(data, data + size);
  DecodedPacket d;
  if (decode_frame(frame.data(), size, d) == DecodeResult::ok) {
    check_decoded(frame.data(), size, d, false);
    if (!d.is_fragment && d.l4_proto == 17) udp_rewrites(frame.data(), size, d);
    if (!d.is_fragment && d.l4_proto == 6) tcp_rewrites(frame.data(), size, d);
  }
  DecodedPacket ip;
  if (decode_ip(frame.data(), size, ip) == DecodeResult::ok) check_decoded(frame.data(), size, ip, true);
  char text[48];
  format_address(d.src, text, sizeof text);
  g_sum += static_cast<unsigned char>(text[0]);
  return 0;
}
