// What one call into the SIP-over-TCP path works with: the host (packets,
// ports, classifier), the worker's TCP state, the message being parsed, the
// counters, the time, and the malformed policy.
//
// A host is any class with these members (the data plane's is MbufHost in
// dataplane/app/worker_tcp.cpp; the unit tests' works on byte buffers). The
// path is a template over it, so every call is direct and inlined: no
// virtual call per packet. `in` is the port a client's segments enter.
//
//   using Packet = T*;                        // a packet handle; nullptr = none
//   std::uint8_t* frame(Packet);              // its frame: one contiguous buffer
//   std::size_t length(Packet);               // bytes of the frame
//   std::size_t room(Packet);                 // how long the frame may grow in place
//   void set_length(Packet, std::size_t);     // after writing the frame in place
//   Packet alloc();                           // an empty packet for a frame we build, or nullptr
//   bool is_large(Packet);                    // a packet of the large kind (its pieces need large ones)
//   bool alloc_pieces(Packet* out, unsigned n, bool large);  // n empty packets, all or none
//   void free(Packet);
//   bool has_core(std::uint16_t in);          // `in` has a paired (core-side) port
//   void to_core(std::uint16_t in, Packet);   // out of the paired port
//   void to_client(std::uint16_t in, Packet); // back out of `in`
//   std::size_t egress_mtu(std::uint16_t in); // of the port toward the core
//   std::uint16_t next_ip_id();               // for the frames we build
//   // Counts, classifies and traces one parsed message; true if it is an
//   // INVITE whose verdict the caller must apply (worker_path.h, decide()).
//   bool decide(const sip::Message&, const net::DecodedPacket&, std::uint16_t in, classify::Verdict&);
//   // The 603/608 text for a reject verdict into out[0, cap); 0 if it does not fit.
//   std::size_t reject_text(const classify::Verdict&, const sip::Message&, const net::DecodedPacket&, char* out,
//                           std::size_t cap);
//   // Copies of watched calls (docs/export.md, watch_message.h). watching(): a watch is in force (tested
//   // once per message, a predicted branch when none is); watch_mark(): whether this message's call is
//   // watched, `v` the verdict of an INVITE that got one (it may mark the call), else null; watch_copy():
//   // a copy of the frame[0, len) built for it, as seen on port `in`.
//   // The core side's messages (core_side.h): following_calls(): the call table wants them (tested once per
//   // core-side segment); core_message(): one of them, parsed, for the call table.
//   bool following_calls();
//   void core_message(const sip::Message&);
//   bool watching();
//   watch::WatchMark watch_mark(const sip::Message&, const classify::Verdict* v);
//   void watch_copy(watch::WatchMark, const std::uint8_t* frame, std::size_t len, std::uint16_t in);
#pragma once

#include <cstdint>

#include "dataplane/app/counters.h"
#include "dataplane/sip/sip_message.h"
#include "dataplane/tcp/path_state.h"
#include "dataplane/watch/watch_table.h"

namespace sipwall::dataplane::tcp {

template <class Host>
struct Ctx {
  using Packet = typename Host::Packet;
  Host& host;
  PathState<Packet>& st;
  sip::Message& msg;  // every message of a unit is parsed into it
  WorkerCounters& c;
  std::uint16_t in;   // the port the client's segments enter (a held flow remembers it)
  std::uint64_t now;  // the hold table's and the sequence-adjust table's time unit
  bool closed;        // fail_closed policy
};

// Every received frame gets exactly one disposition (counters.h), by the
// fate of its first piece; until then it "owes" one.
enum class Fate : std::uint8_t { forwarded, dropped, rejected };

}  // namespace sipwall::dataplane::tcp
