#include "rules/compiled/trunk_table.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace sipwall::rules;

namespace {

std::array<std::uint8_t, 16> addr(const std::string& ip) {
  std::array<std::uint8_t, 16> a{};
  std::uint8_t v4[4];
  if (inet_pton(AF_INET, ip.c_str(), v4) == 1) {
    a[10] = a[11] = 0xFF;
    std::copy(v4, v4 + 4, a.begin() + 12);
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), a.data()), 1) << ip;
  }
  return a;
}

TrunkPrefix pfx(const std::string& ip, int len, std::uint32_t trunk, int vlan = -1, int port = -1) {
  TrunkPrefix p;
  p.addr = addr(ip);
  const bool v4 = ip.find(':') == std::string::npos;
  p.prefix_len = static_cast<std::uint8_t>(v4 ? len + 96 : len);
  p.trunk = trunk;
  p.vlan = vlan;
  p.port = port;
  return p;
}

std::uint32_t find(const TrunkTable& t, const std::string& ip, int vlan = -1, int port = 5060) {
  return t.find(addr(ip).data(), vlan, static_cast<std::uint16_t>(port));
}

}  // namespace

TEST(TrunkTable, Ipv4AndIpv6Prefixes) {
  const TrunkTable t = TrunkTable::build({
      pfx("10.1.0.0", 16, 0),
      pfx("192.0.2.7", 32, 1),
      pfx("2001:db8::", 32, 2),
      pfx("2001:db9:1::", 48, 3),
  });
  EXPECT_EQ(find(t, "10.1.0.0"), 0U);
  EXPECT_EQ(find(t, "10.1.255.255"), 0U);
  EXPECT_EQ(find(t, "10.2.0.0"), kNoTrunk);
  EXPECT_EQ(find(t, "10.0.255.255"), kNoTrunk);
  EXPECT_EQ(find(t, "192.0.2.7"), 1U);
  EXPECT_EQ(find(t, "192.0.2.8"), kNoTrunk);
  EXPECT_EQ(find(t, "2001:db8:ffff::1"), 2U);
  EXPECT_EQ(find(t, "2001:db9:1:2::1"), 3U);
  EXPECT_EQ(find(t, "2001:db9:2::1"), kNoTrunk);
  EXPECT_EQ(find(t, "::1"), kNoTrunk);
  EXPECT_EQ(find(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), kNoTrunk);
}

TEST(TrunkTable, VlanAndPortQualifiersMostSpecificWins) {
  const TrunkTable t = TrunkTable::build({
      pfx("10.0.0.0", 24, 0),             // unqualified
      pfx("10.0.0.0", 24, 1, 100),        // vlan 100
      pfx("10.0.0.0", 24, 2, -1, 5080),   // port 5080
      pfx("10.0.0.0", 24, 3, 100, 5080),  // vlan 100 and port 5080
  });
  EXPECT_EQ(find(t, "10.0.0.9", -1, 5060), 0U);
  EXPECT_EQ(find(t, "10.0.0.9", 100, 5060), 1U);
  EXPECT_EQ(find(t, "10.0.0.9", 200, 5080), 2U);
  EXPECT_EQ(find(t, "10.0.0.9", -1, 5080), 2U);
  EXPECT_EQ(find(t, "10.0.0.9", 100, 5080), 3U);
  // Qualified only: no fallback.
  const TrunkTable q = TrunkTable::build({pfx("10.0.0.0", 24, 7, 300)});
  EXPECT_EQ(find(q, "10.0.0.1", 300), 7U);
  EXPECT_EQ(find(q, "10.0.0.1", 301), kNoTrunk);
  EXPECT_EQ(find(q, "10.0.0.1", -1), kNoTrunk);
}

TEST(TrunkTable, NestedPrefixesLongestWinsAndEdgesAreExact) {
  const TrunkTable t = TrunkTable::build({pfx("10.0.0.0", 8, 0), pfx("10.5.0.0", 16, 1), pfx("0.0.0.0", 0, 2)});
  EXPECT_EQ(find(t, "10.5.1.1"), 1U);
  EXPECT_EQ(find(t, "10.4.255.255"), 0U);
  EXPECT_EQ(find(t, "10.6.0.0"), 0U);
  EXPECT_EQ(find(t, "11.0.0.0"), 2U);           // 0.0.0.0/0 = every IPv4 address
  EXPECT_EQ(find(t, "2001:db8::1"), kNoTrunk);  // but no IPv6 one
}

TEST(TrunkTable, FromRawChecksIndices) {
  const TrunkTable t = TrunkTable::build({pfx("10.0.0.0", 8, 0)});
  TrunkTable u;
  EXPECT_TRUE(TrunkTable::from_raw(t.raw_segments(), t.raw_candidates(), 1, u));
  EXPECT_EQ(find(u, "10.1.1.1"), 0U);
  EXPECT_FALSE(TrunkTable::from_raw(t.raw_segments(), t.raw_candidates(), 0, u));
}
