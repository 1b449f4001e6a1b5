// The call-event glue: parsed SIP messages in, WorkerDetect call events out.
// Pins which messages are events (responses by CSeq method, CANCEL, ACK,
// BYE), that the Call-ID hash matches the INVITE's, and that a one-ring
// call and a short call fed as SIP text reach their outcome detectors.
#include "dataplane/detect/call_events.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "dataplane/detect/worker_detect.h"
#include "tests/unit/dataplane/detect/detect_test_util.h"

namespace sipwall::detect {
namespace {

std::string request(const std::string& method, const std::string& call_id) {
  return method + " sip:+8613800000002@example.net SIP/2.0\r\n" +
         "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
         "From: <sip:+8613800000001@example.net>;tag=a\r\n"
         "To: <sip:+8613800000002@example.net>\r\n"
         "Call-ID: " +
         call_id + "\r\nCSeq: 1 " + method + "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
}

std::string response(unsigned code, const std::string& call_id, const std::string& cseq_method) {
  return "SIP/2.0 " + std::to_string(code) +
         " Whatever\r\n"
         "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
         "From: <sip:+8613800000001@example.net>;tag=a\r\n"
         "To: <sip:+8613800000002@example.net>;tag=b\r\n"
         "Call-ID: " +
         call_id + "\r\nCSeq: 1 " + cseq_method + "\r\nContent-Length: 0\r\n\r\n";
}

// Parses `text` into `msg`, keeping the text alive: a sip::Message holds views
// into the bytes it was parsed from, so they must outlive its use.
sip::ParseError parse_kept(std::string text, sip::Message& msg) {
  static std::deque<std::string> kept;
  kept.push_back(std::move(text));
  return sip::parse_message(kept.back(), msg);
}

// Parses into a static message (sip::Message is large) and returns its event.
CallEvent event_of(const std::string& text) {
  static sip::Message msg;
  EXPECT_EQ(sip::parse_message(text, msg), sip::ParseError::none) << text;
  return call_event(msg);
}

TEST(CallEvents, WhichMessagesAreEvents) {
  const std::uint64_t h = call_id_hash("c1@host");
  CallEvent e = event_of(response(180, "c1@host", "INVITE"));
  EXPECT_EQ(e.kind, CallEventKind::response);
  EXPECT_EQ(e.code, 180);
  EXPECT_TRUE(e.to_invite);
  EXPECT_EQ(e.call_id_hash, h);

  e = event_of(response(200, "c1@host", "BYE"));  // the 200 to a BYE: an event, but not an outcome
  EXPECT_EQ(e.kind, CallEventKind::response);
  EXPECT_FALSE(e.to_invite);
  e = event_of(response(487, "c1@host", "CANCEL"));
  EXPECT_FALSE(e.to_invite);

  EXPECT_EQ(event_of(request("CANCEL", "c1@host")).kind, CallEventKind::cancel);
  EXPECT_EQ(event_of(request("ACK", "c1@host")).kind, CallEventKind::ack);
  EXPECT_EQ(event_of(request("BYE", "c1@host")).call_id_hash, h);
  EXPECT_EQ(event_of(request("BYE", "c1@host")).kind, CallEventKind::bye);

  // Not call events: INVITE (the classifier's), other requests.
  EXPECT_EQ(event_of(request("INVITE", "c1@host")).kind, CallEventKind::none);
  EXPECT_EQ(event_of(request("OPTIONS", "c1@host")).kind, CallEventKind::none);
  EXPECT_EQ(event_of(request("PRACK", "c1@host")).kind, CallEventKind::none);
  EXPECT_EQ(event_of(request("OPTIONS", "c1@host")).call_id_hash, 0u);
}

TEST(CallEvents, CallIdHashIsByteExact) {
  EXPECT_NE(call_id_hash("abc"), call_id_hash("ABC"));  // Call-IDs compare case-sensitively
  EXPECT_NE(call_id_hash("abc"), call_id_hash("abc "));
  EXPECT_NE(call_id_hash(""), 0u);
  EXPECT_EQ(call_id_hash(std::string_view("x\0y", 3)), call_id_hash(std::string("x\0y", 3)));
  EXPECT_NE(call_id_hash(std::string_view("x\0y", 3)), call_id_hash("x"));
}

// The hash as defined: 8 bytes at a time, the tail as a little-endian word
// with zeros above it. call_id_hash reads the tail of a long ID with one
// load ending at its last byte; every length 0..40 and every alignment of
// the ID in its buffer must give the defined value (the stored call records
// of earlier versions carry it).
std::uint64_t call_id_hash_as_defined(std::string_view id) {
  std::uint64_t h = 0x243F6A8885A308D3ULL ^ (static_cast<std::uint64_t>(id.size()) * 0x9E3779B97F4A7C15ULL);
  std::size_t i = 0;
  for (; i + 8 <= id.size(); i += 8) {
    std::uint64_t w = 0;
    for (unsigned b = 0; b < 8; ++b) w |= std::uint64_t{static_cast<unsigned char>(id[i + b])} << (8 * b);
    h = mix64(h ^ w) * 0x9E3779B97F4A7C15ULL;
  }
  if (i < id.size()) {
    std::uint64_t w = 0;
    for (unsigned b = 0; i + b < id.size(); ++b) w |= std::uint64_t{static_cast<unsigned char>(id[i + b])} << (8 * b);
    h = mix64(h ^ w ^ 0xA0761D6478BD642FULL) * 0x9E3779B97F4A7C15ULL;
  }
  h = mix64(h);
  return h != 0 ? h : 1;
}

TEST(CallEvents, CallIdHashOfEveryLengthIsTheDefinedOne) {
  std::string buf;
  for (int i = 0; i < 64; ++i) buf.push_back(static_cast<char>(0x80 + i * 7));  // high bytes too
  for (std::size_t offset = 0; offset < 8; ++offset)
    for (std::size_t len = 0; len <= 40; ++len) {
      const std::string_view id(buf.data() + offset, len);
      EXPECT_EQ(call_id_hash(id), call_id_hash_as_defined(id)) << "length " << len << ", offset " << offset;
    }
  EXPECT_EQ(call_id_hash("a84b4c76e66710@pc33.atlanta.com"),
            call_id_hash_as_defined("a84b4c76e66710@pc33.atlanta.com"));
}

TEST(CallEvents, OneRingFedAsSip) {
  DetectorSpec spec = testing::one_ring();
  spec.block = 1;  // fires on the second one-ring call
  WorkerDetect w({&spec, 1}, WorkerOptions{});
  Levels lv;
  for (int call = 0; call < 2; ++call) {
    const std::string cid = "ring-" + std::to_string(call);
    const std::uint64_t t = 1'000'000 + call * 10'000;
    w.on_invite(testing::invite(testing::number(1), testing::number(2 + call), call_id_hash(cid)), t, lv);
    EXPECT_EQ(lv.d[0].level, Level::none);
    static sip::Message msg;
    ASSERT_EQ(parse_kept(response(100, cid, "INVITE"), msg), sip::ParseError::none);
    EXPECT_EQ(feed_call_event(w, msg, t + 10).outcome.events, 0);
    ASSERT_EQ(parse_kept(response(180, cid, "INVITE"), msg), sip::ParseError::none);
    EXPECT_NE(feed_call_event(w, msg, t + 200).call, nullptr);
    ASSERT_EQ(parse_kept(request("CANCEL", cid), msg), sip::ParseError::none);
    const EventResult r = feed_call_event(w, msg, t + 1'200);
    EXPECT_TRUE(r.outcome.has(Outcome::kCancelledRinging));
    EXPECT_EQ(r.outcome.ring_to_cancel_ms, 1'000u);
    ASSERT_EQ(parse_kept(response(200, cid, "CANCEL"), msg), sip::ParseError::none);
    EXPECT_EQ(feed_call_event(w, msg, t + 1'210).outcome.events, 0);  // 200 to the CANCEL: no outcome
    ASSERT_EQ(parse_kept(response(487, cid, "INVITE"), msg), sip::ParseError::none);
    EXPECT_EQ(feed_call_event(w, msg, t + 1'220).outcome.events, 0);  // already unanswered
  }
  // The next INVITE of that caller reads two one-ring calls: over block = 1.
  w.on_invite(testing::invite(testing::number(1), testing::number(9), call_id_hash("next")), 1'030'000, lv);
  EXPECT_EQ(lv.d[0].count, 2u);
  EXPECT_EQ(lv.d[0].level, Level::block);
}

TEST(CallEvents, ShortCallAndUnknownCallId) {
  DetectorSpec spec = testing::make_spec(0x5C, DetectKey::caller, DetectCount::short_calls, 60'000, 0, 5);
  spec.within_ms = 10'000;
  WorkerDetect w({&spec, 1}, WorkerOptions{});
  Levels lv;
  w.on_invite(testing::invite(testing::number(1), testing::number(2), call_id_hash("s1")), 5'000, lv);
  static sip::Message msg;
  ASSERT_EQ(parse_kept(response(200, "s1", "INVITE"), msg), sip::ParseError::none);
  EXPECT_TRUE(feed_call_event(w, msg, 6'000).outcome.has(Outcome::kAnswered));
  ASSERT_EQ(parse_kept(request("ACK", "s1"), msg), sip::ParseError::none);
  EXPECT_NE(feed_call_event(w, msg, 6'010).call, nullptr);
  ASSERT_EQ(parse_kept(request("BYE", "s1"), msg), sip::ParseError::none);
  const EventResult bye = feed_call_event(w, msg, 9'000);
  EXPECT_TRUE(bye.outcome.has(Outcome::kEnded));
  EXPECT_EQ(bye.outcome.talk_ms, 3'000u);
  // A BYE of a call the worker never saw: nothing, counted as unknown.
  ASSERT_EQ(parse_kept(request("BYE", "other"), msg), sip::ParseError::none);
  EXPECT_EQ(feed_call_event(w, msg, 9'100).call, nullptr);
  EXPECT_EQ(w.calls().unknown(), 1u);
}

}  // namespace
}  // namespace sipwall::detect
