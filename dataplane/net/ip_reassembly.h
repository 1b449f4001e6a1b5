// IPv4/IPv6 fragment reassembly in plain C++ (no DPDK, no mbufs), for the
// tools that must decide a capture as the data plane does (sipwallctl parse
// and rules explain; docs/control.md). The data plane itself reassembles with
// DPDK's rte_ip_frag (dataplane/app/worker.cpp), which needs EAL and mbufs;
// this class keeps the same rules, so a datagram completes here exactly when
// it completes there (docs/packet-handling.md §1 "Fragments"):
//
//  * key: source, destination and Identification (IPv4: and the protocol);
//    the VLAN is not part of it.
//  * at most kMaxFragments fragments per datagram (DPDK's
//    RTE_LIBRTE_IP_FRAG_MAX_FRAG): one first (offset 0), one last (MF clear)
//    and the rest in between;
//  * a second first or last fragment, more fragments than that, or fragments
//    whose sizes do not add up to the datagram (overlap, a hole) fail the
//    whole datagram: every fragment of it is freed, nothing is delivered;
//  * the datagram completes only with its first fragment (the one with the
//    UDP/TCP header) when the sizes add up, and then only if the fragments
//    chain without a hole;
//  * a fragment without data, or whose data would end past the largest
//    datagram (65535 bytes), is refused on its own;
//  * IPv6: only a Fragment header directly after the IPv6 header (what DPDK
//    reassembles; the data plane sends the others to the malformed policy);
//  * a datagram not complete `timeout` after its first fragment arrived is
//    given up; at most max(max_flows / 16, 1) * 16 datagrams at once (the
//    data plane's table: max_flows / 16 buckets of 16), a fragment of a new
//    datagram beyond that is refused. (DPDK places a datagram in one of two
//    buckets by a hash with a random seed, so there a bucket pair may fill
//    up before the whole table does; the total is the bound kept here.)
//  * `max_bytes` of fragment data held at once: the data plane's bound is its
//    mbuf pool; here it keeps a hostile capture's memory bounded.
//
// The reassembled datagram is returned as one frame: the first fragment's
// bytes up to its IP data (layer 2 and the IP header: IPv4 with the total
// length set and the fragment field cleared but for DF, and the header
// checksum zeroed as DPDK leaves it; IPv6 without its Fragment header), then
// the data of every fragment in order. Decoding that frame gives what the
// data plane decodes after rte_ip_frag.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string_view>
#include <vector>

#include "dataplane/net/packet_decode.h"

namespace sipwall::net {

inline constexpr std::size_t kMaxFragments = 8;  // RTE_LIBRTE_IP_FRAG_MAX_FRAG in DPDK 22.11's build

struct IpReassemblyConfig {
  std::uint32_t max_flows = 4096;                 // fragments.max_flows (docs/operations.md)
  std::uint64_t timeout = 2000;                   // fragments.timeout_ms, in the caller's time unit
  std::size_t max_bytes = std::size_t{64} << 20;  // fragment data held at once
};

#define SIPWALL_FRAGMENT_FAILURES(X)                                             \
  X(none, "reassembled")                                                         \
  X(bad_fragment, "a fragment without data, or with data past 65535 bytes")      \
  X(header_not_first, "IPv6 Fragment header not directly after the IPv6 header") \
  X(duplicate, "a second first or last fragment")                                \
  X(too_many, "more fragments than the reassembler takes (8)")                   \
  X(overlap, "fragments overlap or leave a hole")                                \
  X(timeout, "not complete within the reassembly timeout")                       \
  X(table_full, "too many datagrams in reassembly at once")

enum class FragmentFailure : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_FRAGMENT_FAILURES(SIPWALL_X)
#undef SIPWALL_X
};
std::string_view to_string(FragmentFailure f) noexcept;
std::string_view describe(FragmentFailure f) noexcept;

enum class FragmentStatus : std::uint8_t {
  held,      // kept until the rest arrives
  complete,  // datagram() holds the whole datagram as a frame
  failed,    // the fragment (and maybe its datagram) was freed: see take_failed()
};

class IpReassembler {
 public:
  // A datagram given up: why, and the tags of its fragments (arrival order).
  struct Failed {
    FragmentFailure why = FragmentFailure::none;
    std::vector<std::uint64_t> tags;
  };

  explicit IpReassembler(const IpReassemblyConfig& cfg);

  // One fragment: `frame[0, len)` decoded as `d` (d.is_fragment; layer 2 may
  // be absent, d.l3_offset says where IP starts). `tag` names it for the
  // caller (a frame number); `now` is in the unit of cfg.timeout. Datagrams
  // whose time ran out are given up first, as the data plane's reuse of a
  // stale entry does.
  FragmentStatus add(const std::uint8_t* frame, std::size_t len, const DecodedPacket& d, std::uint64_t tag,
                     std::uint64_t now);

  // After add() returned complete: the datagram as a frame, and the tags of
  // its fragments in arrival order (the last one completed it).
  const std::vector<std::uint8_t>& datagram() const noexcept { return datagram_; }
  const std::vector<std::uint64_t>& datagram_tags() const noexcept { return datagram_tags_; }

  // Gives up datagrams whose first fragment arrived `timeout` or more before `now`.
  void expire(std::uint64_t now);
  // Gives up every datagram still in reassembly (end of input), as timed out.
  void flush();
  // Datagrams (and lone refused fragments) given up since the last call.
  std::vector<Failed> take_failed();

  std::size_t pending() const noexcept { return table_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Key {
    std::uint8_t version = 0;
    std::uint8_t proto = 0;  // IPv4 only (DPDK's IPv6 key has no protocol)
    std::uint32_t id = 0;
    std::array<std::uint8_t, 16> src{}, dst{};
    bool operator<(const Key& o) const noexcept;
  };
  struct Piece {
    std::uint32_t offset = 0;
    std::vector<std::uint8_t> data;
  };
  struct Entry {
    std::uint64_t start = 0;
    std::uint32_t frag_size = 0;       // data bytes received (overlaps counted twice)
    std::uint32_t total = UINT32_MAX;  // known once the last fragment arrived
    bool have_first = false, have_last = false;
    Piece first, last;
    std::vector<Piece> middle;       // at most kMaxFragments - 2
    std::vector<std::uint8_t> head;  // the first fragment's bytes before its data
    std::uint16_t l3_offset = 0;     // of the IP header in `head`
    std::uint8_t version = 0;
    std::size_t bytes = 0;  // data held
    std::vector<std::uint64_t> tags;
    std::list<Key>::iterator age;
  };

  void give_up(std::map<Key, Entry>::iterator it, FragmentFailure why);
  bool build(const Entry& e);

  IpReassemblyConfig cfg_;
  std::size_t capacity_ = 0;
  std::size_t bytes_ = 0;
  std::map<Key, Entry> table_;
  std::list<Key> ages_;  // oldest first
  std::vector<Failed> failed_;
  std::vector<std::uint8_t> datagram_;
  std::vector<std::uint64_t> datagram_tags_;
};

}  // namespace sipwall::net
