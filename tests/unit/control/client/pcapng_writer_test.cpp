// The pcapng blocks of `sipwallctl capture` (control/client/pcapng_writer.h),
// read back by libpcap (which reads pcapng): link type, nanosecond times,
// every byte of every frame, frames on two interfaces, odd lengths padded.
#include "control/client/pcapng_writer.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/rules/test_util.h"

namespace sipwall::control {
namespace {

struct Got {
  std::uint64_t time_ns;
  std::string frame;
};

std::vector<Got> read_back(const std::string& path, int& link_type) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  EXPECT_NE(p, nullptr) << err;
  std::vector<Got> out;
  if (p == nullptr) return out;
  link_type = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &h, &data) == 1) {
    out.push_back(Got{static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000ULL +
                          static_cast<std::uint64_t>(h->ts.tv_usec),  // nanoseconds at this precision
                      std::string(reinterpret_cast<const char*>(data), h->caplen)});
    EXPECT_EQ(h->caplen, h->len);
  }
  pcap_close(p);
  return out;
}

TEST(Pcapng, LibpcapReadsEveryFrameBack) {
  rules::test::TempDir dir;
  const std::string path = (dir.path() / "cap.pcapng").string();
  std::string frame_a(61, '\0'), frame_b(1514, '\0');
  for (std::size_t i = 0; i < frame_a.size(); ++i) frame_a[i] = static_cast<char>(i * 7);
  for (std::size_t i = 0; i < frame_b.size(); ++i) frame_b[i] = static_cast<char>(255 - i % 256);
  {
    std::ofstream f(path, std::ios::binary);
    f << pcapng_section_header() << pcapng_interface("trunk") << pcapng_packet(0, 1796616180123456789ULL, frame_a)
      << pcapng_interface(std::string(300, 'c')) << pcapng_packet(1, 1796616180223456780ULL, frame_b)
      << pcapng_packet(0, 1796616181000000001ULL, "");
  }
  int link = -1;
  const std::vector<Got> got = read_back(path, link);
  EXPECT_EQ(link, DLT_EN10MB);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].time_ns, 1796616180123456789ULL);
  EXPECT_EQ(got[0].frame, frame_a);
  EXPECT_EQ(got[1].time_ns, 1796616180223456780ULL);
  EXPECT_EQ(got[1].frame, frame_b);
  EXPECT_EQ(got[2].frame, "");
}

TEST(Pcapng, BlocksAreWholeWords) {
  EXPECT_EQ(pcapng_section_header().size(), 28u);
  EXPECT_EQ(pcapng_interface("a").size() % 4, 0u);
  const std::string p = pcapng_packet(0, 0, "abcde");
  EXPECT_EQ(p.size(), 40u);  // type, length, 20 bytes of fields, 5 bytes padded to 8, length
  std::uint32_t first = 0, last = 0;
  std::memcpy(&first, p.data() + 4, 4);
  std::memcpy(&last, p.data() + p.size() - 4, 4);
  EXPECT_EQ(first, p.size());
  EXPECT_EQ(last, p.size());
}

}  // namespace
}  // namespace sipwall::control
