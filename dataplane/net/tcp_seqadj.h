// SIP over TCP: when the filter removes an INVITE from the byte stream
// (drop/reject), injects a response toward the client (reject), or grows a
// segment by a tag line (tag), the two endpoints' sequence spaces no longer
// agree. SeqAdjTable keeps, per flow and direction, the list of edits made to
// that direction's stream and rewrites the seq/ack numbers (and SACK blocks)
// of every later segment in both directions, fixing the TCP checksum
// incrementally. The idea is netfilter's nf_ct_seqadj; the differences (a
// short edit list instead of one before/after pair, injected data, reply
// confirmation) are explained in docs/packet-handling.md.
//
// Terms: the "sender space" of a direction is the sequence numbers its sender
// uses; the "receiver space" is what its receiver sees after our edits.
//
// Fixed capacity, allocated once in the constructor; nothing allocates after.
// One table per worker lcore: both directions of a flow must reach the same
// worker (symmetric RSS). Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"

namespace sipwall::net {

#define SIPWALL_SEQADJ_RESULTS(X)                                                   \
  X(ok, "segment adjusted (or nothing to adjust) / edit applied")                   \
  X(untracked, "flow not in the table: forward unchanged")                          \
  X(table_full, "no free or evictable slot: forward unchanged, count")              \
  X(retransmit_removed, "segment lies inside removed bytes: drop it")               \
  X(spans_edit, "segment overlaps an edit boundary: forwarded unchanged, count")    \
  X(edit_conflict, "edit overlaps or precedes an earlier edit of this direction")   \
  X(too_many_edits, "too many unacknowledged edits in this flow: fall back, count") \
  X(bad_range, "edit range outside the segment payload")                            \
  X(no_room, "frame buffer or IP length too small for the edit")                    \
  X(exceeds_mtu, "edited datagram would exceed the MTU")                            \
  X(authenticated, "IPv6 AH protects the segment: editing would break it")          \
  X(not_tcp, "not a TCP segment (or a fragment)")

enum class SeqAdjResult : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_SEQADJ_RESULTS(SIPWALL_X)
#undef SIPWALL_X
      count_
};
std::string_view to_string(SeqAdjResult r) noexcept;

struct SeqAdjConfig {
  std::uint32_t capacity = 4096;  // flows (rounded up to a power of two)
  std::uint32_t max_probe = 32;   // slots looked at per lookup/insert
  // `now` is in caller units (TSC cycles, ms, ...). A flow idle this long may
  // be evicted when a new one needs its slot; a closed flow (RST, or FIN both
  // ways) after closed_timeout. Keep idle_timeout above the SIP/TCP keepalive
  // interval: an evicted flow with edits loses its mapping.
  std::uint64_t idle_timeout = 0;
  std::uint64_t closed_timeout = 0;
};

// What remove() says about answering the sender of the removed bytes.
struct TcpReplyPlan {
  TcpReplySpec spec;          // seq/ack/window for build_tcp_reply()
  bool send_payload = false;  // true: send the response text; false: a pure ACK
};

struct TcpEditOutcome {
  // false: after the edit the segment carries nothing its receiver needs (no
  // payload, no FIN/RST, no new ack or window): free it rather than forward.
  bool forward_segment = true;
  TcpReplyPlan reply;  // filled by remove()
};

struct SeqAdjStats {
  std::uint64_t flows_created = 0;
  std::uint64_t flows_evicted = 0;
  std::uint64_t flows_reset = 0;  // SYN on a known 4-tuple: state cleared
  std::uint64_t table_full = 0;
  std::uint64_t edits = 0;
  std::uint64_t edits_repeated = 0;  // retransmission re-edited identically
  std::uint64_t edits_settled = 0;   // acknowledged by both sides, folded
};

class SeqAdjTable {
 public:
  static constexpr std::size_t kMaxEdits = 8;  // unsettled edits per direction

  explicit SeqAdjTable(const SeqAdjConfig& cfg);
  ~SeqAdjTable();
  SeqAdjTable(const SeqAdjTable&) = delete;
  SeqAdjTable& operator=(const SeqAdjTable&) = delete;

  // Every TCP segment of an inspected flow that is forwarded without an edit.
  // Rewrites seq, ack and SACK blocks if the flow has edits (checksum fixed
  // incrementally) and records what the flow's endpoints have sent and acked.
  // `track_new` creates an entry for an unknown flow: tracking flows before
  // their first edit lets a response be injected behind data the server
  // already has in flight (see docs). The frame is only changed on ok.
  SeqAdjResult forward(std::uint8_t* frame, const DecodedPacket& pkt, std::uint64_t now, bool track_new) noexcept;

  // Replaces payload bytes [at, at + remove_n) of this segment by `insert`
  // (tag: remove_n = 0; `insert` must not point into the frame), records the
  // edit, and maps seq/ack/SACK like forward(). A retransmission edited the
  // same way again is recognised and gets the same numbers. `mtu` bounds the
  // new IP datagram (0 = none). On any result but ok the frame is unchanged.
  SeqAdjResult edit(std::uint8_t* frame, std::size_t& frame_len, std::size_t cap, DecodedPacket& pkt, std::size_t at,
                    std::size_t remove_n, std::string_view insert, std::uint64_t now, std::size_t mtu,
                    TcpEditOutcome& outcome) noexcept;

  // drop/reject: removes payload bytes [at, at + n) (the INVITE) and plans
  // the answer to the sender: a response of `reply_len` bytes injected into
  // the opposite stream (reject), or a pure ACK (reply_len = 0, drop). Build
  // it with build_tcp_reply(frame, pkt, outcome.reply.spec, text, ...) from
  // the edited frame (addresses and options are unchanged). Then forward the
  // edited segment if outcome.forward_segment, else free it.
  SeqAdjResult remove(std::uint8_t* frame, std::size_t& frame_len, std::size_t cap, DecodedPacket& pkt, std::size_t at,
                      std::size_t n, std::uint32_t reply_len, std::uint64_t now, TcpEditOutcome& outcome) noexcept;

  const SeqAdjStats& stats() const noexcept { return stats_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return used_; }

  struct Entry;  // defined in tcp_seqadj.cpp

 private:
  Entry* find_or_create(const DecodedPacket& pkt, std::uint64_t now, bool create, unsigned& dir,
                        SeqAdjResult& why) noexcept;
  SeqAdjResult do_edit(std::uint8_t* frame, std::size_t& frame_len, std::size_t cap, DecodedPacket& pkt, std::size_t at,
                       std::size_t remove_n, std::string_view insert, std::uint64_t now, std::size_t mtu,
                       bool plan_reply, std::uint32_t reply_len, TcpEditOutcome& outcome) noexcept;

  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<std::uint32_t[]> tags_;  // hash tag per slot, 0 = free
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  std::size_t used_ = 0;
  std::uint32_t max_probe_ = 0;
  std::uint64_t idle_timeout_ = 0;
  std::uint64_t closed_timeout_ = 0;
  SeqAdjStats stats_;
};

}  // namespace sipwall::net
