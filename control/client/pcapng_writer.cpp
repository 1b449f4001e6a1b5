#include "control/client/pcapng_writer.h"

#include <cstring>

namespace sipwall::control {
namespace {

void put32(std::string& b, std::uint32_t v) {
  char c[4];
  std::memcpy(c, &v, 4);
  b.append(c, 4);
}
void put16(std::string& b, std::uint16_t v) {
  char c[2];
  std::memcpy(c, &v, 2);
  b.append(c, 2);
}
void pad4(std::string& b) {
  while (b.size() % 4 != 0) b.push_back('\0');
}
void option(std::string& b, std::uint16_t code, std::string_view value) {
  put16(b, code);
  put16(b, static_cast<std::uint16_t>(value.size()));
  b.append(value);
  pad4(b);
}
// Type, total length, body, total length again.
std::string block(std::uint32_t type, const std::string& body) {
  std::string b;
  const auto total = static_cast<std::uint32_t>(12 + body.size());
  put32(b, type);
  put32(b, total);
  b += body;
  put32(b, total);
  return b;
}

constexpr std::uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kEpb = 6;
constexpr std::uint16_t kOptEnd = 0, kIfName = 2, kIfTsresol = 9;

}  // namespace

std::string pcapng_section_header() {
  std::string body;
  put32(body, 0x1A2B3C4D);  // byte-order magic
  put16(body, 1);           // major
  put16(body, 0);           // minor
  put32(body, 0xFFFFFFFF);  // section length: unknown (-1)
  put32(body, 0xFFFFFFFF);
  return block(kShb, body);
}

std::string pcapng_interface(std::string_view name, std::uint16_t link_type) {
  std::string body;
  put16(body, link_type);
  put16(body, 0);  // reserved
  put32(body, 0);  // snaplen: no limit
  if (!name.empty()) option(body, kIfName, name.substr(0, 255));
  option(body, kIfTsresol, std::string_view("\x09", 1));  // 10^-9: nanoseconds
  put16(body, kOptEnd);
  put16(body, 0);
  return block(kIdb, body);
}

std::string pcapng_packet(std::uint32_t interface_id, std::uint64_t time_ns, std::string_view frame) {
  std::string body;
  put32(body, interface_id);
  put32(body, static_cast<std::uint32_t>(time_ns >> 32));
  put32(body, static_cast<std::uint32_t>(time_ns));
  put32(body, static_cast<std::uint32_t>(frame.size()));
  put32(body, static_cast<std::uint32_t>(frame.size()));
  body.append(frame);
  pad4(body);
  return block(kEpb, body);
}

}  // namespace sipwall::control
