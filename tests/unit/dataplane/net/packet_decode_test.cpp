#include "dataplane/net/packet_decode.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string_view>

#include "tests/unit/dataplane/net/frames.h"

using namespace nettest;
using sipwall::net::decode_frame;
using sipwall::net::decode_ip;
using sipwall::net::DecodedPacket;
using sipwall::net::DecodeResult;

namespace {

const Addr kA4 = v4(192, 0, 2, 10);
const Addr kB4 = v4(198, 51, 100, 20);
const Addr kA6 = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10});
const Addr kB6 = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20});
const Bytes kSip = bytes("OPTIONS sip:x@y SIP/2.0\r\n\r\n");

DecodeResult dec(const Bytes& f, DecodedPacket& p) {
  // Exact-size heap copy: ASan flags any read past the frame.
  std::vector<std::uint8_t> copy(f);
  return decode_frame(copy.data(), copy.size(), p);
}

TEST(PacketDecode, UntaggedIpv4Udp) {
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5062, 5060, kSip)));
  DecodedPacket p;
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.vlan_count, 0);
  EXPECT_EQ(p.outer_vlan, sipwall::net::kNoVlan);
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.l3_offset, 14);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.l4_proto, 17);
  EXPECT_EQ(p.src_port, 5062);
  EXPECT_EQ(p.dst_port, 5060);
  EXPECT_EQ(p.payload_offset, 42);
  EXPECT_EQ(p.payload_length, kSip.size());
  EXPECT_EQ(p.ip_end, f.size());
  EXPECT_FALSE(p.is_fragment);
  EXPECT_EQ(p.payload(f.data()), std::string_view("OPTIONS sip:x@y SIP/2.0\r\n\r\n"));
  const std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 10};
  EXPECT_EQ(std::memcmp(p.src.data(), mapped, 16), 0);
  EXPECT_EQ(p.dst[15], 20);
}

TEST(PacketDecode, Dot1Q) {
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, kSip)), {{0x8100, 0x2064}});
  DecodedPacket p;
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.vlan_count, 1);
  EXPECT_EQ(p.outer_vlan, 100);  // PCP bits (0x2000) masked off
  EXPECT_EQ(p.inner_vlan, sipwall::net::kNoVlan);
  EXPECT_EQ(p.l3_offset, 18);
  EXPECT_EQ(p.payload_offset, 18 + 20 + 8);
}

TEST(PacketDecode, QinQ88A8And9100) {
  for (std::uint16_t outer : {std::uint16_t{0x88A8}, std::uint16_t{0x9100}, std::uint16_t{0x8100}}) {
    Bytes f = eth(0x86DD, ipv6(kA6, kB6, 17, udp(kA6, kB6, 5060, 5080, kSip)), {{outer, 200}, {0x8100, 4095}});
    DecodedPacket p;
    ASSERT_EQ(dec(f, p), DecodeResult::ok) << std::hex << outer;
    EXPECT_EQ(p.vlan_count, 2);
    EXPECT_EQ(p.outer_vlan, 200);
    EXPECT_EQ(p.inner_vlan, 4095);
    EXPECT_EQ(p.ethertype, 0x86DD);
    EXPECT_EQ(p.l3_offset, 22);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.dst_port, 5080);
    EXPECT_EQ(p.payload_offset, 22 + 40 + 8);
  }
}

TEST(PacketDecode, ThirdTagAndNonIp) {
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 1, 2, kSip)), {{0x88A8, 1}, {0x8100, 2}, {0x8100, 3}});
  DecodedPacket p;
  EXPECT_EQ(dec(f, p), DecodeResult::not_ip);
  Bytes arp = eth(0x0806, Bytes(28, 0));
  EXPECT_EQ(dec(arp, p), DecodeResult::not_ip);
}

TEST(PacketDecode, Ipv4OptionsShiftL4) {
  V4Opts o;
  o.options = {0x94, 0x04, 0, 0};  // Router Alert
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, kSip), o));
  DecodedPacket p;
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.l4_offset, 14 + 24);
  EXPECT_EQ(p.payload_offset, 14 + 24 + 8);
  // Maximum IHL (15 words = 40 bytes of options).
  o.options.assign(40, 1);
  f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, kSip), o));
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.l4_offset, 14 + 60);
}

TEST(PacketDecode, Ipv4BadHeaders) {
  Bytes good = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, kSip)));
  DecodedPacket p;
  Bytes f = good;
  f[14] = 0x44;  // IHL 4
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  f = good;
  f[14] = 0x65;  // version 6 under EtherType IPv4
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  f = good;
  set16(&f[16], 19);  // total < IHL
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  f = good;
  set16(&f[16], static_cast<std::uint16_t>(f.size() - 14 + 1));  // total past the frame
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  f = good;
  f[14] = 0x4F;  // IHL 15 > total
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  f = eth(0x0800, ipv4(kA4, kB4, 1, Bytes(8, 0)));  // ICMP
  EXPECT_EQ(dec(f, p), DecodeResult::not_udp_tcp);
}

// deny_sources drops a denied source's frames whatever else is wrong with
// them: a header whose lengths are broken still gives its addresses.
TEST(PacketDecode, BrokenLengthsStillGiveTheAddresses) {
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, kSip)));
  set16(&f[16], static_cast<std::uint16_t>(f.size() - 14 + 1));  // total past the frame
  DecodedPacket p;
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(0, std::memcmp(p.src.data() + 12, kA4.raw.data(), 4));  // v4-mapped
  EXPECT_EQ(0, std::memcmp(p.dst.data() + 12, kB4.raw.data(), 4));
  Bytes g = eth(0x86DD, ipv6(kA6, kB6, 17, udp(kA6, kB6, 5060, 5060, kSip)));
  set16(&g[18], 0xFFFF);  // payload length past the frame
  DecodedPacket q;
  EXPECT_EQ(dec(g, q), DecodeResult::bad_ip_header);
  EXPECT_EQ(q.ip_version, 6);
  EXPECT_EQ(0, std::memcmp(q.src.data(), kA6.raw.data(), 16));
  // Too short for the addresses: nothing to go by.
  Bytes h = eth(0x0800, Bytes{0x45, 0, 0, 20});
  DecodedPacket r;
  EXPECT_EQ(dec(h, r), DecodeResult::truncated_ip);
  EXPECT_EQ(r.ip_version, 0);
}

TEST(PacketDecode, EthernetPaddingExcluded) {
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes("\r\n\r\n"))));
  const std::size_t real = f.size();
  f.resize(60, 0);  // minimum frame padding
  DecodedPacket p;
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.ip_end, real);
  EXPECT_EQ(p.payload_length, 4);
}

TEST(PacketDecode, Ipv4Fragments) {
  Bytes dgram = udp(kA4, kB4, 5060, 5060, bytes(std::string(100, 'x')));
  V4Opts first;
  first.frag = 0x2000;  // MF
  Bytes f1 = eth(0x0800, ipv4(kA4, kB4, 17, Bytes(dgram.begin(), dgram.begin() + 48), first));
  DecodedPacket p;
  ASSERT_EQ(dec(f1, p), DecodeResult::ok);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_EQ(p.src_port, 5060);
  EXPECT_EQ(p.payload_length, 40);  // this fragment's data after the UDP header
  V4Opts second;
  second.frag = 48 / 8;  // offset 48, MF clear
  Bytes f2 = eth(0x0800, ipv4(kA4, kB4, 17, Bytes(dgram.begin() + 48, dgram.end()), second));
  ASSERT_EQ(dec(f2, p), DecodeResult::ok);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.payload_offset, 34);
  EXPECT_EQ(p.payload_length, dgram.size() - 48);
  EXPECT_EQ(p.ip_end, f2.size());
  // DF alone is not a fragment.
  V4Opts df;
  df.frag = 0x4000;
  Bytes f3 = eth(0x0800, ipv4(kA4, kB4, 17, dgram, df));
  ASSERT_EQ(dec(f3, p), DecodeResult::ok);
  EXPECT_FALSE(p.is_fragment);
}

TEST(PacketDecode, Ipv6ExtensionChain) {
  // HBH -> Routing -> DestOpts(16 bytes) -> UDP
  Bytes ext = cat({ext_hdr(43), ext_hdr(60), ext_hdr(17, 2)});
  Bytes f = eth(0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 5060, 5060, kSip), ext));
  DecodedPacket p;
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.l4_proto, 17);
  EXPECT_EQ(p.l4_offset, 14 + 40 + 32);
  EXPECT_EQ(p.payload_length, kSip.size());
  EXPECT_FALSE(p.is_fragment);
  EXPECT_EQ(p.ipv6_frag_header, 0);
  EXPECT_EQ(std::memcmp(p.src.data(), kA6.raw.data(), 16), 0);
}

TEST(PacketDecode, Ipv6Fragments) {
  Bytes dgram = udp(kA6, kB6, 5060, 5060, bytes(std::string(64, 'y')));
  Bytes f1 = eth(
      0x86DD, ipv6(kA6, kB6, 0, Bytes(dgram.begin(), dgram.begin() + 40), cat({ext_hdr(44), frag_hdr(17, 0, true)})));
  DecodedPacket p;
  ASSERT_EQ(dec(f1, p), DecodeResult::ok);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_EQ(p.ipv6_frag_header, 14 + 40 + 8);
  EXPECT_EQ(p.src_port, 5060);
  EXPECT_EQ(p.payload_length, 32);
  Bytes f2 = eth(0x86DD, ipv6(kA6, kB6, 44, Bytes(dgram.begin() + 40, dgram.end()), frag_hdr(17, 5, false)));
  ASSERT_EQ(dec(f2, p), DecodeResult::ok);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_EQ(p.l4_proto, 17);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.l4_offset, 14 + 40 + 8);
  EXPECT_EQ(p.payload_length, dgram.size() - 40);
  // Atomic fragment (RFC 6946): offset 0, M clear -> a whole datagram.
  Bytes f3 = eth(0x86DD, ipv6(kA6, kB6, 44, dgram, frag_hdr(17, 0, false)));
  ASSERT_EQ(dec(f3, p), DecodeResult::ok);
  EXPECT_FALSE(p.is_fragment);
  EXPECT_EQ(p.ipv6_frag_header, 14 + 40);
  EXPECT_EQ(p.payload_length, 64);
}

TEST(PacketDecode, Ipv6BadChains) {
  DecodedPacket p;
  // Ten extension headers: more than the walk allows.
  Bytes ext;
  for (int i = 0; i < 9; ++i) ext = cat({ext, ext_hdr(60)});
  ext = cat({ext, ext_hdr(17)});
  Bytes f = eth(0x86DD, ipv6(kA6, kB6, 60, udp(kA6, kB6, 1, 2, kSip), ext));
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ipv6_extension);
  // Header length past the payload.
  Bytes bad = ext_hdr(17);
  bad[1] = 200;
  f = eth(0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 1, 2, kSip), bad));
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ipv6_extension);
  // Jumbogram (payload length 0 + HBH): refused.
  f = eth(0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 1, 2, kSip), ext_hdr(17)));
  set16(&f[14 + 4], 0);
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ipv6_extension);
  // Payload length past the frame.
  f = eth(0x86DD, ipv6(kA6, kB6, 17, udp(kA6, kB6, 1, 2, kSip)));
  set16(&f[14 + 4], static_cast<std::uint16_t>(f.size()));
  EXPECT_EQ(dec(f, p), DecodeResult::bad_ip_header);
  // ESP is not walked.
  f = eth(0x86DD, ipv6(kA6, kB6, 50, Bytes(32, 0)));
  EXPECT_EQ(dec(f, p), DecodeResult::not_udp_tcp);
  // AH is walked and flagged.
  Bytes ah{17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // (4+2)*4 = 24
  f = eth(0x86DD, ipv6(kA6, kB6, 51, udp(kA6, kB6, 1, 2, kSip), ah));
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_TRUE(p.has_ah);
  EXPECT_EQ(p.l4_offset, 14 + 40 + 24);
}

TEST(PacketDecode, TcpWithOptions) {
  Bytes opts{2, 4, 0x05, 0xB4, 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};  // MSS, NOP NOP, TS
  Bytes seg = tcp(kA4, kB4, 40000, 5060, 0x01020304, 0xA0B0C0D0, 0x18, kSip, opts, 501);
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 6, seg));
  DecodedPacket p;
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.l4_proto, 6);
  EXPECT_EQ(p.tcp_seq, 0x01020304u);
  EXPECT_EQ(p.tcp_ack, 0xA0B0C0D0u);
  EXPECT_EQ(p.tcp_flags, 0x18);
  EXPECT_EQ(p.tcp_window, 501);
  EXPECT_EQ(p.payload_offset, 34 + 36);
  EXPECT_EQ(p.payload_length, kSip.size());
  Bytes g = f;
  g[34 + 12] = 0x40;  // data offset 4 words
  EXPECT_EQ(dec(g, p), DecodeResult::bad_l4_length);
  g = eth(0x0800, ipv4(kA4, kB4, 6, Bytes(seg.begin(), seg.begin() + 30)));  // doff 9 > 30 bytes
  EXPECT_EQ(dec(g, p), DecodeResult::bad_l4_length);
  g = eth(0x0800, ipv4(kA4, kB4, 6, Bytes(seg.begin(), seg.begin() + 19)));
  EXPECT_EQ(dec(g, p), DecodeResult::truncated_l4);
}

TEST(PacketDecode, UdpLengths) {
  Bytes u = udp(kA4, kB4, 5060, 5060, kSip);
  DecodedPacket p;
  Bytes f = eth(0x0800, ipv4(kA4, kB4, 17, u));
  set16(&f[34 + 4], 7);
  EXPECT_EQ(dec(f, p), DecodeResult::bad_l4_length);
  set16(&f[34 + 4], static_cast<std::uint16_t>(u.size() + 1));
  EXPECT_EQ(dec(f, p), DecodeResult::bad_l4_length);
  // UDP shorter than the IP payload: trailing bytes are not payload.
  f = eth(0x0800, ipv4(kA4, kB4, 17, cat({u, Bytes(6, 0xEE)})));
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  EXPECT_EQ(p.payload_length, kSip.size());
  f = eth(0x0800, ipv4(kA4, kB4, 17, Bytes(u.begin(), u.begin() + 7)));
  EXPECT_EQ(dec(f, p), DecodeResult::truncated_l4);
}

// Every prefix of valid frames must decode without reading past its end and
// never report ok (the IP length then points past the data).
TEST(PacketDecode, TruncationAtEveryByte) {
  Bytes opts{2, 4, 0x05, 0xB4};
  std::vector<Bytes> frames = {
      eth(0x0800, ipv4(kA4, kB4, 6, tcp(kA4, kB4, 1, 5060, 1, 2, 0x18, kSip, opts)), {{0x88A8, 10}, {0x8100, 20}}),
      eth(0x86DD, ipv6(kA6, kB6, 0, udp(kA6, kB6, 1, 5060, kSip), cat({ext_hdr(44), frag_hdr(17, 0, false)})),
          {{0x8100, 5}}),
  };
  for (const Bytes& full : frames) {
    DecodedPacket p;
    ASSERT_EQ(dec(full, p), DecodeResult::ok);
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
      DecodeResult r = dec(cut, p);
      EXPECT_NE(r, DecodeResult::ok) << "prefix " << n;
      if (n < 14) {
        EXPECT_EQ(r, DecodeResult::truncated_ethernet) << n;
      }
    }
  }
  // Raw IP entry point, same property.
  Bytes ip = ipv4(kA4, kB4, 17, udp(kA4, kB4, 1, 2, kSip));
  for (std::size_t n = 0; n < ip.size(); ++n) {
    std::vector<std::uint8_t> cut(ip.begin(), ip.begin() + static_cast<long>(n));
    DecodedPacket p;
    EXPECT_NE(decode_ip(cut.data(), cut.size(), p), DecodeResult::ok) << n;
  }
  DecodedPacket p;
  ASSERT_EQ(decode_ip(ip.data(), ip.size(), p), DecodeResult::ok);
  EXPECT_EQ(p.l3_offset, 0);
  EXPECT_EQ(p.payload_offset, 28);
}

TEST(PacketDecode, FormatAddress) {
  DecodedPacket p;
  Bytes f = eth(0x86DD, ipv6(kA6, kB6, 17, udp(kA6, kB6, 1, 2, kSip)));
  ASSERT_EQ(dec(f, p), DecodeResult::ok);
  char buf[64];
  std::size_t n = sipwall::net::format_address(p.src, buf, sizeof buf);
  EXPECT_EQ(std::string_view(buf, n), "2001:db8::10");
  Bytes g = eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 1, 2, kSip)));
  ASSERT_EQ(dec(g, p), DecodeResult::ok);
  n = sipwall::net::format_address(p.dst, buf, sizeof buf);
  EXPECT_EQ(std::string_view(buf, n), "198.51.100.20");
  EXPECT_EQ(sipwall::net::format_address(p.dst, buf, 0), 0u);
  n = sipwall::net::format_address(p.dst, buf, 5);
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(std::string_view(buf), "198.");
  std::array<std::uint8_t, 16> z{};
  n = sipwall::net::format_address(z, buf, sizeof buf);
  EXPECT_EQ(std::string_view(buf, n), "::");
  std::array<std::uint8_t, 16> a{0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3};
  n = sipwall::net::format_address(a, buf, sizeof buf);
  EXPECT_EQ(std::string_view(buf, n), "1:0:0:2::3");  // the longer zero run is compressed
  EXPECT_EQ(sipwall::net::to_string(DecodeResult::bad_l4_length), "bad_l4_length");
}

// Against the C library's inet_ntop on many addresses with zero runs in
// every place: the same text (RFC 5952), except that an IPv4-mapped address
// is shown as a plain dotted quad, and the ::/96 "IPv4-compatible" form,
// which glibc prints with a dotted tail, is left out. Every truncation of
// the text is checked too.
TEST(PacketDecode, FormatAddressMatchesInetNtop) {
  std::mt19937 rng(7);
  for (int k = 0; k < 20000; ++k) {
    std::array<std::uint8_t, 16> a{};
    const bool mapped = k % 5 == 0;
    for (int i = 0; i < 8; ++i) {
      const unsigned r = rng();
      const std::uint16_t v = (r & 1) ? 0 : static_cast<std::uint16_t>(r >> 8 >> ((r >> 1) % 13));
      a[static_cast<std::size_t>(2 * i)] = static_cast<std::uint8_t>(v >> 8);
      a[static_cast<std::size_t>(2 * i + 1)] = static_cast<std::uint8_t>(v);
    }
    char want[INET6_ADDRSTRLEN];
    if (mapped) {
      for (int i = 0; i < 10; ++i) a[static_cast<std::size_t>(i)] = 0;
      a[10] = a[11] = 0xFF;
      ASSERT_NE(inet_ntop(AF_INET, a.data() + 12, want, sizeof want), nullptr);
    } else {
      bool compat = true;
      for (int i = 0; i < 12; ++i) compat = compat && a[static_cast<std::size_t>(i)] == 0;
      if (compat) continue;
      ASSERT_NE(inet_ntop(AF_INET6, a.data(), want, sizeof want), nullptr);
    }
    char got[64];
    const std::size_t n = sipwall::net::format_address(a, got, sizeof got);
    ASSERT_EQ(std::string_view(got, n), want);
    ASSERT_EQ(got[n], '\0');
    for (std::size_t cap = 1; cap <= n; ++cap) {
      char small[64];
      const std::size_t m = sipwall::net::format_address(a, small, cap);
      ASSERT_EQ(m, cap - 1);
      ASSERT_EQ(std::string_view(small), std::string_view(want, cap - 1));
    }
  }
}

}  // namespace
