// Depth::verdict (Via, Contact and Max-Forwards located, parsed only by
// parse_deferred()) against Depth::full: the same fields, the same errors,
// on valid messages, on every single-byte edit of them and on every cut.
// The RFC 4475 / 5118 / PROTOS corpora go through the same check in
// tests/corpus; the parser's fuzz target runs it on every input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/dataplane/sip/depth_check.h"
#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip {
namespace {

using test::check_depths;
using test::MsgBuilder;

void expect_agree(const std::string& s, const std::string& what) {
  for (Transport t : {Transport::datagram, Transport::stream}) {
    const std::string d = check_depths(s, t);
    EXPECT_EQ(d, "") << what << (t == Transport::stream ? " (stream)" : " (datagram)") << "\n" << s;
  }
}

std::string with_body(const MsgBuilder& b) {
  return b.str("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n");
}

TEST(Depth, VerdictLeavesTheThreeValuesAndDeferredParsesThem) {
  const std::string s = with_body(MsgBuilder{});
  auto m = std::make_unique<Message>();
  ASSERT_EQ(parse_message(s, *m, Transport::datagram, Depth::verdict), ParseError::none);
  EXPECT_TRUE(m->deferred);
  EXPECT_FALSE(m->via.present);
  EXPECT_FALSE(m->contact.present);
  EXPECT_FALSE(m->has_max_forwards);
  // What a verdict reads is there.
  EXPECT_EQ(m->from.uri.user, "+15559870000");
  EXPECT_EQ(m->to.uri.user, "+15551230000");
  EXPECT_EQ(m->call_id, "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(m->cseq.number, 314159u);
  // The lines are located, with their ids.
  ASSERT_NE(m->find(HeaderId::via), nullptr);
  EXPECT_EQ(m->header("Max-Forwards"), "70");
  ASSERT_EQ(parse_deferred(s, *m), ParseError::none);
  EXPECT_FALSE(m->deferred);
  EXPECT_TRUE(m->via.present);
  EXPECT_EQ(m->via.branch, "z9hG4bK776asdhds");
  EXPECT_EQ(m->via.port, 5060);
  EXPECT_EQ(m->contact.uri.user, "alice");
  EXPECT_EQ(m->max_forwards, 70u);
  // A full parse never sets it; parse_deferred() is then a no-op.
  ASSERT_EQ(parse_message(s, *m), ParseError::none);
  EXPECT_FALSE(m->deferred);
  EXPECT_EQ(parse_deferred(s, *m), ParseError::none);
  EXPECT_EQ(m->via.branch, "z9hG4bK776asdhds");
}

TEST(Depth, ABadDeferredValueFailsOnlyWhenItIsParsed) {
  const std::string s = with_body(MsgBuilder{}.set("Via", "SIP/2.0/UDP host:70000;branch=x"));
  auto m = std::make_unique<Message>();
  ASSERT_EQ(parse_message(s, *m), ParseError::bad_via);
  const std::size_t offset = m->error_offset;
  ASSERT_EQ(parse_message(s, *m, Transport::datagram, Depth::verdict), ParseError::none);
  EXPECT_EQ(m->from.uri.user, "+15559870000");
  EXPECT_EQ(parse_deferred(s, *m), ParseError::bad_via);
  EXPECT_EQ(m->error_offset, offset);
  EXPECT_EQ(m->header_count, 0);  // cleared as a failed parse leaves it
  EXPECT_FALSE(m->deferred);
}

// What a response needs, and only that: the top Via. A bad Contact does not
// stop it; a bad top Via gives the full parse's error where it stops.
TEST(Depth, TopViaAloneForAResponse) {
  const std::string bad_contact = with_body(MsgBuilder{}.set("Contact", "<sip:a@b").add("Via", "SIP/2.0/UDP second"));
  auto m = std::make_unique<Message>();
  ASSERT_EQ(parse_message(bad_contact, *m), ParseError::unbalanced_angle);  // the Contact's '<'
  const std::size_t contact_offset = m->error_offset;
  ASSERT_EQ(parse_message(bad_contact, *m, Transport::datagram, Depth::verdict), ParseError::none);
  ASSERT_EQ(parse_top_via(bad_contact, *m), ParseError::none);
  EXPECT_TRUE(m->via.present);
  EXPECT_EQ(m->via.host, "192.0.2.1");
  EXPECT_EQ(m->via.branch, "z9hG4bK776asdhds");
  EXPECT_TRUE(m->deferred);  // Contact and Max-Forwards still to come
  EXPECT_FALSE(m->contact.present);
  EXPECT_EQ(parse_top_via(bad_contact, *m), ParseError::none);  // once is enough
  EXPECT_EQ(parse_deferred(bad_contact, *m), ParseError::unbalanced_angle);
  EXPECT_EQ(m->error_offset, contact_offset);

  const std::string bad_via = with_body(MsgBuilder{}.set("Via", "SIP/2.0/UDP 192.0.2.1;;branch=x"));
  ASSERT_EQ(parse_message(bad_via, *m), ParseError::bad_via);
  const std::size_t offset = m->error_offset;
  ASSERT_EQ(parse_message(bad_via, *m, Transport::datagram, Depth::verdict), ParseError::none);
  EXPECT_EQ(parse_top_via(bad_via, *m), ParseError::bad_via);
  EXPECT_EQ(m->error_offset, offset);
  EXPECT_EQ(m->header_count, 0);
  EXPECT_FALSE(m->deferred);

  // A full parse has its Via already: nothing to do.
  const std::string good = with_body(MsgBuilder{});
  ASSERT_EQ(parse_message(good, *m), ParseError::none);
  EXPECT_EQ(parse_top_via(good, *m), ParseError::none);
  EXPECT_EQ(m->via.branch, "z9hG4bK776asdhds");
}

TEST(Depth, AMessageWithoutViaIsRefusedAtBothDepths) {
  const std::string s = with_body(MsgBuilder{}.del("Via"));
  auto m = std::make_unique<Message>();
  EXPECT_EQ(parse_message(s, *m, Transport::datagram, Depth::verdict), ParseError::missing_via);
  expect_agree(s, "no Via");
}

TEST(Depth, ValuesOfTheDeferredHeaders) {
  const std::vector<std::string> vias = {
      "SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bKdemo-001;rport",
      "SIP/2.0/TCP client.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1",
      "SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3-111",
      "SIP/2.0/UDP 192.0.2.1;BRANCH=z9hG4bKx, SIP/2.0/UDP 192.0.2.2",
      "SIP / 2.0 / UDP host;branch=x",
      "SIP/2.0/UDP host:70000;branch=x",
      "SIP/2.0/UDP host:;branch=x",
      "SIP/2.0/UDP;branch=x",
      "SIP/2.0/UDP host junk",
      "SIP/2.0/UDP host;branch=" + std::string(200, 'b'),  // past the value window: the reference parser
      "SIP/2.0/UDP 192.0.2.1\r\n ;branch=folded",
      "",
  };
  const std::vector<std::string> contacts = {
      "<sip:alice@192.0.2.1:5060>",
      "*",
      " * ",
      "\"A\" <sip:a@b>;expires=60, <sip:c@d>",
      "<sip:a@b",
      "\"unterminated <sip:a@b>",
      "<sip:a%2@b>",
      "<sip:" + std::string(300, 'u') + "@example.com>",
      "",
  };
  const std::vector<std::string> max_forwards = {"70", "007", "255", "256", "", "7x", "99999999999"};
  for (const std::string& v : vias) expect_agree(with_body(MsgBuilder{}.set("Via", v)), "Via: " + v);
  for (const std::string& v : vias) {
    expect_agree(with_body(MsgBuilder{}.add("Via", v)), "second Via: " + v);
    expect_agree(with_body(MsgBuilder{}.set("Via", v).line("SIP/2.0 180 Ringing")), "response, Via: " + v);
  }
  for (const std::string& v : contacts) {
    expect_agree(with_body(MsgBuilder{}.set("Contact", v)), "Contact: " + v);
    expect_agree(with_body(MsgBuilder{}.del("Contact").add("m", v)), "m: " + v);
    expect_agree(with_body(MsgBuilder{}.add("Contact", v)), "second Contact: " + v);
  }
  for (const std::string& v : max_forwards) {
    expect_agree(with_body(MsgBuilder{}.set("Max-Forwards", v)), "Max-Forwards: " + v);
  }
  expect_agree(with_body(MsgBuilder{}.add("Max-Forwards", "70")), "two Max-Forwards");
  expect_agree(with_body(MsgBuilder{}.del("Contact").del("Max-Forwards")), "neither Contact nor Max-Forwards");
  // A bad deferred value before and after a bad value the verdict reads.
  expect_agree(with_body(MsgBuilder{}.set("Via", "SIP/2.0/UDP host:0x;b").set("From", "<sip:a@b")), "bad Via, From");
  expect_agree(with_body(MsgBuilder{}.set("From", "<sip:a@b").add("Via", "bad")), "bad From, then a bad Via");
  expect_agree(with_body(MsgBuilder{}.set("Via", "bad").del("To")), "bad Via, no To");
  expect_agree(with_body(MsgBuilder{}.set("Max-Forwards", "x").set("CSeq", "1 BYE")), "bad Max-Forwards, mismatch");
}

// Deterministic single-byte edits of a whole message, and every cut of it.
TEST(Depth, EveryEditAndEveryCutAgrees) {
  MsgBuilder b;
  b.set("Contact", "\"A b\" <sip:alice@192.0.2.1:5060;transport=udp>;expires=3600");
  b.add("v", "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK-2;rport");
  b.add("P-Asserted-Identity", "<sip:+15559870000@example.org>");
  const std::string text = with_body(b);
  static const char kBytes[] = {' ', '\t', ';', ',', '<', '>', '"',  '\\', '@',    ':',   '%',
                                '=', '[',  ']', '/', 'A', '0', '\r', '\n', '\x01', '\x80'};
  int n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (char c : kBytes) {
      std::string s = text;
      s[i] = c;
      const std::string d = check_depths(s, Transport::datagram);
      ASSERT_EQ(d, "") << "byte " << i << " -> " << static_cast<int>(c) << "\n" << s;
      ++n;
    }
  }
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const std::string s = text.substr(0, cut);
    for (Transport t : {Transport::datagram, Transport::stream}) {
      ASSERT_EQ(check_depths(s, t), "") << "cut at " << cut;
    }
  }
  EXPECT_GT(n, 5000);
}

}  // namespace
}  // namespace sipwall::sip
