// DPDK's net_af_packet ring, as the data plane's start-up check must see it
// (DPDK 22.11, drivers/net/af_packet): each RX frame of the ring holds one
// packet, cut to fit; the driver asks the kernel to defragment IPv4
// (PACKET_FANOUT_FLAG_DEFRAG), so a fragmented datagram arrives whole and a
// 2,296-byte INVITE no longer fits the default 2,048-byte frame. The driver
// copies a frame into one mbuf and refuses an RX pool whose data room cannot
// hold a whole frame. Plain C++ over the vdev text: no DPDK, unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipwall::dataplane {

struct DataplaneConfig;

struct AfPacketRing {
  std::string name;              // "net_af_packet0"
  std::uint32_t framesz = 2048;  // framesz= (driver default 2048)
  std::uint32_t blocksz = 4096;  // blocksz= (driver default: the page size)
  std::uint32_t framecnt = 512;  // framecnt= (driver default 512)
  std::uint32_t qpairs = 1;      // qpairs=
};

// The kernel puts the Ethernet header at offset 66 of a TPACKET_V2 frame
// (TPACKET_ALIGN(52 + 16) - 14), the IP header at 80: a frame holds
// framesz - 66 bytes of packet, so an IP datagram of framesz - 80 bytes.
inline constexpr std::uint32_t kAfPacketMacOffset = 66;
inline constexpr std::uint32_t kAfPacketNetOffset = 80;
// The driver wants a frame's data (framesz - 32) in one mbuf: an mbuf's data
// room is at most 65,535 bytes (a 16-bit length) minus its 128-byte headroom,
// so framesz may be at most 65,439. The driver also finds frame i at
// i * framesz in the ring while the kernel starts every block on a page
// boundary, so blocksz must be a multiple of framesz, and the kernel wants
// blocksz a multiple of the page size: 61,440 (15 pages, one frame a block)
// is the largest framesz that works. It holds IP datagrams up to 61,360 bytes.
inline constexpr std::uint32_t kAfPacketFrameOverhead = 32;
inline constexpr std::uint32_t kAfPacketMaxFramesz = 61440;
// The largest IP datagram the kernel's defragmentation can hand over.
inline constexpr std::uint32_t kMaxIpDatagram = 65535;

// The ring of an af_packet vdev ("net_af_packet0,iface=eth1,framesz=61440"),
// or nullopt if `vdev` is not one. Unparsable numbers keep the default: EAL
// refuses them at start anyway.
std::optional<AfPacketRing> parse_af_packet_vdev(std::string_view vdev);

// The largest IP datagram one frame of this ring holds whole.
inline std::uint32_t af_packet_max_datagram(const AfPacketRing& r) {
  return r.framesz > kAfPacketNetOffset ? r.framesz - kAfPacketNetOffset : 0;
}

// The data room (headroom included) an RX mbuf needs for this ring's frames.
std::uint32_t af_packet_rx_data_room(const AfPacketRing& r);

// The af_packet ring behind port `i` of `c` (its device among eal.vdevs), if any.
std::optional<AfPacketRing> port_af_packet_ring(const DataplaneConfig& c, std::size_t i);

// Mbufs of a port's own RX pool (ports on af_packet with frames larger than
// the packet pool's 2 KB mbufs), per worker.
inline constexpr std::uint32_t kAfPacketRxMbufsPerWorker = 1024;

// One line per af_packet port whose frames cannot hold the largest datagram
// it may receive: max(port MTU, 65,535 after kernel reassembly), capped at
// what an mbuf can hold. Each says what to set.
std::vector<std::string> af_packet_warnings(const DataplaneConfig& c);

}  // namespace sipwall::dataplane
