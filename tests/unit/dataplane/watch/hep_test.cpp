// The HEPv3 encoder (dataplane/watch/hep.h): the exact bytes of one
// message, IPv6, the optional chunks and the size limits.
#include "dataplane/watch/hep.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipwall::watch {
namespace {

std::string hex(const std::uint8_t* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

HepMessage v4() {
  HepMessage m;
  m.ip_version = 4;
  m.ip_protocol = 17;
  m.src = {192, 0, 2, 11};
  m.dst = {10, 10, 0, 10};
  m.src_port = 5060;
  m.dst_port = 5062;
  m.time_s = 0x5F5E1000;
  m.time_us = 123456;
  m.agent_id = 2001;
  m.payload = "SIP";
  return m;
}

TEST(Hep, EncodesEveryChunkInNetworkOrder) {
  std::uint8_t out[256];
  const HepMessage m = v4();
  const std::size_t n = encode_hep(m, out, sizeof out);
  ASSERT_EQ(n, hep_size(m));
  // Each chunk: vendor 0000, type, length (6 + body), body.
  EXPECT_EQ(hex(out, n),
            "48455033"  // HEP3
            "0066"      // total length 102
            "00000001000702"
            "00000002000711"
            "00000003000ac000020b"
            "00000004000a0a0a000a"
            "00000007000813c4"
            "00000008000813c6"
            "00000009000a5f5e1000"
            "0000000a000a0001e240"
            "0000000b000701"
            "0000000c000a000007d1"
            "0000000f0009534950");
  EXPECT_EQ(n, 102u);
}

TEST(Hep, Ipv6AuthKeyAndCorrelationId) {
  HepMessage m = v4();
  m.ip_version = 6;
  m.src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  m.auth_key = "key";
  m.correlation_id = "abc@host";
  std::vector<std::uint8_t> out(hep_size(m));
  ASSERT_EQ(encode_hep(m, out.data(), out.size()), out.size());
  const std::string h = hex(out.data(), out.size());
  EXPECT_NE(h.find("0000000100070a"), std::string::npos);  // family 10
  EXPECT_NE(h.find("000000050016"
                   "20010db8000000000000000000000001"),
            std::string::npos);  // IPv6 source
  EXPECT_NE(h.find("0000000e0009" + hex(reinterpret_cast<const std::uint8_t*>("key"), 3)), std::string::npos);
  EXPECT_NE(h.find("00000011000e" + hex(reinterpret_cast<const std::uint8_t*>("abc@host"), 8)), std::string::npos);
  EXPECT_EQ(out[4] << 8 | out[5], static_cast<int>(out.size()));
}

TEST(Hep, RefusesWhatDoesNotFit) {
  HepMessage m = v4();
  std::uint8_t small[40];
  EXPECT_EQ(encode_hep(m, small, sizeof small), 0u);
  m.ip_version = 5;
  EXPECT_EQ(hep_size(m), 0u);
  m = v4();
  std::string big(kHepMax, 'x');
  m.payload = big;
  EXPECT_EQ(hep_size(m), 0u);
  m.payload = std::string_view(big).substr(0, kHepMax - 99);  // exactly 65535 in all
  EXPECT_EQ(hep_size(m), kHepMax);
  std::vector<std::uint8_t> out(kHepMax);
  EXPECT_EQ(encode_hep(m, out.data(), out.size()), kHepMax);
  m.payload = std::string_view(big).substr(0, kHepMax - 98);
  EXPECT_EQ(hep_size(m), 0u);
}

}  // namespace
}  // namespace sipwall::watch
