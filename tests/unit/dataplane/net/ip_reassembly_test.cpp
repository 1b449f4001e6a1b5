// IpReassembler, the DPDK-free twin of the data plane's rte_ip_frag table
// (dataplane/net/ip_reassembly.h): datagrams complete in any order, the
// reassembled frame decodes to the sender's datagram, and what rte_ip_frag
// refuses is refused here too (no first fragment, a duplicate, an overlap or
// a hole, more than 8 fragments, the timeout, a full table, an IPv6 Fragment
// header that is not the first extension header).
#include "dataplane/net/ip_reassembly.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/net/packet_decode.h"
#include "tests/unit/dataplane/net/frames.h"

namespace net = sipwall::net;
using namespace nettest;

namespace {

const Addr kSrc4 = v4(192, 0, 2, 11), kDst4 = v4(10, 10, 0, 10);
const Addr kSrc6 = v6({0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x11}), kDst6 = v6({0x2001, 0xdb8, 0xc0, 0, 0, 0, 0, 0x10});

Bytes payload(std::size_t n) {
  Bytes p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>('a' + i % 26);
  return p;
}

// The UDP datagram's bytes [off, off + n) as an IPv4 fragment.
Bytes frag4(const Bytes& dgram, std::size_t off, std::size_t n, bool more, std::uint16_t id = 0x1234,
            std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans = {}) {
  V4Opts o;
  o.id = id;
  o.frag = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (off / 8));
  return eth(0x0800, ipv4(kSrc4, kDst4, 17, Bytes(dgram.begin() + off, dgram.begin() + off + n), o), vlans);
}

// The same as an IPv6 fragment; `before` is an extension header put before the Fragment header.
Bytes frag6(const Bytes& dgram, std::size_t off, std::size_t n, bool more, std::uint32_t id = 0x5678,
            bool hop_by_hop_first = false) {
  Bytes fh = frag_hdr(17, static_cast<std::uint16_t>(off / 8), more, id);
  Bytes chunk(dgram.begin() + off, dgram.begin() + off + n);
  if (hop_by_hop_first) return eth(0x86DD, ipv6(kSrc6, kDst6, 0, chunk, cat({ext_hdr(44), fh})));
  return eth(0x86DD, ipv6(kSrc6, kDst6, 44, chunk, fh));
}

struct Feed {
  net::IpReassembler r;
  explicit Feed(net::IpReassemblyConfig c = {}) : r(c) {}
  net::FragmentStatus add(const Bytes& f, std::uint64_t tag, std::uint64_t now = 0) {
    net::DecodedPacket d;
    EXPECT_EQ(net::decode_frame(f.data(), f.size(), d), net::DecodeResult::ok);
    EXPECT_TRUE(d.is_fragment);
    return r.add(f.data(), f.size(), d, tag, now);
  }
  std::vector<net::FragmentFailure> failures() {
    std::vector<net::FragmentFailure> out;
    for (const auto& f : r.take_failed()) out.push_back(f.why);
    return out;
  }
};

// The completed datagram decodes as one UDP datagram carrying `want`.
void expect_datagram(const Feed& f, const Bytes& want, int version) {
  const auto& dg = f.r.datagram();
  net::DecodedPacket d;
  ASSERT_EQ(net::decode_frame(dg.data(), dg.size(), d), net::DecodeResult::ok);
  EXPECT_FALSE(d.is_fragment);
  EXPECT_EQ(d.ip_version, version);
  EXPECT_EQ(d.l4_proto, 17);
  EXPECT_EQ(d.dst_port, 5060);
  EXPECT_EQ(d.ip_end, dg.size());
  EXPECT_EQ(Bytes(dg.begin() + d.payload_offset, dg.begin() + d.payload_offset + d.payload_length), want);
}

using net::FragmentFailure;
using net::FragmentStatus;

}  // namespace

TEST(IpReassembler, Ipv4InOrderAndReversed) {
  const Bytes body = payload(2000);
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, body);
  for (bool reverse : {false, true}) {
    Feed f;
    std::vector<Bytes> frames{frag4(dg, 0, 1480, true), frag4(dg, 1480, dg.size() - 1480, false)};
    if (reverse) std::swap(frames[0], frames[1]);
    EXPECT_EQ(f.add(frames[0], 1), FragmentStatus::held);
    EXPECT_EQ(f.r.pending(), 1u);
    ASSERT_EQ(f.add(frames[1], 2), FragmentStatus::complete);
    EXPECT_EQ(f.r.pending(), 0u);
    EXPECT_EQ(f.r.datagram_tags(), (std::vector<std::uint64_t>{1, 2}));
    expect_datagram(f, body, 4);
    EXPECT_TRUE(f.failures().empty());
  }
}

TEST(IpReassembler, Ipv6MiddleFirstBehindAVlan) {
  const Bytes body = payload(3000);
  const Bytes dg = udp(kSrc6, kDst6, 40000, 5060, body);
  Feed f;
  EXPECT_EQ(f.add(frag6(dg, 1232, 1232, true), 1), FragmentStatus::held);
  EXPECT_EQ(f.add(frag6(dg, 2464, dg.size() - 2464, false), 2), FragmentStatus::held);
  ASSERT_EQ(f.add(frag6(dg, 0, 1232, true), 3), FragmentStatus::complete);
  expect_datagram(f, body, 6);
  // The Fragment header is gone: the fixed header's Next Header is UDP.
  const auto& out = f.r.datagram();
  EXPECT_EQ(out[14 + 6], 17);
  EXPECT_EQ(get16(&out[14 + 4]), dg.size());
}

TEST(IpReassembler, NoFirstFragmentNeverCompletes) {
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(3000));
  Feed f;
  EXPECT_EQ(f.add(frag4(dg, 1480, 1480, true), 1), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 2960, dg.size() - 2960, false), 2), FragmentStatus::held);
  f.r.flush();
  const auto failed = f.r.take_failed();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].why, FragmentFailure::timeout);
  EXPECT_EQ(failed[0].tags, (std::vector<std::uint64_t>{1, 2}));
}

TEST(IpReassembler, DuplicateFirstOrLastFailsTheDatagram) {
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(3000));
  Feed f;
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true), 1), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true), 2), FragmentStatus::failed);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::duplicate}));
  EXPECT_EQ(f.r.pending(), 0u);
  // A duplicate middle fragment: the sizes exceed the datagram once the last arrives.
  Feed g;
  EXPECT_EQ(g.add(frag4(dg, 0, 1480, true), 1), FragmentStatus::held);
  EXPECT_EQ(g.add(frag4(dg, 1480, 1480, true), 2), FragmentStatus::held);
  EXPECT_EQ(g.add(frag4(dg, 1480, 1480, true), 3), FragmentStatus::held);
  EXPECT_EQ(g.add(frag4(dg, 2960, dg.size() - 2960, false), 4), FragmentStatus::failed);
  EXPECT_EQ(g.failures(), (std::vector<FragmentFailure>{FragmentFailure::overlap}));
}

TEST(IpReassembler, OverlapThatAddsUpLeavesAHoleAndFails) {
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(32));  // 40 bytes
  Feed f;
  // [0,16) [8,16) [24,32) [32,40): 40 bytes in all, but [16,24) is missing.
  EXPECT_EQ(f.add(frag4(dg, 0, 16, true), 1), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 8, 8, true), 2), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 24, 8, true), 3), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 32, 8, false), 4), FragmentStatus::failed);
  const auto failed = f.r.take_failed();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].why, FragmentFailure::overlap);
  EXPECT_EQ(failed[0].tags, (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST(IpReassembler, AtMostEightFragments) {
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(64));  // 72 bytes: 9 fragments of 8
  Feed f;
  EXPECT_EQ(f.add(frag4(dg, 0, 8, true), 0), FragmentStatus::held);
  for (std::size_t i = 1; i <= 6; ++i) EXPECT_EQ(f.add(frag4(dg, 8 * i, 8, true), i), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 56, 8, true), 7), FragmentStatus::failed);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::too_many}));
  // Eight complete.
  const Bytes dg8 = udp(kSrc4, kDst4, 5060, 5060, payload(56));  // 64 bytes
  Feed g;
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(g.add(frag4(dg8, 8 * i, 8, true, 7), i), FragmentStatus::held);
  EXPECT_EQ(g.add(frag4(dg8, 56, 8, false, 7), 7), FragmentStatus::complete);
}

TEST(IpReassembler, TimeoutFromTheFirstFragment) {
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(2000));
  net::IpReassemblyConfig c;
  c.timeout = 200;
  Feed f(c);
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true), 1, 1000), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 1480, dg.size() - 1480, false), 2, 1199), FragmentStatus::complete);
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, 9), 3, 2000), FragmentStatus::held);
  // 200 after the first fragment: given up; the last one starts a datagram of its own.
  EXPECT_EQ(f.add(frag4(dg, 1480, dg.size() - 1480, false, 9), 4, 2200), FragmentStatus::held);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::timeout}));
  f.r.expire(2399);
  EXPECT_TRUE(f.failures().empty());
  f.r.expire(2400);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::timeout}));
}

TEST(IpReassembler, TableOfMaxFlowsOver16Buckets) {
  net::IpReassemblyConfig c;
  c.max_flows = 40;  // 2 buckets of 16
  Feed f(c);
  EXPECT_EQ(f.r.capacity(), 32u);
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(2000));
  for (std::uint16_t id = 0; id < 32; ++id) EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, id), id), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, 99), 99), FragmentStatus::failed);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::table_full}));
  // A datagram already in the table still completes.
  EXPECT_EQ(f.add(frag4(dg, 1480, dg.size() - 1480, false, 5), 100), FragmentStatus::complete);
}

TEST(IpReassembler, ByteBudget) {
  net::IpReassemblyConfig c;
  c.max_bytes = 3000;
  Feed f(c);
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(4000));
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, 1), 1), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, 2), 2), FragmentStatus::held);
  EXPECT_EQ(f.add(frag4(dg, 1480, 1480, true, 1), 3), FragmentStatus::failed);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::table_full}));
}

TEST(IpReassembler, Ipv6FragmentHeaderMustBeFirst) {
  const Bytes dg = udp(kSrc6, kDst6, 5060, 5060, payload(2000));
  Feed f;
  EXPECT_EQ(f.add(frag6(dg, 0, 1232, true, 1, true), 1), FragmentStatus::failed);
  EXPECT_EQ(f.failures(), (std::vector<FragmentFailure>{FragmentFailure::header_not_first}));
}

TEST(IpReassembler, TheVlanIsNotPartOfTheKey) {
  // As in rte_ip_frag: same addresses and Identification on two VLANs are one datagram.
  const Bytes body = payload(2000);
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, body);
  Feed f;
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, 7, {{0x8100, 100}}), 1), FragmentStatus::held);
  ASSERT_EQ(f.add(frag4(dg, 1480, dg.size() - 1480, false, 7, {{0x8100, 200}}), 2), FragmentStatus::complete);
  net::DecodedPacket d;
  ASSERT_EQ(net::decode_frame(f.r.datagram().data(), f.r.datagram().size(), d), net::DecodeResult::ok);
  EXPECT_EQ(d.outer_vlan, 100);  // the first fragment's layer 2
}

TEST(IpReassembler, ProtocolIsPartOfTheIpv4Key) {
  const Bytes dg = udp(kSrc4, kDst4, 5060, 5060, payload(2000));
  Feed f;
  EXPECT_EQ(f.add(frag4(dg, 0, 1480, true, 7), 1), FragmentStatus::held);
  Bytes other = frag4(dg, 1480, dg.size() - 1480, false, 7);
  other[14 + 9] = 6;  // TCP; the header checksum is not checked on the way in
  EXPECT_EQ(f.add(other, 2), FragmentStatus::held);
  EXPECT_EQ(f.r.pending(), 2u);
}
