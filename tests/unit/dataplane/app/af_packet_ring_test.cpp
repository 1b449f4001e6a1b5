// The af_packet ring as the start-up check reads it from the vdev text
// (dataplane/app/af_packet_ring.h): DPDK 22.11's defaults, the datagram a
// frame holds, the RX data room it needs, and the warnings (issue 17: a
// fragmented INVITE reassembled by the kernel is cut by 2 KB frames).
#include "dataplane/app/af_packet_ring.h"

#include <gtest/gtest.h>

#include "dataplane/app/config.h"

namespace sipwall::dataplane {
namespace {

DataplaneConfig two_ports(const std::string& ring_args) {
  DataplaneConfig c;
  c.vdevs = {"net_af_packet0,iface=eth1" + ring_args, "net_null0"};
  c.ports = {{"trunk", "net_af_packet0", PortRole::trunk, 1500}, {"core", "net_null0", PortRole::core, 1500}};
  return c;
}

TEST(AfPacketRing, ReadsTheVdevWithTheDriverDefaults) {
  auto r = parse_af_packet_vdev("net_af_packet1,iface=eth2,qpairs=2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "net_af_packet1");
  EXPECT_EQ(r->framesz, 2048u);
  EXPECT_EQ(r->qpairs, 2u);
  r = parse_af_packet_vdev("net_af_packet0,iface=eth1,framesz=61440,blocksz=61440,framecnt=256");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->framesz, 61440u);
  EXPECT_EQ(r->blocksz, 61440u);
  EXPECT_EQ(r->framecnt, 256u);
  EXPECT_FALSE(parse_af_packet_vdev("net_pcap0,rx_pcap=a.pcap"));
  // Not a number: the default stays (EAL refuses it at start anyway).
  EXPECT_EQ(parse_af_packet_vdev("net_af_packet0,framesz=big")->framesz, 2048u);
}

TEST(AfPacketRing, FrameHoldsFramesizeLessTheKernelsOffset) {
  AfPacketRing r;
  EXPECT_EQ(af_packet_max_datagram(r), 1968u);  // a 2,296-byte INVITE does not fit
  r.framesz = kAfPacketMaxFramesz;
  EXPECT_EQ(af_packet_max_datagram(r), 61360u);
  EXPECT_EQ(af_packet_rx_data_room(r), 61440u - 32 + 128);
  EXPECT_LE(af_packet_rx_data_room(r), 0xFFFFu);  // one mbuf can hold it
}

TEST(AfPacketRing, DefaultFramesAreWarnedAbout) {
  auto w = af_packet_warnings(two_ports(""));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("port trunk (net_af_packet0): af_packet frames of 2048 bytes hold IP datagrams up to 1968"),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[0].find("framesz=61440,blocksz=61440"), std::string::npos) << w[0];
}

TEST(AfPacketRing, TheLargestUsableFrameIsNotWarnedAbout) {
  EXPECT_TRUE(af_packet_warnings(two_ports(",framesz=61440,blocksz=61440")).empty());
}

TEST(AfPacketRing, ABlockThatIsNoMultipleOfTheFrameIsWarnedAbout) {
  auto w = af_packet_warnings(two_ports(",framesz=61440,blocksz=65536"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("not a multiple of framesz=61440"), std::string::npos) << w[0];
  w = af_packet_warnings(two_ports(",framesz=65536,blocksz=65536"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("larger than an mbuf can hold"), std::string::npos) << w[0];
}

}  // namespace
}  // namespace sipwall::dataplane
