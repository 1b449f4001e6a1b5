#include "dataplane/net/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "dataplane/net/packet_decode.h"
#include "tests/unit/dataplane/net/frames.h"

using namespace nettest;
namespace net = sipwall::net;

namespace {

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

TEST(Checksum, PartialMatchesNaiveSum) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 300; ++n) {
    Bytes b = random_bytes(rng, n);
    EXPECT_EQ(net::csum_fold(net::csum_partial(b.data(), b.size())), ref_sum(b)) << n;
  }
  // All-0xFF data exercises the carries.
  Bytes ff(1501, 0xFF);
  EXPECT_EQ(net::csum_fold(net::csum_partial(ff.data(), ff.size())), ref_sum(ff));
  // Every tail after the 32-byte steps with every carry set, up to a jumbo
  // frame's worth, and a sum carried in.
  for (std::size_t n : {31u, 32u, 33u, 39u, 40u, 41u, 63u, 64u, 65u, 70u, 9000u, 65535u}) {
    Bytes f(n, 0xFF);
    EXPECT_EQ(net::csum_fold(net::csum_partial(f.data(), f.size())), ref_sum(f)) << n;
    Bytes half(n, 0x80);
    EXPECT_EQ(net::csum_fold(net::csum_partial(half.data(), half.size())), ref_sum(half)) << n;
  }
  Bytes b = random_bytes(rng, 777);
  const std::uint32_t carried = net::csum_partial(b.data(), 100);
  EXPECT_EQ(net::csum_fold(net::csum_partial(b.data() + 100, b.size() - 100, carried)), ref_sum(b));
}

TEST(Checksum, ChainingAndOddOffsets) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 200; ++iter) {
    Bytes b = random_bytes(rng, 1 + rng() % 400);
    std::size_t cut = rng() % b.size();
    std::uint32_t s = net::csum_partial_at(b.data(), cut, false);
    s = net::csum_partial_at(b.data() + cut, b.size() - cut, (cut & 1) != 0, s);
    EXPECT_EQ(net::csum_fold(s), ref_sum(b));
  }
}

TEST(Checksum, Ipv4Header) {
  Addr a = v4(10, 1, 2, 3), b = v4(10, 3, 2, 1);
  V4Opts o;
  o.options = {0x94, 4, 0, 0};
  Bytes ip = ipv4(a, b, 17, Bytes(10, 1), o);
  EXPECT_TRUE(net::ipv4_header_checksum_ok(ip.data()));
  EXPECT_EQ(net::ipv4_header_checksum(ip.data()), get16(&ip[10]));
  ip[8] ^= 1;
  EXPECT_FALSE(net::ipv4_header_checksum_ok(ip.data()));
}

TEST(Checksum, L4OverIpv4AndIpv6) {
  Addr a4 = v4(192, 0, 2, 1), b4 = v4(192, 0, 2, 2);
  Addr a6 = v6({0xfe80, 0, 0, 0, 1, 2, 3, 4}), b6 = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 99});
  Bytes odd = bytes("odd length payload!");
  std::vector<Bytes> frames = {
      eth(0x0800, ipv4(a4, b4, 17, udp(a4, b4, 5060, 5060, odd))),
      eth(0x0800, ipv4(a4, b4, 6, tcp(a4, b4, 5060, 5061, 1, 2, 0x18, odd))),
      eth(0x86DD, ipv6(a6, b6, 17, udp(a6, b6, 5060, 5060, odd))),
      eth(0x86DD, ipv6(a6, b6, 60, tcp(a6, b6, 5060, 5061, 1, 2, 0x18, odd), ext_hdr(6))),
  };
  for (const Bytes& f : frames) {
    net::DecodedPacket p;
    ASSERT_EQ(net::decode_frame(f.data(), f.size(), p), net::DecodeResult::ok);
    const std::size_t field = p.l4_offset + (p.l4_proto == 17 ? 6 : 16);
    EXPECT_EQ(net::compute_l4_checksum(f.data(), p), get16(&f[field]));
    EXPECT_TRUE(net::l4_checksum_ok(f.data(), p));
    Bytes g = f;
    g[p.payload_offset] ^= 0x20;
    EXPECT_FALSE(net::l4_checksum_ok(g.data(), p));
  }
  // UDP over IPv4 with checksum 0 means "none" and verifies.
  Bytes z = eth(0x0800, ipv4(a4, b4, 17, udp(a4, b4, 1, 2, odd, true)));
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(z.data(), z.size(), p), net::DecodeResult::ok);
  EXPECT_TRUE(net::l4_checksum_ok(z.data(), p));
}

TEST(Checksum, UdpComputedZeroIsSentAsFFFF) {
  Addr a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2);
  // Choose the last two payload bytes so the full sum is 0xFFFF (checksum 0).
  Bytes payload{'a', 'b', 'c', 'd', 0, 0};
  Bytes u = udp(a, b, 1000, 2000, payload, true);
  std::uint16_t partial = ref_sum(cat({pseudo(a, b, 17, static_cast<std::uint32_t>(u.size())), u}));
  std::uint16_t fill = static_cast<std::uint16_t>(0xFFFF - partial);
  set16(&u[u.size() - 2], fill);
  ASSERT_EQ(ref_sum(cat({pseudo(a, b, 17, static_cast<std::uint32_t>(u.size())), u})), 0xFFFF);
  std::uint32_t ps = net::csum_pseudo_v4(a.raw.data(), b.raw.data(), 17, static_cast<std::uint16_t>(u.size()));
  EXPECT_EQ(net::l4_checksum(ps, u.data(), u.size(), 17), 0xFFFF);
}

TEST(Checksum, IncrementalMatchesRecompute) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 500; ++iter) {
    Bytes b = random_bytes(rng, 64);
    b[10] = b[11] = 0;
    std::uint16_t c = ref_checksum(b);
    b[10] = static_cast<std::uint8_t>(c >> 8);
    b[11] = static_cast<std::uint8_t>(c);
    // 16-bit edit at an even offset.
    std::size_t off16 = 2 * (rng() % 16) + 20;
    std::uint16_t old16 = get16(&b[off16]);
    std::uint16_t new16 = static_cast<std::uint16_t>(rng());
    set16(&b[off16], new16);
    c = net::csum_update16(c, old16, new16);
    // 32-bit edit.
    std::size_t off32 = 4 * (rng() % 4) + 48;
    std::uint32_t old32 = get32(&b[off32]);
    std::uint32_t new32 = static_cast<std::uint32_t>(rng());
    set16(&b[off32], static_cast<std::uint16_t>(new32 >> 16));
    set16(&b[off32 + 2], static_cast<std::uint16_t>(new32));
    c = net::csum_update32(c, old32, new32);
    set16(&b[10], c);
    EXPECT_EQ(ref_sum(b), 0xFFFF) << iter;
  }
}

TEST(Checksum, AdjustForOddOffsetEdit) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 200; ++iter) {
    Bytes b = random_bytes(rng, 40);
    b[0] = b[1] = 0;
    std::uint16_t c = ref_checksum(b);
    std::size_t off = 2 * (rng() % 15) + 3;  // odd
    Bytes old(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off) + 4);
    Bytes neu = random_bytes(rng, 4);
    std::copy(neu.begin(), neu.end(), b.begin() + static_cast<long>(off));
    c = net::csum_adjust(c, net::csum_partial_at(old.data(), 4, true), net::csum_partial_at(neu.data(), 4, true));
    set16(&b[0], c);
    EXPECT_EQ(ref_sum(b), 0xFFFF);
  }
}

}  // namespace
