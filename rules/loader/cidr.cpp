#include "rules/loader/cidr.h"

#include <arpa/inet.h>

#include <charconv>

#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

std::string format_addr(const std::array<std::uint8_t, 16>& addr, bool ipv4) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ipv4) {
    inet_ntop(AF_INET, addr.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
  }
  return buf;
}

// Clears the bits after `len`; returns true if any was set.
bool clear_host_bits(std::array<std::uint8_t, 16>& addr, unsigned len) noexcept {
  bool any = false;
  for (unsigned bit = len; bit < 128; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80U >> (bit % 8));
    if (addr[bit / 8] & mask) {
      any = true;
      addr[bit / 8] = static_cast<std::uint8_t>(addr[bit / 8] & ~mask);
    }
  }
  return any;
}

}  // namespace

CidrText parse_cidr(std::string_view text) {
  CidrText out;
  out.source.text = std::string(text);
  const auto slash = text.find('/');
  const std::string addr_text(text.substr(0, slash));
  TrunkSource& s = out.source;
  unsigned char raw[16] = {};
  unsigned max_len = 0;
  if (inet_pton(AF_INET, addr_text.c_str(), raw) == 1) {
    s.is_ipv4 = true;
    max_len = 32;
    s.addr[10] = 0xff;
    s.addr[11] = 0xff;
    for (int i = 0; i < 4; ++i) s.addr[static_cast<std::size_t>(12 + i)] = raw[i];
  } else if (inet_pton(AF_INET6, addr_text.c_str(), raw) == 1) {
    max_len = 128;
    for (int i = 0; i < 16; ++i) s.addr[static_cast<std::size_t>(i)] = raw[i];
  } else {
    out.error = text::quote(text) + " is not an IPv4 or IPv6 address or prefix";
    return out;
  }
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view l = text.substr(slash + 1);
    const auto r = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || r.ec != std::errc() || r.ptr != l.data() + l.size() || len > max_len) {
      out.error = "bad prefix length in " + text::quote(std::string(text)) + ": expected 0.." + std::to_string(max_len);
      return out;
    }
  }
  const unsigned space_len = s.is_ipv4 ? len + 96 : len;
  s.prefix_len = static_cast<std::uint8_t>(space_len);
  if (clear_host_bits(s.addr, space_len)) {
    out.error = text::quote(std::string(text)) + " has host bits set; did you mean '" + format_addr(s.addr, s.is_ipv4) +
                "/" + std::to_string(len) + "'?";
    return out;
  }
  out.ok = true;
  return out;
}

bool prefixes_overlap(const TrunkSource& a, const TrunkSource& b) noexcept {
  const unsigned len = a.prefix_len < b.prefix_len ? a.prefix_len : b.prefix_len;
  for (unsigned bit = 0; bit < len; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80U >> (bit % 8));
    if ((a.addr[bit / 8] & mask) != (b.addr[bit / 8] & mask)) return false;
  }
  return true;
}

bool may_match_same_packet(const TrunkSource& a, const TrunkSource& b) noexcept {
  if (a.vlan && b.vlan && *a.vlan != *b.vlan) return false;
  if (a.port && b.port && *a.port != *b.port) return false;
  return prefixes_overlap(a, b);
}

}  // namespace sipwall::rules::loader
