// read_sip_input: a capture becomes the SIP messages the data plane would
// inspect (control/common/sip_input.h). Captures are built here, frame by
// frame; every case states what the data plane does with it
// (docs/packet-handling.md §6.7, §6.8, §1 "Fragments"). Also: every read is
// bounded (a device, a FIFO, a directory or an oversized file is refused
// at once).
#include "control/common/sip_input.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/net/frames.h"

namespace control = sipwall::control;
namespace net = sipwall::net;
using namespace nettest;
using control::NotInspected;

namespace {

const Addr kPeer = v4(192, 0, 2, 11), kCore = v4(10, 10, 0, 10);
const Addr kPeer6 = v6({0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x11}), kCore6 = v6({0x2001, 0xdb8, 0xc0, 0, 0, 0, 0, 0x10});
constexpr std::uint8_t kPshAck = 0x18, kAck = 0x10, kFin = 0x01, kRst = 0x04, kSyn = 0x02;

std::string invite(const std::string& call_id, std::size_t body_bytes = 200) {
  const std::string body = "v=0\r\n" + std::string(body_bytes, 'x') + "\r\n";
  return "INVITE sip:+8613600136000@10.10.0.10 SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 192.0.2.11:5060;branch=z9hG4bK-" +
         call_id +
         "\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:+8613800138000@192.0.2.11>;tag=f1\r\n"
         "To: <sip:+8613600136000@10.10.0.10>\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Content-Type: application/sdp\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

Bytes tcp_frame(const std::string& payload, std::uint32_t seq, std::uint8_t flags = kPshAck,
                std::uint16_t sport = 40000) {
  return eth(0x0800, ipv4(kPeer, kCore, 6, tcp(kPeer, kCore, sport, 5060, seq, 1, flags, bytes(payload))));
}
Bytes core_ack(std::uint32_t ack, std::uint16_t dport = 40000) {
  return eth(0x0800, ipv4(kCore, kPeer, 6, tcp(kCore, kPeer, 5060, dport, 1, ack, kAck, {})));
}

struct Frame {
  Bytes bytes;
  double t = 0;  // seconds from the capture's start
};

class SipInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sipwall-sip-input-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_pcap(const std::vector<Frame>& frames) {
    const std::string path = (dir_ / "in.pcap").string();
    std::ofstream f(path, std::ios::binary);
    auto u32 = [&](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    u32(0xA1B2C3D4);
    u16(2);
    u16(4);
    u32(0);
    u32(0);
    u32(262144);
    u32(1);  // Ethernet
    for (const Frame& fr : frames) {
      const auto us = static_cast<std::uint64_t>(fr.t * 1e6) + 1764320400ull * 1000000;
      u32(static_cast<std::uint32_t>(us / 1000000));
      u32(static_cast<std::uint32_t>(us % 1000000));
      u32(static_cast<std::uint32_t>(fr.bytes.size()));
      u32(static_cast<std::uint32_t>(fr.bytes.size()));
      f.write(reinterpret_cast<const char*>(fr.bytes.data()), static_cast<std::streamsize>(fr.bytes.size()));
    }
    return path;
  }

  // Every payload of `path`, with the read's result.
  std::vector<control::SipPayload> read(const std::string& path, const control::InputOptions& o = {}) {
    std::vector<control::SipPayload> out;
    stats_ = {};
    error_.clear();
    ok_ = control::read_sip_input(
        path, o, stats_, [&](const control::SipPayload& p) { out.push_back(p); }, error_);
    return out;
  }

  std::filesystem::path dir_;
  control::InputStats stats_;
  std::string error_;
  bool ok_ = false;
};

// The parse of a payload as sipwallctl does it.
sipwall::sip::ParseError parse(const control::SipPayload& p, sipwall::sip::Message& m) {
  return sipwall::sip::parse_message(p.bytes, m,
                                     p.stream ? sipwall::sip::Transport::stream : sipwall::sip::Transport::datagram);
}

// Its Call-ID, or "(error)".
std::string call_id(const control::SipPayload& p) {
  static sipwall::sip::Message m;
  const sipwall::sip::ParseError e = parse(p, m);
  if (e != sipwall::sip::ParseError::none) return "(" + std::string(sipwall::sip::to_string(e)) + ")";
  return std::string(m.call_id);
}

}  // namespace

// Issue 13: the first half used to be reported as headers_unterminated and
// the second as bad_method; the data plane holds the first and inspects one INVITE.
TEST_F(SipInputTest, InviteInTwoSegmentsIsOneMessage) {
  const std::string a = invite("two");
  const std::size_t cut = a.size() / 2;
  const auto in = read(write_pcap({{tcp_frame(a.substr(0, cut), 1000)}, {tcp_frame(a.substr(cut), 1000 + cut)}}));
  ASSERT_TRUE(ok_) << error_;
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(call_id(in[0]), "two");
  EXPECT_EQ(in[0].bytes, a);
  EXPECT_TRUE(in[0].stream);
  EXPECT_EQ(in[0].not_inspected, NotInspected::no);
  EXPECT_EQ(in[0].frames, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(in[0].origin.substr(in[0].origin.size() - 2), "#2");  // where it completed
  EXPECT_EQ(stats_.tcp_segments, 2u);
  EXPECT_EQ(stats_.tcp_spanning, 1u);
}

TEST_F(SipInputTest, InviteInThreeSegmentsWithTheHandshakeAndAcks) {
  const std::string a = invite("three", 900);
  const std::size_t c1 = 300, c2 = 700;
  const auto in = read(write_pcap({{tcp_frame("", 999, kSyn)},
                                   {core_ack(1000)},
                                   {tcp_frame(a.substr(0, c1), 1000)},
                                   {tcp_frame(a.substr(c1, c2 - c1), 1000 + c1)},
                                   {core_ack(1000)},
                                   {tcp_frame(a.substr(c2), 1000 + c2)}}));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(call_id(in[0]), "three");
  EXPECT_EQ(in[0].frames, (std::vector<std::uint64_t>{3, 4, 6}));
}

TEST_F(SipInputTest, TwoInvitesInOneSegmentAndOneSplitAfterThem) {
  const std::string a = invite("a"), b = invite("b"), c = invite("c");
  const std::size_t cut = 100;
  const auto in =
      read(write_pcap({{tcp_frame(a + b + c.substr(0, cut), 1000)},
                       {tcp_frame(c.substr(cut), static_cast<std::uint32_t>(1000 + a.size() + b.size() + cut))}}));
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(call_id(in[0]), "a");
  EXPECT_EQ(call_id(in[1]), "b");
  EXPECT_EQ(call_id(in[2]), "c");
  EXPECT_EQ(in[0].index, 0u);
  EXPECT_EQ(in[1].index, 1u);
  EXPECT_TRUE(in[0].frames.empty());
  EXPECT_EQ(in[2].frames, (std::vector<std::uint64_t>{1, 2}));
}

TEST_F(SipInputTest, FragmentedUdpInviteIsOneDatagram) {
  const std::string a = invite("frag", 2500);
  const Bytes dg = udp(kPeer, kCore, 5060, 5060, bytes(a));
  std::vector<Frame> frames;
  for (std::size_t off = 0; off < dg.size(); off += 1480) {
    V4Opts o;
    o.id = 0x4242;
    const bool more = off + 1480 < dg.size();
    o.frag = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (off / 8));
    const std::size_t n = std::min<std::size_t>(1480, dg.size() - off);
    frames.push_back({eth(0x0800, ipv4(kPeer, kCore, 17, Bytes(dg.begin() + off, dg.begin() + off + n), o))});
  }
  std::swap(frames[0], frames[1]);  // out of order
  const auto in = read(write_pcap(frames));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_TRUE(in[0].reassembled);
  EXPECT_FALSE(in[0].stream);
  EXPECT_EQ(in[0].bytes, a);
  EXPECT_EQ(in[0].frames, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(stats_.fragments, 2u);
  EXPECT_EQ(stats_.reassembled, 1u);
}

TEST_F(SipInputTest, FragmentedIpv6UdpInvite) {
  const std::string a = invite("frag6", 1500);
  const Bytes dg = udp(kPeer6, kCore6, 5060, 5060, bytes(a));
  std::vector<Frame> frames;
  for (std::size_t off = 0; off < dg.size(); off += 1232) {
    const bool more = off + 1232 < dg.size();
    const std::size_t n = std::min<std::size_t>(1232, dg.size() - off);
    frames.push_back({eth(0x86DD, ipv6(kPeer6, kCore6, 44, Bytes(dg.begin() + off, dg.begin() + off + n),
                                       frag_hdr(17, static_cast<std::uint16_t>(off / 8), more, 77)))});
  }
  const auto in = read(write_pcap(frames));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(call_id(in[0]), "frag6");
  EXPECT_EQ(in[0].packet.ip_version, 6);
}

TEST_F(SipInputTest, OverlappingFragmentsAreFreedNotParsed) {
  const std::string a = invite("overlap", 3500);
  const Bytes dg = udp(kPeer, kCore, 5060, 5060, bytes(a));
  auto frag = [&](std::size_t off, std::size_t n, bool more) {
    V4Opts o;
    o.id = 9;
    o.frag = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (off / 8));
    return Frame{eth(0x0800, ipv4(kPeer, kCore, 17, Bytes(dg.begin() + off, dg.begin() + off + n), o))};
  };
  const auto in = read(write_pcap({frag(0, 1480, true), frag(1400, 1480, true), frag(2880, dg.size() - 2880, false)}));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::fragments_failed);
  EXPECT_EQ(in[0].frames, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(stats_.incomplete_fragments, 1u);
}

TEST_F(SipInputTest, TcpInIpFragmentsIsNotInspected) {
  const std::string a = invite("tcpfrag", 2500);
  const Bytes seg = tcp(kPeer, kCore, 40000, 5060, 1000, 1, kPshAck, bytes(a));
  std::vector<Frame> frames;
  for (std::size_t off = 0; off < seg.size(); off += 1480) {
    V4Opts o;
    o.id = 10;
    const bool more = off + 1480 < seg.size();
    o.frag = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (off / 8));
    const std::size_t n = std::min<std::size_t>(1480, seg.size() - off);
    frames.push_back({eth(0x0800, ipv4(kPeer, kCore, 6, Bytes(seg.begin() + off, seg.begin() + off + n), o))});
  }
  const auto in = read(write_pcap(frames));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::tcp_in_fragments);
  EXPECT_EQ(in[0].bytes, a);
}

TEST_F(SipInputTest, ContinuationOfAnUnseenStartIsNotInspected) {
  const std::string a = invite("mid"), b = invite("next");
  const std::size_t cut = 120;
  const auto in = read(write_pcap({{tcp_frame(a.substr(cut), 1000)}, {tcp_frame(b, 1000 + a.size() - cut)}}));
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::tcp_partial);
  EXPECT_EQ(in[0].bytes, a.substr(cut));
  EXPECT_EQ(call_id(in[1]), "next");  // resynchronised at the next message boundary
}

TEST_F(SipInputTest, HeldWhenTheCaptureEnds) {
  const std::string a = invite("end");
  const auto in = read(write_pcap({{tcp_frame(a.substr(0, 100), 1000)}}));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::tcp_end_of_input);
  EXPECT_EQ(in[0].bytes, a.substr(0, 100));
}

TEST_F(SipInputTest, HoldTimeoutRunsOnTheCapturesClock) {
  const std::string a = invite("slow");
  const std::size_t cut = 100;
  std::vector<Frame> frames{{tcp_frame(a.substr(0, cut), 1000), 0.0}, {tcp_frame(a.substr(cut), 1000 + cut), 1.9}};
  auto in = read(write_pcap(frames));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(call_id(in[0]), "slow");
  // After the 2000 ms timeout the start is given up, and the rest cannot be framed.
  frames[1].t = 2.0;
  in = read(write_pcap(frames));
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::tcp_timeout);
  EXPECT_EQ(in[1].not_inspected, NotInspected::tcp_partial);
  // A longer timeout, as a data plane configured so would have.
  control::InputOptions o;
  o.tcp_timeout_ms = 5000;
  in = read(write_pcap(frames), o);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(call_id(in[0]), "slow");
}

TEST_F(SipInputTest, RetransmissionAndGapWhileHeldAreDropped) {
  const std::string a = invite("held"), b = invite("after");
  const std::size_t cut = a.size() / 2;
  const auto in = read(write_pcap({{tcp_frame(a.substr(0, cut), 1000)},
                                   {tcp_frame(a.substr(0, cut), 1000)},                          // retransmission
                                   {tcp_frame(b, static_cast<std::uint32_t>(1000 + a.size()))},  // after a gap
                                   {tcp_frame(a.substr(cut), 1000 + cut)},
                                   {tcp_frame(b, static_cast<std::uint32_t>(1000 + a.size()))}}));
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(call_id(in[0]), "held");
  EXPECT_EQ(in[0].frames, (std::vector<std::uint64_t>{1, 4}));
  EXPECT_EQ(call_id(in[1]), "after");
  EXPECT_EQ(stats_.tcp_dropped, 2u);
}

TEST_F(SipInputTest, FinInsideAMessageIsMalformed) {
  const std::string a = invite("fin");
  const auto in =
      read(write_pcap({{tcp_frame(a.substr(0, 100), 1000)}, {tcp_frame(a.substr(100, 200), 1100, kPshAck | kFin)}}));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::no);
  EXPECT_EQ(call_id(in[0]), "(body_truncated)");
  EXPECT_EQ(in[0].bytes, a.substr(0, 300));
}

TEST_F(SipInputTest, RstGivesUpTheHeldStart) {
  const std::string a = invite("rst");
  const auto in = read(write_pcap({{tcp_frame(a.substr(0, 100), 1000)}, {tcp_frame("", 1100, kRst | kAck)}}));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::tcp_aborted);
}

TEST_F(SipInputTest, OverTheSegmentBoundTheStartIsGivenUp) {
  const std::string a = invite("many");
  control::InputOptions o;
  o.tcp_hold.max_segments = 2;
  std::vector<Frame> frames;
  for (std::size_t off = 0, i = 0; off < a.size(); off += 100, ++i)
    frames.push_back({tcp_frame(a.substr(off, 100), static_cast<std::uint32_t>(1000 + off))});
  const auto in = read(write_pcap(frames), o);
  ASSERT_GE(in.size(), 2u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::tcp_overflow);
  EXPECT_EQ(in[0].bytes, a.substr(0, 300));  // two held, the third would be one too many
  EXPECT_EQ(in[1].not_inspected, NotInspected::tcp_partial);
  // With the data plane's default bound the same capture is one INVITE.
  const auto whole = read(write_pcap(frames));
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(call_id(whole[0]), "many");
}

TEST_F(SipInputTest, DeniedSourcesAreDroppedFirst) {
  const std::string a = invite("denied");
  control::InputOptions o;
  o.denied = [](const net::DecodedPacket& d, bool has_l4, std::string& entry) {
    entry = "scanners";
    return has_l4 && d.src[15] == 11;
  };
  const auto in = read(write_pcap({{tcp_frame(a, 1000)}}), o);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].not_inspected, NotInspected::source_denied);
  EXPECT_EQ(in[0].detail, "scanners");
  EXPECT_EQ(stats_.denied, 1u);
}

TEST_F(SipInputTest, RawMessageFile) {
  const std::string path = (dir_ / "msg.sip").string();
  std::ofstream(path, std::ios::binary) << invite("raw");
  const auto in = read(path);
  ASSERT_TRUE(ok_) << error_;
  ASSERT_EQ(in.size(), 1u);
  EXPECT_FALSE(in[0].from_pcap);
  EXPECT_EQ(call_id(in[0]), "raw");
}

// `sipwallctl parse /dev/zero` used to read forever.
TEST_F(SipInputTest, DevicesFifosAndDirectoriesAreRefusedAtOnce) {
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(read("/dev/zero").empty());
  EXPECT_FALSE(ok_);
  EXPECT_NE(error_.find("character device"), std::string::npos) << error_;
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  read(fifo);  // no writer: must not block
  EXPECT_FALSE(ok_);
  EXPECT_NE(error_.find("FIFO"), std::string::npos) << error_;
  read(dir_.string());
  EXPECT_FALSE(ok_);
  EXPECT_NE(error_.find("directory"), std::string::npos) << error_;
  read((dir_ / "missing").string());
  EXPECT_FALSE(ok_);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(SipInputTest, RawFileOverTheLimitIsRefused) {
  const std::string path = (dir_ / "big.sip").string();
  {
    std::ofstream f(path, std::ios::binary);
    f << invite("big");
  }
  std::filesystem::resize_file(path, control::kMaxMessageFileBytes + 1);  // sparse
  EXPECT_TRUE(read(path).empty());
  EXPECT_FALSE(ok_);
  EXPECT_NE(error_.find("1 MiB"), std::string::npos) << error_;
}

TEST_F(SipInputTest, TruncatedCaptureKeepsWhatCameBefore) {
  const std::string a = invite("first");
  const std::string path = write_pcap({{tcp_frame(a, 1000)}, {tcp_frame(invite("second"), 5000, kPshAck, 40001)}});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 50);
  const auto in = read(path);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(call_id(in[0]), "first");
  EXPECT_FALSE(ok_);
  EXPECT_FALSE(error_.empty());
}

// Frames handed over one by one, with a lambda as the sink (a temporary
// std::function the reader must copy, not keep a reference to).
TEST(FrameReader, FramesOfTheCallersOwn) {
  const std::string a = invite("own");
  const std::size_t cut = 200;
  const Bytes f1 = tcp_frame(a.substr(0, cut), 1000), f2 = tcp_frame(a.substr(cut), 1000 + cut);
  control::InputStats stats;
  std::vector<std::string> ids;
  control::FrameReader reader("own", {}, stats, [&](const control::SipPayload& p) { ids.push_back(call_id(p)); });
  reader.frame(1, 0, f1.data(), f1.size(), control::kLinkEthernet);
  reader.frame(2, 1000, f2.data(), f2.size(), control::kLinkEthernet);
  reader.frame(3, 2000, f2.data(), 10, 147);  // a link type it does not read
  reader.finish();
  EXPECT_EQ(ids, (std::vector<std::string>{"own"}));
  EXPECT_EQ(stats.frames, 3u);
  EXPECT_EQ(stats.undecodable, 1u);
}
