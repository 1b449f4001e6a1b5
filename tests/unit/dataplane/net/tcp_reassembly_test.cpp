// TcpHoldTable (the per-worker table of flows holding segments) and
// plan_stream (how a unit of segments is cut for its edits).
#include "dataplane/net/tcp_reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "dataplane/net/packet_decode.h"

namespace net = sipwall::net;
using net::PieceKind;
using net::StreamEdit;
using net::StreamPiece;
using net::StreamRange;

namespace {

net::DecodedPacket key(std::uint32_t client, std::uint16_t sport, std::uint16_t dport = 5060) {
  net::DecodedPacket d;
  d.ip_version = 4;
  d.l4_proto = 6;
  d.src = {0,
           0,
           0,
           0,
           0,
           0,
           0,
           0,
           0,
           0,
           0xFF,
           0xFF,
           192,
           0,
           static_cast<std::uint8_t>(client >> 8),
           static_cast<std::uint8_t>(client)};
  d.dst = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 10, 0, 10};
  d.src_port = sport;
  d.dst_port = dport;
  return d;
}

net::DecodedPacket reversed(const net::DecodedPacket& d) {
  net::DecodedPacket r = d;
  std::swap(r.src, r.dst);
  std::swap(r.src_port, r.dst_port);
  return r;
}

int tagv(std::uint32_t i) {
  return static_cast<int>(i);
}

}  // namespace

TEST(TcpHoldTable, CreateFindEraseIsDirectional) {
  net::TcpHoldTable t({});
  const auto a = key(1, 40000);
  EXPECT_EQ(t.find(a), nullptr);
  net::TcpHoldFlow* f = t.create(a, 3, 100);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->in_port, 3);
  EXPECT_EQ(f->since, 100u);
  EXPECT_EQ(t.find(a), f);
  EXPECT_EQ(t.find(reversed(a)), nullptr) << "only the client->core direction is held";
  EXPECT_EQ(t.find(key(1, 40001)), nullptr);
  EXPECT_EQ(t.size(), 1u);
  t.erase(f);
  EXPECT_EQ(t.find(a), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(TcpHoldTable, AppendTracksSequenceBytesAndBudget) {
  net::TcpHoldConfig cfg;
  cfg.max_segments = 3;
  cfg.max_bytes = 1000;
  cfg.total_segments = 4;
  net::TcpHoldTable t(cfg);
  net::TcpHoldFlow* f = t.create(key(1, 1), 0, 0);
  ASSERT_EQ(t.can_append(*f, 400), net::HoldAppend::ok);
  t.append(*f, 0xFFFFFF00u, {nullptr, 54, 400, true});
  EXPECT_EQ(f->first_seq, 0xFFFFFF00u);
  EXPECT_EQ(f->next_seq, 0xFFFFFF00u + 400);  // wraps
  EXPECT_EQ(t.can_append(*f, 601), net::HoldAppend::too_many_bytes);
  t.append(*f, f->next_seq, {nullptr, 54, 600, false});
  EXPECT_EQ(f->bytes, 1000u);
  EXPECT_EQ(t.can_append(*f, 0), net::HoldAppend::ok);
  t.append(*f, f->next_seq, {nullptr, 54, 0, false});
  EXPECT_EQ(t.can_append(*f, 0), net::HoldAppend::too_many_segments);
  EXPECT_EQ(t.held_segments(), 3u);
  net::TcpHoldFlow* g = t.create(key(2, 1), 0, 0);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(t.can_hold(2, 10), net::HoldAppend::budget);
  EXPECT_EQ(t.can_hold(1, 10), net::HoldAppend::ok);
  EXPECT_EQ(t.can_hold(4, 10), net::HoldAppend::too_many_segments);
  EXPECT_EQ(t.can_hold(1, 1001), net::HoldAppend::too_many_bytes);
  t.append(*g, 5, {nullptr, 54, 10, true});
  EXPECT_EQ(t.can_append(*g, 1), net::HoldAppend::budget);
  t.erase(f);
  EXPECT_EQ(t.held_segments(), 1u);
  EXPECT_EQ(t.can_append(*g, 1), net::HoldAppend::ok);
  EXPECT_EQ(g->segs[0].payload_length, 10);
  EXPECT_TRUE(g->segs[0].owes);
}

TEST(TcpHoldTable, FullTableAndCollisionsSurviveErasure) {
  net::TcpHoldConfig cfg;
  cfg.flows = 200;
  net::TcpHoldTable t(cfg);
  std::vector<net::TcpHoldFlow*> fs;
  for (std::uint32_t i = 0; i < 200; ++i) {
    net::TcpHoldFlow* f = t.create(key(i, static_cast<std::uint16_t>(1000 + i)), 0, i);
    ASSERT_NE(f, nullptr) << i;
    f->first_seq = i;  // a marker
    fs.push_back(f);
  }
  EXPECT_EQ(t.create(key(999, 1), 0, 0), nullptr) << "capacity reached";
  // Erase every other one in a scattered order (backward-shift deletion must
  // keep every remaining key reachable), then check all lookups.
  std::mt19937 rng(7);
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = 0; i < 200; i += 2) order.push_back(i);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::uint32_t i : order) t.erase(t.find(key(i, static_cast<std::uint16_t>(1000 + i))));
  EXPECT_EQ(t.size(), 100u);
  for (std::uint32_t i = 0; i < 200; ++i) {
    net::TcpHoldFlow* f = t.find(key(i, static_cast<std::uint16_t>(1000 + i)));
    if (i % 2) {
      ASSERT_NE(f, nullptr) << i;
      EXPECT_EQ(tagv(f->first_seq), tagv(i));
    } else {
      EXPECT_EQ(f, nullptr) << i;
    }
  }
  // The freed places are reusable.
  for (std::uint32_t i = 0; i < 100; ++i) ASSERT_NE(t.create(key(5000 + i, 1), 0, 0), nullptr);
  EXPECT_EQ(t.create(key(9999, 1), 0, 0), nullptr);
}

TEST(TcpHoldTable, ExpiredAndAny) {
  net::TcpHoldTable t({});
  t.create(key(1, 1), 0, 100);
  t.create(key(2, 1), 0, 250);
  t.create(key(3, 1), 0, 300);
  net::TcpHoldFlow* out[8];
  EXPECT_EQ(t.expired(350, 100, out, 8), 2u);  // held since 100 and 250
  EXPECT_EQ(t.expired(350, 100, out, 1), 1u);  // bounded by max
  EXPECT_EQ(t.expired(50, 100, out, 8), 0u);   // clock before `since`: not expired
  std::size_t n = 0;
  while (net::TcpHoldFlow* f = t.any()) {
    t.erase(f);
    ++n;
  }
  EXPECT_EQ(n, 3u);
}

// --- plan_stream --------------------------------------------------------------------

namespace {

std::vector<StreamPiece> plan(std::vector<StreamRange> segs, std::vector<StreamEdit> edits, std::uint32_t hold_from) {
  std::vector<StreamPiece> out(net::max_stream_pieces(segs.size(), edits.size()));
  std::size_t n =
      net::plan_stream(segs.data(), segs.size(), edits.data(), edits.size(), hold_from, out.data(), out.size());
  out.resize(n);
  return out;
}

StreamEdit rm(std::uint32_t b, std::uint32_t e) {
  return {b, e, b, true};
}
StreamEdit tag(std::uint32_t b, std::uint32_t e, std::uint32_t at) {
  return {b, e, at, false};
}

StreamPiece keep(std::uint16_t seg, std::uint32_t b, std::uint32_t e, int edit = -1) {
  return {PieceKind::keep, seg, static_cast<std::int16_t>(edit), b, e};
}
StreamPiece span(std::uint16_t seg, std::uint32_t b, std::uint32_t e, int edit) {
  return {PieceKind::spanning_remove, seg, static_cast<std::int16_t>(edit), b, e};
}
StreamPiece hold(std::uint16_t seg, std::uint32_t b, std::uint32_t e) {
  return {PieceKind::hold, seg, -1, b, e};
}

::testing::AssertionResult same(const std::vector<StreamPiece>& got, const std::vector<StreamPiece>& want) {
  auto show = [](const std::vector<StreamPiece>& v) {
    std::string s;
    for (const auto& p : v) {
      s += "{" + std::to_string(static_cast<int>(p.kind)) + " s" + std::to_string(p.seg) + " e" +
           std::to_string(p.edit) + " [" + std::to_string(p.begin) + "," + std::to_string(p.end) + ")} ";
    }
    return s;
  };
  bool eq = got.size() == want.size();
  for (std::size_t i = 0; eq && i < got.size(); ++i) {
    eq = got[i].kind == want[i].kind && got[i].seg == want[i].seg && got[i].edit == want[i].edit &&
         got[i].begin == want[i].begin && got[i].end == want[i].end;
  }
  if (eq) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got  " << show(got) << "\nwant " << show(want);
}

}  // namespace

TEST(PlanStream, OneSegment) {
  EXPECT_TRUE(same(plan({{0, 100}}, {}, 100), {keep(0, 0, 100)}));
  // One removal: applied in place, the segment is not cut.
  EXPECT_TRUE(same(plan({{0, 100}}, {rm(30, 60)}, 100), {keep(0, 0, 100, 0)}));
  // Two edits: cut at the start of the second edited message.
  EXPECT_TRUE(same(plan({{0, 100}}, {rm(0, 30), tag(30, 80, 70)}, 100), {keep(0, 0, 30, 0), keep(0, 30, 100, 1)}));
  EXPECT_TRUE(same(plan({{0, 100}}, {tag(10, 40, 35), rm(40, 60), rm(70, 90)}, 100),
                   {keep(0, 0, 40, 0), keep(0, 40, 70, 1), keep(0, 70, 100, 2)}));
  // Whole messages, then the start of one: the tail is held.
  EXPECT_TRUE(same(plan({{0, 100}}, {rm(20, 50)}, 70), {keep(0, 0, 70, 0), hold(0, 70, 100)}));
  // Only the start of a message: the whole segment is held.
  EXPECT_TRUE(same(plan({{0, 100}}, {}, 0), {hold(0, 0, 100)}));
}

TEST(PlanStream, RemovalSpanningSegments) {
  // Held [0,1000), new [1000,1600): the message [0,1200) is removed once (a
  // one-segment view named by the new segment), the rest of the new segment goes on.
  EXPECT_TRUE(same(plan({{0, 1000}, {1000, 1600}}, {rm(0, 1200)}, 1600), {span(1, 0, 1200, 0), keep(1, 1200, 1600)}));
  // Three segments, the message ends exactly at the end of the last.
  EXPECT_TRUE(same(plan({{0, 500}, {500, 900}, {900, 1000}}, {rm(0, 1000)}, 1000), {span(2, 0, 1000, 0)}));
  // Then a second blocked message and the start of a third in the new segment.
  EXPECT_TRUE(same(plan({{0, 500}, {500, 1500}}, {rm(0, 700), rm(700, 900)}, 1200),
                   {span(1, 0, 700, 0), keep(1, 700, 1200, 1), hold(1, 1200, 1500)}));
  // A removal that starts after the first byte of a segment and spans on.
  EXPECT_TRUE(same(plan({{0, 500}, {500, 900}}, {rm(200, 700)}, 900),
                   {keep(0, 0, 200), span(1, 200, 700, 0), keep(1, 700, 900)}));
}

TEST(PlanStream, TagOfAMessageSpanningSegments) {
  // The insertion point lies in the first segment: that one is edited, the
  // others go on as they are.
  EXPECT_TRUE(same(plan({{0, 800}, {800, 1300}}, {tag(0, 1100, 600)}, 1300), {keep(0, 0, 800, 0), keep(1, 800, 1300)}));
  // In the second, which also holds another edited message.
  EXPECT_TRUE(same(plan({{0, 800}, {800, 1300}}, {tag(0, 1000, 900), rm(1000, 1200)}, 1300),
                   {keep(0, 0, 800), keep(1, 800, 1000, 0), keep(1, 1000, 1300, 1)}));
}

TEST(PlanStream, EmptySegmentKeepsItsFin) {
  EXPECT_TRUE(same(plan({{0, 300}, {300, 300}}, {rm(0, 300)}, 300), {keep(0, 0, 300, 0), keep(1, 300, 300)}));
  EXPECT_TRUE(
      same(plan({{0, 300}, {300, 500}, {500, 500}}, {rm(0, 500)}, 500), {span(1, 0, 500, 0), keep(2, 500, 500)}));
}

TEST(PlanStream, InconsistentInputIsRefused) {
  EXPECT_TRUE(plan({{5, 10}}, {}, 10).empty());                    // not from 0
  EXPECT_TRUE(plan({{0, 10}, {11, 20}}, {}, 20).empty());          // gap
  EXPECT_TRUE(plan({{0, 10}}, {}, 11).empty());                    // hold past the end
  EXPECT_TRUE(plan({{0, 10}}, {rm(0, 8)}, 6).empty());             // edit past the hold
  EXPECT_TRUE(plan({{0, 10}}, {rm(0, 5), rm(4, 8)}, 10).empty());  // overlapping
  EXPECT_TRUE(plan({{0, 10}}, {tag(0, 5, 5)}, 10).empty());        // tag point outside its message
  std::vector<StreamRange> segs{{0, 10}};
  std::vector<StreamEdit> edits{rm(0, 3), rm(3, 6)};
  StreamPiece out[1];
  EXPECT_EQ(net::plan_stream(segs.data(), 1, edits.data(), 2, 10, out, 1), 0u);  // no room
}

// fuzz_tcp_stream found it: an empty segment inside a removal that spans
// segments got its piece before the removal's (out of stream order). Only
// the newest segment of a unit can be empty (a FIN); anything else is refused.
TEST(PlanStream, EmptySegmentBeforeTheLastIsRefused) {
  EXPECT_TRUE(
      plan({{0, 32}, {32, 44}, {44, 44}, {44, 74}, {74, 84}}, {rm(0, 13), tag(13, 32, 14), rm(41, 81), rm(81, 82)}, 84)
          .empty());
  EXPECT_TRUE(plan({{0, 10}, {10, 10}, {10, 20}}, {}, 20).empty());
  EXPECT_FALSE(plan({{0, 10}, {10, 20}, {20, 20}}, {rm(5, 15)}, 20).empty()) << "a FIN last is fine";
}

// Random units: the plan must cover every byte once and keep every edit whole.
TEST(PlanStream, RandomUnitsKeepTheInvariants) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    std::vector<StreamRange> segs;
    std::uint32_t pos = 0;
    const int nseg = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < nseg; ++i) {
      // Only the newest segment of a unit can be empty (a FIN).
      const std::uint32_t len = (i == nseg - 1 && rng() % 8 == 0) ? 0 : 1 + rng() % 60;
      segs.push_back({pos, pos + len});
      pos += len;
    }
    if (pos == 0) continue;
    const std::uint32_t total = pos;
    // Messages back to back, some edited; an incomplete tail maybe.
    std::uint32_t hold_from = (rng() % 3 == 0) ? static_cast<std::uint32_t>(rng() % (total + 1)) : total;
    std::vector<StreamEdit> edits;
    std::uint32_t m = 0;
    while (m < hold_from && edits.size() < 8) {
      const std::uint32_t len = 1 + rng() % 40;
      if (m + len > hold_from) break;
      switch (rng() % 3) {
        case 0:
          edits.push_back(rm(m, m + len));
          break;
        case 1:
          edits.push_back(tag(m, m + len, m + static_cast<std::uint32_t>(rng() % len)));
          break;
        default:
          break;
      }
      m += len;
    }
    const std::vector<StreamPiece> p = plan(segs, edits, hold_from);
    ASSERT_FALSE(p.empty()) << "round " << round;
    std::vector<int> cover(total, 0);
    std::vector<int> edit_seen(edits.size(), 0);
    std::uint32_t last_end = 0;
    for (const StreamPiece& x : p) {
      const StreamRange& s = segs[x.seg];
      ASSERT_GE(x.begin, last_end) << "pieces in stream order, round " << round;
      ASSERT_LE(x.begin, x.end);
      if (x.kind == PieceKind::spanning_remove) {
        ASSERT_GE(x.edit, 0);
        const StreamEdit& e = edits[static_cast<std::size_t>(x.edit)];
        ASSERT_TRUE(e.remove);
        ASSERT_EQ(x.begin, e.msg_begin);
        ASSERT_EQ(x.end, e.msg_end);
        ASSERT_TRUE(s.begin < x.end && x.end <= s.end) << "named by the segment of its last byte";
        edit_seen[static_cast<std::size_t>(x.edit)]++;
      } else {
        ASSERT_TRUE(s.begin <= x.begin && x.end <= s.end) << "a piece stays in its segment, round " << round;
        if (x.kind == PieceKind::hold) {
          ASSERT_EQ(x.edit, -1);
          ASSERT_EQ(x.end, s.end);
          ASSERT_GE(x.begin, hold_from);
        } else {
          ASSERT_LE(x.end, hold_from);
          if (x.edit >= 0) {
            const StreamEdit& e = edits[static_cast<std::size_t>(x.edit)];
            if (e.remove) {
              ASSERT_TRUE(x.begin <= e.msg_begin && e.msg_end <= x.end);
            } else {
              ASSERT_TRUE(x.begin <= e.at && e.at < x.end);
            }
            edit_seen[static_cast<std::size_t>(x.edit)]++;
          }
        }
      }
      for (std::uint32_t b = x.begin; b < x.end; ++b) cover[b]++;
      last_end = x.end;
    }
    for (std::uint32_t b = 0; b < total; ++b) ASSERT_EQ(cover[b], 1) << "byte " << b << " round " << round;
    for (std::size_t k = 0; k < edits.size(); ++k) ASSERT_EQ(edit_seen[k], 1) << "edit " << k << " round " << round;
    // No keep piece holds an edit while another edit's point also lies in it.
    for (const StreamPiece& x : p) {
      if (x.kind != PieceKind::keep) continue;
      int points = 0;
      for (const StreamEdit& e : edits) {
        const std::uint32_t pt = e.remove ? e.msg_begin : e.at;
        const bool spans = e.remove && [&] {
          for (const auto& s : segs)
            if (s.begin <= e.msg_begin && e.msg_begin < s.end) return e.msg_end > s.end;
          return false;
        }();
        if (!spans && x.begin <= pt && pt < x.end && x.begin < x.end) ++points;
      }
      ASSERT_LE(points, 1) << "round " << round;
    }
  }
}
