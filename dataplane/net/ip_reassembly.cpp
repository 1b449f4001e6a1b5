#include "dataplane/net/ip_reassembly.h"

#include <algorithm>
#include <tuple>

#include "dataplane/net/bytes.h"

namespace sipwall::net {

std::string_view to_string(FragmentFailure f) noexcept {
  switch (f) {
#define SIPWALL_X(name, text) \
  case FragmentFailure::name: \
    return #name;
    SIPWALL_FRAGMENT_FAILURES(SIPWALL_X)
#undef SIPWALL_X
  }
  return "unknown";
}

std::string_view describe(FragmentFailure f) noexcept {
  switch (f) {
#define SIPWALL_X(name, text) \
  case FragmentFailure::name: \
    return text;
    SIPWALL_FRAGMENT_FAILURES(SIPWALL_X)
#undef SIPWALL_X
  }
  return "unknown";
}

bool IpReassembler::Key::operator<(const Key& o) const noexcept {
  return std::tie(version, proto, id, src, dst) < std::tie(o.version, o.proto, o.id, o.src, o.dst);
}

IpReassembler::IpReassembler(const IpReassemblyConfig& cfg) : cfg_(cfg) {
  // The data plane's table: max_flows / 16 buckets (at least one) of 16 entries.
  capacity_ = std::size_t{std::max<std::uint32_t>(cfg_.max_flows / 16, 1)} * 16;
}

void IpReassembler::give_up(std::map<Key, Entry>::iterator it, FragmentFailure why) {
  Entry& e = it->second;
  failed_.push_back(Failed{why, std::move(e.tags)});
  bytes_ -= e.bytes;
  ages_.erase(e.age);
  table_.erase(it);
}

void IpReassembler::expire(std::uint64_t now) {
  while (!ages_.empty()) {
    auto it = table_.find(ages_.front());
    if (now < it->second.start || now - it->second.start < cfg_.timeout) break;
    give_up(it, FragmentFailure::timeout);
  }
}

void IpReassembler::flush() {
  while (!ages_.empty()) give_up(table_.find(ages_.front()), FragmentFailure::timeout);
}

std::vector<IpReassembler::Failed> IpReassembler::take_failed() {
  std::vector<Failed> out;
  out.swap(failed_);
  return out;
}

FragmentStatus IpReassembler::add(const std::uint8_t* frame, std::size_t len, const DecodedPacket& d, std::uint64_t tag,
                                  std::uint64_t now) {
  expire(now);
  auto refuse = [&](FragmentFailure why) {
    failed_.push_back(Failed{why, {tag}});
    return FragmentStatus::failed;
  };
  // Where the fragment's data is, and its place in the datagram.
  Key key;
  key.version = d.ip_version;
  key.src = d.src;
  key.dst = d.dst;
  const std::uint8_t* ip = frame + d.l3_offset;
  std::size_t data_off = 0, data_len = 0, max_end = 0;
  std::uint32_t offset = 0;
  bool more = false;
  if (d.ip_version == 4) {
    if (len < std::size_t{d.l3_offset} + 20) return refuse(FragmentFailure::bad_fragment);
    const std::size_t ihl = std::size_t{ip[0] & 0x0Fu} * 4;
    const std::size_t total = rd16(ip + 2);
    const std::uint16_t frag = rd16(ip + 6);
    key.proto = ip[9];
    key.id = rd16(ip + 4);
    offset = std::uint32_t{frag & 0x1FFFu} * 8;
    more = (frag & 0x2000) != 0;
    data_off = d.l3_offset + ihl;
    data_len = total > ihl ? total - ihl : 0;
    max_end = 65535 - ihl;  // the datagram's total length is 16 bits
  } else {
    // DPDK reassembles only a Fragment header right after the IPv6 header.
    if (d.ipv6_frag_header != d.l3_offset + 40) return refuse(FragmentFailure::header_not_first);
    const std::uint8_t* fh = frame + d.ipv6_frag_header;
    const std::size_t payload = rd16(ip + 4);
    const std::uint16_t fo = rd16(fh + 2);
    key.id = rd32(fh + 4);
    offset = fo & 0xFFF8u;
    more = (fo & 1) != 0;
    data_off = d.ipv6_frag_header + 8u;
    data_len = payload > 8 ? payload - 8 : 0;
    max_end = 65535;  // the payload length is 16 bits
  }
  if (data_len == 0 || data_off + data_len > len || offset + data_len > max_end)
    return refuse(FragmentFailure::bad_fragment);

  auto it = table_.find(key);
  if (it == table_.end()) {
    if (table_.size() >= capacity_ || bytes_ + data_len > cfg_.max_bytes) return refuse(FragmentFailure::table_full);
    it = table_.emplace(key, Entry{}).first;
    it->second.start = now;
    it->second.age = ages_.insert(ages_.end(), key);
  } else if (bytes_ + data_len > cfg_.max_bytes) {
    return refuse(FragmentFailure::table_full);
  }
  Entry& e = it->second;
  e.tags.push_back(tag);
  e.frag_size += static_cast<std::uint32_t>(data_len);
  Piece* slot = nullptr;
  if (offset == 0) {
    if (e.have_first) {
      give_up(it, FragmentFailure::duplicate);
      return FragmentStatus::failed;
    }
    e.have_first = true;
    slot = &e.first;
    e.head.assign(frame, frame + data_off);
    e.l3_offset = d.l3_offset;
    e.version = d.ip_version;
  } else if (!more) {
    if (e.have_last) {
      give_up(it, FragmentFailure::duplicate);
      return FragmentStatus::failed;
    }
    e.have_last = true;
    e.total = offset + static_cast<std::uint32_t>(data_len);
    slot = &e.last;
  } else {
    if (e.middle.size() >= kMaxFragments - 2) {
      give_up(it, FragmentFailure::too_many);
      return FragmentStatus::failed;
    }
    slot = &e.middle.emplace_back();
  }
  slot->offset = offset;
  slot->data.assign(frame + data_off, frame + data_off + data_len);
  e.bytes += data_len;
  bytes_ += data_len;

  if (e.frag_size < e.total) return FragmentStatus::held;
  if (e.frag_size == e.total && e.have_first && build(e)) {
    datagram_tags_ = std::move(e.tags);
    bytes_ -= e.bytes;
    ages_.erase(e.age);
    table_.erase(it);
    return FragmentStatus::complete;
  }
  // The sizes exceed the datagram, or add up only with a fragment counted
  // twice or a hole in the chain.
  give_up(it, FragmentFailure::overlap);
  return FragmentStatus::failed;
}

// Chains the fragments back from the last one by exact adjacency, as DPDK
// does; false if there is a hole (the sizes added up through an overlap).
bool IpReassembler::build(const Entry& e) {
  std::vector<const Piece*> chain{&e.last};
  std::uint32_t at = e.last.offset;
  const auto first_len = static_cast<std::uint32_t>(e.first.data.size());
  while (at != first_len) {
    const Piece* prev = nullptr;
    for (const Piece& p : e.middle) {
      if (p.offset + p.data.size() == at) prev = &p;
    }
    if (prev == nullptr) return false;
    chain.push_back(prev);
    at = prev->offset;
  }
  chain.push_back(&e.first);
  std::reverse(chain.begin(), chain.end());

  datagram_.clear();
  datagram_.reserve(e.head.size() + e.total);
  datagram_.insert(datagram_.end(), e.head.begin(), e.head.end());
  std::uint8_t* ip = datagram_.data() + e.l3_offset;
  if (e.version == 4) {
    const std::size_t ihl = std::size_t{ip[0] & 0x0Fu} * 4;
    wr16(ip + 2, static_cast<std::uint16_t>(ihl + e.total));
    wr16(ip + 6, rd16(ip + 6) & 0x4000);  // DF stays; MF and the offset go
    wr16(ip + 10, 0);                     // as rte_ip_frag leaves it; nothing on the path checks it
  } else {
    ip[6] = ip[40];  // the Fragment header's Next Header
    wr16(ip + 4, static_cast<std::uint16_t>(e.total));
    datagram_.resize(std::size_t{e.l3_offset} + 40);
  }
  for (const Piece* p : chain) datagram_.insert(datagram_.end(), p->data.begin(), p->data.end());
  return true;
}

}  // namespace sipwall::net
