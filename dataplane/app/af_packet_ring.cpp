#include "dataplane/app/af_packet_ring.h"

#include <algorithm>
#include <charconv>

#include "dataplane/app/config.h"

namespace sipwall::dataplane {
namespace {

void read_number(std::string_view value, std::uint32_t& out) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec == std::errc() && end == value.data() + value.size() && v > 0) out = v;
}

// The packet pool's mbufs: RTE_MBUF_DEFAULT_BUF_SIZE = 2048 + 128 headroom.
constexpr std::uint32_t kDefaultDataRoom = 2048;

}  // namespace

std::optional<AfPacketRing> parse_af_packet_vdev(std::string_view vdev) {
  const std::size_t comma = vdev.find(',');
  const std::string_view name = vdev.substr(0, comma);
  if (!name.starts_with("net_af_packet") && !name.starts_with("eth_af_packet")) return std::nullopt;
  AfPacketRing r;
  r.name = std::string(name);
  std::string_view rest = comma == std::string_view::npos ? std::string_view{} : vdev.substr(comma + 1);
  while (!rest.empty()) {
    const std::size_t next = rest.find(',');
    const std::string_view kv = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (key == "framesz") read_number(value, r.framesz);
    if (key == "blocksz") read_number(value, r.blocksz);
    if (key == "framecnt") read_number(value, r.framecnt);
    if (key == "qpairs") read_number(value, r.qpairs);
  }
  return r;
}

std::uint32_t af_packet_rx_data_room(const AfPacketRing& r) {
  const std::uint32_t data = r.framesz > kAfPacketFrameOverhead ? r.framesz - kAfPacketFrameOverhead : 0;
  return std::max(data, kDefaultDataRoom) + 128;  // + RTE_PKTMBUF_HEADROOM
}

std::optional<AfPacketRing> port_af_packet_ring(const DataplaneConfig& c, std::size_t i) {
  for (const std::string& v : c.vdevs) {
    auto r = parse_af_packet_vdev(v);
    if (r && r->name == c.ports[i].device) return r;
  }
  return std::nullopt;
}

std::vector<std::string> af_packet_warnings(const DataplaneConfig& c) {
  std::vector<std::string> out;
  const std::uint32_t reachable = kAfPacketMaxFramesz - kAfPacketNetOffset;
  for (std::size_t i = 0; i < c.ports.size(); ++i) {
    auto r = port_af_packet_ring(c, i);
    if (!r) continue;
    const std::uint32_t want = std::min(std::max<std::uint32_t>(c.ports[i].mtu, kMaxIpDatagram), reachable);
    const std::uint32_t holds = af_packet_max_datagram(*r);
    if (r->framesz > kAfPacketMaxFramesz) {
      out.push_back("port " + c.ports[i].name + " (" + r->name + "): framesz=" + std::to_string(r->framesz) +
                    " is larger than an mbuf can hold (at most " + std::to_string(kAfPacketMaxFramesz) +
                    "): the driver will refuse the RX queue at start");
    } else if (holds < want) {
      out.push_back("port " + c.ports[i].name + " (" + r->name + "): af_packet frames of " +
                    std::to_string(r->framesz) + " bytes hold IP datagrams up to " + std::to_string(holds) +
                    " bytes, but the kernel reassembles fragments into datagrams up to " +
                    std::to_string(kMaxIpDatagram) +
                    " bytes: a larger one (a fragmented INVITE) arrives cut and is counted bad_ip_header; add "
                    "framesz=61440,blocksz=61440 to the vdev (docs/deploy.md)");
    }
    if (r->blocksz < r->framesz)
      out.push_back("port " + c.ports[i].name + " (" + r->name + "): blocksz=" + std::to_string(r->blocksz) +
                    " is below framesz=" + std::to_string(r->framesz) + ": the driver refuses it at start");
    else if (r->blocksz % r->framesz != 0)
      out.push_back("port " + c.ports[i].name + " (" + r->name + "): blocksz=" + std::to_string(r->blocksz) +
                    " is not a multiple of framesz=" + std::to_string(r->framesz) +
                    ": the driver then reads frames where the kernel did not put them and receives nothing; use "
                    "framesz=61440,blocksz=61440");
  }
  return out;
}

}  // namespace sipwall::dataplane
