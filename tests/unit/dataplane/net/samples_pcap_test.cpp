// Writes sample outputs of the packet actions to a pcap so tshark can check
// them independently (tests/integration will run tshark over it):
//   tshark -r FILE -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE
//          -o tcp.check_checksum:TRUE -T fields -e ip.checksum.status
//          -e udp.checksum.status -e tcp.checksum.status -e sip.Status-Code
// File: $SIPWALL_NET_SAMPLES_PCAP, default /tmp/sipwall-net-samples.pcap.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/net/tag_insert.h"
#include "dataplane/net/tcp_seqadj.h"
#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/net/frames.h"
#include "tests/unit/dataplane/net/udp_reply.h"

using namespace nettest;
namespace net = sipwall::net;
namespace sip = sipwall::sip;

namespace {

std::string invite(const std::string& transport, const std::string& host) {
  const std::string body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
  return "INVITE sip:+15551230000@core.example.net SIP/2.0\r\n"
         "Via: SIP/2.0/" +
         transport + " " + host +
         ":5060;branch=z9hG4bK-s1;rport\r\n"
         "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK-s0\r\n"
         "Max-Forwards: 70\r\n"
         "From: \"Robo\" <sip:+15550001111@trunk.example.com>;tag=f1\r\n"
         "To: <sip:+15551230000@core.example.net>\r\n"
         "Call-ID: sample-1@trunk\r\n"
         "CSeq: 1 INVITE\r\n"
         "Contact: <sip:+15550001111@" +
         host +
         ":5060>\r\n"
         "Content-Type: application/sdp\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

Bytes reply_for(const Bytes& req, const net::SipResponseOptions& so, std::uint16_t ip_id) {
  net::DecodedPacket p;
  EXPECT_EQ(net::decode_frame(req.data(), req.size(), p), net::DecodeResult::ok);
  sip::Message m;
  EXPECT_EQ(sip::parse_message(p.payload(req.data()), m), sip::ParseError::none);
  char text[2048];
  std::size_t n = net::build_sip_response(m, so, text, sizeof text);
  EXPECT_GT(n, 0u);
  Bytes out(2048);
  net::ReplyOptions ro;
  ro.ip_id = ip_id;
  ro.mtu = 1500;
  net::ReplyLayout lay = udp_reply(req.data(), p, std::string_view(text, n), out.data(), out.size(), ro);
  EXPECT_EQ(lay.result, net::ReplyResult::ok);
  out.resize(lay.length);
  return out;
}

TEST(NetSamples, WritePcapForTshark) {
  const Addr a4 = v4(203, 0, 113, 5), b4 = v4(198, 51, 100, 1);
  const Addr a6 = v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5}), b6 = v6({0x2001, 0xdb8, 2, 0, 0, 0, 0, 1});
  std::vector<Bytes> frames;

  // 1. 603 reply to an IPv4 INVITE.
  Bytes req4 = eth(0x0800, ipv4(a4, b4, 17, udp(a4, b4, 5060, 5060, bytes(invite("UDP", "203.0.113.5")))));
  net::SipResponseOptions so;
  so.code = 603;
  so.reason_text = "blocked by rule r-12";
  so.received = "203.0.113.5";
  so.rport = 5060;
  frames.push_back(reply_for(req4, so, 1));

  // 2. 608 reply to an IPv6 INVITE behind QinQ, with Call-Info.
  Bytes req6 =
      eth(0x86DD, ipv6(a6, b6, 0, udp(a6, b6, 5062, 5060, bytes(invite("UDP", "[2001:db8:1::5]"))), ext_hdr(17)),
          {{0x88A8, 100}, {0x8100, 200}});
  so.code = 608;
  so.reason_text = "robocall \"score\" 95";
  so.call_info_uri = "https://jwscard.example.net/v1/blocked";
  so.received = "2001:db8:1::5";
  so.rport = 5062;
  so.server = "sipwall/0.1";
  frames.push_back(reply_for(req6, so, 2));

  // 3. A tagged IPv4 INVITE (and 4. a tagged IPv6 one).
  for (const Bytes* req : {&req4, &req6}) {
    std::vector<std::uint8_t> buf(*req);
    buf.resize(req->size() + 128);
    std::size_t len = req->size();
    net::DecodedPacket p;
    ASSERT_EQ(net::decode_frame(buf.data(), len, p), net::DecodeResult::ok);
    sip::Message m;
    ASSERT_EQ(sip::parse_message(p.payload(buf.data()), m), sip::ParseError::none);
    ASSERT_EQ(net::insert_header_line(buf.data(), len, buf.size(), p, m, "X-Sipwall-Risk: score=70;rule=r-12", 1500),
              net::TagResult::ok);
    frames.emplace_back(buf.begin(), buf.begin() + static_cast<long>(len));
  }

  // 5. A TCP reject: the emptied INVITE segment toward the core and 6. the reply toward the client.
  Bytes treq =
      eth(0x0800, ipv4(a4, b4, 6, tcp(a4, b4, 40000, 5060, 1000, 7000, 0x18, bytes(invite("TCP", "203.0.113.5")))));
  {
    net::SeqAdjTable table(net::SeqAdjConfig{});
    std::vector<std::uint8_t> buf(treq);
    std::size_t len = treq.size();
    net::DecodedPacket p;
    ASSERT_EQ(net::decode_frame(buf.data(), len, p), net::DecodeResult::ok);
    sip::Message m;
    ASSERT_EQ(sip::parse_message(p.payload(buf.data()), m, sip::Transport::stream), sip::ParseError::none);
    char text[2048];
    so = {};
    so.code = 603;
    std::size_t n = net::build_sip_response(m, so, text, sizeof text);
    net::TcpEditOutcome out;
    ASSERT_EQ(table.remove(buf.data(), len, buf.size(), p, 0, m.length, static_cast<std::uint32_t>(n), 1, out),
              net::SeqAdjResult::ok);
    frames.emplace_back(buf.begin(), buf.begin() + static_cast<long>(len));
    Bytes r(2048);
    net::ReplyLayout lay = net::build_tcp_reply(buf.data(), p, out.reply.spec, std::string_view(text, n), r.data(),
                                                r.size(), net::ReplyOptions{});
    ASSERT_EQ(lay.result, net::ReplyResult::ok);
    r.resize(lay.length);
    frames.push_back(r);
  }

  for (const Bytes& f : frames) EXPECT_TRUE(checksums_valid(f));
  const char* env = std::getenv("SIPWALL_NET_SAMPLES_PCAP");
  const std::string path = env && *env ? env : "/tmp/sipwall-net-samples.pcap";
  ASSERT_TRUE(write_pcap(path, frames)) << path;
}

// Every frame of the lead's tests/data/sample.pcap (built by independent
// Python code, tests/tools/sippcap.py): decodes, its checksums verify with our
// code, and each whole-datagram INVITE can be answered and tagged with frames
// that verify with the test's reference checksums.
std::vector<Bytes> read_pcap(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Bytes all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Bytes> out;
  if (all.size() < 24) return out;
  auto le32 = [&](std::size_t o) {
    return std::uint32_t{all[o]} | std::uint32_t{all[o + 1]} << 8 | std::uint32_t{all[o + 2]} << 16 |
           std::uint32_t{all[o + 3]} << 24;
  };
  if (le32(0) != 0xa1b2c3d4 || le32(20) != 1) return out;  // little-endian, Ethernet
  for (std::size_t o = 24; o + 16 <= all.size();) {
    std::uint32_t caplen = le32(o + 8);
    if (o + 16 + caplen > all.size()) break;
    out.emplace_back(all.begin() + static_cast<long>(o + 16), all.begin() + static_cast<long>(o + 16 + caplen));
    o += 16 + caplen;
  }
  return out;
}

TEST(NetSamples, LeadSamplePcapRoundTrip) {
  const char* src = std::getenv("SIPWALL_SOURCE_DIR");
  if (!src) GTEST_SKIP() << "SIPWALL_SOURCE_DIR not set";
  std::vector<Bytes> frames = read_pcap(std::string(src) + "/tests/data/sample.pcap");
  if (frames.empty()) GTEST_SKIP() << "tests/data/sample.pcap missing or not classic pcap";
  int invites = 0, fragments = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i];
    net::DecodedPacket p;
    const net::DecodeResult r = net::decode_frame(f.data(), f.size(), p);
    if (r == net::DecodeResult::not_ip) {
      EXPECT_NE(p.ethertype, 0x0800);  // ARP and friends: forwarded untouched
      EXPECT_NE(p.ethertype, 0x86DD);
      continue;
    }
    ASSERT_EQ(r, net::DecodeResult::ok) << "frame " << i + 1;
    if (p.ip_version == 4) {
      EXPECT_TRUE(net::ipv4_header_checksum_ok(f.data() + p.l3_offset)) << i + 1;
    }
    if (p.is_fragment) {
      ++fragments;
      continue;
    }
    EXPECT_TRUE(net::l4_checksum_ok(f.data(), p)) << "frame " << i + 1;
    sip::Message m;
    const auto tr = p.l4_proto == 6 ? sip::Transport::stream : sip::Transport::datagram;
    if (sip::parse_message(p.payload(f.data()), m, tr) != sip::ParseError::none) continue;
    if (m.method != sip::Method::invite || p.l4_proto != 17) continue;
    ++invites;
    net::SipResponseOptions so;
    so.code = 608;
    char text[4096];
    const std::size_t n = net::build_sip_response(m, so, text, sizeof text);
    ASSERT_GT(n, 0u) << i + 1;
    Bytes out(8192);
    net::ReplyLayout lay =
        udp_reply(f.data(), p, std::string_view(text, n), out.data(), out.size(), net::ReplyOptions{});
    ASSERT_EQ(lay.result, net::ReplyResult::ok) << i + 1;
    out.resize(lay.length);
    EXPECT_TRUE(checksums_valid(out)) << "reply to frame " << i + 1;
    std::vector<std::uint8_t> buf(f);
    buf.resize(f.size() + 64);
    std::size_t len = f.size();
    net::DecodedPacket tp = p;
    ASSERT_EQ(net::insert_header_line(buf.data(), len, buf.size(), tp, m, "X-Sipwall-Risk: score=1;rule=t", 0),
              net::TagResult::ok)
        << i + 1;
    EXPECT_TRUE(checksums_valid(Bytes(buf.begin(), buf.begin() + static_cast<long>(len)))) << "tagged " << i + 1;
  }
  EXPECT_GT(invites, 10);
  std::printf("sample.pcap: %zu frames, %d INVITEs answered and tagged, %d fragments\n", frames.size(), invites,
              fragments);
}

}  // namespace
