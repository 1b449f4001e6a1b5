// plan_held_arrival (the table of docs/packet-handling.md §6.7: what a
// segment of a flow that holds is) and scan_unit (how a unit's stream is
// framed, §6.6 and §6.8).
#include "dataplane/net/tcp_unit.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace net = sipwall::net;
namespace sip = sipwall::sip;
using net::HeldArrival;
using net::UnitEnd;

namespace {

std::string invite(const std::string& call_id, const std::string& body = "v=0\r\n") {
  return "INVITE sip:+8613600136000@10.10.0.10 SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 192.0.2.11:5060;branch=z9hG4bK" +
         call_id +
         "\r\n"
         "From: <sip:+8613800138000@192.0.2.11>;tag=a\r\n"
         "To: <sip:+8613600136000@10.10.0.10>\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Content-Type: application/sdp\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A flow holding `held` bytes from seq 1000.
struct HeldFlow {
  net::HeldSegment seg{};
  net::TcpHoldFlow f{};
  explicit HeldFlow(std::uint32_t held) {
    f.first_seq = 1000;
    f.next_seq = 1000 + held;
    f.bytes = held;
    f.count = 1;
    f.segs = &seg;
  }
};

net::DecodedPacket seg(std::uint32_t seq, std::uint16_t len, std::uint8_t flags = net::kTcpAck | net::kTcpPsh) {
  net::DecodedPacket d;
  d.ip_version = 4;
  d.l4_proto = 6;
  d.tcp_seq = seq;
  d.payload_length = len;
  d.tcp_flags = flags;
  return d;
}

struct Seen {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> messages, malformed_;
  std::vector<std::string> call_ids;
  sip::Message* msg = nullptr;
  void message(std::uint32_t b, std::uint32_t e) {
    messages.emplace_back(b, e);
    call_ids.emplace_back(msg->call_id);
  }
  void malformed(std::uint32_t b, std::uint32_t e, sip::ParseError) { malformed_.emplace_back(b, e); }
};

struct Scan {
  net::UnitScan r;
  Seen seen;
};

// Scans `stream` cut into segments at `cuts`.
Scan scan(const std::string& stream, std::vector<std::uint32_t> cuts = {}, bool fin = false, bool holdable = true) {
  static sip::Message msg;
  std::vector<net::StreamRange> ranges;
  std::uint32_t at = 0;
  cuts.push_back(static_cast<std::uint32_t>(stream.size()));
  for (std::uint32_t c : cuts) {
    ranges.push_back({at, c});
    at = c;
  }
  Scan s;
  s.seen.msg = &msg;
  s.r = net::scan_unit(stream, ranges.data(), ranges.size(), fin, holdable, msg, nullptr, s.seen);
  return s;
}

}  // namespace

TEST(PlanHeldArrival, TheTableOfTheDocs) {
  HeldFlow h(100);  // holds [1000, 1100)
  // In order.
  auto p = net::plan_held_arrival(h.f, seg(1100, 50));
  EXPECT_EQ(p.what, HeldArrival::in_order);
  EXPECT_EQ(p.begin, 0u);
  EXPECT_EQ(p.end, 50u);
  // A retransmission of held bytes only.
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1000, 100)).what, HeldArrival::retransmission);
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1050, 50)).what, HeldArrival::retransmission);
  // Repacketised: overlaps the held bytes and brings 30 new ones.
  p = net::plan_held_arrival(h.f, seg(1080, 50));
  EXPECT_EQ(p.what, HeldArrival::in_order);
  EXPECT_EQ(p.begin, 20u);
  EXPECT_EQ(p.end, 50u);
  // Before the held bytes: alone (cut where the held message starts if it reaches it).
  p = net::plan_held_arrival(h.f, seg(900, 50));
  EXPECT_EQ(p.what, HeldArrival::before_held);
  EXPECT_FALSE(p.repeats_held);
  EXPECT_EQ(p.end, 50u);
  p = net::plan_held_arrival(h.f, seg(900, 150));
  EXPECT_EQ(p.what, HeldArrival::before_held);
  EXPECT_TRUE(p.repeats_held);
  EXPECT_EQ(p.begin, 0u);
  EXPECT_EQ(p.end, 100u);
  // After a gap.
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1101, 10)).what, HeldArrival::gap);
  // ACKs and window updates; a FIN in order or out of order.
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1100, 0, net::kTcpAck)).what, HeldArrival::control);
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1100, 0, net::kTcpAck | net::kTcpFin)).what, HeldArrival::in_order);
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1200, 0, net::kTcpAck | net::kTcpFin)).what, HeldArrival::gap);
  // SYN or RST: the held bytes are given up.
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(1100, 10, net::kTcpRst | net::kTcpAck)).what, HeldArrival::abort);
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(5, 0, net::kTcpSyn)).what, HeldArrival::abort);
}

TEST(PlanHeldArrival, SequenceNumbersWrap) {
  HeldFlow h(100);
  h.f.first_seq = 0xFFFFFFC0u;  // holds 64 bytes before the wrap and 36 after
  h.f.next_seq = h.f.first_seq + 100;
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(36, 10)).what, HeldArrival::in_order);
  auto p = net::plan_held_arrival(h.f, seg(30, 10));
  EXPECT_EQ(p.what, HeldArrival::in_order);
  EXPECT_EQ(p.begin, 6u);
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(0xFFFFFFF0u, 20)).what, HeldArrival::retransmission);
  EXPECT_EQ(net::plan_held_arrival(h.f, seg(0xFFFFFF00u, 20)).what, HeldArrival::before_held);
}

TEST(ScanUnit, OneMessageInTwoSegmentsIsOneSpanningMessage) {
  const std::string a = invite("one");
  Scan s = scan(a, {static_cast<std::uint32_t>(a.size() / 2)});
  EXPECT_EQ(s.r.end, UnitEnd::complete);
  EXPECT_EQ(s.r.messages, 1u);
  EXPECT_EQ(s.r.spanning, 1u);
  ASSERT_EQ(s.seen.messages.size(), 1u);
  EXPECT_EQ(s.seen.messages[0], std::make_pair(0u, static_cast<std::uint32_t>(a.size())));
  EXPECT_EQ(s.seen.call_ids[0], "one");
}

TEST(ScanUnit, TwoMessagesInOneSegmentAndAnIncompleteTailToHold) {
  const std::string a = invite("a"), b = invite("b"), c = invite("c");
  const std::string stream = a + b + c.substr(0, 40);
  Scan s = scan(stream);
  EXPECT_EQ(s.r.end, UnitEnd::hold);
  EXPECT_EQ(s.r.error, sip::ParseError::headers_unterminated);
  EXPECT_EQ(s.r.stop, a.size() + b.size());
  EXPECT_EQ(s.r.hold_from(static_cast<std::uint32_t>(stream.size())), a.size() + b.size());
  EXPECT_EQ(s.seen.call_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.r.spanning, 0u);
  // The same tail may not be held (SYN/RST or an old retransmission): partial.
  EXPECT_EQ(scan(stream, {}, false, false).r.end, UnitEnd::partial);
  // ... and with FIN it can never complete: truncated (malformed).
  Scan f = scan(stream, {}, true);
  EXPECT_EQ(f.r.end, UnitEnd::truncated);
  EXPECT_EQ(f.r.stop, a.size() + b.size());
}

TEST(ScanUnit, BodyNotCompleteYetIsHeld) {
  const std::string a = invite("a", std::string(300, 'x'));
  Scan s = scan(a.substr(0, a.size() - 10));
  EXPECT_EQ(s.r.end, UnitEnd::hold);
  EXPECT_EQ(s.r.error, sip::ParseError::body_truncated);
  EXPECT_EQ(s.r.stop, 0u);
}

TEST(ScanUnit, TheMiddleOfAMessageIsUnframeable) {
  const std::string a = invite("a");
  // Starts inside the headers: the first line does not parse.
  Scan s = scan(a.substr(60));
  EXPECT_EQ(s.r.end, UnitEnd::unframeable);
  EXPECT_EQ(s.r.stop, 0u);
  EXPECT_TRUE(s.seen.messages.empty());
  // Starts inside the body ("v=0\r\n" then the next INVITE): the same.
  const std::string b = invite("b");
  EXPECT_EQ(scan("=0\r\n" + b).r.end, UnitEnd::unframeable);
}

TEST(ScanUnit, FramedSemanticErrorGoesOnUnframedErrorStops) {
  std::string bad = invite("bad");
  bad.erase(bad.find("Call-ID: bad\r\n"), 14);  // framed: Content-Length known
  const std::string good = invite("good");
  Scan s = scan(bad + good);
  EXPECT_EQ(s.r.end, UnitEnd::complete);
  ASSERT_EQ(s.seen.malformed_.size(), 1u);
  EXPECT_EQ(s.seen.malformed_[0].second, bad.size());
  EXPECT_EQ(s.seen.call_ids, (std::vector<std::string>{"good"}));
  // A broken header line in the second message: no length, nothing after it is framed.
  std::string broken = invite("broken");
  broken.insert(broken.find("CSeq"), "Bad Header\r\n");
  Scan u = scan(good + broken + good);
  EXPECT_EQ(u.r.end, UnitEnd::unframed);
  EXPECT_EQ(u.r.stop, good.size());
  EXPECT_EQ(u.r.error, sip::ParseError::missing_colon);
  EXPECT_EQ(u.seen.call_ids, (std::vector<std::string>{"good"}));
}

TEST(ScanUnit, KeepAliveAfterTheLastMessage) {
  const std::string a = invite("a");
  Scan s = scan(a + "\r\n\r\n");
  EXPECT_EQ(s.r.end, UnitEnd::complete);
  EXPECT_TRUE(s.r.keepalive);
  EXPECT_EQ(s.r.stop, a.size());
  EXPECT_EQ(s.seen.call_ids, (std::vector<std::string>{"a"}));
  Scan only = scan("\r\n\r\n");
  EXPECT_TRUE(only.r.keepalive);
  EXPECT_EQ(only.r.stop, 0u);
  EXPECT_EQ(only.r.hold_from(4), 4u);
}

TEST(ScanUnit, FirstParseFromTheCaller) {
  const std::string a = invite("a"), b = invite("b");
  static sip::Message msg;
  const std::string stream = a + b;
  const sip::ParseError first = sip::parse_message(stream, msg, sip::Transport::stream);
  ASSERT_EQ(first, sip::ParseError::none);
  net::StreamRange r{0, static_cast<std::uint32_t>(stream.size())};
  Seen seen;
  seen.msg = &msg;
  const net::UnitScan u = net::scan_unit(stream, &r, 1, false, true, msg, &first, seen);
  EXPECT_EQ(u.messages, 2u);
  EXPECT_EQ(seen.call_ids, (std::vector<std::string>{"a", "b"}));
}
