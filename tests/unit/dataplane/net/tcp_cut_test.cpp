// cut_tcp_segment / rebuild_tcp_segment / set_tcp_flags: every output is
// compared byte for byte with a frame built from scratch by frames.h (whose
// checksums are computed the naive way), so the incremental updates are
// checked against an independent reference.
#include "dataplane/net/tcp_cut.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/net/packet_decode.h"
#include "tests/unit/dataplane/net/frames.h"

using namespace nettest;
namespace net = sipwall::net;

namespace {

constexpr std::uint8_t kPshAck = 0x18;
constexpr std::uint8_t kFinPshAck = 0x19;

struct Shape {
  bool v6 = false;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans;
  Bytes options;  // TCP options
};

Bytes segment(const Shape& sh, std::uint32_t seq, std::uint8_t flags, const std::string& payload) {
  Addr s = sh.v6 ? v6({0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x11}) : v4(192, 0, 2, 11);
  Addr d = sh.v6 ? v6({0x2001, 0xdb8, 0xc0, 0, 0, 0, 0, 0x10}) : v4(10, 10, 0, 10);
  Bytes t = tcp(s, d, 40100, 5060, seq, 0x01020304, flags, bytes(payload), sh.options, 29200);
  Bytes ip = sh.v6 ? ipv6(s, d, 6, t) : ipv4(s, d, 6, t);
  return eth(sh.v6 ? 0x86DD : 0x0800, ip, sh.vlans);
}

net::DecodedPacket decoded(const Bytes& f) {
  net::DecodedPacket d;
  EXPECT_EQ(net::decode_frame(f.data(), f.size(), d), net::DecodeResult::ok);
  return d;
}

Bytes cut(const Bytes& f, std::size_t from, std::size_t to) {
  net::DecodedPacket d = decoded(f);
  Bytes out(f.size() + 64, 0xEE);
  std::size_t n = net::cut_tcp_segment(f.data(), d, from, to, out.data(), out.size());
  EXPECT_NE(n, 0u);
  out.resize(n);
  return out;
}

const std::string kText =
    "INVITE sip:13600136000@10.10.0.10 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.11;branch=z9hG4bK1\r\n"
    "Content-Length: 0\r\n\r\nOPTIONS sip:x SIP/2.0\r\n";

const Bytes kTimestamps{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};

}  // namespace

TEST(TcpCut, EveryRangeMatchesAFreshBuild) {
  // All (from, to) pairs, odd and even, IPv4 and IPv6 behind QinQ with options.
  for (const Shape& sh : {Shape{}, Shape{true, {{0x88A8, 100}, {0x8100, 200}}, kTimestamps}}) {
    const Bytes f = segment(sh, 1000, kPshAck, kText);
    for (std::size_t from = 0; from <= kText.size(); from += 7) {
      for (std::size_t to = from; to <= kText.size(); to += 5) {
        const Bytes got = cut(f, from, to);
        const Bytes want = segment(sh, static_cast<std::uint32_t>(1000 + from), kPshAck, kText.substr(from, to - from));
        ASSERT_EQ(got, want) << "v6=" << sh.v6 << " from=" << from << " to=" << to;
      }
    }
  }
}

TEST(TcpCut, FinStaysOnlyOnThePieceThatEndsTheSegment) {
  const Bytes f = segment({}, 5000, kFinPshAck, kText);
  EXPECT_EQ(cut(f, 0, 10), segment({}, 5000, kPshAck, kText.substr(0, 10)));
  EXPECT_EQ(cut(f, 10, kText.size()), segment({}, 5010, kFinPshAck, kText.substr(10)));
}

TEST(TcpCut, SequenceWrapsModulo32Bits) {
  const Bytes f = segment({}, 0xFFFFFFF0u, kPshAck, kText);
  EXPECT_EQ(cut(f, 0x20, 0x30), segment({}, 0x10u, kPshAck, kText.substr(0x20, 0x10)));
}

TEST(TcpCut, InPlace) {
  Bytes f = segment({true, {}, kTimestamps}, 77, kPshAck, kText);
  net::DecodedPacket d = decoded(f);
  std::size_t n = net::cut_tcp_segment(f.data(), d, 13, 40, f.data(), f.size());
  ASSERT_NE(n, 0u);
  f.resize(n);
  EXPECT_EQ(f, segment({true, {}, kTimestamps}, 90, kPshAck, kText.substr(13, 27)));
}

TEST(TcpCut, EthernetPaddingIsDropped) {
  Bytes f = segment({}, 1, kPshAck, "ab");
  const Bytes unpadded = f;
  f.resize(60, 0);  // what a NIC delivers for a short frame
  const Bytes got = cut(f, 0, 2);
  EXPECT_EQ(got, unpadded);
  EXPECT_TRUE(checksums_valid(got));
}

TEST(TcpCut, ABadChecksumStaysBad) {
  Bytes f = segment({}, 1000, kPshAck, kText);
  const Walk w = walk(f);
  f[w.l4 + 17] ^= 0x40;  // corrupt the TCP checksum
  for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, 5}, {5, 60}, {3, kText.size()}}) {
    EXPECT_FALSE(checksums_valid(cut(f, from, to))) << from << ".." << to;
  }
}

TEST(TcpCut, Refusals) {
  const Bytes f = segment({}, 1, kPshAck, kText);
  net::DecodedPacket d = decoded(f);
  Bytes out(f.size() + 8);
  EXPECT_EQ(net::cut_tcp_segment(f.data(), d, 5, 4, out.data(), out.size()), 0u);  // from > to
  EXPECT_EQ(net::cut_tcp_segment(f.data(), d, 0, kText.size() + 1, out.data(), out.size()), 0u);
  EXPECT_EQ(net::cut_tcp_segment(f.data(), d, 0, 3, out.data(), f.size() - 1), 0u);  // no room
  net::DecodedPacket u = d;
  u.l4_proto = 17;
  EXPECT_EQ(net::cut_tcp_segment(f.data(), u, 0, 3, out.data(), out.size()), 0u);  // not TCP
}

TEST(TcpRebuild, ReplacesThePayloadAndSeq) {
  const std::string msg = "INVITE sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
  for (const Shape& sh : {Shape{}, Shape{true, {{0x8100, 7}}, kTimestamps}}) {
    for (std::uint8_t flags : {kPshAck, kFinPshAck}) {
      const Bytes tmpl = segment(sh, 9000, flags, "tail of a message");
      net::DecodedPacket d = decoded(tmpl);
      Bytes out(4096);
      for (bool keep_fin : {false, true}) {
        std::size_t n = net::rebuild_tcp_segment(tmpl.data(), d, 8000, msg, keep_fin, out.data(), out.size());
        ASSERT_NE(n, 0u);
        const std::uint8_t want_flags = keep_fin ? flags : kPshAck;
        EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)), segment(sh, 8000, want_flags, msg))
            << "v6=" << sh.v6 << " flags=" << int(flags) << " keep_fin=" << keep_fin;
      }
    }
  }
}

TEST(TcpRebuild, LargerThanAnIpDatagramIsRefused) {
  const Bytes tmpl = segment({}, 1, kPshAck, "x");
  net::DecodedPacket d = decoded(tmpl);
  std::string big(65535 - 40 + 1, 'a');  // one byte more than IPv4 total length allows
  Bytes out(70000);
  EXPECT_EQ(net::rebuild_tcp_segment(tmpl.data(), d, 1, big, false, out.data(), out.size()), 0u);
  big.pop_back();
  EXPECT_NE(net::rebuild_tcp_segment(tmpl.data(), d, 1, big, false, out.data(), out.size()), 0u);
}

TEST(TcpFlags, SetKeepsTheChecksumRight) {
  Bytes f = segment({}, 1, kPshAck, "");
  net::DecodedPacket d = decoded(f);
  net::set_tcp_flags(f.data(), d, 0x14);  // RST|ACK
  EXPECT_EQ(f, segment({}, 1, 0x14, ""));
  EXPECT_EQ(d.tcp_flags, 0x14);
}
