// libFuzzer target for the SIP-over-TCP machinery fed by decoded frames
// (dataplane/net: SeqAdjTable, TcpHoldTable, plan_stream, cut/rebuild;
// docs/packet-handling.md §6). The input is a script of records
//
//   [op][a][b][len hi][len lo][len bytes: one Ethernet frame]
//
// Each frame is decoded with decode_frame; a TCP segment then goes through
// the operation `op & 7` picks, with `a`/`b` as offsets and sizes:
//   0, 1  SeqAdjTable::forward (track_new = op & 1)
//   2     SeqAdjTable::edit (a tag line inserted at a payload offset)
//   3     SeqAdjTable::remove (a payload range; a response or a pure ACK
//         planned), then build_tcp_reply from the plan
//   4     cut_tcp_segment, then forward of the piece
//   5     TcpHoldTable: find/create the flow, append the segment if in order
//   6     TcpHoldTable::expired and erase
//   7     plan_stream over a unit whose segments and edits come from the
//         payload bytes
// Time moves on by op >> 5. The tables are small (8 flows, 4 held flows) so
// eviction, table-full and budget paths are reached. Checked: a refused
// operation leaves the frame unchanged; an accepted one leaves a frame that
// decodes, with the payload length it should have and the inserted bytes in
// place, a checksum that was good still good (and a bad one still bad); the
// hold table's counts stay within its bounds; every plan_stream result
// covers each byte once with each edit whole (the unit test's invariants).
// Seeds: tests/fuzz/seeds/tcp_stream (TCP frames of tests/data/sample.pcap
// as one-record scripts, one per operation).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/tcp_cut.h"
#include "dataplane/net/tcp_reassembly.h"
#include "dataplane/net/tcp_seqadj.h"

namespace {

using namespace sipwall::net;

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "invariant broken at line %d: %s\n", line, what);
  std::abort();
}
#define check(cond)                     \
  do {                                  \
    if (!(cond)) fail(#cond, __LINE__); \
  } while (0)

constexpr std::size_t kSlack = 600;  // room for insertions beyond the frame

struct World {
  SeqAdjTable seqadj{[] {
    SeqAdjConfig c;
    c.capacity = 8;
    c.max_probe = 4;
    c.idle_timeout = 1000;
    c.closed_timeout = 100;
    return c;
  }()};
  TcpHoldTable hold{[] {
    TcpHoldConfig c;
    c.flows = 4;
    c.max_bytes = 4096;
    c.max_segments = 4;
    c.total_segments = 8;
    return c;
  }()};
  std::uint64_t now = 0;
  std::uint64_t sum = 0;
};

bool decodes_tcp(const std::uint8_t* f, std::size_t n, DecodedPacket& d) {
  return decode_frame(f, n, d) == DecodeResult::ok && !d.is_fragment && d.l4_proto == 6;
}

void check_hold(const TcpHoldTable& t) {
  const TcpHoldConfig& c = t.config();
  check(t.size() <= c.flows);
  check(t.held_segments() <= c.total_segments);
}

void op_forward(World& w, std::vector<std::uint8_t>& f, std::size_t len, const DecodedPacket& d, bool track) {
  const std::vector<std::uint8_t> before(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(len));
  const bool good = l4_checksum_ok(f.data(), d);
  const SeqAdjResult r = w.seqadj.forward(f.data(), d, w.now, track);
  if (r != SeqAdjResult::ok) {
    check(std::equal(before.begin(), before.end(), f.begin()));
    return;
  }
  DecodedPacket a;
  check(decodes_tcp(f.data(), len, a));
  check(a.payload_length == d.payload_length);
  check(std::memcmp(f.data() + a.payload_offset, before.data() + d.payload_offset, d.payload_length) == 0);
  check(l4_checksum_ok(f.data(), a) == good);
}

void op_edit(World& w, std::vector<std::uint8_t>& f, std::size_t len, DecodedPacket d, std::uint8_t a, std::uint8_t b) {
  const std::size_t at = a % (std::size_t{d.payload_length} + 1);
  const std::string line(1 + b % 40, static_cast<char>('A' + b % 26));
  const std::vector<std::uint8_t> before(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(len));
  const bool good = l4_checksum_ok(f.data(), d);
  const std::uint16_t old_len = d.payload_length;
  std::size_t flen = len;
  TcpEditOutcome out;
  const SeqAdjResult r = w.seqadj.edit(f.data(), flen, f.size(), d, at, 0, line, w.now, (b & 0x80) ? 1500 : 0, out);
  if (r != SeqAdjResult::ok) {
    check(flen == len && std::equal(before.begin(), before.end(), f.begin()));
    return;
  }
  DecodedPacket e;
  check(decodes_tcp(f.data(), flen, e));
  check(e.payload_length == old_len + line.size() && e.payload_length == d.payload_length);
  check(std::memcmp(f.data() + e.payload_offset + at, line.data(), line.size()) == 0);
  check(l4_checksum_ok(f.data(), e) == good);
}

void op_remove(World& w, std::vector<std::uint8_t>& f, std::size_t len, DecodedPacket d, std::uint8_t op,
               std::uint8_t a, std::uint8_t b) {
  const std::size_t n_pay = d.payload_length;
  const std::size_t at = a % (n_pay + 1);
  const std::size_t n = b % (n_pay - at + 1);
  const std::uint32_t reply_len = (op & 0x18) ? 40 + (op & 0x18) : 0;
  const std::vector<std::uint8_t> before(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(len));
  const bool good = l4_checksum_ok(f.data(), d);
  const DecodedPacket orig = d;
  std::size_t flen = len;
  TcpEditOutcome out;
  const SeqAdjResult r = w.seqadj.remove(f.data(), flen, f.size(), d, at, n, reply_len, w.now, out);
  if (n == 0) check(r != SeqAdjResult::ok);
  if (r != SeqAdjResult::ok) {
    check(flen == len && std::equal(before.begin(), before.end(), f.begin()));
    return;
  }
  DecodedPacket e;
  check(decodes_tcp(f.data(), flen, e));
  check(e.payload_length == n_pay - n);
  check(std::memcmp(f.data() + e.payload_offset, before.data() + orig.payload_offset, at) == 0);
  check(l4_checksum_ok(f.data(), e) == good);
  // The answer, as the worker builds it: from the edited frame.
  const std::string text(out.reply.send_payload ? reply_len : 0, 'R');
  std::vector<std::uint8_t> rep(flen + kSlack + reply_len);
  ReplyOptions o;
  const ReplyLayout lay = build_tcp_reply(f.data(), e, out.reply.spec, text, rep.data(), rep.size(), o);
  if (lay.result == ReplyResult::ok) {
    DecodedPacket rd;
    check(decodes_tcp(rep.data(), lay.length, rd));
    check(rd.tcp_seq == out.reply.spec.seq && rd.tcp_ack == out.reply.spec.ack);
    check(rd.payload_length == text.size());
    check(l4_checksum_ok(rep.data(), rd));
  }
}

void op_cut(World& w, const std::vector<std::uint8_t>& f, const DecodedPacket& d, std::uint8_t a, std::uint8_t b) {
  const std::size_t n = d.payload_length;
  const std::size_t from = a % (n + 1);
  const std::size_t to = from + b % (n - from + 1);
  std::vector<std::uint8_t> piece(f.size());
  const std::size_t l = cut_tcp_segment(f.data(), d, from, to, piece.data(), piece.size());
  if (l == 0) return;
  DecodedPacket p;
  check(decodes_tcp(piece.data(), l, p));
  check(p.payload_length == to - from && p.tcp_seq == static_cast<std::uint32_t>(d.tcp_seq + from));
  check(l4_checksum_ok(piece.data(), p) == l4_checksum_ok(f.data(), d));
  op_forward(w, piece, l, p, true);
}

void op_hold(World& w, const DecodedPacket& d) {
  TcpHoldTable& t = w.hold;
  TcpHoldFlow* fl = t.find(d);
  if (fl == nullptr) fl = t.create(d, 0, w.now);
  if (fl == nullptr) {
    check(t.size() == t.config().flows);
    return;
  }
  check(t.find(d) == fl);
  if (fl->count != 0 && d.tcp_seq != fl->next_seq) return;  // only in-order segments are appended
  if (t.can_append(*fl, d.payload_length) != HoldAppend::ok) return;
  const std::size_t before = t.held_segments();
  HeldSegment s;
  s.payload_offset = d.payload_offset;
  s.payload_length = d.payload_length;
  t.append(*fl, d.tcp_seq, s);
  check(t.held_segments() == before + 1);
  check(fl->count <= t.config().max_segments && fl->bytes <= t.config().max_bytes);
  check(fl->next_seq == fl->first_seq + fl->bytes);
  check_hold(t);
}

void op_expire(World& w, std::uint8_t a) {
  TcpHoldFlow* out[16];
  const std::size_t n = w.hold.expired(w.now, a, out, 16);
  check(n <= 16);
  for (std::size_t i = 0; i < n; ++i) {
    check(w.now >= out[i]->since && w.now - out[i]->since >= a);
    const std::size_t held = w.hold.held_segments(), count = out[i]->count;
    w.hold.erase(out[i]);
    check(w.hold.held_segments() == held - count);
  }
  check_hold(w.hold);
}

// A unit from bytes: segment lengths, messages back to back (some edited), a
// held tail. Not always consistent: plan_stream must refuse (0) or plan right.
void op_plan(const std::uint8_t* p, std::size_t n) {
  if (n < 3) return;
  std::vector<StreamRange> segs;
  std::uint32_t pos = 0;
  const std::size_t nseg = 1 + p[0] % 6;
  std::size_t i = 1;
  for (std::size_t k = 0; k < nseg && i < n; ++k, ++i) {
    const std::uint32_t l = p[i] % 64;
    segs.push_back({pos, pos + l});
    pos += l;
  }
  const std::uint32_t total = pos;
  std::uint32_t hold_from = i < n && (p[i] & 1) ? (total ? p[i] % (total + 1) : 0) : total;
  ++i;
  std::vector<StreamEdit> edits;
  std::uint32_t m = 0;
  for (; i + 1 < n && edits.size() < 8; i += 2) {
    const std::uint32_t l = 1 + p[i] % 40;
    const std::uint8_t kind = p[i + 1];
    if ((kind & 0x40) == 0 && m + l > hold_from) break;
    if (kind % 3 == 0)
      edits.push_back({m, m + l, m, true});
    else if (kind % 3 == 1)
      edits.push_back({m, m + l, m + kind % l, false});
    m += (kind & 0x80) ? l / 2 : l;  // sometimes overlapping: must be refused
  }
  std::vector<StreamPiece> out(max_stream_pieces(segs.size(), edits.size()));
  const std::size_t np =
      plan_stream(segs.data(), segs.size(), edits.data(), edits.size(), hold_from, out.data(), out.size());
  check(np <= out.size());
  if (np == 0) return;
  std::vector<int> cover(total, 0), seen(edits.size(), 0);
  std::uint32_t last_end = 0;
  for (std::size_t k = 0; k < np; ++k) {
    const StreamPiece& x = out[k];
    check(x.seg < segs.size());
    const StreamRange& s = segs[x.seg];
    check(x.begin >= last_end && x.begin <= x.end && x.end <= total);
    if (x.kind == PieceKind::spanning_remove) {
      check(x.edit >= 0 && static_cast<std::size_t>(x.edit) < edits.size());
      const StreamEdit& e = edits[static_cast<std::size_t>(x.edit)];
      check(e.remove && x.begin == e.msg_begin && x.end == e.msg_end);
      check(s.begin < x.end && x.end <= s.end);
      seen[static_cast<std::size_t>(x.edit)]++;
    } else {
      check(s.begin <= x.begin && x.end <= s.end);
      if (x.kind == PieceKind::hold) {
        check(x.edit == -1 && x.end == s.end && x.begin >= hold_from);
      } else {
        check(x.end <= hold_from);
        if (x.edit >= 0) {
          check(static_cast<std::size_t>(x.edit) < edits.size());
          const StreamEdit& e = edits[static_cast<std::size_t>(x.edit)];
          check(e.remove ? (x.begin <= e.msg_begin && e.msg_end <= x.end) : (x.begin <= e.at && e.at < x.end));
          seen[static_cast<std::size_t>(x.edit)]++;
        }
      }
    }
    for (std::uint32_t c = x.begin; c < x.end; ++c) cover[c]++;
    last_end = x.end;
  }
  for (int c : cover) check(c == 1);
  for (int s : seen) check(s == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World w;
  std::size_t i = 0;
  for (int records = 0; i + 5 <= size && records < 64; ++records) {
    const std::uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
    const std::size_t len = std::min<std::size_t>((std::size_t{data[i + 3]} << 8) | data[i + 4], size - i - 5);
    const std::uint8_t* frame = data + i + 5;
    i += 5 + len;
    w.now += op >> 5;
    // The frame in a buffer of its own with room to grow; bytes past len are
    // zero (the worker's mbuf tailroom).
    std::vector<std::uint8_t> f(frame, frame + len);
    f.resize(len + kSlack);
    DecodedPacket d;
    if ((op & 7) == 7) {
      op_plan(frame, len);
      continue;
    }
    if (!decodes_tcp(f.data(), len, d)) continue;
    switch (op & 7) {
      case 0:
      case 1:
        op_forward(w, f, len, d, op & 1);
        break;
      case 2:
        op_edit(w, f, len, d, a, b);
        break;
      case 3:
        op_remove(w, f, len, d, op, a, b);
        break;
      case 4:
        op_cut(w, f, d, a, b);
        break;
      case 5:
        op_hold(w, d);
        break;
      case 6:
        op_expire(w, a);
        break;
      default:
        break;
    }
    check(w.seqadj.size() <= w.seqadj.capacity());
  }
  return 0;
}
