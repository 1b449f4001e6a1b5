#include "dataplane/net/reply_frame.h"

#include <gtest/gtest.h>

#include "dataplane/net/packet_decode.h"
#include "tests/unit/dataplane/net/frames.h"
#include "tests/unit/dataplane/net/udp_reply.h"

using namespace nettest;
namespace net = sipwall::net;

namespace {

const Addr kA4 = v4(203, 0, 113, 5);
const Addr kB4 = v4(198, 51, 100, 1);
const Addr kA6 = v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5});
const Addr kB6 = v6({0x2001, 0xdb8, 2, 0, 0, 0, 0, 1});
const std::string kInvite = "INVITE sip:x@core SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n";
const std::string kResp = "SIP/2.0 603 Decline\r\nContent-Length: 0\r\n\r\n";

net::DecodedPacket decode(const Bytes& f) {
  net::DecodedPacket p;
  EXPECT_EQ(net::decode_frame(f.data(), f.size(), p), net::DecodeResult::ok);
  return p;
}

V4Opts reply_v4(std::uint16_t id, std::uint8_t tos) {
  V4Opts o;
  o.id = id;
  o.frag = 0x4000;
  o.ttl = 64;
  o.tos = tos;
  return o;
}

TEST(ReplyFrame, Ipv4UdpToSecondBuffer) {
  V4Opts req_o;
  req_o.tos = 0x6B;              // AF31 + ECN CE: ECN must not be echoed
  req_o.options = {1, 1, 1, 0};  // options are dropped in the reply
  Bytes req = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 40123, 5060, bytes(kInvite)), req_o));
  net::DecodedPacket p = decode(req);
  Bytes out(1500, 0xCC);
  net::ReplyOptions o;
  o.ip_id = 0xBEEF;
  net::ReplyLayout lay = udp_reply(req.data(), p, kResp, out.data(), out.size(), o);
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  Bytes got(out.begin(), out.begin() + static_cast<long>(lay.length));
  Bytes expected = eth(0x0800, ipv4(kB4, kA4, 17, udp(kB4, kA4, 5060, 40123, bytes(kResp)), reply_v4(0xBEEF, 0x68)), {},
                       kMacB, kMacA);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(checksums_valid(got));
  EXPECT_EQ(lay.payload_offset, 14 + 20 + 8);
  EXPECT_EQ(out[lay.length], 0xCC);
}

TEST(ReplyFrame, VlanTagKeptMacsSwapped) {
  Bytes req = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 40123, 5060, bytes(kInvite))), {{0x8100, 7}});
  net::DecodedPacket p = decode(req);
  net::ReplyOptions o;
  o.ip_id = 9;
  Bytes out(2048);
  net::ReplyLayout lay = udp_reply(req.data(), p, kResp, out.data(), out.size(), o);
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  EXPECT_EQ(get16(&out[12]), 0x8100);
  EXPECT_EQ(get16(&out[14]), 7);
  EXPECT_TRUE(std::equal(kMacA.begin(), kMacA.end(), out.begin()));
  EXPECT_TRUE(std::equal(kMacB.begin(), kMacB.end(), out.begin() + 6));
  EXPECT_TRUE(checksums_valid(Bytes(out.begin(), out.begin() + static_cast<long>(lay.length))));
}

TEST(ReplyFrame, Ipv6WithVlanDropsExtensionHeaders) {
  Bytes ext = cat({ext_hdr(43), ext_hdr(17)});
  Bytes req = eth(0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 5062, 5060, bytes(kInvite)), ext, 0x69),
                  {{0x88A8, 100}, {0x8100, 200}});
  net::DecodedPacket p = decode(req);
  Bytes out(1500);
  net::ReplyLayout lay = udp_reply(req.data(), p, kResp, out.data(), out.size(), net::ReplyOptions{});
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  Bytes got(out.begin(), out.begin() + static_cast<long>(lay.length));
  Bytes expected = eth(0x86DD, ipv6(kB6, kA6, 17, udp(kB6, kA6, 5060, 5062, bytes(kResp)), {}, 0x68, 0, 64),
                       {{0x88A8, 100}, {0x8100, 200}}, kMacB, kMacA);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(checksums_valid(got));
}

TEST(ReplyFrame, DstPortOverride) {
  Bytes req = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 40123, 5060, bytes(kInvite))));
  net::DecodedPacket p = decode(req);
  net::ReplyOptions o;
  o.dst_port = 5060;
  o.ip_id = 1;
  Bytes out(1500);
  net::ReplyLayout lay = net::begin_udp_reply(req.data(), p, out.data(), out.size(), o);
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  std::copy(kResp.begin(), kResp.end(), out.begin() + lay.payload_offset);
  lay = net::finish_reply(out.data(), lay, kResp.size(), out.size(), o);
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  Bytes got(out.begin(), out.begin() + static_cast<long>(lay.length));
  Bytes expected =
      eth(0x0800, ipv4(kB4, kA4, 17, udp(kB4, kA4, 5060, 5060, bytes(kResp)), reply_v4(1, 0x68)), {}, kMacB, kMacA);
  EXPECT_EQ(got, expected);
}

TEST(ReplyFrame, Refusals) {
  Bytes req = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 40123, 5060, bytes(kInvite))));
  net::DecodedPacket p = decode(req);
  const std::size_t need = 14 + 20 + 8 + kResp.size();
  Bytes out(need);
  net::ReplyOptions o;
  EXPECT_EQ(udp_reply(req.data(), p, kResp, out.data(), need - 1, o).result, net::ReplyResult::no_room);
  EXPECT_EQ(udp_reply(req.data(), p, kResp, out.data(), need, o).result, net::ReplyResult::ok);
  o.mtu = need - 14 - 1;
  EXPECT_EQ(udp_reply(req.data(), p, kResp, out.data(), need, o).result, net::ReplyResult::exceeds_mtu);
  o.mtu = 0;
  std::string huge(70000, 'x');
  Bytes big(80000);
  EXPECT_EQ(udp_reply(req.data(), p, huge, big.data(), big.size(), o).result, net::ReplyResult::too_large);
  V4Opts frag;
  frag.frag = 0x2000;
  Bytes fr = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 1, 2, bytes(kInvite)), frag));
  net::DecodedPacket pf = decode(fr);
  EXPECT_EQ(udp_reply(fr.data(), pf, kResp, big.data(), big.size(), o).result, net::ReplyResult::fragment);
  Bytes t = eth(0x0800, ipv4(kA4, kB4, 6, tcp(kA4, kB4, 1, 2, 1, 1, 0x18, bytes(kInvite))));
  net::DecodedPacket pt = decode(t);
  EXPECT_EQ(udp_reply(t.data(), pt, kResp, big.data(), big.size(), o).result, net::ReplyResult::not_udp);
  EXPECT_EQ(net::build_tcp_reply(req.data(), p, {}, kResp, big.data(), big.size(), o).result,
            net::ReplyResult::not_tcp);
  EXPECT_EQ(net::to_string(net::ReplyResult::exceeds_mtu), "exceeds_mtu");
}

TEST(ReplyFrame, TcpReplyEchoesTimestamps) {
  Bytes ts{1, 1, 8, 10, 0, 0, 0x10, 0x01, 0, 0, 0x20, 0x02};  // TSval 0x1001, TSecr 0x2002
  Bytes req = eth(0x0800, ipv4(kA4, kB4, 6, tcp(kA4, kB4, 40000, 5060, 1000, 7000, 0x18, bytes(kInvite), ts)));
  net::DecodedPacket p = decode(req);
  net::TcpReplySpec spec;
  spec.seq = 7000;
  spec.ack = 1000 + static_cast<std::uint32_t>(kInvite.size());
  spec.window = 1234;
  net::ReplyOptions o;
  o.ip_id = 77;
  o.dst_port = 1;  // ignored for TCP
  Bytes out(1500);
  net::ReplyLayout lay = net::build_tcp_reply(req.data(), p, spec, kResp, out.data(), out.size(), o);
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  Bytes got(out.begin(), out.begin() + static_cast<long>(lay.length));
  Bytes echo{1, 1, 8, 10, 0, 0, 0x20, 0x02, 0, 0, 0x10, 0x01};
  Bytes expected = eth(0x0800,
                       ipv4(kB4, kA4, 6, tcp(kB4, kA4, 5060, 40000, spec.seq, spec.ack, 0x18, bytes(kResp), echo, 1234),
                            reply_v4(77, 0x68)),
                       {}, kMacB, kMacA);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(checksums_valid(got));

  // Pure ACK over IPv6, no timestamps in the request -> none in the reply.
  Bytes req6 = eth(0x86DD, ipv6(kA6, kB6, 6, tcp(kA6, kB6, 40000, 5060, 5, 9, 0x18, bytes(kInvite))));
  net::DecodedPacket p6 = decode(req6);
  spec = {9, 5 + static_cast<std::uint32_t>(kInvite.size()), 500};
  lay = net::build_tcp_reply(req6.data(), p6, spec, {}, out.data(), out.size(), net::ReplyOptions{});
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  got.assign(out.begin(), out.begin() + static_cast<long>(lay.length));
  expected =
      eth(0x86DD, ipv6(kB6, kA6, 6, tcp(kB6, kA6, 5060, 40000, spec.seq, spec.ack, 0x10, {}, {}, 500), {}, 0x68, 0, 64),
          {}, kMacB, kMacA);
  EXPECT_EQ(got, expected);
}

}  // namespace
