// Via, CSeq, Max-Forwards, Call-ID, the raw single-value fields, and what a
// message must carry to be accepted.
#include <gtest/gtest.h>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

TEST(Via, TopValueFields) {
  MsgBuilder b;
  b.set("Via",
        "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1;rport;received=192.0.2.9, "
        "SIP/2.0/TCP 203.0.113.9;branch=z9hG4bK8e2a")
      .add("Via", "SIP/2.0/TLS third.example.com;branch=z9hG4bK3");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_TRUE(p->via.present);
  EXPECT_EQ(p->via.transport, "UDP");
  EXPECT_EQ(p->via.host, "198.51.100.7");
  EXPECT_EQ(p->via.port, 5060);
  EXPECT_EQ(p->via.branch, "z9hG4bK-524287-1");
  EXPECT_EQ(p->via.params, "branch=z9hG4bK-524287-1;rport;received=192.0.2.9");
  EXPECT_EQ(p->via.text, "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1;rport;received=192.0.2.9");
}

TEST(Via, Forms) {
  struct Case {
    const char* value;
    const char* transport;
    const char* host;
    std::uint16_t port;
    const char* branch;
  };
  const Case cases[] = {
      {"SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111", "UDP", "[2001:db8::9:1]", 6050, "z9hG4bKas3-111"},
      {"SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3", "UDP", "[2001:db8::9:1]", 0,
       "z9hG4bKas3"},
      {"sip/2.0/tcp host.example.com", "tcp", "host.example.com", 0, ""},
      {"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw", "UDP", "192.0.2.2", 0, "390skdjuw"},
      {"SIP / 2.0 / SCTP host : 5070 ; branch = z9hG4bK1 ; ttl=16", "SCTP", "host", 5070, "z9hG4bK1"},
      {"SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en", "UNKNOWN", "t4.example.com", 0, "z9hG4bKasd0f3en"},
      {"SIP/2.0/UDP 192.0.2.1;branch=\"quoted\"", "UDP", "192.0.2.1", 0, "quoted"},
      {"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK", "UDP", "192.0.2.1", 0, "z9hG4bK"},
  };
  for (const Case& c : cases) {
    Parsed p(MsgBuilder{}.set("Via", c.value).str());
    ASSERT_EQ(p.err, ParseError::none) << c.value << ": " << name(p.err);
    EXPECT_EQ(p->via.transport, c.transport) << c.value;
    EXPECT_EQ(p->via.host, c.host) << c.value;
    EXPECT_EQ(p->via.port, c.port) << c.value;
    EXPECT_EQ(p->via.branch, c.branch) << c.value;
  }
}

TEST(Via, Errors) {
  for (const char* v :
       {"", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0 UDP host", "SIP//UDP host", "/2.0/UDP host",
        "SIP/2.0/UDP host;;branch=1", "SIP/2.0/UDP 192.0.2.15;;,;,,", "SIP/2.0/UDP host:", "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP [::1", "SIP/2.0/UDP host junk", "SIP/2.0/UDP host;branch=", "// ;0=;", "/"}) {
    Parsed p(MsgBuilder{}.set("Via", v).str());
    EXPECT_EQ(p.err, ParseError::bad_via) << "'" << v << "' -> " << name(p.err);
  }
  // Only the top value is parsed; later ones are passed through.
  MsgBuilder b;
  b.add("Via", "garbage");
  EXPECT_EQ(Parsed(b.str()).err, ParseError::none);
}

TEST(CSeq, Values) {
  Parsed p(MsgBuilder{}.set("CSeq", "2147483647 INVITE").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->cseq.number, 2147483647u);
  EXPECT_EQ(p->cseq.method, "INVITE");
  EXPECT_TRUE(p->cseq.present);
  for (const char* v : {"2147483648 INVITE", "36893488147419103232 INVITE", "INVITE", "1", "1INVITE", "-1 INVITE",
                        "1 INVITE extra", "1 INV@TE", ""}) {
    Parsed q(MsgBuilder{}.set("CSeq", v).str());
    EXPECT_EQ(q.err, ParseError::bad_cseq) << "'" << v << "' -> " << name(q.err);
  }
}

TEST(CSeq, MethodMustMatchRequest) {
  Parsed p(MsgBuilder{}.set("CSeq", "1 OPTIONS").str());
  EXPECT_EQ(p.err, ParseError::cseq_method_mismatch);
  // The message was framed before the check: a stream reader can skip it.
  EXPECT_EQ(p->length, p.buf.size());
  Parsed q(MsgBuilder{}.line("OPTIONS sip:bob@example.com SIP/2.0").set("CSeq", "8 INVITE").str());
  EXPECT_EQ(q.err, ParseError::cseq_method_mismatch);
  Parsed r(MsgBuilder{}.set("CSeq", "1 invite").str());  // case-sensitive
  EXPECT_EQ(r.err, ParseError::cseq_method_mismatch);
  Parsed resp(MsgBuilder{}.line("SIP/2.0 200 OK").set("CSeq", "1 BYE").str());
  EXPECT_EQ(resp.err, ParseError::none);
}

TEST(MaxForwards, Range) {
  Parsed z(MsgBuilder{}.set("Max-Forwards", "0").str());
  ASSERT_EQ(z.err, ParseError::none);
  EXPECT_TRUE(z->has_max_forwards);
  EXPECT_EQ(z->max_forwards, 0u);
  Parsed m(MsgBuilder{}.set("Max-Forwards", "255").str());
  EXPECT_EQ(m->max_forwards, 255u);
  for (const char* v : {"256", "300", "-1", "", "7x", "1 2", "99999999999999999999"}) {
    Parsed p(MsgBuilder{}.set("Max-Forwards", v).str());
    EXPECT_EQ(p.err, ParseError::bad_max_forwards) << "'" << v << "'";
  }
  Parsed none(MsgBuilder{}.del("Max-Forwards").str());
  ASSERT_EQ(none.err, ParseError::none);
  EXPECT_FALSE(none->has_max_forwards);
}

TEST(CallId, Values) {
  Parsed p(MsgBuilder{}.set("Call-ID", "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  for (const char* v : {"", "two words", "a;b", "a,b", "a=b"}) {
    Parsed q(MsgBuilder{}.set("Call-ID", v).str());
    EXPECT_EQ(q.err, ParseError::bad_call_id) << "'" << v << "'";
  }
}

TEST(RawFields, FirstValueKept) {
  MsgBuilder b;
  b.add("User-Agent", "Phone/1.0 (x)")
      .add("User-Agent", "Second")
      .add("Identity", "abc;info=<https://x/y>")
      .add("Content-Type", "application/sdp");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none);
  EXPECT_EQ(p->user_agent, "Phone/1.0 (x)");
  EXPECT_EQ(p->identity, "abc;info=<https://x/y>");
  EXPECT_EQ(p->content_type, "application/sdp");
}

TEST(Required, EachMissingHeaderHasItsReason) {
  const std::pair<const char*, ParseError> required[] = {{"From", ParseError::missing_from},
                                                         {"To", ParseError::missing_to},
                                                         {"Call-ID", ParseError::missing_call_id},
                                                         {"CSeq", ParseError::missing_cseq},
                                                         {"Via", ParseError::missing_via}};
  for (const auto& [h, e] : required) {
    Parsed p(MsgBuilder{}.del(h).str());
    EXPECT_EQ(p.err, e) << h;
    EXPECT_EQ(p->length, p.buf.size());
    Parsed r(MsgBuilder{}.line("SIP/2.0 200 OK").del(h).str());
    EXPECT_EQ(r.err, e) << "response without " << h;
  }
  // Contact, Max-Forwards and Content-Length (on a datagram) are optional.
  Parsed o(MsgBuilder{}.del("Contact").del("Max-Forwards").str("", false));
  EXPECT_EQ(o.err, ParseError::none) << name(o.err);
}

TEST(Message, ReuseResetsFields) {
  auto m = std::make_unique<Message>();
  const std::string full = MsgBuilder{}
                               .add("P-Asserted-Identity", "<sip:a@b>")
                               .add("Diversion", "<sip:d@b>")
                               .add("Remote-Party-ID", "<sip:r@b>")
                               .add("User-Agent", "UA")
                               .str("body");
  ASSERT_EQ(parse_message(full, *m), ParseError::none);
  const std::string bare = MsgBuilder{}.del("Contact").del("Max-Forwards").line("SIP/2.0 200 OK").str();
  ASSERT_EQ(parse_message(bare, *m), ParseError::none);
  EXPECT_FALSE(m->is_request);
  EXPECT_EQ(m->method, Method::unknown);
  EXPECT_TRUE(m->method_text.empty());
  EXPECT_FALSE(m->contact.present);
  EXPECT_EQ(m->pai_count, 0);
  EXPECT_EQ(m->diversion_count, 0);
  EXPECT_FALSE(m->remote_party_id.present);
  EXPECT_TRUE(m->user_agent.empty());
  EXPECT_FALSE(m->has_max_forwards);
  EXPECT_EQ(m->body, "");
  EXPECT_EQ(m->header_count, 6);
}

}  // namespace
}  // namespace sipwall::sip::test
