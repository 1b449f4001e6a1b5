#include "dataplane/net/tcp_unit.h"

#include "dataplane/net/bytes.h"

namespace sipwall::net {

HeldArrivalPlan plan_held_arrival(const TcpHoldFlow& f, const DecodedPacket& d) noexcept {
  HeldArrivalPlan p;
  p.end = d.payload_length;
  if (d.tcp_flags & (kTcpSyn | kTcpRst)) {
    p.what = HeldArrival::abort;
    return p;
  }
  const bool fin = (d.tcp_flags & kTcpFin) != 0;
  if (d.payload_length == 0 && !fin) {
    p.what = HeldArrival::control;
    return p;
  }
  const std::uint32_t seq = d.tcp_seq;
  const std::uint32_t exp = f.next_seq;
  if (d.payload_length && seq_lt(seq, exp)) {
    const std::uint32_t end = seq + d.payload_length;
    if (seq_lt(seq, f.first_seq)) {
      // Bytes already handled before the held message; the part that
      // repeats held bytes (or runs ahead of them) is the client's to resend.
      p.what = HeldArrival::before_held;
      if (seq_lt(f.first_seq, end)) {
        p.repeats_held = true;
        p.end = f.first_seq - seq;
      }
      return p;
    }
    if (seq_le(end, exp)) {
      p.what = HeldArrival::retransmission;
      return p;
    }
    // Repacketised: it overlaps the held bytes and brings new ones.
    p.what = HeldArrival::in_order;
    p.begin = exp - seq;
    return p;
  }
  p.what = seq == exp ? HeldArrival::in_order : HeldArrival::gap;
  return p;
}

bool error_in_start_line(std::string_view buf, std::size_t error_offset) noexcept {
  std::size_t i = 0;
  while (i < buf.size() && (buf[i] == '\r' || buf[i] == '\n')) ++i;
  const std::size_t nl = buf.find('\n', i);
  return nl == std::string_view::npos || error_offset <= nl;
}

}  // namespace sipwall::net
