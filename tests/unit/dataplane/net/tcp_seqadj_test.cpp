#include "dataplane/net/tcp_seqadj.h"

#include <gtest/gtest.h>

#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"
#include "tests/unit/dataplane/net/frames.h"

using namespace nettest;
namespace net = sipwall::net;
using net::SeqAdjResult;

namespace {

struct Flow {
  Addr a = v4(203, 0, 113, 5);   // client / trunk
  Addr b = v4(198, 51, 100, 1);  // core
  std::uint16_t pa = 40000, pb = 5060;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans;
  std::uint16_t win_a = 8192, win_b = 16384;

  Bytes seg(bool a_to_b, std::uint32_t seq, std::uint32_t ack, const std::string& payload, std::uint8_t flags = 0x18,
            const Bytes& opts = {}) const {
    const Addr& s = a_to_b ? a : b;
    const Addr& d = a_to_b ? b : a;
    Bytes t =
        tcp(s, d, a_to_b ? pa : pb, a_to_b ? pb : pa, seq, ack, flags, bytes(payload), opts, a_to_b ? win_a : win_b);
    Bytes ip = s.v6() ? ipv6(s, d, 6, t) : ipv4(s, d, 6, t);
    return eth(s.v6() ? 0x86DD : 0x0800, ip, vlans, a_to_b ? kMacA : kMacB, a_to_b ? kMacB : kMacA);
  }
};

struct Out {
  SeqAdjResult r;
  Bytes frame;
  net::DecodedPacket pkt;
  net::TcpEditOutcome outcome;
  std::uint32_t seq() const { return get32(&frame[walk(frame).l4 + 4]); }
  std::uint32_t ack() const { return get32(&frame[walk(frame).l4 + 8]); }
};

Out fwd(net::SeqAdjTable& t, const Bytes& f, std::uint64_t now, bool track = true) {
  Out o;
  o.frame = f;
  EXPECT_EQ(net::decode_frame(o.frame.data(), o.frame.size(), o.pkt), net::DecodeResult::ok);
  o.r = t.forward(o.frame.data(), o.pkt, now, track);
  EXPECT_TRUE(checksums_valid(o.frame));
  if (o.r != SeqAdjResult::ok) {
    EXPECT_EQ(o.frame, f) << "refused segment must be unchanged";
  }
  return o;
}

Out edit(net::SeqAdjTable& t, const Bytes& f, std::uint64_t now, std::size_t at, std::size_t rm, std::string_view ins,
         bool remove_with_reply = false, std::uint32_t reply_len = 0) {
  Out o;
  std::vector<std::uint8_t> buf(f);
  buf.resize(f.size() + 512);
  std::size_t len = f.size();
  EXPECT_EQ(net::decode_frame(buf.data(), len, o.pkt), net::DecodeResult::ok);
  o.r = remove_with_reply ? t.remove(buf.data(), len, buf.size(), o.pkt, at, rm, reply_len, now, o.outcome)
                          : t.edit(buf.data(), len, buf.size(), o.pkt, at, rm, ins, now, 0, o.outcome);
  o.frame.assign(buf.begin(), buf.begin() + static_cast<long>(len));
  EXPECT_TRUE(checksums_valid(o.frame));
  if (o.r != SeqAdjResult::ok) {
    EXPECT_EQ(o.frame, f) << "refused edit must leave the frame unchanged";
  }
  return o;
}

net::SeqAdjConfig cfg(std::uint32_t cap = 64) {
  net::SeqAdjConfig c;
  c.capacity = cap;
  c.idle_timeout = 1000;
  c.closed_timeout = 0;
  return c;
}

const std::string kOptions = "OPTIONS sip:core SIP/2.0\r\nContent-Length: 0\r\n\r\n";
const std::string kOk = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
const std::string kInvite =
    "INVITE sip:+15551230000@core SIP/2.0\r\nVia: SIP/2.0/TCP 203.0.113.5;branch=z9hG4bK1\r\n"
    "Content-Length: 0\r\n\r\n";
const std::string kResponse =
    "SIP/2.0 603 Decline\r\nVia: SIP/2.0/TCP 203.0.113.5;branch=z9hG4bK1\r\n"
    "Content-Length: 0\r\n\r\n";
const std::string kNotify = "NOTIFY sip:client SIP/2.0\r\nContent-Length: 0\r\n\r\n";
const std::string kBye = "BYE sip:core SIP/2.0\r\nContent-Length: 0\r\n\r\n";

std::uint32_t L(const std::string& s) {
  return static_cast<std::uint32_t>(s.size());
}

// The whole reject exchange of the issue: INVITE removed toward the core, the
// response injected toward the client, later segments in both directions
// adjusted, every checksum valid, and the state folded away once acknowledged.
void reject_exchange(std::uint32_t a0, std::uint32_t b0) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  const std::uint32_t S = a0 + L(kOptions), N = L(kInvite), R = L(kResponse);

  Out o1 = fwd(t, fl.seg(true, a0, b0, kOptions), 1);
  ASSERT_EQ(o1.r, SeqAdjResult::ok);
  EXPECT_EQ(o1.frame, fl.seg(true, a0, b0, kOptions));  // nothing to adjust yet
  Out o2 = fwd(t, fl.seg(false, b0, S, kOk), 2);
  ASSERT_EQ(o2.r, SeqAdjResult::ok);

  // INVITE arrives and is rejected.
  const Bytes invite = fl.seg(true, S, b0 + L(kOk), kInvite);
  Out o3 = edit(t, invite, 3, 0, N, {}, true, R);
  ASSERT_EQ(o3.r, SeqAdjResult::ok);
  EXPECT_EQ(o3.pkt.payload_length, 0);
  EXPECT_EQ(o3.frame, fl.seg(true, S, b0 + L(kOk), "", 0x10));  // emptied (PSH cleared), numbers unchanged so far
  EXPECT_TRUE(o3.outcome.forward_segment);                      // it carries a new ack for the core
  EXPECT_TRUE(o3.outcome.reply.send_payload);
  EXPECT_EQ(o3.outcome.reply.spec.seq, b0 + L(kOk));  // behind the core's last byte
  EXPECT_EQ(o3.outcome.reply.spec.ack, S + N);        // core acked everything before the INVITE
  EXPECT_EQ(o3.outcome.reply.spec.window, fl.win_b);

  // The reply segment built from the edited frame.
  Bytes out(1500);
  net::ReplyOptions ro;
  ro.ip_id = 5;
  net::ReplyLayout lay =
      net::build_tcp_reply(o3.frame.data(), o3.pkt, o3.outcome.reply.spec, kResponse, out.data(), out.size(), ro);
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  Bytes reply(out.begin(), out.begin() + static_cast<long>(lay.length));
  EXPECT_TRUE(checksums_valid(reply));
  EXPECT_EQ(payload_text(reply), kResponse);
  EXPECT_EQ(get32(&reply[34 + 4]), b0 + L(kOk));
  EXPECT_EQ(get32(&reply[34 + 8]), S + N);
  EXPECT_EQ(reply[34 + 13], 0x18);

  // A retransmitted INVITE is answered identically.
  Out o3b = edit(t, invite, 4, 0, N, {}, true, R);
  ASSERT_EQ(o3b.r, SeqAdjResult::ok);
  EXPECT_EQ(o3b.outcome.reply.spec.seq, o3.outcome.reply.spec.seq);
  EXPECT_EQ(o3b.outcome.reply.spec.ack, o3.outcome.reply.spec.ack);
  EXPECT_FALSE(o3b.outcome.forward_segment);  // empty, ack and window already seen
  EXPECT_EQ(t.stats().edits_repeated, 1u);
  // forward() of it (e.g. after a reload that passes INVITEs) must not leak it.
  EXPECT_EQ(fwd(t, invite, 4).r, SeqAdjResult::retransmit_removed);

  // Core sends a NOTIFY: it lands after our injected response in the client's space.
  Out o4 = fwd(t, fl.seg(false, b0 + L(kOk), S, kNotify), 5);
  ASSERT_EQ(o4.r, SeqAdjResult::ok);
  EXPECT_EQ(o4.seq(), b0 + L(kOk) + R);
  EXPECT_EQ(o4.ack(), S);  // INVITE not acked to the client until it acks our response

  // Client acks the response and the NOTIFY and sends a BYE.
  Out o5 = fwd(t, fl.seg(true, S + N, b0 + L(kOk) + R + L(kNotify), kBye), 6);
  ASSERT_EQ(o5.r, SeqAdjResult::ok);
  EXPECT_EQ(o5.seq(), S);                         // the core never saw the INVITE
  EXPECT_EQ(o5.ack(), b0 + L(kOk) + L(kNotify));  // our response is not the core's data
  EXPECT_EQ(payload_text(o5.frame), kBye);

  // Core acks the BYE.
  Out o6 = fwd(t, fl.seg(false, b0 + L(kOk) + L(kNotify), S + L(kBye), "", 0x10), 7);
  ASSERT_EQ(o6.r, SeqAdjResult::ok);
  EXPECT_EQ(o6.ack(), S + N + L(kBye));
  EXPECT_EQ(o6.seq(), b0 + L(kOk) + L(kNotify) + R);
  EXPECT_EQ(t.stats().edits_settled, 2u);  // both edits acknowledged by both sides

  // Offsets stay in force after the edits are folded away.
  Out o7 = fwd(t, fl.seg(true, S + N + L(kBye), b0 + L(kOk) + R + L(kNotify), kOptions), 8);
  EXPECT_EQ(o7.seq(), S + L(kBye));
  EXPECT_EQ(o7.ack(), b0 + L(kOk) + L(kNotify));
  Out o8 = fwd(t, fl.seg(false, b0 + L(kOk) + L(kNotify), S + L(kBye) + L(kOptions), kOk), 9);
  EXPECT_EQ(o8.seq(), b0 + L(kOk) + L(kNotify) + R);
  EXPECT_EQ(o8.ack(), S + N + L(kBye) + L(kOptions));
  EXPECT_EQ(t.stats().flows_created, 1u);
}

TEST(TcpSeqAdj, RejectExchange) {
  reject_exchange(1000, 5000);
}

// Same exchange with both sequence spaces wrapping past 2^32 mid-way.
TEST(TcpSeqAdj, RejectExchangeAcrossWrap) {
  reject_exchange(0xFFFFFFC0u, 0xFFFFFFF0u);
}

TEST(TcpSeqAdj, ResponseGoesBehindCoreDataInFlight) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  fwd(t, fl.seg(true, 100, 900, kOptions), 1);
  // The core's 200 OK passes toward the client; the client's INVITE was sent
  // before it arrived (its ack still says 900).
  fwd(t, fl.seg(false, 900, 100 + L(kOptions), kOk), 2);
  Out o = edit(t, fl.seg(true, 100 + L(kOptions), 900, kInvite), 3, 0, L(kInvite), {}, true, 77);
  ASSERT_EQ(o.r, SeqAdjResult::ok);
  EXPECT_EQ(o.outcome.reply.spec.seq, 900 + L(kOk));
  // A second rejected INVITE before anything else: its response follows the first.
  const std::uint32_t s2 = 100 + L(kOptions) + L(kInvite);
  Out o2 = edit(t, fl.seg(true, s2, 900, kInvite), 4, 0, L(kInvite), {}, true, 50);
  ASSERT_EQ(o2.r, SeqAdjResult::ok);
  EXPECT_EQ(o2.outcome.reply.spec.seq, 900 + L(kOk) + 77);
  // Its ack stops before the first INVITE: the client has not acknowledged
  // the first response yet, and must retransmit that INVITE if it was lost.
  EXPECT_EQ(o2.outcome.reply.spec.ack, 100 + L(kOptions));
  // The core's next byte comes after both responses.
  Out o3 = fwd(t, fl.seg(false, 900 + L(kOk), 100 + L(kOptions), kNotify), 5);
  EXPECT_EQ(o3.seq(), 900 + L(kOk) + 127);
  // Client acks the first response only (partial): the core sees an ack for
  // its own bytes only; the ack field never points into our bytes.
  Out o4 = fwd(t, fl.seg(true, s2 + L(kInvite), 900 + L(kOk) + 77, "", 0x10), 6);
  EXPECT_EQ(o4.ack(), 900 + L(kOk));
  EXPECT_EQ(o4.seq(), 100 + L(kOptions));
}

TEST(TcpSeqAdj, DropAcksOnlyWhatTheCoreHas) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  fwd(t, fl.seg(false, 500, 1000, "", 0x10), 1);  // core has acked up to 1000
  fwd(t, fl.seg(true, 1000, 500, kOptions), 2);   // not yet acked by the core
  const std::uint32_t S = 1000 + L(kOptions);
  Out o = edit(t, fl.seg(true, S, 500, kInvite), 3, 0, L(kInvite), {}, true, 0);
  ASSERT_EQ(o.r, SeqAdjResult::ok);
  EXPECT_FALSE(o.outcome.reply.send_payload);
  EXPECT_EQ(o.outcome.reply.spec.seq, 500u);
  EXPECT_EQ(o.outcome.reply.spec.ack, 1000u);  // not S + N: the OPTIONS is still in flight
  // Once the core acks the OPTIONS, the client sees the INVITE acknowledged too (no reply to wait for).
  Out a = fwd(t, fl.seg(false, 500, S, "", 0x10), 4);
  EXPECT_EQ(a.ack(), S + L(kInvite));
  // A pure ACK for the build: flags ACK only, no payload.
  Bytes out(200);
  net::ReplyLayout lay = net::build_tcp_reply(o.frame.data(), o.pkt, o.outcome.reply.spec, {}, out.data(), out.size(),
                                              net::ReplyOptions{});
  ASSERT_EQ(lay.result, net::ReplyResult::ok);
  EXPECT_EQ(lay.length, 54u);
  EXPECT_EQ(out[34 + 13], 0x10);
  EXPECT_TRUE(checksums_valid(Bytes(out.begin(), out.begin() + 54)));
}

TEST(TcpSeqAdj, TagGrowsSegmentAndRetransmissionIsRetaggedIdentically) {
  Flow fl;
  fl.a = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  fl.b = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 2});
  fl.vlans = {{0x8100, 42}};
  net::SeqAdjTable t(cfg());
  const std::string line = "X-Sipwall-Risk: score=70;rule=x\r\n";  // odd length
  const std::size_t hend = kInvite.size() - 2;
  const Bytes inv = fl.seg(true, 7000, 300, kInvite);
  Out o = edit(t, inv, 1, hend, 0, line);
  ASSERT_EQ(o.r, SeqAdjResult::ok);
  std::string tagged = kInvite;
  tagged.insert(hend, line);
  EXPECT_EQ(o.frame, fl.seg(true, 7000, 300, tagged));  // same as a freshly built tagged segment
  Out again = edit(t, inv, 2, hend, 0, line);
  ASSERT_EQ(again.r, SeqAdjResult::ok);
  EXPECT_EQ(again.frame, o.frame);
  // Without re-tagging, the retransmission spans the edit: forwarded unchanged, counted by the caller.
  EXPECT_EQ(fwd(t, inv, 3).r, SeqAdjResult::spans_edit);
  // Later data from the client moves up by the tag; the core's acks move back.
  Out n = fwd(t, fl.seg(true, 7000 + L(kInvite), 300, kBye), 4);
  EXPECT_EQ(n.seq(), 7000 + L(kInvite) + L(line));
  Out b = fwd(t, fl.seg(false, 300, 7000 + L(kInvite) + L(line) + L(kBye), kOk), 5);
  EXPECT_EQ(b.ack(), 7000 + L(kInvite) + L(kBye));
  EXPECT_EQ(t.stats().edits_settled, 1u);
}

TEST(TcpSeqAdj, PartialRemovalInsideSegment) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  const std::string two = kOptions + kInvite + kBye;
  Out o = edit(t, fl.seg(true, 10, 20, two), 1, kOptions.size(), kInvite.size(), {}, true, 0);
  ASSERT_EQ(o.r, SeqAdjResult::ok);
  EXPECT_EQ(payload_text(o.frame), kOptions + kBye);
  EXPECT_TRUE(o.outcome.forward_segment);
  EXPECT_EQ(o.outcome.reply.spec.ack, 10 + L(kOptions) + L(kInvite));  // untracked core: up to the removal's end
  Out n = fwd(t, fl.seg(true, 10 + L(two), 20, kOk), 2);
  EXPECT_EQ(n.seq(), 10 + L(two) - L(kInvite));
}

TEST(TcpSeqAdj, SackEdgesAreMapped) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  fwd(t, fl.seg(false, 50, 1000, "", 0x10), 1);
  const std::uint32_t N = L(kInvite);
  ASSERT_EQ(edit(t, fl.seg(true, 1000, 50, kInvite), 2, 0, N, {}, true, 0).r, SeqAdjResult::ok);
  // Core SACKs client data after the removal; a lone NOP puts the edges at odd offsets.
  Bytes sack{1, 5, 10};
  for (std::uint32_t v : {1000u + 100u, 1000u + 200u}) put32(sack, v);
  Out o = fwd(t, fl.seg(false, 50, 1000, "", 0x10, sack), 3);
  ASSERT_EQ(o.r, SeqAdjResult::ok);
  const std::size_t opt = walk(o.frame).l4 + 20;
  EXPECT_EQ(get32(&o.frame[opt + 3]), 1000 + 100 + N);
  EXPECT_EQ(get32(&o.frame[opt + 7]), 1000 + 200 + N);
  EXPECT_EQ(o.ack(), 1000 + N);
}

TEST(TcpSeqAdj, TableFullEvictionAndClosedFlows) {
  net::SeqAdjConfig c = cfg(16);
  c.max_probe = 16;
  c.idle_timeout = 100;
  net::SeqAdjTable t(c);
  auto flow = [](int i) {
    Flow f;
    f.pa = static_cast<std::uint16_t>(10000 + i);
    return f;
  };
  for (int i = 0; i < 16; ++i) ASSERT_EQ(fwd(t, flow(i).seg(true, 1, 1, "x"), 10 + i).r, SeqAdjResult::ok);
  EXPECT_EQ(t.size(), 16u);
  EXPECT_EQ(fwd(t, flow(99).seg(true, 1, 1, "x"), 50).r, SeqAdjResult::table_full);
  EXPECT_EQ(t.stats().table_full, 1u);
  // An edit needs an entry too: refused, frame untouched.
  EXPECT_EQ(edit(t, flow(99).seg(true, 1, 1, kInvite), 50, 0, L(kInvite), {}, true, 0).r, SeqAdjResult::table_full);
  // A reset flow may go at once.
  ASSERT_EQ(fwd(t, flow(3).seg(true, 2, 1, "", 0x14), 51).r, SeqAdjResult::ok);
  EXPECT_EQ(fwd(t, flow(99).seg(true, 1, 1, "x"), 52).r, SeqAdjResult::ok);
  EXPECT_EQ(t.stats().flows_evicted, 1u);
  EXPECT_EQ(fwd(t, flow(3).seg(true, 3, 1, "x"), 53, false).r, SeqAdjResult::untracked);
  // After idle_timeout the oldest idle flow makes room.
  EXPECT_EQ(fwd(t, flow(100).seg(true, 1, 1, "x"), 200).r, SeqAdjResult::ok);
  EXPECT_EQ(t.stats().flows_evicted, 2u);
  EXPECT_EQ(fwd(t, flow(0).seg(true, 2, 1, "x"), 201, false).r, SeqAdjResult::untracked);
  EXPECT_EQ(fwd(t, flow(1).seg(true, 2, 1, "x"), 201, false).r, SeqAdjResult::ok);
}

TEST(TcpSeqAdj, LimitsAndConflicts) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  const std::uint32_t N = L(kInvite);
  std::uint32_t seq = 1;
  for (std::size_t i = 0; i < net::SeqAdjTable::kMaxEdits; ++i, seq += N) {
    ASSERT_EQ(edit(t, fl.seg(true, seq, 1, kInvite), 1, 0, N, {}, true, 0).r, SeqAdjResult::ok) << i;
  }
  EXPECT_EQ(edit(t, fl.seg(true, seq, 1, kInvite), 2, 0, N, {}, true, 0).r, SeqAdjResult::too_many_edits);
  // Before the last edit: conflict.
  EXPECT_EQ(edit(t, fl.seg(true, 1 + N / 2, 1, "abcdef"), 2, 0, 2, {}, true, 0).r, SeqAdjResult::edit_conflict);
  // A segment straddling a removed range.
  EXPECT_EQ(fwd(t, fl.seg(true, N - 5, 1, "0123456789"), 3).r, SeqAdjResult::spans_edit);
  // The core acknowledges: edits settle and room comes back.
  Out a = fwd(t, fl.seg(false, 1, 1, "", 0x10), 4);
  EXPECT_EQ(a.ack(), seq);
  EXPECT_EQ(edit(t, fl.seg(true, seq, 1, kInvite), 5, 0, N, {}, true, 0).r, SeqAdjResult::ok);
  // Bad ranges and non-TCP.
  EXPECT_EQ(edit(t, fl.seg(true, seq + N, 1, "abc"), 6, 2, 2, {}).r, SeqAdjResult::bad_range);
  EXPECT_EQ(edit(t, fl.seg(true, seq + N, 1, "abc"), 6, 0, 0, {}).r, SeqAdjResult::bad_range);
  Bytes u = eth(0x0800, ipv4(fl.a, fl.b, 17, udp(fl.a, fl.b, 1, 2, bytes("x"))));
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(u.data(), u.size(), p), net::DecodeResult::ok);
  EXPECT_EQ(t.forward(u.data(), p, 7, true), SeqAdjResult::not_tcp);
  EXPECT_EQ(net::to_string(SeqAdjResult::spans_edit), "spans_edit");
  // IPv6 AH covers the segment: no edits.
  const Addr a6 = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), b6 = v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 2});
  Bytes ah{6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes ahf = eth(0x86DD, ipv6(a6, b6, 51, tcp(a6, b6, 1, 2, 1, 1, 0x18, bytes(kInvite)), ah));
  EXPECT_EQ(edit(t, ahf, 8, 0, 4, {}, true, 0).r, SeqAdjResult::authenticated);
}

TEST(TcpSeqAdj, SynStartsOver) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  ASSERT_EQ(edit(t, fl.seg(true, 10, 1, kInvite), 1, 0, L(kInvite), {}, true, 0).r, SeqAdjResult::ok);
  EXPECT_EQ(fwd(t, fl.seg(true, 10 + L(kInvite), 1, "x"), 2).seq(), 10u);
  fwd(t, fl.seg(true, 90000, 0, "", 0x02), 3);  // new connection on the same 4-tuple
  EXPECT_EQ(t.stats().flows_reset, 1u);
  Out o = fwd(t, fl.seg(true, 90001, 1, "x"), 4);
  EXPECT_EQ(o.seq(), 90001u);
}

TEST(TcpSeqAdj, MtuAndRoom) {
  Flow fl;
  net::SeqAdjTable t(cfg());
  Bytes f = fl.seg(true, 1, 1, kInvite);
  std::vector<std::uint8_t> buf(f);
  std::size_t len = f.size();
  net::DecodedPacket p;
  ASSERT_EQ(net::decode_frame(buf.data(), len, p), net::DecodeResult::ok);
  net::TcpEditOutcome out;
  EXPECT_EQ(t.edit(buf.data(), len, buf.size(), p, 5, 0, "X: 1\r\n", 1, 0, out), SeqAdjResult::no_room);
  buf.resize(f.size() + 64);
  EXPECT_EQ(t.edit(buf.data(), len, buf.size(), p, 5, 0, "X: 1\r\n", 1, f.size() - 14 + 5, out),
            SeqAdjResult::exceeds_mtu);
  EXPECT_EQ(t.size(), 0u);  // refused edits create no state
}

}  // namespace
