#include "dataplane/classify/packet_source.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace sipwall::classify {

std::array<std::uint8_t, 16> PacketSource::ipv4_mapped(const std::uint8_t v4[4]) noexcept {
  std::array<std::uint8_t, 16> a{};
  a[10] = 0xFF;
  a[11] = 0xFF;
  std::memcpy(a.data() + 12, v4, 4);
  return a;
}

bool PacketSource::parse_ip(std::string_view text, std::array<std::uint8_t, 16>& out, IpFamily& family) noexcept {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    out = ipv4_mapped(v4);
    family = IpFamily::ipv4;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out.data()) == 1) {
    family = IpFamily::ipv6;
    return true;
  }
  return false;
}

}  // namespace sipwall::classify
