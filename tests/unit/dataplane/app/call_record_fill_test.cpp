// Filling call records (dataplane/app/call_record_fill.h): the outcome
// record from a call-table entry, the caller and callee as written, and the
// call-table keys the worker makes when no detector made them.
#include "dataplane/app/call_record_fill.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/detect/key_hash.h"

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

TEST(CallRecordFill, AnsweredCallWithBye) {
  CallRecord c = call_at(1'000);
  c.seen = CallRecord::kRinging | CallRecord::kAnswered | CallRecord::kFinal | CallRecord::kAcked | CallRecord::kBye;
  c.ring_ms = 1'800;
  c.answer_ms = 6'000;
  c.final_ms = 6'000;
  c.bye_ms = 36'500;
  c.final_code = 200;
  CallRecordWire r;
  fill_outcome_record(r, c, CallEnd::expired, 3, 123);
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
  EXPECT_EQ(r.time_ns, 123u);
}

TEST(CallRecordFill, CancelledWhileRinging) {
  CallRecord c = call_at(0);
  c.seen = CallRecord::kRinging | CallRecord::kCancelled | CallRecord::kFinal;
  c.ring_ms = 500;
  c.cancel_ms = 2'500;
  c.final_ms = 2'600;  // the 487 after the CANCEL
  c.final_code = 487;
  CallRecordWire r;
  fill_outcome_record(r, c, CallEnd::replaced, 0, 0);
  EXPECT_EQ(r.ring_ms, 500u);
  EXPECT_EQ(r.answer_ms, 0u);
  EXPECT_EQ(r.talk_ms, 0u);
  EXPECT_EQ(r.duration_ms, 2'500u);  // the CANCEL came first
  EXPECT_EQ(r.end, static_cast<std::uint8_t>(CallEnd::replaced));
  EXPECT_EQ(r.seen & CallRecordWire::kCancelled, CallRecordWire::kCancelled);
}

TEST(CallRecordFill, NothingSeenYet) {
  CallRecordWire r;
  fill_outcome_record(r, call_at(7), CallEnd::evicted, 0, 0);
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

}  // namespace
}  // namespace sipwall::dataplane
