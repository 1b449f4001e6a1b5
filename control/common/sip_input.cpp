#include "control/common/sip_input.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace sipwall::control {
namespace {

constexpr std::size_t kMaxReassembled = 65535 + 8;

bool is_pcap_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::uint32_t magic = 0;
  f.read(reinterpret_cast<char*>(&magic), 4);
  return magic == 0xA1B2C3D4 || magic == 0xD4C3B2A1 || magic == 0xA1B23C4D || magic == 0x4D3CB2A1 ||
         magic == 0x0A0D0D0A;  // classic (us/ns, both orders), pcapng
}

bool is_sip_port(const InputOptions& o, std::uint16_t p) {
  return std::find(o.sip_ports.begin(), o.sip_ports.end(), p) != o.sip_ports.end();
}

// One datagram being reassembled from IP fragments.
struct FragmentKey {
  std::array<std::uint8_t, 16> src, dst;
  std::uint32_t id;
  std::uint8_t proto;
  bool operator<(const FragmentKey& o) const {
    return std::tie(src, dst, id, proto) < std::tie(o.src, o.dst, o.id, o.proto);
  }
};
struct FragmentSet {
  std::string origin;
  net::DecodedPacket first{};  // decode of the offset-0 fragment (ports, VLAN)
  bool have_first = false;
  std::map<std::uint32_t, std::string> parts;  // offset -> bytes of the L4 datagram
  std::uint32_t total = 0;                     // known once the last fragment arrived
};

std::uint16_t rd16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// Fragment offset / more-fragments / id of a decoded fragment.
void fragment_info(const std::uint8_t* frame, const net::DecodedPacket& d, std::uint32_t& offset, bool& more,
                   std::uint32_t& id) {
  const std::uint8_t* ip = frame + d.l3_offset;
  if (d.ip_version == 4) {
    std::uint16_t f = rd16(ip + 6);
    offset = static_cast<std::uint32_t>(f & 0x1FFF) * 8;
    more = (f & 0x2000) != 0;
    id = rd16(ip + 4);
    return;
  }
  // IPv6: the decoder stops at the Fragment header's payload, so the header
  // sits right before l4_offset (the fragment data, or the first fragment's UDP header).
  const std::uint8_t* fh = frame + d.l4_offset - 8;
  std::uint16_t fo = rd16(fh + 2);
  offset = static_cast<std::uint32_t>(fo >> 3) * 8;
  more = (fo & 1) != 0;
  id = (std::uint32_t{fh[4]} << 24) | (std::uint32_t{fh[5]} << 16) | (std::uint32_t{fh[6]} << 8) | fh[7];
}

class PcapWalker {
 public:
  PcapWalker(const InputOptions& o, InputStats& s, const std::function<void(const SipPayload&)>& k)
      : opts_(o), stats_(s), sink_(k) {}

  void frame(const std::string& origin, const std::uint8_t* data, std::size_t len, int linktype) {
    ++stats_.frames;
    net::DecodedPacket d;
    net::DecodeResult r;
    if (linktype == DLT_EN10MB) {
      r = net::decode_frame(data, len, d);
    } else if (linktype == DLT_RAW || linktype == 101 /* LINKTYPE_RAW */) {
      r = net::decode_ip(data, len, d);
    } else if (linktype == DLT_LINUX_SLL && len >= 16) {
      r = net::decode_ip(data + 16, len - 16, d);
      data += 16;
      len -= 16;
    } else {
      ++stats_.undecodable;
      return;
    }
    if (r != net::DecodeResult::ok) {
      if (r == net::DecodeResult::not_ip || r == net::DecodeResult::not_udp_tcp)
        ++stats_.not_sip;
      else
        ++stats_.undecodable;
      return;
    }
    if (d.is_fragment) {
      fragment(origin, data, d);
      return;
    }
    deliver(origin, data, d);
  }

  void finish() { stats_.incomplete_fragments += pending_.size(); }

 private:
  void deliver(const std::string& origin, const std::uint8_t* data, const net::DecodedPacket& d) {
    bool udp = d.l4_proto == 17, tcp = d.l4_proto == 6;
    if (!(udp || tcp) || !(is_sip_port(opts_, d.dst_port) || is_sip_port(opts_, d.src_port))) {
      ++stats_.not_sip;
      return;
    }
    if (tcp && d.payload_length == 0) return;  // handshake, pure ACKs
    SipPayload p;
    p.origin = origin;
    p.from_pcap = true;
    p.packet = d;
    p.stream = tcp;
    p.bytes.assign(reinterpret_cast<const char*>(data) + d.payload_offset, d.payload_length);
    sink_(p);
  }

  void fragment(const std::string& origin, const std::uint8_t* data, const net::DecodedPacket& d) {
    ++stats_.fragments;
    std::uint32_t offset = 0, id = 0;
    bool more = false;
    fragment_info(data, d, offset, more, id);
    FragmentKey key{d.src, d.dst, id, d.l4_proto};
    FragmentSet& set = pending_[key];
    // The first fragment decoded its UDP/TCP header: keep the datagram from the L4 header on.
    const std::uint8_t* start = data + d.l4_offset;
    std::size_t n = static_cast<std::size_t>(d.payload_offset + d.payload_length) - d.l4_offset;
    if (offset == 0) {
      set.first = d;
      set.have_first = true;
      set.origin = origin;
    }
    if (offset + n > kMaxReassembled) {  // oversize datagram: give up on it
      pending_.erase(key);
      ++stats_.incomplete_fragments;
      return;
    }
    set.parts[offset].assign(reinterpret_cast<const char*>(start), n);
    if (!more) set.total = offset + static_cast<std::uint32_t>(n);
    if (!set.have_first || set.total == 0) return;
    // Complete when the parts cover [0, total) without a gap.
    std::string dgram;
    for (auto& [off, bytes] : set.parts) {
      if (off > dgram.size()) return;  // gap: wait for more
      if (off + bytes.size() > dgram.size()) dgram.append(bytes.substr(dgram.size() - off));
    }
    if (dgram.size() < set.total) return;
    ++stats_.reassembled;
    net::DecodedPacket whole = set.first;
    std::size_t hdr = whole.payload_offset - whole.l4_offset;  // UDP 8 / TCP data offset
    SipPayload p;
    p.origin = set.origin;
    p.from_pcap = true;
    p.packet = whole;
    p.packet.is_fragment = false;
    p.reassembled = true;
    p.stream = whole.l4_proto == 6;
    p.bytes = dgram.substr(std::min(hdr, dgram.size()));
    pending_.erase(key);
    if (!(is_sip_port(opts_, p.packet.dst_port) || is_sip_port(opts_, p.packet.src_port))) {
      ++stats_.not_sip;
      return;
    }
    sink_(p);
  }

  const InputOptions& opts_;
  InputStats& stats_;
  const std::function<void(const SipPayload&)>& sink_;
  std::map<FragmentKey, FragmentSet> pending_;
};

}  // namespace

bool read_sip_input(const std::string& path, const InputOptions& opts, InputStats& stats,
                    const std::function<void(const SipPayload&)>& sink, std::string& error) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  if (!is_pcap_file(path)) {
    std::ostringstream ss;
    ss << probe.rdbuf();
    SipPayload p;
    p.origin = path;
    p.bytes = ss.str();
    sink(p);
    return true;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  if (!pc) {
    error = path + ": " + errbuf;
    return false;
  }
  int linktype = pcap_datalink(pc);
  PcapWalker walker(opts, stats, sink);
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  std::uint64_t n = 0;
  int rc;
  while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
    ++n;
    walker.frame(path + "#" + std::to_string(n), data, hdr->caplen, linktype);
  }
  walker.finish();
  if (rc == -1) error = path + ": " + pcap_geterr(pc);
  pcap_close(pc);
  return rc != -1;
}

}  // namespace sipwall::control
