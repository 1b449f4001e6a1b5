// Turns what an engineer hands sipwallctl (pcap/pcapng captures, raw SIP
// message files, either on stdin as "-") into the SIP messages the data
// plane would inspect, with their packet context, decided as the live path
// decides them (docs/control.md "What parse and explain see"):
//
//  * every frame is decoded by the data plane's decoder (net::decode_frame);
//  * with a rule set, frames from deny_sources are dropped first, as the
//    data plane's first stage does;
//  * IP fragments go through net::IpReassembler, the DPDK-free twin of the
//    data plane's rte_ip_frag table (same limits, same refusals);
//  * UDP on a SIP port is one datagram; TCP on a SIP port goes through
//    TcpFollower, which holds, reassembles and frames each client->server
//    flow with the data plane's own TCP hold table and framing code
//    (net::TcpHoldTable, net::plan_held_arrival, net::scan_unit): a message
//    split across segments is one message, a segment with several messages
//    gives several, and bytes the data plane would not inspect are reported
//    as such, with the reason.
//
// Every read is bounded: regular files only (a FIFO, a device or a directory
// is refused; stdin only when asked for by "-"), a capture of at most
// kMaxCaptureBytes, a raw message file of at most kMaxMessageFileBytes, and
// the reassembly state is bounded by the data plane's limits. Time in a
// capture is the capture's: the reassembly timeouts run on its timestamps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/net/ip_reassembly.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/tcp_reassembly.h"

namespace sipwall::control {

inline constexpr std::uint64_t kMaxCaptureBytes = std::uint64_t{4} << 30;
inline constexpr std::uint64_t kMaxMessageFileBytes = std::uint64_t{1} << 20;

// Bytes the data plane does not inspect, and why (docs/packet-handling.md §6.7, §6.8).
#define SIPWALL_NOT_INSPECTED(X)                                                                                 \
  X(no, "inspected")                                                                                             \
  X(tcp_partial,                                                                                                 \
    "not the start of a SIP message: the middle of one whose start was not seen (a flow first seen "             \
    "mid-message, or after a message was given up)")                                                             \
  X(tcp_not_holdable,                                                                                            \
    "an incomplete message in a segment that may not be held (SYN/RST, or a retransmission of "                  \
    "bytes before a held message)")                                                                              \
  X(tcp_timeout, "the start of a message held for the rest, which did not come within the reassembly timeout")   \
  X(tcp_overflow, "the start of a message held for the rest, over the per-flow or per-worker reassembly bounds") \
  X(tcp_table_full, "the start of a message that could not be held: reassembly_flows flows hold already")        \
  X(tcp_aborted, "the start of a message held for the rest when the client sent SYN or RST")                     \
  X(tcp_end_of_input, "the start of a message still held for the rest when the capture ended")                   \
  X(tcp_in_fragments, "a TCP segment in IP fragments: the data plane forwards it re-fragmented, uninspected")    \
  X(fragments_failed, "IP fragments that did not make a datagram")                                               \
  X(fragment_header_not_first, "an IPv6 fragment whose Fragment header is not the first extension header")       \
  X(source_denied, "from a source in deny_sources")

enum class NotInspected : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_NOT_INSPECTED(SIPWALL_X)
#undef SIPWALL_X
};
std::string_view to_string(NotInspected n) noexcept;
std::string_view describe(NotInspected n) noexcept;
// What the data plane does with those bytes under the malformed policy
// (fail_closed or not): "forwarded uninspected", "connection reset", ...
std::string_view dataplane_action(NotInspected n, bool fail_closed) noexcept;

struct SipPayload {
  std::string origin;  // "file.pcap#12" (the frame that completed it) or "msg.sip"
  bool from_pcap = false;
  std::uint64_t time_us = 0;  // captures: the time of the frame that completed it (microseconds since the epoch)
  net::DecodedPacket packet;  // addresses, ports, VLAN (zeroed for raw files); TCP: the newest segment's
  bool stream = false;        // TCP: parse as a stream (exactly one message, or what could not be framed)
  bool reassembled = false;   // built from IP fragments
  bool unframed = false;      // TCP: refused before its end was known; nothing after it in the unit was inspected
  std::size_t index = 0;      // TCP: place of the message in the bytes inspected together (0 = first)
  std::vector<std::uint64_t> frames;  // the frames its bytes came in, when more than one
  NotInspected not_inspected = NotInspected::no;
  std::string detail;  // for not_inspected: what more there is to say (why fragments failed, the deny entry)
  std::string bytes;   // the UDP payload, one TCP message, the raw file, or the bytes not inspected
};

struct InputOptions {
  std::vector<std::uint16_t> sip_ports{5060, 5061};  // UDP/TCP ports treated as SIP
  // The data plane's reassembly limits (config fragments.* and tcp.reassembly_*;
  // the defaults are the data plane's). Times in milliseconds.
  net::TcpHoldConfig tcp_hold;
  std::uint32_t tcp_timeout_ms = 2000;
  std::uint32_t frag_max_flows = 4096;
  std::uint32_t frag_timeout_ms = 2000;
  // deny_sources of a rule set: given a decoded frame (IP header at least)
  // and whether its UDP/TCP header decoded, returns false, or true with
  // `entry` naming the entry that denies it.
  std::function<bool(const net::DecodedPacket&, bool has_l4, std::string& entry)> denied;
};

struct InputStats {
  std::uint64_t frames = 0;
  std::uint64_t not_sip = 0;      // frames that are not UDP/TCP on a SIP port
  std::uint64_t undecodable = 0;  // L2-L4 decode failures
  std::uint64_t denied = 0;       // frames from deny_sources
  std::uint64_t fragments = 0;
  std::uint64_t reassembled = 0;
  std::uint64_t incomplete_fragments = 0;  // datagrams (or lone fragments) that never completed
  std::uint64_t tcp_segments = 0;          // TCP segments with payload on a SIP port
  std::uint64_t tcp_spanning = 0;          // messages that came in more than one segment
  std::uint64_t tcp_dropped = 0;           // segments dropped: retransmissions of held bytes, after a gap
  std::uint64_t not_inspected = 0;         // payloads reported as not inspected
};

// Frames to payloads, one frame at a time: what read_sip_input does with each
// frame of a capture, for callers that have frames of their own (the fuzz
// target, tests). Frames are pcap link types: kLinkEthernet, kLinkRaw (and
// DLT_RAW, 12), kLinkLinuxSll; others count as undecodable.
inline constexpr int kLinkEthernet = 1;
inline constexpr int kLinkRaw = 101;
inline constexpr int kLinkLinuxSll = 113;

class FrameReader {
 public:
  // `origin_base` + "#" + frame number names a payload's origin.
  FrameReader(std::string origin_base, const InputOptions& opts, InputStats& stats,
              const std::function<void(const SipPayload&)>& sink);
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Frame number `n` (from 1), captured at `now_us` (microseconds).
  void frame(std::uint64_t n, std::uint64_t now_us, const std::uint8_t* data, std::size_t len, int linktype);
  // End of input: what is still held or in reassembly is reported.
  void finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Calls `sink` for every SIP payload in `path` (a capture, or a raw message
// file; "-" reads stdin). Returns false and sets `error` if the input can't
// be read (after the payloads read up to there went to `sink`).
bool read_sip_input(const std::string& path, const InputOptions& opts, InputStats& stats,
                    const std::function<void(const SipPayload&)>& sink, std::string& error);

}  // namespace sipwall::control
