// pcapng blocks (draft-ietf-opsawg-pcapng) for `sipwallctl capture`: a
// Section Header, one Interface Description per data-plane port (link type
// Ethernet, nanosecond timestamps, the port's name), and an Enhanced Packet
// Block per frame. Written in the host's byte order (the Section Header's
// magic tells readers which). Debian 12's libpcap writes only pcap, hence
// this; libpcap, tshark and Wireshark read what it writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sipwall::control {

inline constexpr std::uint16_t kLinkTypeEthernet = 1;

std::string pcapng_section_header();
// `name` is cut to 255 bytes (if_name is free text; the port names are the
// operator's).
std::string pcapng_interface(std::string_view name, std::uint16_t link_type = kLinkTypeEthernet);
// A frame captured on interface `interface_id` (the order of the interface
// blocks, from 0) at `time_ns` nanoseconds since the epoch.
std::string pcapng_packet(std::uint32_t interface_id, std::uint64_t time_ns, std::string_view frame);

}  // namespace sipwall::control
