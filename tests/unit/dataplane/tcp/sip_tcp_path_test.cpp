// The SIP-over-TCP path (dataplane/tcp) in process, without EAL and without
// root: the data plane's own code, instantiated on byte buffers instead of
// mbufs. Segments go in as Ethernet frames; what leaves toward the core and
// toward the client is decoded and checked (payload, seq/ack, flags,
// checksums), with the counters and the counter invariant
// rx = forwarded + dropped + rejected + held after every step.
//
// The flow: client 203.0.113.5:40000 -> core 198.51.100.1:5060, client ISN
// kA, core ISN kB. The host decides by Call-ID prefix: "reject-" gets a 603,
// "drop-" is dropped, "tag-" gets a tag line, "mark-" a tag line, a label and
// a verstat, anything else passes.
#include "dataplane/tcp/sip_tcp_path.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/net/checksum.h"
#include "dataplane/net/sip_response.h"
#include "tests/unit/dataplane/net/frames.h"

namespace {

using namespace nettest;
using namespace sipwall;
using dataplane::WorkerCounters;
namespace path = sipwall::dataplane::tcp;

constexpr std::uint16_t kTrunkPort = 0;  // the client's segments enter here
constexpr std::uint16_t kCorePort = 1;   // its pair
constexpr std::uint32_t kA = 1000;       // client ISN + 1: its first payload byte
constexpr std::uint32_t kB = 5000;       // core's
constexpr std::uint8_t kAck = 0x10, kPshAck = 0x18, kFinAck = 0x11;
constexpr std::string_view kTagLine = "X-Risk: high";
constexpr std::string_view kLabel = "[骚扰]";

// A packet: a frame in a buffer of fixed room, as an mbuf of the small or
// the large pool.
struct TestPacket {
  std::vector<std::uint8_t> buf;
  std::size_t len = 0;
  bool large = false;
};

class BufferHost {
 public:
  using Packet = TestPacket*;
  static constexpr std::size_t kRoom = 2048 - 128;  // a pool mbuf's data room after its headroom
  static constexpr std::size_t kLargeRoom = 65407;

  Packet received(const Bytes& frame) {
    Packet p = fresh(frame.size() > kRoom);
    std::copy(frame.begin(), frame.end(), p->buf.begin());
    p->len = frame.size();
    return p;
  }

  static std::uint8_t* frame(Packet p) { return p->buf.data(); }
  static std::size_t length(Packet p) { return p->len; }
  static std::size_t room(Packet p) { return p->buf.size(); }
  static void set_length(Packet p, std::size_t n) {
    ASSERT_LE(n, p->buf.size());
    p->len = n;
  }
  Packet alloc() { return out_of_packets ? nullptr : fresh(false); }
  static bool is_large(Packet p) { return p->large; }
  bool alloc_pieces(Packet* dst, unsigned n, bool large) {
    if (out_of_packets) return false;
    for (unsigned i = 0; i < n; ++i) dst[i] = fresh(large);
    return true;
  }
  void free(Packet p) { release(p); }
  bool has_core(std::uint16_t) const { return true; }
  void to_core(std::uint16_t in, Packet p) { send(in == kTrunkPort ? kCorePort : kTrunkPort, p); }
  void to_client(std::uint16_t in, Packet p) { send(in, p); }
  std::size_t egress_mtu(std::uint16_t) const { return 1500; }
  std::uint16_t next_ip_id() { return ip_id++; }
  bool decide(const sip::Message& msg, const net::DecodedPacket&, std::uint16_t, classify::Verdict& v) {
    if (!msg.is_request || msg.method != sip::Method::invite) return false;
    const std::string call_id(msg.call_id);
    judged.push_back(call_id);
    v = classify::Verdict{};
    if (call_id.rfind("reject-", 0) == 0) {
      v.action = rules::ActionKind::reject;
      v.reject_code = 603;
    } else if (call_id.rfind("drop-", 0) == 0) {
      v.action = rules::ActionKind::drop;
    } else if (call_id.rfind("tag-", 0) == 0) {
      v.action = rules::ActionKind::tag;
      v.tag_line = kTagLine;
    } else if (call_id.rfind("mark-", 0) == 0) {
      v.action = rules::ActionKind::tag;
      v.tag_line = kTagLine;
      v.tag_label = kLabel;
      v.tag_verstat = "No-TN-Validation";
    }
    return true;
  }
  static std::size_t reject_text(const classify::Verdict& v, const sip::Message& msg, const net::DecodedPacket&,
                                 char* out, std::size_t cap) {
    net::SipResponseOptions o;
    o.code = v.reject_code;
    return net::build_sip_response(msg, o, out, cap);
  }

  // The core side's messages for the call table, while following: kept as
  // (Call-ID, status code or 0) in the order they came.
  bool following_calls() const { return following; }
  void core_message(const sip::Message& msg) { core_messages.emplace_back(msg.call_id, msg.status_code); }

  // Watches (docs/export.md): while watch_on, the calls whose Call-ID holds
  // "watch-" are watched; each copy is kept with the port it was seen on.
  bool watching() const { return watch_on; }
  static watch::WatchMark watch_mark(const sip::Message& msg, const classify::Verdict*) {
    return msg.call_id.find("watch-") != std::string_view::npos ? watch::WatchMark{7, 1} : watch::WatchMark{};
  }
  void watch_copy(watch::WatchMark mark, const std::uint8_t* f, std::size_t len, std::uint16_t in) {
    EXPECT_EQ(mark.generation, 7u);
    copies.emplace_back(in, Bytes(f, f + len));
  }

  std::size_t live() const { return live_.size(); }

  std::vector<Bytes> out[2];  // frames sent out of each port, in order
  std::vector<std::string> judged;
  bool out_of_packets = false;
  bool watch_on = false;
  std::vector<std::pair<std::uint16_t, Bytes>> copies;
  bool following = false;
  std::vector<std::pair<std::string, int>> core_messages;
  std::uint16_t ip_id = 1;

 private:
  Packet fresh(bool large) {
    auto p = std::make_unique<TestPacket>();
    p->buf.assign(large ? kLargeRoom : kRoom, 0);
    p->large = large;
    Packet raw = p.get();
    live_.emplace(raw, std::move(p));
    return raw;
  }
  void release(Packet p) { ASSERT_EQ(live_.erase(p), 1u) << "a packet freed or sent twice"; }
  void send(std::uint16_t port, Packet p) {
    out[port].emplace_back(p->buf.begin(), p->buf.begin() + static_cast<long>(p->len));
    release(p);
  }
  std::map<TestPacket*, std::unique_ptr<TestPacket>> live_;
};

// One frame as it left: its TCP numbers and payload.
struct Seen {
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  std::string payload;
};

Seen seen(const Bytes& f) {
  Seen s;
  net::DecodedPacket d;
  EXPECT_EQ(net::decode_frame(f.data(), f.size(), d), net::DecodeResult::ok);
  EXPECT_TRUE(checksums_valid(f));
  s.seq = d.tcp_seq;
  s.ack = d.tcp_ack;
  s.flags = d.tcp_flags;
  s.payload = std::string(d.payload(f.data()));
  return s;
}

// An INVITE with `body` bytes of SDP-like lines (so bytes cut from its
// middle are no message start).
std::string invite(const std::string& call_id, std::size_t body = 0) {
  std::string sdp;
  while (sdp.size() < body) sdp += "a=rtpmap:0 PCMU/8000\r\n";
  sdp.resize(body);
  return "INVITE sip:+8613800138000@core.example.com SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 203.0.113.5:40000;branch=z9hG4bK-" +
         call_id +
         "\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:+8613900139000@trunk.example.com>;tag=a1\r\n"
         "To: <sip:+8613800138000@core.example.com>\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Contact: <sip:203.0.113.5:40000;transport=tcp>\r\n"
         "Content-Length: " +
         std::to_string(body) + "\r\n\r\n" + sdp;
}

// A response from the core to the INVITE of `call_id`.
std::string response(const std::string& call_id, int code = 200) {
  return "SIP/2.0 " + std::to_string(code) +
         " OK\r\n"
         "Via: SIP/2.0/TCP 203.0.113.5:40000;branch=z9hG4bK-" +
         call_id +
         "\r\n"
         "From: <sip:+8613900139000@trunk.example.com>;tag=a1\r\n"
         "To: <sip:+8613800138000@core.example.com>;tag=b2\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Content-Length: 0\r\n\r\n";
}

std::uint32_t len32(const std::string& s) {
  return static_cast<std::uint32_t>(s.size());
}

class SipTcpPath : public ::testing::Test {
 protected:
  static path::PathConfig config(std::uint32_t hold_bytes) {
    path::PathConfig c;
    c.seqadj.capacity = 64;
    c.seqadj.idle_timeout = 1'000'000;
    c.seqadj.closed_timeout = 1'000;
    c.hold.flows = 8;
    c.hold.max_bytes = hold_bytes;
    c.hold.max_segments = 8;
    c.hold.total_segments = 32;
    return c;
  }

  void TearDown() override {
    // What is still held leaves like at shutdown (fail-open: released);
    // then every packet has gone somewhere and every frame is counted.
    closed = false;
    path::drain_held(ctx(kTrunkPort));
    EXPECT_EQ(host.live(), 0u) << "packets neither sent nor freed";
    EXPECT_EQ(c.held, 0u);
    check_counted();
  }

  path::Ctx<BufferHost> ctx(std::uint16_t in) { return path::Ctx<BufferHost>{host, *st, *msg, c, in, now, closed}; }

  void feed(const Bytes& frame, bool from_client) {
    BufferHost::Packet p = host.received(frame);
    net::DecodedPacket d;
    ASSERT_EQ(net::decode_frame(host.frame(p), host.length(p), d), net::DecodeResult::ok);
    ++rx;
    path::Ctx<BufferHost> x = ctx(from_client ? kTrunkPort : kCorePort);
    path::on_segment(x, p, host.frame(p), d, from_client);
  }
  // Client -> core: bytes [off, off + payload.size()) of the client's stream.
  void client(std::uint32_t off, const std::string& payload, std::uint32_t ack = kB, std::uint8_t flags = kPshAck) {
    feed(seg(true, kA + off, ack, payload, flags), true);
  }
  void core(std::uint32_t off, const std::string& payload, std::uint32_t ack, std::uint8_t flags = kPshAck) {
    feed(seg(false, kB + off, ack, payload, flags), false);
  }
  static Bytes seg(bool from_client, std::uint32_t seq, std::uint32_t ack, const std::string& payload,
                   std::uint8_t flags) {
    const Addr a = v4(203, 0, 113, 5), b = v4(198, 51, 100, 1);
    const Addr& s = from_client ? a : b;
    const Addr& d = from_client ? b : a;
    Bytes t =
        nettest::tcp(s, d, from_client ? 40000 : 5060, from_client ? 5060 : 40000, seq, ack, flags, bytes(payload));
    return eth(0x0800, ipv4(s, d, 6, t));
  }

  std::vector<Seen> to_core() const { return all(host.out[kCorePort]); }
  std::vector<Seen> to_client() const { return all(host.out[kTrunkPort]); }
  static std::vector<Seen> all(const std::vector<Bytes>& frames) {
    std::vector<Seen> v;
    for (const Bytes& f : frames) v.push_back(seen(f));
    return v;
  }
  static std::string joined(const std::vector<Seen>& v) {
    std::string s;
    for (const Seen& x : v) s += x.payload;
    return s;
  }

  // rx = forwarded + dropped + rejected + held (counters.h).
  void check_counted() const { EXPECT_EQ(c.forwarded + c.dropped + c.rejected + c.held, rx); }

  BufferHost host;
  std::unique_ptr<path::PathState<TestPacket*>> st = std::make_unique<path::PathState<TestPacket*>>(config(4096));
  std::unique_ptr<sip::Message> msg = std::make_unique<sip::Message>();
  WorkerCounters c{};
  std::uint64_t rx = 0;
  std::uint64_t now = 100;
  bool closed = false;
};

TEST_F(SipTcpPath, InviteInOneSegmentGoesOnUntouched) {
  const std::string inv = invite("pass-1", 120);
  client(0, inv);
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(host.out[kCorePort][0], seg(true, kA, kB, inv, kPshAck)) << "not a byte changed";
  EXPECT_EQ(host.judged, std::vector<std::string>{"pass-1"});
  EXPECT_EQ(c.sip_tcp, 1u);
  EXPECT_EQ(c.forwarded, 1u);
  EXPECT_EQ(c.tcp_held, 0u);
}

TEST_F(SipTcpPath, InviteSplitAcrossTwoSegments) {
  const std::string inv = invite("pass-2", 200);
  client(0, inv.substr(0, 150));
  EXPECT_TRUE(to_core().empty()) << "the start of a message waits for the rest";
  EXPECT_TRUE(host.judged.empty());
  EXPECT_EQ(c.held, 1u);
  EXPECT_EQ(c.tcp_held, 1u);
  check_counted();

  client(150, inv.substr(150));
  const std::vector<Seen> out = to_core();
  ASSERT_EQ(out.size(), 2u) << "both segments go on, as they came";
  EXPECT_EQ(out[0].seq, kA);
  EXPECT_EQ(out[1].seq, kA + 150);
  EXPECT_EQ(joined(out), inv);
  EXPECT_EQ(host.judged, std::vector<std::string>{"pass-2"}) << "classified once, whole";
  EXPECT_EQ(c.tcp_reassembled_messages, 1u);
  EXPECT_EQ(c.held, 0u);
  EXPECT_EQ(c.forwarded, 2u);
}

TEST_F(SipTcpPath, InviteSplitAcrossThreeSegments) {
  const std::string inv = invite("pass-3", 300);
  client(0, inv.substr(0, 100));
  client(100, inv.substr(100, 200));
  EXPECT_TRUE(to_core().empty());
  EXPECT_EQ(c.held, 2u);
  EXPECT_EQ(c.tcp_held, 2u);
  check_counted();
  client(300, inv.substr(300));
  const std::vector<Seen> out = to_core();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].seq, kA + 300);
  EXPECT_EQ(joined(out), inv);
  EXPECT_EQ(host.judged, std::vector<std::string>{"pass-3"});
  EXPECT_EQ(c.tcp_reassembled_messages, 1u);
  EXPECT_EQ(c.tcp_reassembly_released_unchanged, 0u) << "inspected, not given up on";
}

TEST_F(SipTcpPath, TwoInvitesInOneSegment) {
  const std::string both = invite("pass-4a", 40) + invite("pass-4b", 60);
  client(0, both);
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_core()[0].payload, both);
  EXPECT_EQ(host.judged, (std::vector<std::string>{"pass-4a", "pass-4b"}));
  EXPECT_EQ(c.tcp_multi_message, 1u);
  EXPECT_EQ(c.tcp_split, 0u) << "nothing to edit: nothing cut";
}

TEST_F(SipTcpPath, SecondOfTwoInvitesRejectedIsRemovedInPlace) {
  const std::string first = invite("pass-5", 40), second = invite("reject-5", 60);
  client(0, first + second);
  const std::vector<Seen> core_side = to_core();
  ASSERT_EQ(core_side.size(), 1u);
  EXPECT_EQ(core_side[0].payload, first);
  EXPECT_EQ(core_side[0].seq, kA);
  const std::vector<Seen> client_side = to_client();
  ASSERT_EQ(client_side.size(), 1u);
  EXPECT_EQ(client_side[0].payload.rfind("SIP/2.0 603 Decline\r\n", 0), 0u) << client_side[0].payload;
  EXPECT_NE(client_side[0].payload.find("Call-ID: reject-5\r\n"), std::string::npos);
  EXPECT_EQ(client_side[0].seq, kB);
  EXPECT_EQ(client_side[0].ack, kA + len32(first + second)) << "the removed INVITE is acknowledged";
  EXPECT_EQ(c.tcp_split, 0u) << "one edit per segment: edited in place";
  EXPECT_EQ(c.replies_sent, 1u);
  EXPECT_EQ(c.forwarded, 1u);
}

TEST_F(SipTcpPath, TwoEditsInOneSegmentCutIt) {
  const std::string first = invite("reject-5b", 40), second = invite("tag-5b", 60);
  client(0, first + second);
  EXPECT_EQ(c.tcp_split, 1u) << "a piece per edit";
  const std::vector<Seen> co = to_core();
  ASSERT_EQ(co.size(), 2u);
  EXPECT_EQ(co[0].payload, "") << "the rejected INVITE's piece, emptied, still carries the client's ack";
  EXPECT_EQ(co[0].seq, kA);
  const std::size_t eoh = second.find("\r\n\r\n") + 2;
  EXPECT_EQ(co[1].payload, second.substr(0, eoh) + std::string(kTagLine) + "\r\n" + second.substr(eoh));
  EXPECT_EQ(co[1].seq, kA) << "right after the removed INVITE, in the core's space";
  const std::vector<Seen> cl = to_client();
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].ack, kA + len32(first));
  EXPECT_EQ(c.replies_sent, 1u);
  EXPECT_EQ(c.tagged, 1u);
  EXPECT_EQ(c.forwarded, 1u) << "the frame counts by its first piece";
  EXPECT_EQ(host.judged, (std::vector<std::string>{"reject-5b", "tag-5b"}));
}

// The reject exchange of docs/packet-handling.md §6.3 through the whole path:
// the INVITE leaves the client's stream, the 603 enters the core's, and every
// later segment is renumbered both ways.
TEST_F(SipTcpPath, RejectedInviteRemovedAndNumbersAdjustedBothWays) {
  const std::string rej = invite("reject-6", 80), next = invite("pass-6", 90);
  const std::uint32_t lr = len32(rej), lp = len32(next);
  client(0, rej);
  std::vector<Seen> cl = to_client();
  ASSERT_EQ(cl.size(), 1u);
  const std::uint32_t lresp = len32(cl[0].payload);
  EXPECT_EQ(cl[0].payload.rfind("SIP/2.0 603 Decline\r\n", 0), 0u);
  EXPECT_EQ(cl[0].seq, kB);
  EXPECT_EQ(cl[0].ack, kA + lr);
  // The emptied segment still brings the core the client's ack.
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_core()[0].payload, "");
  EXPECT_EQ(to_core()[0].seq, kA);
  EXPECT_EQ(to_core()[0].ack, kB);
  EXPECT_EQ(to_core()[0].flags, kAck) << "PSH cleared on the emptied segment";

  // The core acknowledges what it has (nothing): the client sees the core's
  // next byte after our response, and no ack of the removed INVITE until it
  // has acknowledged the response (so a lost response gets the INVITE sent again).
  core(0, "", kA, kAck);
  cl = to_client();
  ASSERT_EQ(cl.size(), 2u);
  EXPECT_EQ(cl[1].seq, kB + lresp);
  EXPECT_EQ(cl[1].ack, kA);

  // The client acknowledges the response, then sends the next INVITE.
  client(lr, "", kB + lresp, kAck);
  client(lr, next, kB + lresp);
  const std::vector<Seen> co = to_core();
  ASSERT_EQ(co.size(), 3u);
  EXPECT_EQ(co[1].seq, kA);
  EXPECT_EQ(co[1].ack, kB) << "the response is not in the core's space";
  EXPECT_EQ(co[2].seq, kA) << "the removed INVITE is not in the core's space";
  EXPECT_EQ(co[2].ack, kB);
  EXPECT_EQ(co[2].payload, next);

  // The core answers it.
  const std::string trying = "SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n";
  core(0, trying, kA + lp);
  cl = to_client();
  ASSERT_EQ(cl.size(), 3u);
  EXPECT_EQ(cl[2].seq, kB + lresp);
  EXPECT_EQ(cl[2].ack, kA + lr + lp);
  EXPECT_EQ(cl[2].payload, trying);
  EXPECT_EQ(c.tcp_adjusted, 1u);
  EXPECT_EQ(c.replies_sent, 1u);
  EXPECT_EQ(host.judged, (std::vector<std::string>{"reject-6", "pass-6"}));
}

TEST_F(SipTcpPath, RetransmittedRejectedInviteIsAnsweredAgainTheSameWay) {
  const std::string rej = invite("reject-7", 50);
  client(0, rej);
  client(0, rej);  // the client did not get the 603 (yet)
  const std::vector<Seen> cl = to_client();
  ASSERT_EQ(cl.size(), 2u);
  EXPECT_EQ(cl[1].payload, cl[0].payload);
  EXPECT_EQ(cl[1].seq, cl[0].seq);
  EXPECT_EQ(cl[1].ack, cl[0].ack);
  ASSERT_EQ(to_core().size(), 1u) << "the first emptied segment carried the ack; the repeat carries nothing new";
  EXPECT_EQ(st->seqadj.stats().edits_repeated, 1u);
  EXPECT_EQ(c.rejected, 1u);
  EXPECT_EQ(c.forwarded, 1u);
}

TEST_F(SipTcpPath, RetransmissionOfHeldBytesIsDropped) {
  const std::string inv = invite("pass-8", 100);
  client(0, inv.substr(0, 200));
  client(0, inv.substr(0, 200));  // the same bytes again: the originals are held
  EXPECT_EQ(c.tcp_retransmit_dropped, 1u);
  EXPECT_EQ(c.tcp_out_of_order_dropped, 0u);
  EXPECT_EQ(c.dropped, 1u);
  EXPECT_EQ(c.held, 1u);
  client(200, inv.substr(200));
  const std::vector<Seen> out = to_core();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(joined(out), inv);
  EXPECT_EQ(host.judged.size(), 1u);
}

TEST_F(SipTcpPath, OutOfOrderSegmentIsDroppedUntilItsTurn) {
  const std::string inv = invite("pass-9", 300);
  client(0, inv.substr(0, 150));
  client(300, inv.substr(300));  // the middle was lost on the way
  EXPECT_EQ(c.tcp_out_of_order_dropped, 1u);
  EXPECT_TRUE(to_core().empty());
  client(150, inv.substr(150, 150));
  EXPECT_TRUE(to_core().empty()) << "still incomplete: held";
  EXPECT_EQ(c.held, 2u);
  client(300, inv.substr(300));  // the client sends it again
  const std::vector<Seen> out = to_core();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(joined(out), inv);
  EXPECT_EQ(c.dropped, 1u);
  EXPECT_EQ(c.forwarded, 3u);
}

TEST_F(SipTcpPath, RejectedInviteSplitAcrossSegmentsIsRemovedOnce) {
  const std::string rej = invite("reject-10", 120);
  client(0, rej.substr(0, 180));
  client(180, rej.substr(180));
  const std::vector<Seen> cl = to_client();
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].payload.rfind("SIP/2.0 603 Decline\r\n", 0), 0u);
  EXPECT_EQ(cl[0].seq, kB);
  EXPECT_EQ(cl[0].ack, kA + len32(rej));
  // No byte of the INVITE reaches the core; the segment that completed it
  // brings the core the client's ack, as an empty segment.
  const std::vector<Seen> co = to_core();
  ASSERT_EQ(co.size(), 1u);
  EXPECT_EQ(co[0].payload, "");
  EXPECT_EQ(co[0].seq, kA);
  EXPECT_EQ(c.tcp_reassembled_messages, 1u);
  EXPECT_EQ(c.rejected, 1u) << "the first segment: all of it answered";
  EXPECT_EQ(c.forwarded, 1u) << "the second: its empty view went on";
}

TEST_F(SipTcpPath, TagInsertedIntoASplitInviteAndTheAcksMappedBack) {
  const std::string inv = invite("tag-11", 100);
  client(0, inv.substr(0, 100));
  client(100, inv.substr(100));
  const std::vector<Seen> co = to_core();
  ASSERT_EQ(co.size(), 2u);
  const std::string tagged = joined(co);
  const std::size_t end_of_headers = inv.find("\r\n\r\n") + 2;
  EXPECT_EQ(tagged, inv.substr(0, end_of_headers) + std::string(kTagLine) + "\r\n" + inv.substr(end_of_headers));
  EXPECT_EQ(co[1].seq, kA + 100);
  EXPECT_EQ(c.tagged, 1u);
  // The core acknowledges the tagged stream; the client sees its own bytes acknowledged.
  core(0, "", kA + len32(tagged), kAck);
  ASSERT_EQ(to_client().size(), 1u);
  EXPECT_EQ(to_client()[0].ack, kA + len32(inv));
}

// What "mark-" does to invite(): From labelled and given a verstat, the tag line inserted.
std::string marked_invite(const std::string& inv, bool label) {
  std::string out = inv;
  const std::string from = "From: <sip:+8613900139000@trunk.example.com>;tag=a1\r\n";
  const std::string to = std::string("From: ") + (label ? "\"[骚扰]\" " : "") +
                         "<sip:+8613900139000;verstat=No-TN-Validation@trunk.example.com>;tag=a1\r\n";
  out.replace(out.find(from), from.size(), to);
  const std::size_t end_of_headers = out.find("\r\n\r\n") + 2;
  return out.substr(0, end_of_headers) + std::string(kTagLine) + "\r\n" + out.substr(end_of_headers);
}

TEST_F(SipTcpPath, LabelAndVerstatInOneSegmentAndTheAcksMappedBack) {
  const std::string inv = invite("mark-1", 100);
  client(0, inv);
  const std::vector<Seen> co = to_core();
  ASSERT_EQ(co.size(), 1u);
  const std::string want = marked_invite(inv, true);
  EXPECT_EQ(co[0].payload, want);  // seen() checked the checksums
  EXPECT_EQ(co[0].seq, kA);
  EXPECT_EQ(c.tagged, 1u);
  EXPECT_EQ(c.tag_partial, 0u);
  EXPECT_EQ(c.tcp_adjusted, 1u);
  // A retransmission is marked the same way and keeps its sequence number.
  client(0, inv);
  ASSERT_EQ(to_core().size(), 2u);
  EXPECT_EQ(to_core()[1].payload, want);
  EXPECT_EQ(to_core()[1].seq, kA);
  // The next bytes of the client continue after the marked ones.
  const std::string next = invite("pass-1b", 10);
  client(len32(inv), next);
  ASSERT_EQ(to_core().size(), 3u);
  EXPECT_EQ(to_core()[2].seq, kA + len32(want));
  // The core acknowledges the marked stream; the client sees its own bytes acknowledged.
  core(0, "", kA + len32(want) + len32(next), kAck);
  ASSERT_EQ(to_client().size(), 1u);
  EXPECT_EQ(to_client()[0].ack, kA + len32(inv) + len32(next));
}

TEST_F(SipTcpPath, MarksInAnEarlierSegmentThanTheHeadersEndAreLeftOutAndCounted) {
  const std::string inv = invite("mark-2", 100);
  // Cut just inside the From's '<': its label would go in the first segment,
  // its verstat (after the number) and the tag line in the second.
  const auto cut = static_cast<std::uint32_t>(inv.find("From: <") + 7);
  client(0, inv.substr(0, cut));
  client(cut, inv.substr(cut));
  const std::vector<Seen> co = to_core();
  ASSERT_EQ(co.size(), 2u);
  EXPECT_EQ(co[0].payload, inv.substr(0, cut)) << "the first segment goes on as it came";
  EXPECT_EQ(joined(co), marked_invite(inv, false));
  EXPECT_EQ(co[1].seq, kA + cut);
  EXPECT_EQ(c.tagged, 1u);
  EXPECT_EQ(c.tag_partial, 1u);
  core(0, "", kA + len32(joined(co)), kAck);
  ASSERT_EQ(to_client().size(), 1u);
  EXPECT_EQ(to_client()[0].ack, kA + len32(inv));
}

TEST_F(SipTcpPath, StartOfTheNextMessageIsHeldFromTheMiddleOfASegment) {
  const std::string a = invite("pass-12a", 30), b = invite("pass-12b", 30);
  client(0, a + b.substr(0, 90));
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_core()[0].payload, a) << "cut at the message boundary";
  EXPECT_EQ(c.tcp_split, 1u);
  EXPECT_EQ(c.tcp_held, 1u);
  EXPECT_EQ(c.held, 0u) << "the frame was counted by its first piece";
  client(len32(a) + 90, b.substr(90));
  const std::vector<Seen> out = to_core();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].seq, kA + len32(a));
  EXPECT_EQ(joined(out), a + b);
  EXPECT_EQ(host.judged, (std::vector<std::string>{"pass-12a", "pass-12b"}));
}

TEST_F(SipTcpPath, MessageLargerThanTheHoldIsReleasedFailOpen) {
  st = std::make_unique<path::PathState<TestPacket*>>(config(1024));
  const std::string inv = invite("pass-13", 1500);
  client(0, inv.substr(0, 700));
  EXPECT_EQ(c.held, 1u);
  client(700, inv.substr(700, 700));  // 1400 bytes would be held
  EXPECT_EQ(c.tcp_reassembly_overflow, 1u);
  std::vector<Seen> out = to_core();
  ASSERT_EQ(out.size(), 2u) << "given up on: both go on uninspected";
  EXPECT_EQ(out[0].payload + out[1].payload, inv.substr(0, 1400));
  EXPECT_EQ(c.tcp_reassembly_released_unchanged, 1u);
  EXPECT_EQ(c.tcp_partial, 1u);
  client(1400, inv.substr(1400));  // the rest is no message start
  out = to_core();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(joined(out), inv);
  EXPECT_EQ(c.tcp_partial, 2u);
  EXPECT_TRUE(host.judged.empty()) << "never inspected";
  EXPECT_EQ(c.held, 0u);
}

TEST_F(SipTcpPath, MessageLargerThanTheHoldResetsTheConnectionFailClosed) {
  st = std::make_unique<path::PathState<TestPacket*>>(config(1024));
  closed = true;
  const std::string inv = invite("pass-14", 1500);
  client(0, inv.substr(0, 700));
  client(700, inv.substr(700, 700));
  EXPECT_EQ(c.tcp_reset_fail_closed, 1u);
  EXPECT_EQ(c.dropped, 2u);
  const std::vector<Seen> cl = to_client(), co = to_core();
  ASSERT_EQ(cl.size(), 1u);
  ASSERT_EQ(co.size(), 1u);
  EXPECT_EQ(cl[0].flags, 0x14) << "RST|ACK";
  EXPECT_EQ(cl[0].seq, kB) << "where the client expects the core's next byte";
  EXPECT_EQ(co[0].flags, 0x14);
  EXPECT_EQ(co[0].seq, kA) << "the first byte the core has not received";
  EXPECT_EQ(co[0].payload, "");
}

TEST_F(SipTcpPath, HeldSegmentsReleasedAfterTheTimeout) {
  const std::string inv = invite("pass-15", 100);
  client(0, inv.substr(0, 120));
  const std::uint64_t timeout = 500;
  now += timeout - 1;
  path::expire_held(ctx(kTrunkPort), timeout);
  EXPECT_TRUE(to_core().empty()) << "not yet";
  now += 2;
  path::expire_held(ctx(kTrunkPort), timeout);
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_core()[0].payload, inv.substr(0, 120));
  EXPECT_EQ(c.tcp_reassembly_timeout, 1u);
  EXPECT_EQ(c.tcp_reassembly_released_unchanged, 1u);
  EXPECT_EQ(c.held, 0u);
  EXPECT_EQ(st->hold.size(), 0u);
}

TEST_F(SipTcpPath, HeldSegmentsResetAfterTheTimeoutFailClosed) {
  closed = true;
  client(0, invite("pass-16", 100).substr(0, 120));
  now += 1000;
  path::expire_held(ctx(kTrunkPort), 500);
  ASSERT_EQ(to_client().size(), 1u);
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_client()[0].flags, 0x14);
  EXPECT_EQ(to_core()[0].flags, 0x14);
  EXPECT_EQ(c.tcp_reassembly_timeout, 1u);
  EXPECT_EQ(c.dropped, 1u);
}

TEST_F(SipTcpPath, FinInsideAMessageFailClosedRemovesIt) {
  closed = true;
  const std::string inv = invite("pass-17", 100);
  client(0, inv.substr(0, 120), kB, kFinAck | 0x08);
  EXPECT_EQ(c.malformed, 1u);
  EXPECT_EQ(c.malformed_dropped, 1u);
  EXPECT_EQ(c.tcp_held, 0u) << "the connection ends: nothing to wait for";
  // The FIN still reaches the core, without the bytes.
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_core()[0].payload, "");
  EXPECT_TRUE(to_core()[0].flags & 0x01);
}

TEST_F(SipTcpPath, OutOfPacketsLeavesTheVerdictsUnapplied) {
  host.out_of_packets = true;
  const std::string both = invite("drop-18a", 10) + invite("drop-18b", 10);
  client(0, both);
  ASSERT_EQ(to_core().size(), 1u);
  EXPECT_EQ(to_core()[0].payload, both) << "nothing could be cut: it goes on as it came";
  EXPECT_TRUE(to_client().empty());
  EXPECT_EQ(c.tcp_verdict_not_applied, 2u);
  EXPECT_EQ(c.forwarded, 1u);
}

}  // namespace

namespace {

// Copies of watched calls (docs/export.md): each whole message of a watched
// call, from either side, becomes one segment of its own -- the headers of
// the segment that completed it, its sequence number, the message alone --
// whether it spanned segments or shared one with another call's message;
// what is forwarded is not touched.
TEST_F(SipTcpPath, WatchedMessagesAreCopiedOneSegmentEach) {
  host.watch_on = true;
  const std::string w1 = invite("watch-1", 300), o1 = invite("other-1"), w2 = invite("watch-2");
  client(0, w1.substr(0, 100));  // held: the copy waits for the whole message
  EXPECT_TRUE(host.copies.empty());
  client(100, w1.substr(100) + o1 + w2);
  const std::string r1 = response("watch-1"), ro = response("other-1", 180), r2 = response("watch-2", 486);
  core(0, r1, kA + len32(w1 + o1 + w2));
  core(len32(r1), ro + r2, kA + len32(w1 + o1 + w2));

  EXPECT_EQ(joined(to_core()), w1 + o1 + w2) << "forwarded as it came";
  EXPECT_EQ(joined(to_client()), r1 + ro + r2);
  struct Want {
    std::uint16_t port;
    std::uint32_t seq;
    std::string payload;
  };
  const std::vector<Want> want{{kTrunkPort, kA, w1},
                               {kTrunkPort, kA + len32(w1 + o1), w2},
                               {kCorePort, kB, r1},
                               {kCorePort, kB + len32(r1 + ro), r2}};
  ASSERT_EQ(host.copies.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(host.copies[i].first, want[i].port);
    const Seen got = seen(host.copies[i].second);  // decodes, checksums valid
    EXPECT_EQ(got.seq, want[i].seq);
    EXPECT_EQ(got.payload, want[i].payload);
    EXPECT_EQ(got.flags, kPshAck);
  }
  // Not watched: nothing copied.
  host.watch_on = false;
  client(len32(w1 + o1 + w2), invite("watch-3"));
  EXPECT_EQ(host.copies.size(), want.size());
}

// The 603 sipwall sends for a watched call's INVITE is copied as it leaves
// (toward the client, on the client's port), after the INVITE itself; a
// rejected call nobody watches gives no copy.
TEST_F(SipTcpPath, ResponseToARejectedWatchedInviteIsCopiedToo) {
  host.watch_on = true;
  const std::string r = invite("reject-1"), rw = invite("reject-watch-1");
  client(0, r);
  EXPECT_TRUE(host.copies.empty());
  client(len32(r), rw);
  ASSERT_EQ(host.out[kTrunkPort].size(), 2u);
  ASSERT_EQ(host.copies.size(), 2u);
  EXPECT_EQ(host.copies[0].first, kTrunkPort);
  EXPECT_EQ(seen(host.copies[0].second).payload, rw);
  EXPECT_EQ(host.copies[1].first, kTrunkPort);
  EXPECT_EQ(host.copies[1].second, host.out[kTrunkPort][1]) << "the 603 as sent";
  EXPECT_EQ(seen(host.copies[1].second).payload.rfind("SIP/2.0 603 ", 0), 0u);
}

// A core-side message the core's stack cut across segments (docs/export.md):
// the segments leave as they came, and the message is copied whole when its
// last byte arrives -- one segment of its own, the headers of the segment
// that completed it, the sequence number of its first byte -- followed by
// the whole messages after it in that segment. A retransmission of bytes
// already framed is not copied again. A watch alone keeps the unfinished
// ends (no call table follows calls here).
TEST_F(SipTcpPath, CoreMessageCutAcrossSegmentsIsCopiedWholeWhenItsEndArrives) {
  host.watch_on = true;
  const std::string r1 = response("watch-1"), r2 = response("watch-2", 180), r3 = response("watch-3", 486),
                    ro = response("other-1", 486);
  const std::uint32_t ack = kA + 10;
  core(0, r1.substr(0, 60), kA);  // cut inside the Via: no message yet
  EXPECT_TRUE(host.copies.empty());
  core(60, r1.substr(60) + r2 + ro.substr(0, 150), ack);  // r1's end, r2 whole, ro's start
  const std::size_t cut = r3.find("Call-ID: ") + 12;      // r3 cut inside its Call-ID
  const std::string third = ro.substr(150) + r3.substr(0, cut);
  const std::uint32_t at = len32(r1 + r2) + 150;
  core(at, third, ack);
  core(at, third, ack);  // retransmitted
  core(at + len32(third), r3.substr(cut), ack);

  EXPECT_EQ(joined(to_client()), r1 + r2 + ro.substr(0, 150) + third + third + r3.substr(cut))
      << "forwarded as it came, the retransmission too";
  struct Want {
    std::uint32_t seq;
    std::string payload;
  };
  const std::vector<Want> want{{kB, r1}, {kB + len32(r1), r2}, {kB + len32(r1 + r2 + ro), r3}};
  ASSERT_EQ(host.copies.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(host.copies[i].first, kCorePort);
    const Seen got = seen(host.copies[i].second);  // decodes, checksums valid
    EXPECT_EQ(got.seq, want[i].seq);
    EXPECT_EQ(got.ack, ack) << "the headers of the segment that completed it";
    EXPECT_EQ(got.flags, kPshAck);
    EXPECT_EQ(got.payload, want[i].payload);
  }
  EXPECT_EQ(c.core_tcp_tails_joined, 3u);
  EXPECT_EQ(c.core_tcp_tails_lost, 0u);
  EXPECT_TRUE(host.core_messages.empty()) << "no call table followed";
}

// The call table reads the same framing, without a watch: every core-side
// message once, a cut one when its end arrives; nothing is copied.
TEST_F(SipTcpPath, CoreMessagesReachTheCallTableOnceEachWithoutAWatch) {
  host.following = true;
  const std::string r1 = response("watch-1"), r2 = response("other-1", 180);
  core(0, r1.substr(0, 100), kA);
  core(0, r1.substr(0, 100), kA);  // retransmitted
  core(100, r1.substr(100) + r2, kA);
  const std::vector<std::pair<std::string, int>> want{{"watch-1", 200}, {"other-1", 180}};
  EXPECT_EQ(host.core_messages, want);
  EXPECT_TRUE(host.copies.empty());
  EXPECT_EQ(c.core_tcp_tails_joined, 1u);
}

}  // namespace
