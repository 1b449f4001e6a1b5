// Rough per-call costs of the packet actions on a ~1 KB INVITE (not a unit
// test; numbers quoted in docs/packet-handling.md). Run:
//   build/h-net/tests/bench_net_actions
#include <time.h>

#include <cstdio>
#include <cstring>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/net/tag_insert.h"
#include "dataplane/net/tcp_seqadj.h"
#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/net/frames.h"
#include "tests/unit/dataplane/net/udp_reply.h"

using namespace nettest;
namespace net = sipwall::net;
namespace sip = sipwall::sip;

namespace {

std::string invite_1k() {
  std::string body =
      "v=0\r\no=- 3912 3912 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
      "m=audio 20000 RTP/AVP 0 8 18 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n";
  std::string h =
      "INVITE sip:+15551230000@core.example.net;user=phone SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-524287-1---abcdef0123456789;rport\r\n"
      "Via: SIP/2.0/UDP 10.20.30.40:5060;branch=z9hG4bK-inner-0123456789\r\n"
      "Max-Forwards: 69\r\n"
      "From: \"Caller Name\" <sip:+15550001111@trunk.example.com;user=phone>;tag=as5f3e2a1b\r\n"
      "To: <sip:+15551230000@core.example.net;user=phone>\r\n"
      "Call-ID: 4a5b6c7d8e9f0a1b2c3d4e5f60718293@203.0.113.5\r\n"
      "CSeq: 102 INVITE\r\n"
      "Contact: <sip:+15550001111@203.0.113.5:5060;transport=udp>\r\n"
      "P-Asserted-Identity: <sip:+15550001111@trunk.example.com;user=phone>\r\n"
      "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n"
      "Supported: replaces, timer\r\nSession-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\n"
      "User-Agent: TrunkGW 4.2.1\r\nContent-Type: application/sdp\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  return h + body;
}

// Thread CPU time, not wall time: the build machine is shared, and time spent
// descheduled must not count. Best of 5 runs.
double thread_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

template <typename F>
double ns_per_call(int iters, F&& f) {
  double best = 1e30;
  for (int run = 0; run < 5; ++run) {
    const double t0 = thread_ns();
    for (int i = 0; i < iters; ++i) f(i);
    const double t = (thread_ns() - t0) / iters;
    if (t < best) best = t;
  }
  return best;
}

volatile std::size_t sink;

}  // namespace

int main() {
  const int kIters = 400'000;
  const Addr a = v4(203, 0, 113, 5), b = v4(198, 51, 100, 1);
  const std::string msg = invite_1k();
  const Bytes frame = eth(0x0800, ipv4(a, b, 17, udp(a, b, 5060, 5060, bytes(msg))));
  std::printf("frame %zu bytes, SIP %zu bytes, best of 5 x %d calls, thread CPU time\n", frame.size(), msg.size(),
              kIters);

  std::vector<std::uint8_t> buf(frame.size() + 256);
  net::DecodedPacket p0;
  net::decode_frame(frame.data(), frame.size(), p0);
  sip::Message m;
  sip::parse_message(p0.payload(frame.data()), m);

  double copy = ns_per_call(kIters, [&](int) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    sink = buf[100];
  });
  double decode = ns_per_call(kIters, [&](int) {
    net::DecodedPacket p;
    sink = static_cast<std::size_t>(net::decode_frame(frame.data(), frame.size(), p)) + p.payload_length;
  });
  double tag = ns_per_call(kIters, [&](int) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    std::size_t len = frame.size();
    net::DecodedPacket p = p0;
    sink = static_cast<std::size_t>(net::insert_header_line(buf.data(), len, buf.size(), p, m.headers_end,
                                                            "X-Sipwall-Risk: score=70;rule=r-12", 1500));
  });
  double tag_full = ns_per_call(kIters, [&](int) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    std::size_t len = frame.size();
    net::DecodedPacket p = p0;
    net::insert_header_line(buf.data(), len, buf.size(), p, m.headers_end, "X-Sipwall-Risk: score=70;rule=r-12", 1500);
    // What a full recompute would add on top: IPv4 header + UDP over the whole datagram.
    std::uint8_t* ip = buf.data() + p.l3_offset;
    ip[10] = ip[11] = 0;
    std::uint16_t c = net::ipv4_header_checksum(ip);
    buf[p.l4_offset + 6] = buf[p.l4_offset + 7] = 0;
    sink = c + net::compute_l4_checksum(buf.data(), p);
  });
  char text[2048];
  net::SipResponseOptions so;
  so.code = 608;
  so.reason_text = "robocall";
  so.call_info_uri = "https://jwscard.example.net/x";
  so.received = "203.0.113.5";
  so.rport = 5060;
  double resp = ns_per_call(kIters, [&](int) { sink = net::build_sip_response(m, so, text, sizeof text); });
  const std::size_t n = net::build_sip_response(m, so, text, sizeof text);
  std::vector<std::uint8_t> out(2048);
  net::ReplyOptions ro;
  double reply = ns_per_call(kIters, [&](int i) {
    ro.ip_id = static_cast<std::uint16_t>(i);
    sink = nettest::udp_reply(frame.data(), p0, std::string_view(text, n), out.data(), out.size(), ro).length;
  });
  // TCP: forward() of a segment on a flow with one edit in each direction.
  net::SeqAdjTable table(net::SeqAdjConfig{});
  const Bytes t1 = eth(0x0800, ipv4(a, b, 6, tcp(a, b, 40000, 5060, 1000, 5000, 0x18, bytes(msg))));
  std::vector<std::uint8_t> tb(t1.begin(), t1.end());
  tb.resize(t1.size() + 64);
  std::size_t tlen = t1.size();
  net::DecodedPacket tp;
  net::decode_frame(tb.data(), tlen, tp);
  net::TcpEditOutcome oc;
  table.remove(tb.data(), tlen, tb.size(), tp, 0, msg.size(), 300, 1, oc);
  const Bytes t2 = eth(0x0800, ipv4(b, a, 6, tcp(b, a, 5060, 40000, 5000, 1000, 0x18, bytes(msg))));
  net::DecodedPacket p2;
  net::decode_frame(t2.data(), t2.size(), p2);
  double seq = ns_per_call(kIters, [&](int) {
    std::memcpy(tb.data(), t2.data(), 64);  // headers only are rewritten
    sink = static_cast<std::size_t>(table.forward(tb.data(), p2, 2, false));
  });

  std::printf("memcpy of the frame (baseline)      %7.1f ns\n", copy);
  std::printf("decode_frame                        %7.1f ns\n", decode);
  std::printf("insert_header_line (incremental)    %7.1f ns  (incl. frame copy)\n", tag);
  std::printf("  + full IPv4/UDP recompute         %7.1f ns  (incl. frame copy)\n", tag_full);
  std::printf("build_sip_response (608, %zu B)    %7.1f ns\n", n, resp);
  std::printf("UDP reply frame (begin + finish)    %7.1f ns\n", reply);
  std::printf("SeqAdjTable::forward (mapped)       %7.1f ns  (incl. 64 B copy)\n", seq);
  return 0;
}
