// Filling call records (dataplane/app/call_record_fill.h): the outcome
// record from a call-table entry, the invite record from a verdict, both
// packed into ring units and read back as the main lcore reads them
// (record_pack.h); the caller and callee as written, and the call-table keys
// the worker makes when no detector made them.
#include "dataplane/app/call_record_fill.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/detect/key_hash.h"
#include "rules/number/normalize.h"

namespace sipwall::dataplane {
namespace {

using detect::CallRecord;
using protocol::CallEnd;
using protocol::CallRecordWire;

CallRecord call_at(std::uint64_t invite_ms) {
  CallRecord c{};
  c.keys.call_id_hash = 42;
  c.invite_ms = invite_ms;
  return c;
}

// Ring units full of poison (an older record's bytes): a field the packing
// forgot shows as poison after unpacking.
struct Units {
  alignas(64) std::uint8_t bytes[kMaxRecordUnits * kRecordUnit];
  Units() { std::memset(bytes, 0xA5, sizeof bytes); }
};

CallRecordWire unpacked(const Units& u, unsigned expect_units) {
  CallRecordWire r;
  unsigned units = 0;
  EXPECT_EQ(unpack_record(u.bytes, expect_units, r, units), nullptr);
  EXPECT_EQ(units, expect_units);
  return r;
}

CallRecordWire outcome_record(const CallRecord& c, CallEnd end, unsigned worker, std::uint64_t tsc) {
  Units u;
  pack_outcome_record(u.bytes, c, end, worker, tsc);
  return unpacked(u, 1);
}

TEST(CallRecordFill, AnsweredCallWithBye) {
  CallRecord c = call_at(1'000);
  c.seen = CallRecord::kRinging | CallRecord::kAnswered | CallRecord::kFinal | CallRecord::kAcked | CallRecord::kBye;
  c.ring_ms = 1'800;
  c.answer_ms = 6'000;
  c.final_ms = 6'000;
  c.bye_ms = 36'500;
  c.final_code = 200;
  const CallRecordWire r = outcome_record(c, CallEnd::expired, 3, 123);
  EXPECT_EQ(protocol::record_problem(r), nullptr);
  EXPECT_EQ(r.kind, static_cast<std::uint8_t>(protocol::CallRecordKind::outcome));
  EXPECT_EQ(r.worker, 3);
  EXPECT_EQ(r.call_hash, 42u);
  EXPECT_EQ(r.start_ms, 1'000u);
  EXPECT_EQ(r.ring_ms, 800u);
  EXPECT_EQ(r.answer_ms, 5'000u);
  EXPECT_EQ(r.talk_ms, 30'500u);
  EXPECT_EQ(r.duration_ms, 35'500u);
  EXPECT_EQ(r.final_code, 200);
  EXPECT_EQ(r.time_ns, 123u);                     // the TSC stamp: the exporter turns it into wall time
  for (char ch : r.call_id) EXPECT_EQ(ch, '\0');  // an outcome has no texts: all NUL, no poison
}

TEST(CallRecordFill, CancelledWhileRinging) {
  CallRecord c = call_at(0);
  c.seen = CallRecord::kRinging | CallRecord::kCancelled | CallRecord::kFinal;
  c.ring_ms = 500;
  c.cancel_ms = 2'500;
  c.final_ms = 2'600;  // the 487 after the CANCEL
  c.final_code = 487;
  const CallRecordWire r = outcome_record(c, CallEnd::replaced, 0, 0);
  EXPECT_EQ(r.ring_ms, 500u);
  EXPECT_EQ(r.answer_ms, 0u);
  EXPECT_EQ(r.talk_ms, 0u);
  EXPECT_EQ(r.duration_ms, 2'500u);  // the CANCEL came first
  EXPECT_EQ(r.end, static_cast<std::uint8_t>(CallEnd::replaced));
  EXPECT_EQ(r.seen & CallRecordWire::kCancelled, CallRecordWire::kCancelled);
}

TEST(CallRecordFill, NothingSeenYet) {
  const CallRecordWire r = outcome_record(call_at(7), CallEnd::evicted, 0, 0);
  EXPECT_EQ(protocol::record_problem(r), nullptr);
  EXPECT_EQ(r.final_code, 0);
  EXPECT_EQ(r.seen, 0);
  EXPECT_EQ(r.duration_ms, 0u);
}

TEST(CallRecordFill, CallerAndCalleeAsWrittenAndTheKeys) {
  const std::string text =
      "INVITE sip:013900002222@core.example SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
      "From: <sip:13800001111@trunk.example>;tag=1\r\n"
      "To: <sip:+8613900002222@core.example>\r\n"
      "P-Asserted-Identity: <tel:+86-138-0000-1111>\r\n"
      "Call-ID: fill-1@example\r\n"
      "CSeq: 7 INVITE\r\n"
      "Content-Length: 0\r\n\r\n";
  sip::Message msg;
  ASSERT_EQ(sip::parse_message(text, msg), sip::ParseError::none);
  EXPECT_EQ(caller_as_written(msg), "+86-138-0000-1111");  // the P-Asserted-Identity first
  EXPECT_EQ(callee_as_written(msg), "013900002222");       // the Request-URI first
  classify::Verdict v;
  v.trunk = 2;
  net::DecodedPacket d;
  d.src = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1};
  const detect::InviteKeys k = record_keys(v, msg, d);
  EXPECT_EQ(k.call_id_hash, detect::call_id_hash("fill-1@example"));
  EXPECT_EQ(k.cseq, 7u);
  EXPECT_EQ(k.trunk, 2u);
  EXPECT_EQ(k.source, (192u << 24) | (2u << 8) | 1u);
  EXPECT_EQ(k.caller, 0u);  // not E.164 in the verdict: no key
}

sip::Message parsed(const std::string& text) {
  sip::Message msg;
  EXPECT_EQ(sip::parse_message(text, msg), sip::ParseError::none);
  return msg;
}

const std::string kInvite =
    "INVITE sip:+8610123456789@core.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK1\r\n"
    "From: <sip:+8613900139000@trunk.example>;tag=1\r\n"
    "To: <sip:+8610123456789@core.example>\r\n"
    "Call-ID: invite-record-1@example\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

net::DecodedPacket packet() {
  net::DecodedPacket d;
  d.ip_version = 4;
  d.src = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 7};
  d.l4_proto = 17;
  d.src_port = 5070;
  return d;
}

TEST(CallRecordFill, InviteRecordRejectedByARule) {
  const number::DialPlan plan = number::DialPlan::china();
  const sip::Message msg = parsed(kInvite);
  classify::Verdict v;
  v.action = rules::ActionKind::reject;
  v.reject_code = 608;
  v.decided_by = classify::DecidedBy::rule;
  v.rule_id = "block-robocallers";
  v.trunk = 3;
  v.caller = number::normalize("+8613900139000", {}, plan);
  v.callee = number::normalize("+8610123456789", {}, plan);
  CallRecord call = call_at(5'000);
  const InviteTexts t = invite_texts(v, {"carrier-a", "2026-12-07.1", ""}, msg);
  Units u;
  pack_invite_record(u.bytes, t, v, packet(), 1, 2, call, 777);
  const CallRecordWire r = unpacked(u, t.units());
  EXPECT_EQ(protocol::record_problem(r), nullptr);
  EXPECT_EQ(r.kind, static_cast<std::uint8_t>(protocol::CallRecordKind::invite));
  EXPECT_EQ(r.call_hash, 42u);
  EXPECT_EQ(r.start_ms, 5'000u);
  EXPECT_EQ(r.time_ns, 777u);
  EXPECT_EQ(r.worker, 2);
  EXPECT_EQ(r.in_port, 1);
  EXPECT_EQ(r.ip_version, 4);
  EXPECT_EQ(r.transport, 17);
  EXPECT_EQ(r.src_port, 5070);
  EXPECT_EQ(r.src[15], 7);
  EXPECT_EQ(r.action, static_cast<std::uint8_t>(rules::ActionKind::reject));
  EXPECT_EQ(r.reject_code, 608);
  EXPECT_EQ(r.end, 0);
  EXPECT_EQ(r.final_code, 0);
  EXPECT_EQ(protocol::get_text(r.trunk), "carrier-a");
  EXPECT_EQ(protocol::get_text(r.rule), "block-robocallers");
  EXPECT_EQ(protocol::get_text(r.detector), "");
  EXPECT_EQ(protocol::get_text(r.ruleset_version), "2026-12-07.1");
  EXPECT_EQ(protocol::get_text(r.caller), "+8613900139000");
  EXPECT_EQ(protocol::get_text(r.callee), "+8610123456789");
  EXPECT_EQ(protocol::get_text(r.caller_raw), "+8613900139000");
  EXPECT_EQ(protocol::get_text(r.callee_raw), "+8610123456789");
  EXPECT_EQ(protocol::get_text(r.call_id), "invite-record-1@example");
  // What a typical call costs the ring: the head and 2 units of texts.
  EXPECT_EQ(t.units(), 3u);
  // Every byte after a text is NUL (the store reads up to the first NUL).
  for (std::size_t i = std::strlen(r.call_id); i < sizeof r.call_id; ++i) EXPECT_EQ(r.call_id[i], '\0');
}

TEST(CallRecordFill, InviteRecordDefaultPassWithoutNumbers) {
  const sip::Message msg = parsed(kInvite);
  classify::Verdict v;
  v.action = rules::ActionKind::pass;
  v.decided_by = classify::DecidedBy::default_action;
  const InviteTexts t = invite_texts(v, {"", "v1", ""}, msg);
  Units u;
  pack_invite_record(u.bytes, t, v, packet(), 0, 0, call_at(1), 1);
  const CallRecordWire r = unpacked(u, t.units());
  EXPECT_EQ(protocol::get_text(r.rule), "(default)");
  EXPECT_EQ(protocol::get_text(r.trunk), "");
  EXPECT_EQ(protocol::get_text(r.caller), "");  // not E.164 in the verdict
  EXPECT_EQ(protocol::get_text(r.caller_raw), "+8613900139000");
  EXPECT_EQ(r.reject_code, 0);  // only a reject carries one
}

// Every text at its field's limit, and past it: cut to the field, never
// inside a UTF-8 sequence, and the record takes the most units there are.
TEST(CallRecordFill, LongestTextsAreCutAndTakeTheMostUnits) {
  std::string call_id(200, 'c');
  call_id[62] = '\xE4';  // a 3-byte sequence across the 63-byte limit
  call_id[63] = '\xB8';
  call_id[64] = '\xAD';
  const std::string name(100, 'n');
  const std::string text = "INVITE sip:" + name +
                           "@core.example SIP/2.0\r\n"
                           "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK1\r\n"
                           "From: <sip:" +
                           name +
                           "@trunk.example>;tag=1\r\n"
                           "To: <sip:" +
                           name +
                           "@core.example>\r\n"
                           "Call-ID: " +
                           call_id +
                           "\r\n"
                           "CSeq: 1 INVITE\r\n"
                           "Content-Length: 0\r\n\r\n";
  const sip::Message msg = parsed(text);
  classify::Verdict v;
  v.decided_by = classify::DecidedBy::rule;
  v.rule_id = name;
  v.caller.kind = number::NumberKind::e164;
  InviteTexts t = invite_texts(v, {name, name, name}, msg);
  t.set(kCaller, name);  // as if the normaliser had made a 100-digit number
  t.set(kCallee, name);
  EXPECT_EQ(t.bytes, kMaxInviteTextBytes - 1);  // the Call-ID cut before the sequence: 62 bytes
  EXPECT_EQ(t.units(), kMaxRecordUnits);
  Units u;
  pack_invite_record(u.bytes, t, v, packet(), 0, 0, call_at(1), 1);
  const CallRecordWire r = unpacked(u, kMaxRecordUnits);
  EXPECT_EQ(protocol::get_text(r.call_id), call_id.substr(0, 62));
  EXPECT_EQ(protocol::get_text(r.trunk), name.substr(0, 31));
  EXPECT_EQ(protocol::get_text(r.rule), name.substr(0, 63));
  EXPECT_EQ(protocol::get_text(r.caller), name.substr(0, 19));
  EXPECT_EQ(protocol::get_text(r.callee_raw), name.substr(0, 31));
}

// The main lcore never reads past the units it was given, whatever they hold.
TEST(RecordPack, UnitsThatFrameNoRecordAreRefused) {
  Units u;
  pack_outcome_record(u.bytes, call_at(1), CallEnd::expired, 0, 0);
  auto* h = reinterpret_cast<PackedRecordHead*>(u.bytes);
  CallRecordWire r;
  unsigned units = 0;
  EXPECT_NE(unpack_record(u.bytes, 0, r, units), nullptr);
  h->units = 0;
  EXPECT_NE(unpack_record(u.bytes, 1, r, units), nullptr);
  h->units = 2;  // an outcome is one unit
  EXPECT_NE(unpack_record(u.bytes, 2, r, units), nullptr);
  h->units = kMaxRecordUnits + 1;
  EXPECT_NE(unpack_record(u.bytes, kMaxRecordUnits, r, units), nullptr);
  h->units = 1;
  h->kind = 9;
  EXPECT_NE(unpack_record(u.bytes, 1, r, units), nullptr);

  const sip::Message msg = parsed(kInvite);
  classify::Verdict v;
  const InviteTexts t = invite_texts(v, {"trunk", "v1", ""}, msg);
  pack_invite_record(u.bytes, t, v, packet(), 0, 0, call_at(1), 1);
  ASSERT_EQ(unpack_record(u.bytes, t.units(), r, units), nullptr);
  EXPECT_NE(unpack_record(u.bytes, t.units() - 1, r, units), nullptr);  // the texts' last unit is not at hand
  h->invite.text_len[kCallId] = 64;                                     // longer than the field
  EXPECT_NE(unpack_record(u.bytes, t.units(), r, units), nullptr);
  for (unsigned i = 0; i < kInviteTextCount; ++i) h->invite.text_len[i] = kInviteTextMax[i];  // beyond its units
  EXPECT_NE(unpack_record(u.bytes, t.units(), r, units), nullptr);
}

// A ring of kSize units, as rte_ring's zero-copy calls hand out its memory:
// the producer's and the consumer's positions, in units, never wrapped.
struct FakeRing {
  static constexpr unsigned kSize = 10;
  alignas(64) std::uint8_t mem[kSize * kRecordUnit];
  unsigned head = 0, tail = 0;  // produced, consumed

  RingUnits at(unsigned pos, unsigned n) {
    const unsigned i = pos % kSize;
    const unsigned n1 = std::min(n, kSize - i);
    return {mem + std::size_t{i} * kRecordUnit, n1, mem, n};
  }
  void put(const std::uint8_t* units, unsigned n) {
    ASSERT_LE(head - tail + n, kSize);
    copy_units(at(head, n), units);
    head += n;
  }
  unsigned take(unsigned max_records, std::vector<CallRecordWire>& out, std::uint64_t& unreadable) {
    const unsigned n = std::min(head - tail, max_records * kMaxRecordUnits);
    std::vector<std::uint8_t> bytes(std::size_t{max_records} * sizeof(CallRecordWire));
    unsigned used = 0;
    const unsigned got = unpack_units(at(tail, n), max_records, bytes.data(), used, unreadable);
    tail += used;
    for (unsigned k = 0; k < got; ++k) {
      CallRecordWire r;
      std::memcpy(&r, bytes.data() + std::size_t{k} * sizeof r, sizeof r);
      out.push_back(r);
    }
    return got;
  }
};

// Records written and read across the ring's end, again and again, in asks
// of one record, two, or many: each arrives whole, once, in order.
TEST(RecordPack, RecordsAcrossTheRingsEndArriveWhole) {
  const sip::Message msg = parsed(kInvite);
  classify::Verdict v;
  v.decided_by = classify::DecidedBy::rule;
  FakeRing ring;
  std::vector<CallRecordWire> got;
  std::uint64_t unreadable = 0;
  std::vector<std::string> sent;
  for (unsigned k = 0; k < 40; ++k) {
    Units u;
    unsigned units = 1;
    CallRecord call = call_at(1000 + k);
    call.keys.call_id_hash = 100 + k;
    if (k % 3 == 2) {
      pack_outcome_record(u.bytes, call, CallEnd::expired, 0, k);
      sent.push_back("outcome");
    } else {
      v.rule_id = k % 2 ? "r" : "a-longer-rule-name-that-takes-a-unit-more-than-the-short-one-does-x";
      const InviteTexts t = invite_texts(v, {"trunk", "v1", ""}, msg);
      units = t.units();
      pack_invite_record(u.bytes, t, v, packet(), 0, 0, call, k);
      sent.push_back(std::string(t.text[kRule]));
    }
    ring.put(u.bytes, units);
    if (::testing::Test::HasFatalFailure()) return;
    // Read one record after each write, except now and then (two, or all).
    ring.take(k % 4 == 3 ? 2 : 1, got, unreadable);
    if (k % 7 == 6) ring.take(64, got, unreadable);
  }
  while (ring.take(64, got, unreadable) != 0) {
  }
  EXPECT_EQ(unreadable, 0u);
  EXPECT_EQ(ring.head, ring.tail);
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].call_hash, 100 + k) << k;
    EXPECT_EQ(got[k].time_ns, k) << k;
    if (sent[k] == "outcome")
      EXPECT_EQ(got[k].kind, static_cast<std::uint8_t>(protocol::CallRecordKind::outcome)) << k;
    else
      EXPECT_EQ(protocol::get_text(got[k].rule), sent[k]) << k;
  }
}

// A unit count no packing writes: the rest of what is at hand cannot be
// framed, so it is skipped and counted, and nothing is read past it.
TEST(RecordPack, ABadUnitCountSkipsTheRestAndCountsIt) {
  FakeRing ring;
  Units u;
  pack_outcome_record(u.bytes, call_at(1), CallEnd::expired, 0, 0);
  ring.put(u.bytes, 1);
  u.bytes[offsetof(PackedRecordHead, units)] = 0;
  ring.put(u.bytes, 1);
  pack_outcome_record(u.bytes, call_at(2), CallEnd::expired, 0, 0);
  ring.put(u.bytes, 1);
  std::vector<CallRecordWire> got;
  std::uint64_t unreadable = 0;
  EXPECT_EQ(ring.take(64, got, unreadable), 1u);
  EXPECT_EQ(unreadable, 2u);
  EXPECT_EQ(ring.head, ring.tail);
}

}  // namespace
}  // namespace sipwall::dataplane
