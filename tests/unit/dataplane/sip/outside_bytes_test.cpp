// Bytes RFC 3261's grammar does not allow, in the fields sipwall shows
// (trace records, sipwallctl parse/explain): what the parser does with each,
// as decided in docs/sip-parser.md ("Bytes outside the grammar"). Accepted
// values are kept byte for byte (the output escapes them, rules/text);
// control bytes are refused before any field is parsed.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip {
namespace {

using test::MsgBuilder;
using test::name;
using test::Parsed;

TEST(OutsideBytes, CallIdNonAsciiIsAccepted) {
  // Not UTF-8 (PROTOS' Latin-1 "åäö", a lone 0xFF, an overlong '/'), and UTF-8.
  for (const std::string& v :
       std::initializer_list<std::string>{"a\xff", "\xe5\xe4\xf6@x", "\xc0\xaf", "\xe5\xa4\xa7@\xe4\xbe\x8b.cn",
                                          "\xc2\x9b"
                                          "2J"}) {
    Parsed p(MsgBuilder{}.set("Call-ID", v).str());
    ASSERT_EQ(p.err, ParseError::none) << name(p.err) << " for '" << v << "'";
    EXPECT_EQ(p->call_id, v);
  }
}

TEST(OutsideBytes, CallIdEmptyWordsAreAccepted) {
  // callid = word ["@" word]: each of these breaks it, none changes who calls whom.
  for (const char* v : {"@", "a@", "@b", "a@@b", "a@b@c"}) {
    Parsed p(MsgBuilder{}.set("Call-ID", v).str());
    ASSERT_EQ(p.err, ParseError::none) << name(p.err) << " for '" << v << "'";
    EXPECT_EQ(p->call_id, v);
  }
}

TEST(OutsideBytes, ControlBytesAreRefusedInEveryField) {
  for (const char* field : {"Call-ID", "From", "To", "User-Agent", "Contact"}) {
    for (const std::string& c : {std::string(1, '\0'), std::string("\x01"), std::string("\x1b"), std::string("\x7f")}) {
      MsgBuilder b;
      const std::string value = std::string(field) == "Call-ID"      ? "a" + c + "b@x"
                                : std::string(field) == "User-Agent" ? "UA" + c
                                                                     : "Al" + c + "ice <sip:alice@example.org>;tag=1";
      Parsed p(b.set(field, value).str());
      EXPECT_EQ(p.err, ParseError::control_character) << field << " byte " << int(c[0]);
    }
  }
}

TEST(OutsideBytes, UnquotedDisplayNameHighBytesAreAccepted) {
  for (const std::string& dn :
       std::initializer_list<std::string>{"\xff\xfe", "J\xc3\xbcrgen", "\xe5\xe4\xf6 Caller", "\xc0\xaf"}) {
    Parsed p(MsgBuilder{}
                 .set("From", dn + " <sip:+15559870000@example.org>;tag=1")
                 .set("To", dn + " <sip:+15551230000@example.com>")
                 .add("P-Asserted-Identity", dn + " <sip:+15559870000@example.org>")
                 .set("Contact", dn + " <sip:alice@192.0.2.1>")
                 .str());
    ASSERT_EQ(p.err, ParseError::none) << name(p.err) << " for '" << dn << "'";
    EXPECT_EQ(p->from.display_name, dn);
    EXPECT_EQ(p->to.display_name, dn);
    ASSERT_EQ(p->pai_count, 1u);
    EXPECT_EQ(p->pai[0].display_name, dn);
    EXPECT_EQ(p->contact.display_name, dn);
    EXPECT_EQ(p->from.uri.user, "+15559870000") << "the caller is not affected";
  }
}

TEST(OutsideBytes, QuotedDisplayNameKeepsQuotedPairsOfControlBytes) {
  // RFC 3261 quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): legal, kept as written.
  const std::string dn = std::string("\"a\\") + '\0' + "b\\\x1b[2J\xff\"";
  Parsed p(MsgBuilder{}.set("From", dn + " <sip:+15559870000@example.org>;tag=1").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->from.display_name, dn.substr(1, dn.size() - 2));
  EXPECT_TRUE(p->from.display_quoted);
}

TEST(OutsideBytes, UserAgentAnyByteButControlsIsKept) {
  const std::string ua =
      "Evil/1.0 \xff\xfe \xc2\x9b"
      "31m \xe2\x80\xae";
  Parsed p(MsgBuilder{}.add("User-Agent", ua).str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->user_agent, ua);
}

TEST(OutsideBytes, RawHighBytesInANumberAreRefused) {
  // The user part is what the caller and callee are read from: strict (the
  // escaped form %FF is valid and left to the number normaliser).
  Parsed p(MsgBuilder{}
               .set("From",
                    "<sip:\xff"
                    "123@example.org>;tag=1")
               .str());
  EXPECT_EQ(p.err, ParseError::bad_from) << name(p.err);
  Parsed q(MsgBuilder{}.set("From", "<sip:%FF123@example.org>;tag=1").str());
  EXPECT_EQ(q.err, ParseError::none) << name(q.err);
  EXPECT_EQ(q->from.uri.user, "%FF123");
}

}  // namespace
}  // namespace sipwall::sip
