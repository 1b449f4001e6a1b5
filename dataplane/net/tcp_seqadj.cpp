#include "dataplane/net/tcp_seqadj.h"

#include <cstring>
#include <limits>

#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/flow_hash.h"
#include "dataplane/net/splice.h"
#include "dataplane/net/tcp_options.h"

namespace sipwall::net {

// Named (not anonymous) namespace: SeqAdjTable::Entry has members of these types.
namespace seqadj_detail {

// One change to a direction's byte stream, in its sender's sequence space:
// bytes [pos, pos + old_len) were replaced by new_len bytes. Injected data
// (our response) is an edit with old_len = 0 at the injection point.
struct Edit {
  std::uint32_t pos = 0;
  std::uint32_t old_len = 0;
  std::uint32_t new_len = 0;
  std::uint32_t off_before = 0;  // receiver = sender + off_before just before this edit (mod 2^32)
  // A removal answered with injected data: where that data sits in the other
  // stream, in this sender's view (its ack space), and how long it is. Until
  // the sender acknowledges it, acks for the removed bytes are held back so
  // that a lost response makes the sender retransmit the request (which we
  // answer again) instead of leaving a hole nobody would fill.
  std::uint32_t reply_seq = 0;
  std::uint32_t reply_len = 0;
};

struct Dir {
  Edit edits[SeqAdjTable::kMaxEdits];
  std::uint8_t n = 0;
  std::uint32_t off_after = 0;  // offset after the newest edit (the only one if n == 0)
  // What this direction's sender has sent and acknowledged (raw fields).
  std::uint32_t seq_hi = 0;  // highest seq + len (+SYN/FIN), sender space
  std::uint32_t ack_hi = 0;  // highest ack sent: receiver space of the other direction
  std::uint16_t window = 0;
  bool seq_seen = false;
  bool ack_seen = false;
  bool window_seen = false;
  bool fin = false;
};

}  // namespace seqadj_detail

using seqadj_detail::Dir;
using seqadj_detail::Edit;

struct SeqAdjTable::Entry {
  std::array<std::uint8_t, 16> addr[2];  // endpoint 0 sorts before endpoint 1
  std::uint16_t port[2];
  std::uint64_t last_seen;
  bool rst;
  Dir dir[2];  // indexed by sender endpoint
};

namespace {

using Entry = SeqAdjTable::Entry;

inline bool is_closed(const Entry& e) noexcept {
  return e.rst || (e.dir[0].fin && e.dir[1].fin);
}

inline bool reply_confirmed(const Dir& sender, const Edit& e) noexcept {
  return sender.ack_seen && seq_le(e.reply_seq + e.reply_len, sender.ack_hi);
}

// Sender space -> receiver space for a segment starting at x. `exclude` is an
// edit the segment itself carries (a repeated edit at its first byte).
std::uint32_t map_fwd(const Dir& d, std::uint32_t x, int exclude) noexcept {
  for (int i = d.n - 1; i >= 0; --i) {
    const Edit& e = d.edits[i];
    if (seq_le(e.pos + e.old_len, x)) {
      return x + (i == exclude ? e.off_before : e.off_before + e.new_len - e.old_len);
    }
  }
  return x + (d.n ? d.edits[0].off_before : d.off_after);
}

// Receiver space -> sender space for an acknowledgment number y (ack field or
// SACK edge) sent back by the receiver of direction `d`.
std::uint32_t map_back(const Dir& d, std::uint32_t y) noexcept {
  for (int i = 0; i < d.n; ++i) {
    const Edit& e = d.edits[i];
    const std::uint32_t r = e.pos + e.off_before;
    if (seq_lt(y, r)) return y - e.off_before;
    if (seq_lt(y, r + e.new_len)) return e.pos;  // part of our inserted bytes: nothing beyond
    if (e.old_len > 0 && e.reply_len > 0 && !reply_confirmed(d, e)) return e.pos;
  }
  return y - d.off_after;
}

// Does segment [x, x + len) of sender space overlap an edit boundary?
SeqAdjResult classify_segment(const Dir& d, std::uint32_t x, std::uint32_t len, int exclude) noexcept {
  if (len == 0) return SeqAdjResult::ok;
  for (int i = 0; i < d.n; ++i) {
    if (i == exclude) continue;
    const Edit& e = d.edits[i];
    if (e.old_len > 0) {
      const std::uint32_t s = e.pos, t = e.pos + e.old_len;
      if (seq_lt(x, t) && seq_lt(s, x + len)) {
        return seq_le(s, x) && seq_le(x + len, t) ? SeqAdjResult::retransmit_removed : SeqAdjResult::spans_edit;
      }
    } else if (seq_lt(x, e.pos) && seq_lt(e.pos, x + len)) {
      return SeqAdjResult::spans_edit;
    }
  }
  return SeqAdjResult::ok;
}

// Drops edits both sides are done with: the receiver acknowledged everything
// up to the end of the edit (and, for an answered removal, the sender
// acknowledged our response). Their offsets stay in the younger edits'
// off_before / off_after, so nothing is recomputed.
std::uint64_t settle(Entry& en) noexcept {
  std::uint64_t settled = 0;
  for (int k = 0; k < 2; ++k) {
    Dir& d = en.dir[k];
    const Dir& rcv = en.dir[1 - k];
    while (d.n > 0 && rcv.ack_seen) {
      const Edit& e = d.edits[0];
      if (!seq_le(e.pos + e.off_before + e.new_len, rcv.ack_hi)) break;
      if (e.old_len > 0 && e.reply_len > 0 && !reply_confirmed(d, e)) break;
      for (int i = 1; i < d.n; ++i) d.edits[i - 1] = d.edits[i];
      --d.n;
      ++settled;
    }
  }
  return settled;
}

std::uint32_t seq_space_len(const DecodedPacket& pkt, std::uint32_t payload) noexcept {
  return payload + ((pkt.tcp_flags & kTcpSyn) ? 1 : 0) + ((pkt.tcp_flags & kTcpFin) ? 1 : 0);
}

// Records what the segment's sender has sent/acked, in raw (sender-side) values.
void track(Entry& en, unsigned d, const DecodedPacket& pkt, std::uint32_t orig_payload) noexcept {
  Dir& s = en.dir[d];
  const std::uint32_t end = pkt.tcp_seq + seq_space_len(pkt, orig_payload);
  if (!s.seq_seen || seq_lt(s.seq_hi, end)) s.seq_hi = end;
  s.seq_seen = true;
  if (pkt.tcp_flags & kTcpAck) {
    if (!s.ack_seen || seq_lt(s.ack_hi, pkt.tcp_ack)) s.ack_hi = pkt.tcp_ack;
    s.ack_seen = true;
  }
  s.window = pkt.tcp_window;
  s.window_seen = true;
  if (pkt.tcp_flags & kTcpFin) s.fin = true;
  if (pkt.tcp_flags & kTcpRst) en.rst = true;
}

// Rewrites seq, ack and SACK edges of the segment at `frame` (checksum fixed
// incrementally; a field at an odd offset is handled by csum_adjust).
void rewrite_numbers(std::uint8_t* frame, const DecodedPacket& pkt, const Entry& en, unsigned d,
                     std::uint32_t new_seq) noexcept {
  std::uint8_t* tcp = frame + pkt.l4_offset;
  std::uint16_t check = rd16(tcp + 16);
  const std::uint32_t old_seq = rd32(tcp + 4);
  if (new_seq != old_seq) {
    check = csum_update32(check, old_seq, new_seq);
    wr32(tcp + 4, new_seq);
  }
  const Dir& back = en.dir[1 - d];  // acks of this segment refer to the other stream
  if (back.n > 0 || back.off_after != 0) {
    if (pkt.tcp_flags & kTcpAck) {
      const std::uint32_t old_ack = rd32(tcp + 8);
      const std::uint32_t new_ack = map_back(back, old_ack);
      if (new_ack != old_ack) {
        check = csum_update32(check, old_ack, new_ack);
        wr32(tcp + 8, new_ack);
      }
    }
    const std::size_t doff = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    detail::for_each_tcp_option(tcp + 20, doff - 20, [&](std::uint8_t kind, std::size_t off, std::size_t len) {
      if (kind != detail::kTcpOptSack || (len - 2) % 8 != 0) return;
      for (std::size_t e = off + 2; e + 4 <= off + len; e += 4) {
        std::uint8_t* p = tcp + 20 + e;
        const std::uint32_t old_edge = rd32(p);
        const std::uint32_t new_edge = map_back(back, old_edge);
        if (new_edge == old_edge) continue;
        std::uint8_t nb[4];
        wr32(nb, new_edge);
        const bool odd = ((20 + e) & 1) != 0;
        check = csum_adjust(check, csum_partial_at(p, 4, odd), csum_partial_at(nb, 4, odd));
        std::memcpy(p, nb, 4);
      }
    });
  }
  wr16(tcp + 16, check);
}

// --- an edit, phase by phase (SeqAdjTable::do_edit) ------------------------------

// What the segment alone rules out, checked before the table is touched: a
// refused edit leaves no trace.
SeqAdjResult check_edit_request(const DecodedPacket& pkt, std::size_t cap, std::size_t at, std::size_t remove_n,
                                std::size_t ins, std::size_t mtu) noexcept {
  if (pkt.l4_proto != 6 || pkt.is_fragment || pkt.ip_version == 0) return SeqAdjResult::not_tcp;
  if (at > pkt.payload_length || remove_n > pkt.payload_length - at) return SeqAdjResult::bad_range;
  if (remove_n == 0 && ins == 0) return SeqAdjResult::bad_range;
  if (pkt.tcp_flags & (kTcpSyn | kTcpRst)) return SeqAdjResult::edit_conflict;
  if (pkt.has_ah) return SeqAdjResult::authenticated;
  if (mtu != 0 && detail::splice_fits(pkt, static_cast<std::size_t>(-1), remove_n, ins, mtu) == 0) {
    return SeqAdjResult::exceeds_mtu;
  }
  if (detail::splice_fits(pkt, cap, remove_n, ins, 0) == 0) return SeqAdjResult::no_room;
  return SeqAdjResult::ok;
}

// `rep`: the edit of direction `s` this one repeats (a retransmission edited
// the same way again), or -1. A new edit must come after every edit of the
// direction and find a free slot.
SeqAdjResult find_repeat(const Dir& s, std::uint32_t pos, std::size_t remove_n, std::size_t ins, int& rep) noexcept {
  rep = -1;
  for (int i = 0; i < s.n; ++i) {
    const Edit& e = s.edits[i];
    if (e.pos == pos && e.old_len == remove_n && e.new_len == ins) rep = i;
  }
  if (rep >= 0) return SeqAdjResult::ok;
  if (s.n > 0) {
    const Edit& last = s.edits[s.n - 1];
    const bool after = seq_le(last.pos + last.old_len, pos) && !(last.old_len == 0 && last.pos == pos);
    if (!after) return SeqAdjResult::edit_conflict;
  }
  if (s.n == SeqAdjTable::kMaxEdits) return SeqAdjResult::too_many_edits;
  return SeqAdjResult::ok;
}

// Where the answer to a removal goes in the opposite stream.
struct Injection {
  bool inject = false;        // this edit injects a response
  bool merge = false;         // ... appended to the injection that ends the opposite stream's edits
  bool send_payload = false;  // the answer carries the response (else it is a pure ACK)
  std::uint32_t pos = 0;      // the injection point, in the opposite sender's space
  std::uint32_t reply_seq = 0;
};

// Plans the answer's place in the opposite stream `o` before anything changes.
SeqAdjResult plan_injection(const Dir& s, const Dir& o, int rep, const DecodedPacket& pkt, std::uint32_t reply_len,
                            Injection& in) noexcept {
  if (rep >= 0) {  // answered the same way as the first time
    const Edit& e = s.edits[rep];
    in.send_payload = reply_len != 0 && e.reply_len == reply_len;
    in.reply_seq = e.reply_seq;
    return SeqAdjResult::ok;
  }
  if (reply_len == 0) return SeqAdjResult::ok;
  // Behind everything the server has sent (its bytes in flight toward the
  // client come first), never before an earlier edit of that stream.
  std::uint32_t cand = map_back(o, pkt.tcp_ack);
  if (o.seq_seen && seq_lt(cand, o.seq_hi)) cand = o.seq_hi;
  if (o.n > 0) {
    const Edit& last = o.edits[o.n - 1];
    if (seq_lt(cand, last.pos + last.old_len)) cand = last.pos + last.old_len;
    in.merge = last.old_len == 0 && last.pos == cand;
    if (in.merge) in.reply_seq = last.pos + last.off_before + last.new_len;
  }
  if (!in.merge) {
    if (o.n == SeqAdjTable::kMaxEdits) return SeqAdjResult::too_many_edits;
    in.reply_seq = cand + o.off_after;
  }
  in.inject = true;
  in.send_payload = true;
  in.pos = cand;
  return SeqAdjResult::ok;
}

// Whether the segment still carries something its receiver needs once edited
// to `payload_left` bytes (decided before the segment is tracked).
bool still_needed(const Dir& s, const DecodedPacket& pkt, std::size_t payload_left) noexcept {
  const bool control = (pkt.tcp_flags & (kTcpFin | kTcpRst)) != 0;
  const bool new_ack = (pkt.tcp_flags & kTcpAck) && (!s.ack_seen || seq_lt(s.ack_hi, pkt.tcp_ack));
  const bool new_window = !s.window_seen || s.window != pkt.tcp_window;
  return payload_left > 0 || control || new_ack || new_window;
}

// Registers the edit in `s` (unless it repeats edit `rep`) and the injected
// response in `o`. True if the edit is a new one.
bool record_edit(Dir& s, Dir& o, int rep, std::uint32_t pos, std::size_t remove_n, std::size_t ins, const Injection& in,
                 std::uint32_t reply_len) noexcept {
  if (rep < 0) {
    Edit& e = s.edits[s.n++];
    e = Edit{};
    e.pos = pos;
    e.old_len = static_cast<std::uint32_t>(remove_n);
    e.new_len = static_cast<std::uint32_t>(ins);
    e.off_before = s.off_after;
    if (in.send_payload) {
      e.reply_seq = in.reply_seq;
      e.reply_len = reply_len;
    }
    s.off_after += static_cast<std::uint32_t>(ins) - static_cast<std::uint32_t>(remove_n);
  }
  if (in.inject) {
    if (in.merge) {
      o.edits[o.n - 1].new_len += reply_len;
    } else {
      Edit& e = o.edits[o.n++];
      e = Edit{};
      e.pos = in.pos;
      e.new_len = reply_len;
      e.off_before = o.off_after;
    }
    o.off_after += reply_len;
  }
  return rep < 0;
}

// Replaces payload bytes [at, at + remove_n) by `insert`.
void splice_payload(std::uint8_t* frame, std::size_t& frame_len, DecodedPacket& pkt, std::size_t at,
                    std::size_t remove_n, std::string_view insert) noexcept {
  detail::splice_l4_payload(frame, frame_len, pkt, pkt.payload_offset + at, remove_n, insert);
  if (pkt.payload_length == 0 && (pkt.tcp_flags & kTcpPsh)) {
    // Nothing left to push: clear PSH so the emptied segment is a plain ACK.
    std::uint8_t* tcp = frame + pkt.l4_offset;
    const std::uint16_t old_word = rd16(tcp + 12);
    tcp[13] = static_cast<std::uint8_t>(tcp[13] & ~kTcpPsh);
    wr16(tcp + 16, csum_update16(rd16(tcp + 16), old_word, rd16(tcp + 12)));
    pkt.tcp_flags = tcp[13];
  }
}

// The ack of the answer to the removal of [pos, pos + remove_n), in the
// client's space: the removed bytes are acknowledged only if the server has
// acknowledged everything before them (else our ack would cover bytes still
// in flight to it); otherwise the server's own (mapped) ack is echoed.
std::uint32_t answer_ack(const Dir& s, const Dir& o, std::uint32_t pos, std::size_t remove_n) noexcept {
  const std::uint32_t removed_end = pos + static_cast<std::uint32_t>(remove_n);
  std::uint32_t ack = removed_end;
  if (o.ack_seen) {
    // map_fwd(pos) is where the removed bytes began in the server's space.
    const bool prior_acked = seq_le(map_fwd(s, pos, -1), o.ack_hi);
    const std::uint32_t mapped = map_back(s, o.ack_hi);
    ack = !prior_acked || seq_lt(removed_end, mapped) ? mapped : removed_end;
  }
  // Never acknowledge past an earlier answered removal whose response the
  // client has not acknowledged: if that response was lost, the client must
  // retransmit that request so we can answer it again.
  for (int i = 0; i < s.n; ++i) {
    const Edit& e = s.edits[i];
    if (e.pos == pos || e.old_len == 0 || e.reply_len == 0 || reply_confirmed(s, e)) continue;
    if (seq_lt(e.pos, ack)) ack = e.pos;
  }
  return ack;
}

}  // namespace

std::string_view to_string(SeqAdjResult r) noexcept {
  switch (r) {
#define SIPWALL_X(name, text) \
  case SeqAdjResult::name:    \
    return #name;
    SIPWALL_SEQADJ_RESULTS(SIPWALL_X)
#undef SIPWALL_X
    case SeqAdjResult::count_:
      break;
  }
  return "unknown";
}

SeqAdjTable::SeqAdjTable(const SeqAdjConfig& cfg) {
  std::size_t cap = 16;
  while (cap < cfg.capacity && cap < (std::size_t{1} << 30)) cap <<= 1;
  capacity_ = cap;
  mask_ = cap - 1;
  max_probe_ = cfg.max_probe == 0 ? 1 : cfg.max_probe;
  if (max_probe_ > cap) max_probe_ = static_cast<std::uint32_t>(cap);
  idle_timeout_ = cfg.idle_timeout;
  closed_timeout_ = cfg.closed_timeout;
  entries_ = std::make_unique<Entry[]>(cap);
  tags_ = std::make_unique<std::uint32_t[]>(cap);  // zeroed: all free
}

SeqAdjTable::~SeqAdjTable() = default;

SeqAdjTable::Entry* SeqAdjTable::find_or_create(const DecodedPacket& pkt, std::uint64_t now, bool create, unsigned& dir,
                                                SeqAdjResult& why) noexcept {
  // Canonical key: the smaller (address, port) endpoint first.
  int c = std::memcmp(pkt.src.data(), pkt.dst.data(), 16);
  if (c == 0) c = pkt.src_port < pkt.dst_port ? -1 : (pkt.src_port > pkt.dst_port ? 1 : 0);
  dir = c <= 0 ? 0 : 1;
  const std::array<std::uint8_t, 16>& a0 = dir == 0 ? pkt.src : pkt.dst;
  const std::array<std::uint8_t, 16>& a1 = dir == 0 ? pkt.dst : pkt.src;
  const std::uint16_t p0 = dir == 0 ? pkt.src_port : pkt.dst_port;
  const std::uint16_t p1 = dir == 0 ? pkt.dst_port : pkt.src_port;

  const std::uint64_t h = flow_hash(a0, a1, p0, p1);
  const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32) | 1u;
  const std::size_t start = static_cast<std::size_t>(h) & mask_;

  // Lookups scan the whole probe window: slots are freed in place (no
  // tombstones, no backward shift), so a free slot does not end a chain.
  for (std::uint32_t i = 0; i < max_probe_; ++i) {
    const std::size_t s = (start + i) & mask_;
    if (tags_[s] != tag) continue;
    Entry& e = entries_[s];
    if (e.port[0] == p0 && e.port[1] == p1 && e.addr[0] == a0 && e.addr[1] == a1) return &e;
  }
  if (!create) {
    why = SeqAdjResult::untracked;
    return nullptr;
  }
  std::size_t pick = static_cast<std::size_t>(-1);
  std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
  for (std::uint32_t i = 0; i < max_probe_; ++i) {
    const std::size_t s = (start + i) & mask_;
    if (tags_[s] == 0) {
      pick = s;
      break;
    }
    const Entry& e = entries_[s];
    const std::uint64_t idle = now >= e.last_seen ? now - e.last_seen : 0;
    const bool evictable = idle >= idle_timeout_ || (is_closed(e) && idle >= closed_timeout_);
    if (evictable && e.last_seen < oldest) {
      oldest = e.last_seen;
      pick = s;
    }
  }
  if (pick == static_cast<std::size_t>(-1)) {
    ++stats_.table_full;
    why = SeqAdjResult::table_full;
    return nullptr;
  }
  if (tags_[pick] != 0) {
    ++stats_.flows_evicted;
  } else {
    ++used_;
  }
  tags_[pick] = tag;
  Entry& e = entries_[pick];
  e.addr[0] = a0;
  e.addr[1] = a1;
  e.port[0] = p0;
  e.port[1] = p1;
  e.last_seen = now;
  e.rst = false;
  e.dir[0] = Dir{};
  e.dir[1] = Dir{};
  ++stats_.flows_created;
  return &e;
}

SeqAdjResult SeqAdjTable::forward(std::uint8_t* frame, const DecodedPacket& pkt, std::uint64_t now,
                                  bool track_new) noexcept {
  if (pkt.l4_proto != 6 || pkt.is_fragment || pkt.ip_version == 0) return SeqAdjResult::not_tcp;
  unsigned d = 0;
  SeqAdjResult why = SeqAdjResult::ok;
  Entry* en = find_or_create(pkt, now, track_new, d, why);
  if (en == nullptr) return why;
  en->last_seen = now;
  if (pkt.tcp_flags & kTcpSyn) {
    // A SYN starts a new connection on this 4-tuple: old edits mean nothing.
    if (en->dir[0].n || en->dir[1].n || en->dir[0].off_after || en->dir[1].off_after) {
      ++stats_.flows_reset;
    }
    en->dir[0] = Dir{};
    en->dir[1] = Dir{};
    en->rst = false;
  }
  const Dir& s = en->dir[d];
  const SeqAdjResult cls = classify_segment(s, pkt.tcp_seq, pkt.payload_length, -1);
  if (cls != SeqAdjResult::ok) return cls;
  const bool any_edit = s.n || s.off_after || en->dir[1 - d].n || en->dir[1 - d].off_after;
  if (any_edit) rewrite_numbers(frame, pkt, *en, d, map_fwd(s, pkt.tcp_seq, -1));
  track(*en, d, pkt, pkt.payload_length);
  stats_.edits_settled += settle(*en);
  return SeqAdjResult::ok;
}

SeqAdjResult SeqAdjTable::edit(std::uint8_t* frame, std::size_t& frame_len, std::size_t cap, DecodedPacket& pkt,
                               std::size_t at, std::size_t remove_n, std::string_view insert, std::uint64_t now,
                               std::size_t mtu, TcpEditOutcome& outcome) noexcept {
  return do_edit(frame, frame_len, cap, pkt, at, remove_n, insert, now, mtu, false, 0, outcome);
}

SeqAdjResult SeqAdjTable::remove(std::uint8_t* frame, std::size_t& frame_len, std::size_t cap, DecodedPacket& pkt,
                                 std::size_t at, std::size_t n, std::uint32_t reply_len, std::uint64_t now,
                                 TcpEditOutcome& outcome) noexcept {
  if (n == 0) return SeqAdjResult::bad_range;
  return do_edit(frame, frame_len, cap, pkt, at, n, {}, now, 0, true, reply_len, outcome);
}

// An edit in phases: refuse what the segment alone rules out; find the flow;
// recognise a repeated edit (or check a new one's place); plan where the
// answer goes; then commit (register, splice, renumber) and plan the answer's
// numbers. Everything that can fail happens before the commit.
SeqAdjResult SeqAdjTable::do_edit(std::uint8_t* frame, std::size_t& frame_len, std::size_t cap, DecodedPacket& pkt,
                                  std::size_t at, std::size_t remove_n, std::string_view insert, std::uint64_t now,
                                  std::size_t mtu, bool plan_reply, std::uint32_t reply_len,
                                  TcpEditOutcome& outcome) noexcept {
  outcome = TcpEditOutcome{};
  const std::size_t ins = insert.size();
  if (const SeqAdjResult r = check_edit_request(pkt, cap, at, remove_n, ins, mtu); r != SeqAdjResult::ok) return r;

  unsigned d = 0;
  SeqAdjResult why = SeqAdjResult::ok;
  Entry* en = find_or_create(pkt, now, true, d, why);
  if (en == nullptr) return why;
  en->last_seen = now;
  Dir& s = en->dir[d];
  Dir& o = en->dir[1 - d];
  stats_.edits_settled += settle(*en);

  const std::uint32_t x = pkt.tcp_seq;
  const std::uint32_t len = pkt.payload_length;
  const std::uint32_t pos = x + static_cast<std::uint32_t>(at);
  int rep = -1;
  if (const SeqAdjResult r = find_repeat(s, pos, remove_n, ins, rep); r != SeqAdjResult::ok) return r;
  if (const SeqAdjResult r = classify_segment(s, x, len, rep); r != SeqAdjResult::ok) return r;
  Injection inj;
  if (plan_reply) {
    if (const SeqAdjResult r = plan_injection(s, o, rep, pkt, reply_len, inj); r != SeqAdjResult::ok) return r;
  }
  const std::uint32_t new_seq = map_fwd(s, x, rep);
  outcome.forward_segment = still_needed(s, pkt, len - remove_n + ins);

  // Commit: register the edit(s), splice the payload, rewrite numbers.
  if (record_edit(s, o, rep, pos, remove_n, ins, inj, reply_len))
    ++stats_.edits;
  else
    ++stats_.edits_repeated;
  splice_payload(frame, frame_len, pkt, at, remove_n, insert);
  rewrite_numbers(frame, pkt, *en, d, new_seq);
  track(*en, d, pkt, len);

  if (plan_reply) {
    outcome.reply.spec.ack = answer_ack(s, o, pos, remove_n);
    // pkt.tcp_ack is still the segment's own (sender-space) ack.
    outcome.reply.spec.seq = inj.send_payload ? inj.reply_seq : pkt.tcp_ack;
    outcome.reply.spec.window = o.window_seen ? o.window : 0xFFFF;
    outcome.reply.send_payload = inj.send_payload;
  }
  stats_.edits_settled += settle(*en);
  return SeqAdjResult::ok;
}

}  // namespace sipwall::net
