// Turns what an engineer hands sipwallctl (pcap files, raw SIP message files)
// into SIP payloads with their packet context. IP fragments in a pcap are
// reassembled here (offline, unbounded in time, bounded in size) so the tool
// shows what the data plane sees after its own reassembly.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataplane/net/packet_decode.h"

namespace sipwall::control {

struct SipPayload {
  std::string origin;  // "file.pcap#12" or "msg.sip"
  bool from_pcap = false;
  net::DecodedPacket packet;  // addresses, ports, VLAN (zeroed for raw files)
  bool stream = false;        // TCP: parse as a stream (Content-Length frames, may hold several)
  bool reassembled = false;   // built from IP fragments
  std::string bytes;          // the UDP/TCP payload, or the raw file
};

struct InputOptions {
  std::vector<std::uint16_t> sip_ports{5060, 5061};  // UDP/TCP ports treated as SIP
};

struct InputStats {
  std::uint64_t frames = 0;
  std::uint64_t not_sip = 0;      // frames that are not UDP/TCP on a SIP port
  std::uint64_t undecodable = 0;  // L2-L4 decode failures
  std::uint64_t fragments = 0;
  std::uint64_t reassembled = 0;
  std::uint64_t incomplete_fragments = 0;  // datagrams whose fragments never completed
};

// Calls `sink` for every SIP payload in `path` (pcap or pcapng by libpcap, or
// a raw message file). Returns false and sets `error` if the file can't be read.
bool read_sip_input(const std::string& path, const InputOptions& opts, InputStats& stats,
                    const std::function<void(const SipPayload&)>& sink, std::string& error);

}  // namespace sipwall::control
