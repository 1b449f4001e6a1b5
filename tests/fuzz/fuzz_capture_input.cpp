// libFuzzer target for what sipwallctl parse / rules explain read from a
// capture (control/common/sip_input.h): frames through the data plane's
// decoder, the deny hook, IP fragment reassembly (net::IpReassembler) and
// the TCP follower (hold table, plan_held_arrival, scan_unit). The input is
// a classic pcap image (either byte order; the link type picks the decoder),
// read record by record here; small limits (4 held flows of 4 segments,
// 16 datagrams in reassembly, 50/80 ms timeouts) reach every give-up path.
// Checked: every payload is bounded (a unit's bytes: the per-flow bound plus
// one segment), names frames already seen in increasing order and an origin
// among them, and counts add up (payloads reported as not inspected =
// stats.not_inspected). Seeds: tests/data (sample.pcap: UDP, TCP, VLAN,
// IPv6, fragments).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "control/common/sip_input.h"
#include "dataplane/sip/sip_message.h"

namespace {

using namespace sipwall;

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "invariant broken at line %d: %s\n", line, what);
  std::abort();
}
#define check(cond)                     \
  do {                                  \
    if (!(cond)) fail(#cond, __LINE__); \
  } while (0)

std::uint32_t rd32(const std::uint8_t* p, bool swap) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 24) return 0;
  const std::uint32_t magic = rd32(data, false);
  const bool swap = magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1;
  const int linktype = static_cast<int>(rd32(data + 20, swap) & 0xFFFF);

  control::InputOptions o;
  o.tcp_hold.flows = 4;
  o.tcp_hold.max_segments = 4;
  o.tcp_hold.total_segments = 8;
  o.tcp_hold.max_bytes = 4096;
  o.tcp_timeout_ms = 80;
  o.frag_max_flows = 16;
  o.frag_timeout_ms = 50;
  o.denied = [](const net::DecodedPacket& d, bool has_l4, std::string& entry) {
    entry = "fuzz";
    return has_l4 && d.src[15] == 99;  // 192.0.2.99, the sample's scanner
  };
  control::InputStats stats;
  std::uint64_t n = 0, reported = 0;
  static sip::Message msg;
  auto sink = [&](const control::SipPayload& p) {
    check(p.bytes.size() <= std::size_t{4096} + 65535 + 1024 || !p.from_pcap);
    std::uint64_t prev = 0;
    for (std::uint64_t f : p.frames) {
      check(f > prev && f <= n);
      prev = f;
    }
    const std::size_t hash = p.origin.rfind('#');
    check(hash != std::string::npos);
    const std::uint64_t origin = std::strtoull(p.origin.c_str() + hash + 1, nullptr, 10);
    check(origin >= 1 && origin <= n);
    if (p.not_inspected != control::NotInspected::no) {
      ++reported;
      return;
    }
    sip::parse_message(p.bytes, msg, p.stream ? sip::Transport::stream : sip::Transport::datagram);
  };
  control::FrameReader reader("fuzz", o, stats, sink);
  std::size_t off = 24;
  while (off + 16 <= size) {
    const std::uint64_t sec = rd32(data + off, swap), usec = rd32(data + off + 4, swap) % 1000000;
    std::size_t caplen = rd32(data + off + 8, swap);
    off += 16;
    if (caplen > size - off) caplen = size - off;
    reader.frame(++n, sec * 1000000 + usec, data + off, caplen, linktype);
    off += caplen;
  }
  reader.finish();
  check(stats.frames == n);
  check(stats.not_inspected == reported);
  return 0;
}
