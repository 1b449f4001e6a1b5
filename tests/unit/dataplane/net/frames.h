// Test-side frame builder and verifiers. Checksums here are computed the
// slow, obvious way (16-bit big-endian words, RFC 1071) so they check the
// library's optimised code rather than repeat it.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nettest {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t{get16(p)} << 16 | get16(p + 2);
}
inline void set16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Naive one's-complement sum, folded, not complemented.
inline std::uint16_t ref_sum(const Bytes& data) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    std::uint32_t w = std::uint32_t{data[i]} << 8;
    if (i + 1 < data.size()) w |= data[i + 1];
    s += w;
    s = (s & 0xFFFF) + (s >> 16);
  }
  return static_cast<std::uint16_t>(s);
}
inline std::uint16_t ref_checksum(const Bytes& data) {
  return static_cast<std::uint16_t>(~ref_sum(data));
}

struct Addr {
  Bytes raw;  // 4 or 16 bytes
  bool v6() const { return raw.size() == 16; }
};
inline Addr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {{a, b, c, d}};
}
inline Addr v6(std::initializer_list<std::uint16_t> groups) {
  Bytes r;
  for (auto g : groups) put16(r, g);
  r.resize(16, 0);
  return {r};
}

inline Bytes pseudo(const Addr& s, const Addr& d, std::uint8_t proto, std::uint32_t len) {
  Bytes p = cat({s.raw, d.raw});
  if (!s.v6()) {
    p.push_back(0);
    p.push_back(proto);
    put16(p, static_cast<std::uint16_t>(len));
  } else {
    put32(p, len);
    p.insert(p.end(), {0, 0, 0, proto});
  }
  return p;
}

inline Bytes udp(const Addr& s, const Addr& d, std::uint16_t sp, std::uint16_t dp, const Bytes& payload,
                 bool zero_checksum = false) {
  Bytes u;
  put16(u, sp);
  put16(u, dp);
  put16(u, static_cast<std::uint16_t>(8 + payload.size()));
  put16(u, 0);
  u.insert(u.end(), payload.begin(), payload.end());
  if (!zero_checksum) {
    std::uint16_t c = ref_checksum(cat({pseudo(s, d, 17, static_cast<std::uint32_t>(u.size())), u}));
    set16(u.data() + 6, c == 0 ? 0xFFFF : c);
  }
  return u;
}

inline Bytes tcp(const Addr& s, const Addr& d, std::uint16_t sp, std::uint16_t dp, std::uint32_t seq, std::uint32_t ack,
                 std::uint8_t flags, const Bytes& payload, const Bytes& options = {}, std::uint16_t window = 8192) {
  Bytes t;
  put16(t, sp);
  put16(t, dp);
  put32(t, seq);
  put32(t, ack);
  Bytes opts = options;
  while (opts.size() % 4) opts.push_back(1);  // NOP padding
  t.push_back(static_cast<std::uint8_t>(((20 + opts.size()) / 4) << 4));
  t.push_back(flags);
  put16(t, window);
  put16(t, 0);
  put16(t, 0);
  t.insert(t.end(), opts.begin(), opts.end());
  t.insert(t.end(), payload.begin(), payload.end());
  set16(t.data() + 16, ref_checksum(cat({pseudo(s, d, 6, static_cast<std::uint32_t>(t.size())), t})));
  return t;
}

struct V4Opts {
  std::uint16_t id = 0x1234;
  std::uint16_t frag = 0;  // flags + offset field as on the wire
  std::uint8_t ttl = 57;
  std::uint8_t tos = 0x68;  // DSCP AF31 (26 << 2) without ECN
  Bytes options;            // IP options, multiple of 4
};

inline Bytes ipv4(const Addr& s, const Addr& d, std::uint8_t proto, const Bytes& payload, V4Opts o = {}) {
  Bytes h;
  h.push_back(static_cast<std::uint8_t>(0x40 | ((20 + o.options.size()) / 4)));
  h.push_back(o.tos);
  put16(h, static_cast<std::uint16_t>(20 + o.options.size() + payload.size()));
  put16(h, o.id);
  put16(h, o.frag);
  h.push_back(o.ttl);
  h.push_back(proto);
  put16(h, 0);
  h.insert(h.end(), s.raw.begin(), s.raw.end());
  h.insert(h.end(), d.raw.begin(), d.raw.end());
  h.insert(h.end(), o.options.begin(), o.options.end());
  set16(h.data() + 10, ref_checksum(h));
  return cat({h, payload});
}

// `ext` is an already-chained extension header sequence; `first_nh` names its first header.
inline Bytes ipv6(const Addr& s, const Addr& d, std::uint8_t first_nh, const Bytes& payload, const Bytes& ext = {},
                  std::uint8_t tclass = 0x68, std::uint32_t flow = 0x12345, std::uint8_t hop_limit = 61) {
  Bytes h;
  h.push_back(static_cast<std::uint8_t>(0x60 | (tclass >> 4)));
  h.push_back(static_cast<std::uint8_t>((tclass << 4) | ((flow >> 16) & 0xF)));
  put16(h, static_cast<std::uint16_t>(flow));
  put16(h, static_cast<std::uint16_t>(ext.size() + payload.size()));
  h.push_back(first_nh);
  h.push_back(hop_limit);
  h.insert(h.end(), s.raw.begin(), s.raw.end());
  h.insert(h.end(), d.raw.begin(), d.raw.end());
  return cat({h, ext, payload});
}

// 8-byte-multiple option-style extension header (HBH 0, Routing 43, DestOpts 60).
inline Bytes ext_hdr(std::uint8_t next, std::size_t units8 = 1) {
  Bytes e(units8 * 8, 0);
  e[0] = next;
  e[1] = static_cast<std::uint8_t>(units8 - 1);
  if (units8 * 8 > 2) {  // PadN filling the rest
    e[2] = 1;
    e[3] = static_cast<std::uint8_t>(units8 * 8 - 4);
  }
  return e;
}
inline Bytes frag_hdr(std::uint8_t next, std::uint16_t offset8, bool more, std::uint32_t id = 0xabcdef) {
  Bytes e{next, 0};
  put16(e, static_cast<std::uint16_t>((offset8 << 3) | (more ? 1 : 0)));
  put32(e, id);
  return e;
}

inline const Bytes kMacA{0x02, 0, 0, 0, 0, 0x0A};
inline const Bytes kMacB{0x02, 0, 0, 0, 0, 0x0B};

// vlans: {tpid, vid} pairs, outermost first.
inline Bytes eth(std::uint16_t type, const Bytes& payload,
                 std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans = {}, const Bytes& src = kMacA,
                 const Bytes& dst = kMacB) {
  Bytes f = cat({dst, src});
  for (auto [tpid, vid] : vlans) {
    put16(f, tpid);
    put16(f, vid);
  }
  put16(f, type);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

// --- Independent verification of a built frame (walks L2/L3 itself). -------

struct Walk {
  bool ok = false;
  std::size_t l3 = 0, l4 = 0, end = 0;  // end = one past the IP datagram
  int version = 0;
  std::uint8_t proto = 0;
  Addr src, dst;
};

inline Walk walk(const Bytes& f) {
  Walk w;
  std::size_t off = 12;
  std::uint16_t type = get16(&f[off]);
  while (type == 0x8100 || type == 0x88A8 || type == 0x9100) {
    off += 4;
    type = get16(&f[off]);
  }
  off += 2;
  w.l3 = off;
  if (type == 0x0800) {
    w.version = 4;
    std::size_t ihl = (f[off] & 0xF) * 4u;
    w.end = off + get16(&f[off + 2]);
    w.proto = f[off + 9];
    w.src.raw.assign(f.begin() + off + 12, f.begin() + off + 16);
    w.dst.raw.assign(f.begin() + off + 16, f.begin() + off + 20);
    w.l4 = off + ihl;
  } else if (type == 0x86DD) {
    w.version = 6;
    w.end = off + 40 + get16(&f[off + 4]);
    std::uint8_t nh = f[off + 6];
    std::size_t pos = off + 40;
    while (nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51) {
      std::size_t len = nh == 44 ? 8 : nh == 51 ? (f[pos + 1] + 2u) * 4 : (f[pos + 1] + 1u) * 8;
      nh = f[pos];
      pos += len;
    }
    w.proto = nh;
    w.src.raw.assign(f.begin() + off + 8, f.begin() + off + 24);
    w.dst.raw.assign(f.begin() + off + 24, f.begin() + off + 40);
    w.l4 = pos;
  } else {
    return w;
  }
  w.ok = w.end <= f.size();
  return w;
}

// True if IPv4 header (if any) and UDP/TCP checksums verify.
inline ::testing::AssertionResult checksums_valid(const Bytes& f) {
  Walk w = walk(f);
  if (!w.ok) return ::testing::AssertionFailure() << "frame does not walk";
  if (w.version == 4) {
    Bytes h(f.begin() + w.l3, f.begin() + w.l4);
    if (ref_sum(h) != 0xFFFF) return ::testing::AssertionFailure() << "IPv4 header checksum wrong";
  }
  std::size_t l4len = w.proto == 17 ? get16(&f[w.l4 + 4]) : w.end - w.l4;
  Bytes l4(f.begin() + w.l4, f.begin() + w.l4 + l4len);
  if (w.proto == 17 && w.version == 4 && get16(&l4[6]) == 0) return ::testing::AssertionSuccess();
  if (ref_sum(cat({pseudo(w.src, w.dst, w.proto, static_cast<std::uint32_t>(l4len)), l4})) != 0xFFFF) {
    return ::testing::AssertionFailure() << (w.proto == 17 ? "UDP" : "TCP") << " checksum wrong";
  }
  return ::testing::AssertionSuccess();
}

inline std::string payload_text(const Bytes& f) {
  Walk w = walk(f);
  std::size_t hl = w.proto == 17 ? 8 : (f[w.l4 + 12] >> 4) * 4u;
  std::size_t end = w.proto == 17 ? w.l4 + get16(&f[w.l4 + 4]) : w.end;
  return std::string(f.begin() + static_cast<long>(w.l4 + hl), f.begin() + static_cast<long>(end));
}

// Classic libpcap writer (LINKTYPE_ETHERNET) for the sample-output file.
inline bool write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) return false;
  auto w32 = [&](std::uint32_t v) { std::fwrite(&v, 4, 1, fp); };
  auto w16 = [&](std::uint16_t v) { std::fwrite(&v, 2, 1, fp); };
  w32(0xa1b2c3d4);
  w16(2);
  w16(4);
  w32(0);
  w32(0);
  w32(65535);
  w32(1);
  std::uint32_t t = 1700000000;
  for (const auto& f : frames) {
    w32(t++);
    w32(0);
    w32(static_cast<std::uint32_t>(f.size()));
    w32(static_cast<std::uint32_t>(f.size()));
    std::fwrite(f.data(), 1, f.size(), fp);
  }
  return std::fclose(fp) == 0;
}

}  // namespace nettest
