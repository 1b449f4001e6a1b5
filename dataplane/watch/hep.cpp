#include "dataplane/watch/hep.h"

#include <cstring>

namespace sipwall::watch {
namespace {

constexpr std::size_t kHeader = 6;  // "HEP3" + total length
constexpr std::size_t kChunk = 6;   // vendor, type, length

enum Chunk : std::uint16_t {
  family = 0x0001,
  protocol = 0x0002,
  ipv4_src = 0x0003,
  ipv4_dst = 0x0004,
  ipv6_src = 0x0005,
  ipv6_dst = 0x0006,
  src_port = 0x0007,
  dst_port = 0x0008,
  time_s = 0x0009,
  time_us = 0x000a,
  proto_type = 0x000b,
  agent_id = 0x000c,
  auth_key = 0x000e,
  payload = 0x000f,
  correlation = 0x0011,
};

constexpr std::uint8_t kSip = 1;

class Writer {
 public:
  explicit Writer(std::uint8_t* p) : p_(p) {}
  void u8(std::uint8_t v) { *p_++ = v; }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(const void* b, std::size_t n) {
    if (n != 0) std::memcpy(p_, b, n);
    p_ += n;
  }
  void chunk(Chunk type, std::size_t body) {
    u16(0);  // vendor: generic
    u16(type);
    u16(static_cast<std::uint16_t>(kChunk + body));
  }

 private:
  std::uint8_t* p_;
};

}  // namespace

std::size_t hep_size(const HepMessage& m) noexcept {
  if (m.ip_version != 4 && m.ip_version != 6) return 0;
  const std::size_t addr = m.ip_version == 4 ? 4 : 16;
  std::size_t n = kHeader;
  n += 2 * (kChunk + 1);     // family, protocol
  n += 2 * (kChunk + addr);  // addresses
  n += 2 * (kChunk + 2);     // ports
  n += 2 * (kChunk + 4);     // time
  n += kChunk + 1;           // protocol type
  n += kChunk + 4;           // agent id
  // Each variable chunk's own length is 16-bit too: checked one by one so
  // the sum below cannot wrap.
  for (std::string_view v : {m.auth_key, m.correlation_id, m.payload}) {
    if (v.size() > kHepMax) return 0;
  }
  if (!m.auth_key.empty()) n += kChunk + m.auth_key.size();
  if (!m.correlation_id.empty()) n += kChunk + m.correlation_id.size();
  n += kChunk + m.payload.size();
  return n <= kHepMax ? n : 0;
}

std::size_t encode_hep(const HepMessage& m, std::uint8_t* out, std::size_t cap) noexcept {
  const std::size_t n = hep_size(m);
  if (n == 0 || n > cap) return 0;
  Writer w(out);
  w.bytes("HEP3", 4);
  w.u16(static_cast<std::uint16_t>(n));
  const bool v4 = m.ip_version == 4;
  const std::size_t addr = v4 ? 4 : 16;
  w.chunk(family, 1);
  w.u8(v4 ? 2 : 10);
  w.chunk(protocol, 1);
  w.u8(m.ip_protocol);
  w.chunk(v4 ? ipv4_src : ipv6_src, addr);
  w.bytes(m.src.data(), addr);
  w.chunk(v4 ? ipv4_dst : ipv6_dst, addr);
  w.bytes(m.dst.data(), addr);
  w.chunk(src_port, 2);
  w.u16(m.src_port);
  w.chunk(dst_port, 2);
  w.u16(m.dst_port);
  w.chunk(time_s, 4);
  w.u32(m.time_s);
  w.chunk(time_us, 4);
  w.u32(m.time_us);
  w.chunk(proto_type, 1);
  w.u8(kSip);
  w.chunk(agent_id, 4);
  w.u32(m.agent_id);
  if (!m.auth_key.empty()) {
    w.chunk(auth_key, m.auth_key.size());
    w.bytes(m.auth_key.data(), m.auth_key.size());
  }
  if (!m.correlation_id.empty()) {
    w.chunk(correlation, m.correlation_id.size());
    w.bytes(m.correlation_id.data(), m.correlation_id.size());
  }
  w.chunk(payload, m.payload.size());
  w.bytes(m.payload.data(), m.payload.size());
  return n;
}

}  // namespace sipwall::watch
