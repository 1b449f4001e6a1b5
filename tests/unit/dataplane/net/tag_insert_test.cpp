#include "dataplane/net/tag_insert.h"

#include <gtest/gtest.h>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/net/frames.h"

using namespace nettest;
namespace net = sipwall::net;
namespace sip = sipwall::sip;

namespace {

const Addr kA4 = v4(203, 0, 113, 5);
const Addr kB4 = v4(198, 51, 100, 1);
const Addr kA6 = v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5});
const Addr kB6 = v6({0x2001, 0xdb8, 2, 0, 0, 0, 0, 1});

const std::string kBody = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n";
const std::string kHead =
    "INVITE sip:+15551230000@core SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bK1\r\n"
    "From: <sip:+15550001111@t>;tag=1\r\n"
    "To: <sip:+15551230000@core>\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: " +
    std::to_string(kBody.size()) + "\r\n";

struct Buf {
  std::vector<std::uint8_t> data;
  std::size_t len;
  Buf(const Bytes& f, std::size_t tailroom) : data(f), len(f.size()) { data.resize(f.size() + tailroom, 0xCC); }
  Bytes frame() const { return Bytes(data.begin(), data.begin() + static_cast<long>(len)); }
};

void tag_and_compare(const Bytes& before, const Bytes& expected, std::string_view line) {
  Buf b(before, 256);
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(b.data.data(), b.len, p), net::DecodeResult::ok);
  sip::Message m;
  ASSERT_EQ(sip::parse_message(p.payload(b.data.data()), m), sip::ParseError::none);
  ASSERT_EQ(net::insert_header_line(b.data.data(), b.len, b.data.size(), p, m, line, 1500), net::TagResult::ok);
  EXPECT_EQ(b.frame(), expected);  // byte-identical to a frame built fresh
  EXPECT_TRUE(checksums_valid(b.frame()));
  EXPECT_EQ(p.ip_end, b.len);
  for (std::size_t i = b.len; i < b.data.size(); ++i) ASSERT_EQ(b.data[i], 0xCC) << "wrote past the frame";
  // The tagged payload still parses, with the tag in the headers and the same body.
  sip::Message t;
  ASSERT_EQ(sip::parse_message(p.payload(b.data.data()), t), sip::ParseError::none);
  EXPECT_EQ(t.body, kBody);
  EXPECT_EQ(t.header("X-Sipwall-Risk").empty(), false);
}

TEST(TagInsert, Ipv4UdpEvenAndOddLines) {
  for (std::string_view line : {std::string_view("X-Sipwall-Risk: score=70;rule=x"),      // odd + CRLF
                                std::string_view("X-Sipwall-Risk: score=70;rule=xy")}) {  // even + CRLF
    Bytes before = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(kHead + "\r\n" + kBody))));
    std::string tagged = kHead + std::string(line) + "\r\n\r\n" + kBody;
    Bytes expected = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(tagged))));
    tag_and_compare(before, expected, line);
  }
}

TEST(TagInsert, Ipv6WithExtensionHeadersAndQinQ) {
  Bytes ext = cat({ext_hdr(60), ext_hdr(17)});
  std::string_view line = "X-Sipwall-Risk: score=99;rule=robocall-1";
  Bytes before = eth(0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 5062, 5060, bytes(kHead + "\r\n" + kBody)), ext),
                     {{0x88A8, 300}, {0x8100, 12}});
  Bytes expected = eth(
      0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 5062, 5060, bytes(kHead + std::string(line) + "\r\n\r\n" + kBody)), ext),
      {{0x88A8, 300}, {0x8100, 12}});
  tag_and_compare(before, expected, line);
}

TEST(TagInsert, Ipv4OptionsAndPaddingDropped) {
  V4Opts o;
  o.options = {0x94, 4, 0, 0};
  std::string small_head = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\n";
  Bytes before = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(small_head + "\r\n")), o));
  before.resize(before.size() + 7, 0);  // trailing Ethernet bytes
  Buf b(before, 100);
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(b.data.data(), b.len, p), net::DecodeResult::ok);
  std::size_t hend = small_head.size();
  ASSERT_EQ(net::insert_header_line(b.data.data(), b.len, b.data.size(), p, hend, "X-T: 1", 0), net::TagResult::ok);
  Bytes expected = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(small_head + "X-T: 1\r\n\r\n")), o));
  EXPECT_EQ(b.frame(), expected);
}

TEST(TagInsert, BareLfMessageGetsLf) {
  std::string msg = "INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\n\nbody";
  Bytes before = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(msg))));
  Buf b(before, 64);
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(b.data.data(), b.len, p), net::DecodeResult::ok);
  std::size_t hend = msg.find("\n\n") + 1;
  ASSERT_EQ(net::insert_header_line(b.data.data(), b.len, b.data.size(), p, hend, "X-T: 1", 0), net::TagResult::ok);
  EXPECT_EQ(payload_text(b.frame()), "INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\nX-T: 1\n\nbody");
  EXPECT_TRUE(checksums_valid(b.frame()));
}

TEST(TagInsert, ZeroUdpChecksumStaysZeroAndBadStaysBad) {
  std::string msg = kHead + "\r\n" + kBody;
  Bytes z = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(msg), true)));
  Buf b(z, 64);
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(b.data.data(), b.len, p), net::DecodeResult::ok);
  ASSERT_EQ(net::insert_header_line(b.data.data(), b.len, b.data.size(), p, kHead.size(), "X-T: 12345", 0),
            net::TagResult::ok);
  EXPECT_EQ(get16(&b.data[34 + 6]), 0);
  EXPECT_TRUE(checksums_valid(b.frame()));

  // A corrupted datagram is not laundered: its checksum stays wrong.
  Bytes bad = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(msg))));
  bad[bad.size() - 3] ^= 0x01;  // body bit flip after the checksum was computed
  ASSERT_FALSE(checksums_valid(bad));
  Buf c(bad, 64);
  ASSERT_EQ(net::decode_frame(c.data.data(), c.len, p), net::DecodeResult::ok);
  ASSERT_EQ(net::insert_header_line(c.data.data(), c.len, c.data.size(), p, kHead.size(), "X-T: 1", 0),
            net::TagResult::ok);
  EXPECT_FALSE(checksums_valid(c.frame()));
  // ...while the IPv4 header checksum (which was right) is right.
  Bytes ipb(c.data.begin() + 14, c.data.begin() + 34);
  EXPECT_EQ(ref_sum(ipb), 0xFFFF);
}

TEST(TagInsert, RefusalsLeaveFrameUntouched) {
  std::string msg = kHead + "\r\n" + kBody;
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(msg))));
  auto attempt = [&](const Bytes& in, std::size_t tailroom, std::size_t hend, std::string_view line, std::size_t mtu) {
    Buf b(in, tailroom);
    net::DecodedPacket p;
    EXPECT_EQ(net::decode_frame(b.data.data(), b.len, p), net::DecodeResult::ok);
    net::TagResult r = net::insert_header_line(b.data.data(), b.len, b.data.size(), p, hend, line, mtu);
    if (r != net::TagResult::ok) {
      EXPECT_EQ(b.frame(), in);
      EXPECT_EQ(b.len, in.size());
    }
    return r;
  };
  const std::size_t ip_len = f.size() - 14;
  EXPECT_EQ(attempt(f, 100, kHead.size(), "X-T: 1", ip_len + 7), net::TagResult::exceeds_mtu);
  EXPECT_EQ(attempt(f, 100, kHead.size(), "X-T: 1", ip_len + 8), net::TagResult::ok);
  EXPECT_EQ(attempt(f, 7, kHead.size(), "X-T: 1", 0), net::TagResult::no_tailroom);
  EXPECT_EQ(attempt(f, 8, kHead.size(), "X-T: 1", 0), net::TagResult::ok);
  EXPECT_EQ(attempt(f, 100, kHead.size() - 2, "X-T: 1", 0), net::TagResult::bad_offset);
  EXPECT_EQ(attempt(f, 100, kHead.size() + 1, "X-T: 1", 0), net::TagResult::bad_offset);
  EXPECT_EQ(attempt(f, 100, 100000, "X-T: 1", 0), net::TagResult::bad_offset);
  EXPECT_EQ(attempt(f, 100, kHead.size(), "X-T: 1\r\nEvil: 2", 0), net::TagResult::bad_line);
  EXPECT_EQ(attempt(f, 100, kHead.size(), "no colon here", 0), net::TagResult::bad_line);
  EXPECT_EQ(attempt(f, 100, kHead.size(), ": empty name", 0), net::TagResult::bad_line);

  Bytes t = eth(0x0800, ipv4(kA4, kB4, 6, tcp(kA4, kB4, 5060, 5060, 1, 1, 0x18, bytes(msg))));
  EXPECT_EQ(attempt(t, 100, kHead.size(), "X-T: 1", 0), net::TagResult::tcp);
  V4Opts frag;
  frag.frag = 0x2000;
  Bytes fr = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(msg)), frag));
  EXPECT_EQ(attempt(fr, 100, kHead.size(), "X-T: 1", 0), net::TagResult::fragment);
  EXPECT_TRUE(net::valid_header_line("X-Sipwall-Risk: score=70;rule=x"));
  EXPECT_FALSE(net::valid_header_line("X-Sipwall-Risk score"));
  EXPECT_EQ(net::to_string(net::TagResult::exceeds_mtu), "exceeds_mtu");
}

}  // namespace
