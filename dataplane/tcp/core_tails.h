// CoreTails: per worker, the unfinished end of the last SIP message seen on
// each core-side TCP flow, so that a response or request the core's stack cut
// across segments (a 200 OK with a large SDP) is still parsed for the call
// table, and copied whole if its call is watched, once its end arrives
// (core_side.h; docs/detection.md "What the data plane does", docs/export.md).
//
// The core side is never held: its segments leave as they come. This keeps a
// copy of the unfinished bytes only, at most kTailBytes per flow, in a
// direct-mapped table of kSlots flows (a flow whose slot another flow takes
// loses its tail: counted by the caller). Allocated once; nothing per packet.
// DPDK-free, so the unit tests drive it on byte buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace sipwall::dataplane::tcp {

class CoreTails {
 public:
  static constexpr std::size_t kSlots = 256;       // flows followed at once per worker
  static constexpr std::size_t kTailBytes = 4096;  // longest unfinished end kept (headers + SDP of a big 200)

  CoreTails() : slots_(new Slot[kSlots]) {}

  // What to parse for a segment of `flow` whose payload starts at sequence
  // number `seq`.
  struct Joined {
    std::string_view bytes;  // the kept tail and the payload (copied into `buf`), or the payload alone
    bool joined = false;     // a tail was put in front
    bool repeat = false;     // a retransmission of bytes already seen: parse nothing
    bool lost = false;       // the flow had a tail that does not continue here (a gap): dropped
  };
  // `buf` must hold `cap` bytes; a tail and payload longer than that are not
  // joined (the tail is dropped, `lost`).
  Joined join(std::uint64_t flow, std::uint32_t seq, std::string_view payload, char* buf, std::size_t cap) noexcept {
    Joined j;
    j.bytes = payload;
    Slot& s = slot(flow);
    if (s.len == 0 || s.flow != flow) return j;
    if (seq != s.next_seq) {
      // Before the tail's end: a retransmission of what was parsed already.
      if (static_cast<std::int32_t>(seq - s.next_seq) < 0 &&
          static_cast<std::int32_t>(seq + static_cast<std::uint32_t>(payload.size()) - s.next_seq) <= 0) {
        j.repeat = true;
        return j;
      }
      s.len = 0;
      j.lost = true;
      return j;
    }
    if (s.len + payload.size() > cap) {
      s.len = 0;
      j.lost = true;
      return j;
    }
    std::memcpy(buf, s.bytes, s.len);
    std::memcpy(buf + s.len, payload.data(), payload.size());
    j.bytes = std::string_view(buf, s.len + payload.size());
    j.joined = true;
    s.len = 0;
    return j;
  }

  // After parsing: `rest` is the unfinished end of the last message (empty:
  // every message was whole), expected to go on at `next_seq`. False if the
  // rest was too long to keep or took another flow's tail's slot (the caller
  // counts a lost tail).
  bool keep(std::uint64_t flow, std::uint32_t next_seq, std::string_view rest) noexcept {
    Slot& s = slot(flow);
    if (rest.empty()) {
      if (s.flow == flow) s.len = 0;
      return true;
    }
    const bool evicts = s.len != 0 && s.flow != flow;
    if (rest.size() > kTailBytes) {
      if (s.flow == flow) s.len = 0;
      return false;
    }
    s.flow = flow;
    s.next_seq = next_seq;
    s.len = static_cast<std::uint32_t>(rest.size());
    std::memcpy(s.bytes, rest.data(), rest.size());
    return !evicts;
  }

  // Tails kept now (for tests and stats).
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < kSlots; ++i) n += slots_[i].len != 0;
    return n;
  }

 private:
  struct Slot {
    std::uint64_t flow = 0;
    std::uint32_t next_seq = 0;
    std::uint32_t len = 0;  // 0: empty
    char bytes[kTailBytes];
  };
  Slot& slot(std::uint64_t flow) noexcept { return slots_[(flow ^ (flow >> 29)) % kSlots]; }

  std::unique_ptr<Slot[]> slots_;
};

}  // namespace sipwall::dataplane::tcp
