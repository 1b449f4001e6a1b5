#include "control/common/tcp_follower.h"

#include <algorithm>

#include "dataplane/net/tcp_unit.h"

namespace sipwall::control {

TcpFollower::TcpFollower(std::string origin_base, const net::TcpHoldConfig& hold, std::uint64_t timeout_us,
                         InputStats& stats, const std::function<void(const SipPayload&)>& sink)
    : origin_base_(std::move(origin_base)),
      hold_(hold),
      timeout_us_(timeout_us),
      stats_(stats),
      sink_(sink),
      msg_(std::make_unique<sip::Message>()) {}

TcpFollower::~TcpFollower() {
  // Held segments are owned through the table's handles.
  while (net::TcpHoldFlow* f = hold_.any()) take_held(f);
}

TcpFollower::Segs TcpFollower::take_held(net::TcpHoldFlow* f) {
  ages_.erase(since_of(*f));
  Segs out;
  for (std::uint16_t i = 0; i < f->count; ++i) out.emplace_back(static_cast<Seg*>(f->segs[i].handle));
  hold_.erase(f);
  return out;
}

void TcpFollower::segment(std::uint64_t frame, std::uint64_t now_us, const net::DecodedPacket& d,
                          std::string_view payload) {
  now_ = now_us;
  auto s = std::make_unique<Seg>();
  s->frame = frame;
  s->d = d;
  s->bytes.assign(payload);
  if (!payload.empty()) ++stats_.tcp_segments;
  net::TcpHoldFlow* f = hold_.find(d);
  if (f == nullptr) {
    if (!payload.empty()) client_segment(std::move(s), true);  // else an ACK, SYN, FIN, RST: nothing to inspect
    return;
  }
  held_flow_segment(f, std::move(s));
}

// The flows TcpHoldTable::expired() would return, oldest first.
void TcpFollower::expire(std::uint64_t now_us) {
  while (!ages_.empty()) {
    const Since& a = *ages_.begin();
    if (now_us < a.since || now_us - a.since < timeout_us_) break;
    net::DecodedPacket key;
    key.src = a.src;
    key.dst = a.dst;
    key.src_port = a.sport;
    key.dst_port = a.dport;
    net::TcpHoldFlow* f = hold_.find(key);
    if (f == nullptr) {  // cannot happen: every held flow is indexed
      ages_.erase(ages_.begin());
      continue;
    }
    Segs segs = take_held(f);
    give_up(segs, NotInspected::tcp_timeout);
  }
}

void TcpFollower::finish() {
  while (net::TcpHoldFlow* f = hold_.any()) {
    Segs segs = take_held(f);
    give_up(segs, NotInspected::tcp_end_of_input);
  }
}

// A client segment of a flow that holds nothing: inspected alone.
void TcpFollower::client_segment(std::unique_ptr<Seg> s, bool holdable) {
  // A SYN (Fast Open data) or RST never starts a hold.
  holdable = holdable && !(s->d.tcp_flags & (net::kTcpSyn | net::kTcpRst));
  Segs segs;
  const std::string stream = s->bytes;
  segs.push_back(std::move(s));
  process_unit(segs, stream, holdable, nullptr);
}

// A client segment of a flow that holds the start of a message.
void TcpFollower::held_flow_segment(net::TcpHoldFlow* f, std::unique_ptr<Seg> s) {
  const net::HeldArrivalPlan plan = net::plan_held_arrival(*f, s->d);
  switch (plan.what) {
    case net::HeldArrival::abort: {
      // Released unchanged (fail-open) or freed (fail-closed): not inspected.
      Segs held = take_held(f);
      give_up(held, NotInspected::tcp_aborted);
      if (!s->bytes.empty()) client_segment(std::move(s), false);
      return;
    }
    case net::HeldArrival::control:
      return;
    case net::HeldArrival::before_held:
      if (plan.repeats_held) {
        ++stats_.tcp_dropped;
        s->bytes.resize(plan.end);  // cut before the held bytes: the FIN stays with the part dropped
        s->d.payload_length = static_cast<std::uint16_t>(plan.end);
        s->d.tcp_flags = static_cast<std::uint8_t>(s->d.tcp_flags & ~net::kTcpFin);
      }
      client_segment(std::move(s), false);
      return;
    case net::HeldArrival::retransmission:
    case net::HeldArrival::gap:
      ++stats_.tcp_dropped;
      return;
    case net::HeldArrival::in_order:
      break;
  }
  if (plan.begin > 0) {  // repacketised: keep the new bytes
    s->bytes.erase(0, plan.begin);
    s->d.payload_length = static_cast<std::uint16_t>(s->bytes.size());
    s->d.tcp_seq += plan.begin;
  }
  std::string stream;
  stream.reserve(f->bytes + s->bytes.size());
  for (std::uint16_t i = 0; i < f->count; ++i) stream += static_cast<const Seg*>(f->segs[i].handle)->bytes;
  stream += s->bytes;
  const bool fin = (s->d.tcp_flags & net::kTcpFin) != 0;
  sip::Message& msg = *msg_;
  const sip::ParseError e0 = sip::parse_message(stream, msg, sip::Transport::stream);
  const bool incomplete =
      (e0 == sip::ParseError::headers_unterminated || e0 == sip::ParseError::body_truncated) && !fin;
  if (incomplete) {
    const auto len = static_cast<std::uint32_t>(s->bytes.size());
    if (hold_.can_append(*f, len) == net::HoldAppend::ok) {
      const std::uint32_t seq = s->d.tcp_seq;
      hold_.append(*f, seq, net::HeldSegment{s.release(), 0, static_cast<std::uint16_t>(len), true});
      return;
    }
  }
  Segs segs = take_held(f);
  segs.push_back(std::move(s));
  if (incomplete) {  // over the bounds: given up whole
    give_up(segs, NotInspected::tcp_overflow);
    return;
  }
  process_unit(segs, stream, true, &e0);
}

// The unit: segs (in stream order) with their bytes in `stream`.
void TcpFollower::process_unit(Segs& segs, const std::string& stream, bool holdable, const sip::ParseError* first) {
  std::vector<net::StreamRange> ranges;
  std::uint32_t pos = 0;
  for (const auto& s : segs) {
    ranges.push_back(net::StreamRange{pos, pos + static_cast<std::uint32_t>(s->bytes.size())});
    pos = ranges.back().end;
  }
  const bool fin = (segs.back()->d.tcp_flags & net::kTcpFin) != 0;
  const auto total = static_cast<std::uint32_t>(stream.size());
  std::size_t index = 0;
  struct Visitor {
    TcpFollower& t;
    const Segs& segs;
    const std::string& stream;
    std::size_t& index;
    void message(std::uint32_t b, std::uint32_t e) { t.emit(segs, stream, b, e, index++, NotInspected::no, false); }
    void malformed(std::uint32_t b, std::uint32_t e, sip::ParseError) {
      t.emit(segs, stream, b, e, index++, NotInspected::no, false);
    }
  } visit{*this, segs, stream, index};
  const net::UnitScan scan = net::scan_unit(stream, ranges.data(), ranges.size(), fin, holdable, *msg_, first, visit);
  stats_.tcp_spanning += scan.spanning;
  switch (scan.end) {
    case net::UnitEnd::complete:
      // CRLFs after the last message (a keep-alive, forwarded): shown as the parser sees them.
      if (scan.keepalive) emit(segs, stream, scan.stop, total, index, NotInspected::no, false);
      return;
    case net::UnitEnd::truncated:
      emit(segs, stream, scan.stop, total, index, NotInspected::no, false);
      return;
    case net::UnitEnd::unframed:
      emit(segs, stream, scan.stop, total, index, NotInspected::no, true);
      return;
    case net::UnitEnd::partial:
      emit(segs, stream, scan.stop, total, index, NotInspected::tcp_not_holdable, false);
      return;
    case net::UnitEnd::unframeable:
      emit(segs, stream, 0, total, index, NotInspected::tcp_partial, false);
      return;
    case net::UnitEnd::hold:
      break;
  }
  // Hold the tail: the parts of the segments from the hold point on.
  const std::uint32_t from = scan.stop;
  Segs pieces;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (ranges[i].end <= from) continue;
    const std::uint32_t b = std::max(ranges[i].begin, from);
    auto p = std::move(segs[i]);
    if (b > ranges[i].begin) {
      p->bytes.erase(0, b - ranges[i].begin);
      p->d.tcp_seq += b - ranges[i].begin;
      p->d.payload_length = static_cast<std::uint16_t>(p->bytes.size());
    }
    pieces.push_back(std::move(p));
  }
  hold_new(pieces);
}

void TcpFollower::hold_new(Segs& pieces) {
  std::uint32_t bytes = 0;
  for (const auto& p : pieces) bytes += static_cast<std::uint32_t>(p->bytes.size());
  if (hold_.can_hold(static_cast<std::uint32_t>(pieces.size()), bytes) != net::HoldAppend::ok) {
    give_up(pieces, NotInspected::tcp_overflow);
    return;
  }
  net::TcpHoldFlow* f = hold_.create(pieces.front()->d, 0, now_);
  if (f == nullptr) {
    give_up(pieces, NotInspected::tcp_table_full);
    return;
  }
  ages_.insert(since_of(*f));
  for (auto& p : pieces) {
    const std::uint32_t seq = p->d.tcp_seq;
    const auto len = static_cast<std::uint16_t>(p->bytes.size());
    hold_.append(*f, seq, net::HeldSegment{p.release(), 0, len, true});
  }
}

// Segments the data plane gives up on: reported with their bytes.
void TcpFollower::give_up(Segs& segs, NotInspected why) {
  if (segs.empty()) return;
  std::string stream;
  for (const auto& s : segs) stream += s->bytes;
  emit(segs, stream, 0, static_cast<std::uint32_t>(stream.size()), 0, why, false);
}

// Stream bytes [b, e) of a unit as a payload.
void TcpFollower::emit(const Segs& segs, const std::string& stream, std::uint32_t b, std::uint32_t e, std::size_t index,
                       NotInspected why, bool unframed) {
  SipPayload p;
  p.from_pcap = true;
  p.stream = true;
  p.packet = segs.back()->d;
  p.index = index;
  p.unframed = unframed;
  p.not_inspected = why;
  p.bytes = stream.substr(b, e - b);
  // The frames its bytes came in; it is named by the unit's newest segment,
  // the one the data plane decides on (for a message: the one completing it).
  std::uint32_t pos = 0;
  for (const auto& s : segs) {
    const std::uint32_t sb = pos, se = pos + static_cast<std::uint32_t>(s->bytes.size());
    pos = se;
    if (sb < e && b < se && (p.frames.empty() || p.frames.back() != s->frame)) p.frames.push_back(s->frame);
  }
  if (p.frames.size() < 2) p.frames.clear();
  p.origin = origin_base_ + "#" + std::to_string(segs.back()->frame);
  if (why != NotInspected::no) ++stats_.not_inspected;
  sink_(p);
}

}  // namespace sipwall::control
