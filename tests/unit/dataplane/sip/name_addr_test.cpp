// name-addr / addr-spec in From, To, Contact, P-Asserted-Identity,
// Remote-Party-ID, Diversion and History-Info (RFC 3261 §20, §25.1).
#include <gtest/gtest.h>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

using namespace std::string_literals;

TEST(NameAddr, QuotedDisplayName) {
  Parsed p(MsgBuilder{}.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_TRUE(p->from.present);
  EXPECT_EQ(p->from.display_name, "Alice");
  EXPECT_TRUE(p->from.display_quoted);
  EXPECT_EQ(p->from.uri_text, "sip:+15559870000@example.org");
  EXPECT_EQ(p->from.uri.user, "+15559870000");
  EXPECT_EQ(p->from.params, "tag=1928301774");
  EXPECT_EQ(p->from.tag, "1928301774");
  EXPECT_FALSE(p->to.display_quoted);
  EXPECT_EQ(p->to.display_name, "");
  EXPECT_EQ(p->to.tag, "");
}

TEST(NameAddr, QuotedDisplayNameWithEscapesAndSpecials) {
  // Escapes are left as written; ',' ';' '<' inside quotes do not split.
  Parsed p(MsgBuilder{}.set("From", R"("Doe, \"JD\" <x>; y" <sip:jd@example.org>;tag=9)").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->from.display_name, R"(Doe, \"JD\" <x>; y)");
  EXPECT_EQ(p->from.uri.user, "jd");
  EXPECT_EQ(p->from.tag, "9");
}

TEST(NameAddr, UnquotedDisplayName) {
  Parsed p(MsgBuilder{}.set("From", "John   Smith <sip:js@example.org>;tag=1").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->from.display_name, "John   Smith");
  EXPECT_FALSE(p->from.display_quoted);
  // No LWS before '<' (RFC 4475 §3.1.1.6).
  Parsed q(MsgBuilder{}.set("From", "caller<sip:caller@example.com>;tag=323").str());
  ASSERT_EQ(q.err, ParseError::none) << name(q.err);
  EXPECT_EQ(q->from.display_name, "caller");
  EXPECT_EQ(q->from.uri.user, "caller");
  // Liberal: ',' (RFC 4475 §3.1.2.15) and UTF-8 in an unquoted name.
  Parsed r(MsgBuilder{}.set("To", "Watson, Thomas <sip:t.watson@example.org>").str());
  ASSERT_EQ(r.err, ParseError::none) << name(r.err);
  EXPECT_EQ(r->to.display_name, "Watson, Thomas");
  Parsed u(MsgBuilder{}.set("To", "J\xC3\xBCrgen <sip:j@example.org>").str());
  ASSERT_EQ(u.err, ParseError::none) << name(u.err);
  EXPECT_EQ(u->to.display_name, "J\xC3\xBCrgen");
}

TEST(NameAddr, AddrSpecForm) {
  Parsed p(MsgBuilder{}.set("From", "sip:caller@example.net;tag=93942939o2").set("To", "tel:+15551234567").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  // In an addr-spec, ';' starts header parameters, not uri-parameters.
  EXPECT_EQ(p->from.uri_text, "sip:caller@example.net");
  EXPECT_EQ(p->from.uri.params, "");
  EXPECT_EQ(p->from.params, "tag=93942939o2");
  EXPECT_EQ(p->from.tag, "93942939o2");
  EXPECT_EQ(p->to.uri.scheme, UriScheme::tel);
  EXPECT_EQ(p->to.uri.user, "+15551234567");
}

TEST(NameAddr, UriParamsInsideAngleBrackets) {
  Parsed p(MsgBuilder{}.set("To", "<sip:+15551230000@example.com;user=phone>;tag=abc;x-extra").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->to.uri.params, "user=phone");
  EXPECT_TRUE(p->to.uri.user_is_phone());
  EXPECT_EQ(p->to.params, "tag=abc;x-extra");
  EXPECT_EQ(p->to.tag, "abc");
}

TEST(NameAddr, HeaderParamsWithLwsAndQuotedValues) {
  Parsed p(MsgBuilder{}.set("From", "<sip:a@example.org> ; tag = 77 ; note=\"a;b,c\" ; flag").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->from.tag, "77");
  EXPECT_EQ(p->from.params, "tag = 77 ; note=\"a;b,c\" ; flag");
}

TEST(NameAddr, LiberalSpacesInsideAngleBrackets) {
  // RFC 4475 §3.1.2.14 allows a liberal parse.
  Parsed p(MsgBuilder{}.set("To", "\"Watson, Thomas\" < sip:t.watson@example.org >").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->to.uri_text, "sip:t.watson@example.org");
}

TEST(NameAddr, UnknownSchemes) {
  // RFC 4475 §3.3.4.
  Parsed p(MsgBuilder{}
               .set("To", "isbn:2983792873")
               .set("From", "<http://www.example.com>;tag=3234233")
               .set("Contact", "<name:John_Smith>")
               .str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->to.uri.scheme, UriScheme::other);
  EXPECT_EQ(p->to.uri.scheme_name, "isbn");
  EXPECT_EQ(p->from.uri.scheme_name, "http");
  EXPECT_EQ(p->from.tag, "3234233");
  EXPECT_EQ(p->contact.uri_text, "name:John_Smith");
}

TEST(NameAddr, ContactStarAndFirstValue) {
  Parsed star(MsgBuilder{}.set("Contact", "*").str());
  ASSERT_EQ(star.err, ParseError::none) << name(star.err);
  EXPECT_TRUE(star->contact.present);
  EXPECT_EQ(star->contact.uri_text, "*");
  EXPECT_EQ(star->contact.uri.scheme, UriScheme::none);

  Parsed list(MsgBuilder{}
                  .set("Contact",
                       "\"Mr. Watson, Jr\" <sip:watson@worcester.bell-telephone.com>;q=0.7; "
                       "expires=3600, \"Mr. Watson\" <mailto:watson@bell-telephone.com>;q=0.1")
                  .str());
  ASSERT_EQ(list.err, ParseError::none) << name(list.err);
  EXPECT_EQ(list->contact.display_name, "Mr. Watson, Jr");
  EXPECT_EQ(list->contact.uri.host, "worcester.bell-telephone.com");
  EXPECT_EQ(list->contact.params, "q=0.7; expires=3600");

  // The first Contact header wins; later ones are kept as header lines.
  Parsed two(MsgBuilder{}.add("m", "<sip:second@example.org>").str());
  ASSERT_EQ(two.err, ParseError::none);
  EXPECT_EQ(two->contact.uri.user, "alice");
}

TEST(NameAddr, PaiAllValuesInOrder) {
  MsgBuilder b;
  b.add("P-Asserted-Identity", "\"Cullen, Jennings\" <sip:fluffy@cisco.com>, <tel:+14085264000>")
      .add("P-Asserted-Identity", "sip:+15550001111@example.org;user=phone");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  ASSERT_EQ(p->pai_count, 3);
  EXPECT_FALSE(p->pai_overflow);
  EXPECT_EQ(p->pai[0].display_name, "Cullen, Jennings");
  EXPECT_EQ(p->pai[0].uri.user, "fluffy");
  EXPECT_EQ(p->pai[1].uri.scheme, UriScheme::tel);
  EXPECT_EQ(p->pai[1].uri.number_text(), "+14085264000");
  // addr-spec form: ';user=phone' is a header parameter here.
  EXPECT_EQ(p->pai[2].uri.user, "+15550001111");
  EXPECT_EQ(p->pai[2].params, "user=phone");
}

TEST(NameAddr, PaiOverflowIsFlagged) {
  MsgBuilder b;
  for (int i = 0; i < 6; ++i) b.add("P-Asserted-Identity", "<sip:" + std::to_string(i) + "@x.org>");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->pai_count, kMaxIdentities);
  EXPECT_TRUE(p->pai_overflow);
  EXPECT_EQ(p->pai[3].uri.user, "3");
  // Values past the limit are still validated.
  b.add("P-Asserted-Identity", "<sip:bad");
  EXPECT_EQ(Parsed(b.str()).err, ParseError::unbalanced_angle);
}

TEST(NameAddr, CommasInsideQuotesAndBracketsDoNotSplit) {
  MsgBuilder b;
  b.add("P-Asserted-Identity", "\"a,b\" <sip:x,y@example.org>, <sip:z@example.org>;p=\"q,r\"");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  ASSERT_EQ(p->pai_count, 2);
  EXPECT_EQ(p->pai[0].display_name, "a,b");
  EXPECT_EQ(p->pai[0].uri.user, "x,y");
  EXPECT_EQ(p->pai[1].uri.user, "z");
  EXPECT_EQ(p->pai[1].params, "p=\"q,r\"");
}

TEST(NameAddr, RemotePartyId) {
  Parsed p(MsgBuilder{}
               .add("Remote-Party-ID",
                    "\"John\" <sip:+15551112222@gw.example.com>;party=calling;screen=yes;"
                    "privacy=off, <sip:other@example.com>")
               .str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_TRUE(p->remote_party_id.present);
  EXPECT_EQ(p->remote_party_id.uri.user, "+15551112222");
  EXPECT_EQ(p->remote_party_id.params, "party=calling;screen=yes;privacy=off");
}

// Issue 17: the caller's value, whatever comes first; its screen and privacy.
TEST(NameAddr, RemotePartyIdKeepsTheCallingParty) {
  Parsed p(MsgBuilder{}
               .add("Remote-Party-ID", "<sip:+15553334444@gw.example.com>;party=called;screen=no")
               .add("Remote-Party-ID",
                    "\"Jane\" <sip:+15551112222@gw.example.com>;privacy=\"full\" ; PARTY=Calling;screen=yes, "
                    "<sip:+15559999999@gw.example.com>;party=calling")
               .str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  ASSERT_TRUE(p->remote_party_id.present);
  EXPECT_EQ(p->remote_party_id.uri.user, "+15551112222");
  EXPECT_EQ(p->remote_party_id.display_name, "Jane");
  EXPECT_EQ(p->rpid_screen, "yes");
  EXPECT_EQ(p->rpid_privacy, "full");
  // Without a party parameter a value is the calling party's (the draft's default).
  Parsed q(MsgBuilder{}.add("Remote-Party-ID", "<sip:+15551112222@gw.example.com>").str());
  ASSERT_EQ(q.err, ParseError::none) << name(q.err);
  EXPECT_TRUE(q->remote_party_id.present);
  EXPECT_EQ(q->rpid_screen, "");
  // Only the called party's: no caller identity, and a later bad value is still refused.
  Parsed r(MsgBuilder{}.add("Remote-Party-ID", "<sip:+15553334444@gw.example.com>;party=called").str());
  ASSERT_EQ(r.err, ParseError::none) << name(r.err);
  EXPECT_FALSE(r->remote_party_id.present);
  Parsed bad(
      MsgBuilder{}.add("Remote-Party-ID", "<sip:+15551112222@gw.example.com>;party=calling, garbage value").str());
  EXPECT_EQ(bad.err, ParseError::bad_identity_header) << name(bad.err);
}

TEST(NameAddr, HeaderParam) {
  bool found = false;
  EXPECT_EQ(header_param("party=calling;screen=yes", "screen", found), "yes");
  EXPECT_TRUE(found);
  EXPECT_EQ(header_param("a=\"x;y\";party = called", "party", found), "called");
  EXPECT_TRUE(found);
  EXPECT_EQ(header_param("lr;party=calling", "lr", found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(header_param("party=calling", "screen", found), "");
  EXPECT_FALSE(found);
}

TEST(NameAddr, DiversionValues) {
  MsgBuilder b;
  b.add("Diversion", "<sip:+15550000001@example.com>;reason=unconditional;counter=1")
      .add("Diversion", "\"B\" <tel:+15550000002>;reason=user-busy, <sip:3@example.com>");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  ASSERT_EQ(p->diversion_count, 3);
  EXPECT_FALSE(p->diversion_from_history_info);
  EXPECT_EQ(p->diversion[0].uri.user, "+15550000001");
  EXPECT_EQ(p->diversion[0].params, "reason=unconditional;counter=1");
  EXPECT_EQ(p->diversion[1].uri.user, "+15550000002");
  EXPECT_EQ(p->diversion[2].uri.user, "3");
}

TEST(NameAddr, HistoryInfoWhenNoDiversion) {
  MsgBuilder b;
  b.add("History-Info", "<sip:bob@example.com>;index=1, <sip:bob@192.0.2.5?Reason=SIP%3Bcause%3D302>;index=1.1");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  ASSERT_EQ(p->diversion_count, 2);
  EXPECT_TRUE(p->diversion_from_history_info);
  EXPECT_EQ(p->diversion[1].uri.headers, "Reason=SIP%3Bcause%3D302");
  EXPECT_EQ(p->diversion[1].params, "index=1.1");

  // Diversion wins wherever it appears.
  MsgBuilder c = b;
  c.add("Diversion", "<sip:d@example.com>;reason=no-answer");
  Parsed q(c.str());
  ASSERT_EQ(q.err, ParseError::none) << name(q.err);
  ASSERT_EQ(q->diversion_count, 1);
  EXPECT_FALSE(q->diversion_from_history_info);
  EXPECT_EQ(q->diversion[0].uri.user, "d");
  MsgBuilder d;
  d.add("Diversion", "<sip:d@example.com>").add("History-Info", "<sip:h@example.com>;index=1");
  Parsed r(d.str());
  ASSERT_EQ(r.err, ParseError::none);
  ASSERT_EQ(r->diversion_count, 1);
  EXPECT_EQ(r->diversion[0].uri.user, "d");
}

TEST(NameAddr, DiversionOverflow) {
  MsgBuilder b;
  std::string v;
  for (int i = 0; i < 5; ++i) v += (i ? ", " : "") + "<sip:"s + std::to_string(i) + "@x.org>";
  Parsed p(b.add("Diversion", v).str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->diversion_count, kMaxDiversions);
  EXPECT_TRUE(p->diversion_overflow);
}

struct BadValue {
  const char* header;
  const char* value;
  ParseError expect;
};

class NameAddrErrors : public ::testing::TestWithParam<BadValue> {};

TEST_P(NameAddrErrors, Rejected) {
  const BadValue& v = GetParam();
  Parsed p(MsgBuilder{}.set(v.header, v.value).str());
  EXPECT_EQ(p.err, v.expect) << v.header << ": " << v.value << " -> " << name(p.err);
  if (v.expect == ParseError::none) return;
  // error_offset points inside the offending header line.
  const std::size_t line = p.buf.find(std::string(v.header) + ": ");
  EXPECT_GE(p->error_offset, line);
  EXPECT_LE(p->error_offset, p.buf.find("\r\n", line));
}

INSTANTIATE_TEST_SUITE_P(
    All, NameAddrErrors,
    ::testing::Values(BadValue{"To", "\"Mr. J. User <sip:j.user@example.com>", ParseError::unterminated_quote},
                      BadValue{"From", "<sip:a@example.org>;tag=\"open", ParseError::unterminated_quote},
                      BadValue{"To", "<sip:j.user@example.com", ParseError::unbalanced_angle},
                      BadValue{"To", "sip:j.user@example.com>", ParseError::unbalanced_angle},
                      BadValue{"From", "Bob > <sip:b@example.org>", ParseError::unbalanced_angle},
                      BadValue{"To", "", ParseError::bad_to}, BadValue{"To", "<>", ParseError::bad_to},
                      BadValue{"To", "<sip:>", ParseError::bad_to},
                      BadValue{"To", "\"Joe\" sip:joe@example.org", ParseError::bad_to},
                      BadValue{"To", "Joe \"x\" <sip:joe@example.org>", ParseError::bad_to},
                      BadValue{"To", "<sip:joe@example.org> junk", ParseError::bad_to},
                      BadValue{"To", "Mr: X <sip:joe@example.org>", ParseError::bad_to},
                      BadValue{"From", "<sip:caller@example.net>;;tag=1", ParseError::bad_from},
                      BadValue{"From", "<sip:caller@example.net>;tag=", ParseError::bad_from},
                      BadValue{"From", "<sip:caller@exa mple.net>", ParseError::bad_from},
                      BadValue{"From", ":::::::: 881 <sip:alice@192.0.2.20>;tag=881", ParseError::bad_from},
                      BadValue{"From", "<sip:%zz@example.net>", ParseError::bad_escape},
                      BadValue{"To", "sip:user@example.com?Route=%3Csip:x%3E", ParseError::bad_to},
                      BadValue{"Contact", "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
                               ParseError::bad_contact},
                      BadValue{"Contact", "\"Joe\" <sip:joe@example.org>;;;;", ParseError::bad_contact},
                      BadValue{"Contact", ", <sip:joe@example.org>", ParseError::bad_contact},
                      BadValue{"Contact", "Bell, Alexander <sip:a@example.com>", ParseError::bad_contact},
                      BadValue{"P-Asserted-Identity", "<sip:a@b>,", ParseError::bad_identity_header},
                      BadValue{"P-Asserted-Identity", "<sip:a@b> <sip:c@d>", ParseError::unbalanced_angle},
                      BadValue{"Remote-Party-ID", "garbage value", ParseError::bad_identity_header},
                      BadValue{"Diversion", "<sip:a@b>;reason", ParseError::none},
                      BadValue{"Diversion", "<tel:+1555;;>", ParseError::none},
                      BadValue{"Diversion", "<tel:>", ParseError::bad_identity_header},
                      BadValue{"History-Info", "<sip:a@b>;index=1,,", ParseError::bad_identity_header}));

TEST(NameAddr, PublicHelper) {
  NameAddr na;
  ASSERT_EQ(parse_name_addr("\"Bob\" <sip:bob@example.com>;tag=x", na), ParseError::none);
  EXPECT_EQ(na.display_name, "Bob");
  EXPECT_EQ(na.uri.host, "example.com");
  EXPECT_EQ(na.tag, "x");
  EXPECT_EQ(parse_name_addr("<sip:bob@example.com", na), ParseError::unbalanced_angle);
  EXPECT_EQ(parse_name_addr("<sip:bob@exa mple.com>", na), ParseError::bad_uri);
}

}  // namespace
}  // namespace sipwall::sip::test
