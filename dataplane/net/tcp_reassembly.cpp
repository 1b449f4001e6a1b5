#include "dataplane/net/tcp_reassembly.h"

#include <cstring>

#include "dataplane/net/flow_hash.h"

namespace sipwall::net {
namespace {

bool same_key(const TcpHoldFlow& f, const std::array<std::uint8_t, 16>& src, const std::array<std::uint8_t, 16>& dst,
              std::uint16_t sport, std::uint16_t dport) noexcept {
  return f.sport == sport && f.dport == dport && f.src == src && f.dst == dst;
}

}  // namespace

TcpHoldTable::TcpHoldTable(const TcpHoldConfig& cfg) : cfg_(cfg) {
  if (cfg_.flows == 0) cfg_.flows = 1;
  if (cfg_.max_segments == 0) cfg_.max_segments = 1;
  const std::size_t n = cfg_.flows;
  std::size_t idx = 16;
  while (idx < 2 * n) idx <<= 1;  // load factor <= 1/2: short probe runs
  index_mask_ = idx - 1;
  flows_ = std::make_unique<TcpHoldFlow[]>(n);
  seg_store_ = std::make_unique<HeldSegment[]>(n * cfg_.max_segments);
  index_ = std::make_unique<std::uint32_t[]>(idx);  // zeroed: empty
  free_ = std::make_unique<std::uint32_t[]>(n);
  active_ = std::make_unique<std::uint32_t[]>(n);
  active_pos_ = std::make_unique<std::uint32_t[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    flows_[i].segs = &seg_store_[i * cfg_.max_segments];
    free_[i] = static_cast<std::uint32_t>(n - 1 - i);
  }
  free_n_ = n;
}

TcpHoldTable::~TcpHoldTable() = default;

std::size_t TcpHoldTable::slot_of(const std::array<std::uint8_t, 16>& src, const std::array<std::uint8_t, 16>& dst,
                                  std::uint16_t sport, std::uint16_t dport) const noexcept {
  return static_cast<std::size_t>(flow_hash(src, dst, sport, dport)) & index_mask_;
}

TcpHoldFlow* TcpHoldTable::find(const DecodedPacket& pkt) noexcept {
  if (active_n_ == 0) return nullptr;
  for (std::size_t s = slot_of(pkt.src, pkt.dst, pkt.src_port, pkt.dst_port);; s = (s + 1) & index_mask_) {
    const std::uint32_t v = index_[s];
    if (v == 0) return nullptr;
    TcpHoldFlow& f = flows_[v - 1];
    if (same_key(f, pkt.src, pkt.dst, pkt.src_port, pkt.dst_port)) return &f;
  }
}

TcpHoldFlow* TcpHoldTable::create(const DecodedPacket& pkt, std::uint16_t in_port, std::uint64_t now) noexcept {
  if (free_n_ == 0) return nullptr;
  const std::uint32_t i = free_[--free_n_];
  TcpHoldFlow& f = flows_[i];
  HeldSegment* segs = f.segs;
  f = TcpHoldFlow{};
  f.segs = segs;
  f.src = pkt.src;
  f.dst = pkt.dst;
  f.sport = pkt.src_port;
  f.dport = pkt.dst_port;
  f.in_port = in_port;
  f.since = now;
  std::size_t s = slot_of(f.src, f.dst, f.sport, f.dport);
  while (index_[s] != 0) s = (s + 1) & index_mask_;
  index_[s] = i + 1;
  active_pos_[i] = static_cast<std::uint32_t>(active_n_);
  active_[active_n_++] = i;
  return &f;
}

HoldAppend TcpHoldTable::can_append(const TcpHoldFlow& f, std::uint32_t payload_length) const noexcept {
  if (f.count >= cfg_.max_segments) return HoldAppend::too_many_segments;
  if (std::uint64_t{f.bytes} + payload_length > cfg_.max_bytes) return HoldAppend::too_many_bytes;
  if (held_segments_ >= cfg_.total_segments) return HoldAppend::budget;
  return HoldAppend::ok;
}

HoldAppend TcpHoldTable::can_hold(std::uint32_t segments, std::uint32_t bytes) const noexcept {
  if (segments > cfg_.max_segments) return HoldAppend::too_many_segments;
  if (bytes > cfg_.max_bytes) return HoldAppend::too_many_bytes;
  if (held_segments_ + segments > cfg_.total_segments) return HoldAppend::budget;
  return HoldAppend::ok;
}

void TcpHoldTable::append(TcpHoldFlow& f, std::uint32_t seq, const HeldSegment& s) noexcept {
  if (f.count == 0) {
    f.first_seq = seq;
    f.next_seq = seq;
  }
  f.segs[f.count++] = s;
  f.bytes += s.payload_length;
  f.next_seq += s.payload_length;
  ++held_segments_;
}

void TcpHoldTable::erase(TcpHoldFlow* f) noexcept {
  const auto i = static_cast<std::uint32_t>(f - flows_.get());
  held_segments_ -= f->count;
  f->count = 0;
  f->bytes = 0;
  // Remove from the index with backward-shift deletion (linear probing, no
  // tombstones): later entries of the run move into the hole if their home
  // slot does not lie cyclically between the hole and them.
  std::size_t hole = slot_of(f->src, f->dst, f->sport, f->dport);
  while (index_[hole] != i + 1) hole = (hole + 1) & index_mask_;
  index_[hole] = 0;
  for (std::size_t s = (hole + 1) & index_mask_; index_[s] != 0; s = (s + 1) & index_mask_) {
    const TcpHoldFlow& g = flows_[index_[s] - 1];
    const std::size_t home = slot_of(g.src, g.dst, g.sport, g.dport);
    const bool stays = hole <= s ? (hole < home && home <= s) : (hole < home || home <= s);
    if (stays) continue;
    index_[hole] = index_[s];
    index_[s] = 0;
    hole = s;
  }
  // Dense active list: move the last one into the gap.
  const std::uint32_t pos = active_pos_[i];
  const std::uint32_t last = active_[--active_n_];
  active_[pos] = last;
  active_pos_[last] = pos;
  free_[free_n_++] = i;
}

std::size_t TcpHoldTable::expired(std::uint64_t now, std::uint64_t timeout, TcpHoldFlow** out,
                                  std::size_t max) noexcept {
  std::size_t n = 0;
  for (std::size_t k = 0; k < active_n_ && n < max; ++k) {
    TcpHoldFlow& f = flows_[active_[k]];
    if (now >= f.since && now - f.since >= timeout) out[n++] = &f;
  }
  return n;
}

TcpHoldFlow* TcpHoldTable::any() noexcept {
  return active_n_ ? &flows_[active_[0]] : nullptr;
}

// --- plan ------------------------------------------------------------------------

namespace {

// Index of the segment that holds stream byte x (segments without bytes never do).
std::size_t seg_of(const StreamRange* segs, std::size_t n, std::uint32_t x) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (segs[i].begin <= x && x < segs[i].end) return i;
  }
  return n;
}

}  // namespace

std::size_t plan_stream(const StreamRange* segs, std::size_t n_segs, const StreamEdit* edits, std::size_t n_edits,
                        std::uint32_t hold_from, StreamPiece* out, std::size_t cap) noexcept {
  if (n_segs == 0 || segs[0].begin != 0) return 0;
  for (std::size_t i = 0; i < n_segs; ++i) {
    if (segs[i].end < segs[i].begin) return 0;
    if (i + 1 < n_segs && segs[i + 1].begin != segs[i].end) return 0;
    // Only the newest segment of a unit can be empty (a FIN ends the unit;
    // ACKs are never held). An empty one inside a removal that spans
    // segments would get a piece out of stream order.
    if (i + 1 < n_segs && segs[i].end == segs[i].begin) return 0;
  }
  const std::uint32_t total = segs[n_segs - 1].end;
  if (hold_from > total) return 0;
  for (std::size_t k = 0; k < n_edits; ++k) {
    const StreamEdit& e = edits[k];
    if (e.msg_begin >= e.msg_end || e.msg_end > hold_from) return 0;
    if (!e.remove && (e.at < e.msg_begin || e.at >= e.msg_end)) return 0;
    if (k + 1 < n_edits && edits[k + 1].msg_begin < e.msg_end) return 0;
  }

  std::size_t n = 0;
  auto emit = [&](PieceKind kind, std::size_t seg, int edit, std::uint32_t b, std::uint32_t e) {
    if (n == cap) return false;
    out[n++] = StreamPiece{kind, static_cast<std::uint16_t>(seg), static_cast<std::int16_t>(edit), b, e};
    return true;
  };
  auto spanning = [&](std::size_t k) {
    return edits[k].remove && seg_of(segs, n_segs, edits[k].msg_begin) != seg_of(segs, n_segs, edits[k].msg_end - 1);
  };

  for (std::size_t s = 0; s < n_segs; ++s) {
    const std::uint32_t b = segs[s].begin, e = segs[s].end;
    if (b == e) {
      // No payload (a FIN): it goes on, unless it comes after held bytes.
      const bool after_hold = hold_from < total && b >= hold_from;
      if (!emit(after_hold ? PieceKind::hold : PieceKind::keep, s, -1, b, b)) return 0;
      continue;
    }
    std::uint32_t kb = b;
    std::uint32_t ke = e < hold_from ? e : hold_from;
    for (std::size_t k = 0; k < n_edits; ++k) {
      if (!spanning(k)) continue;
      const StreamEdit& x = edits[k];
      if (seg_of(segs, n_segs, x.msg_end - 1) == s) {
        if (!emit(PieceKind::spanning_remove, s, static_cast<int>(k), x.msg_begin, x.msg_end)) return 0;
      }
      if (x.msg_begin < b && x.msg_end > b) kb = x.msg_end < e ? x.msg_end : e;
      if (x.msg_begin >= b && x.msg_begin < e && x.msg_end > e && x.msg_begin < ke) ke = x.msg_begin;
    }
    if (kb < ke) {
      std::uint32_t start = kb;
      int cur = -1;
      for (std::size_t k = 0; k < n_edits; ++k) {
        if (spanning(k)) continue;
        const StreamEdit& x = edits[k];
        const bool inside = x.remove ? (x.msg_begin >= kb && x.msg_end <= ke) : (x.at >= kb && x.at < ke);
        if (!inside) continue;
        if (cur >= 0) {
          if (!emit(PieceKind::keep, s, cur, start, x.msg_begin)) return 0;
          start = x.msg_begin;
        }
        cur = static_cast<int>(k);
      }
      if (!emit(PieceKind::keep, s, cur, start, ke)) return 0;
    }
    if (hold_from < e) {
      if (!emit(PieceKind::hold, s, -1, hold_from > b ? hold_from : b, e)) return 0;
    }
  }
  return n;
}

}  // namespace sipwall::net
