// URIs: sip, sips, tel, other schemes (RFC 3261 §19.1, RFC 3966).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

Uri must_parse(std::string_view text) {
  Uri u;
  const ParseError e = parse_uri(text, u);
  EXPECT_EQ(e, ParseError::none) << text << " -> " << name(e);
  return u;
}

TEST(Uri, SipFullForm) {
  const Uri u =
      must_parse("sip:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent");
  EXPECT_EQ(u.scheme, UriScheme::sip);
  EXPECT_EQ(u.scheme_name, "sip");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "secretword");
  EXPECT_EQ(u.host, "atlanta.com");
  EXPECT_EQ(u.port, 5061);
  EXPECT_EQ(u.params, "transport=tcp;lr");
  EXPECT_EQ(u.headers, "subject=project%20x&priority=urgent");
  EXPECT_EQ(u.text, "sip:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent");
  std::string_view v;
  EXPECT_TRUE(u.param("transport", v));
  EXPECT_EQ(v, "tcp");
  EXPECT_TRUE(u.param("LR", v));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(u.param("maddr", v));
}

TEST(Uri, SipsAndSchemeCase) {
  const Uri s = must_parse("sips:bob@biloxi.com");
  EXPECT_EQ(s.scheme, UriScheme::sips);
  EXPECT_EQ(s.host, "biloxi.com");
  EXPECT_EQ(must_parse("SIP:bob@biloxi.com").scheme, UriScheme::sip);
  EXPECT_EQ(must_parse("SIPS:bob@biloxi.com").scheme, UriScheme::sips);
  EXPECT_EQ(must_parse("Tel:+1").scheme, UriScheme::tel);
  EXPECT_EQ(must_parse("SIPS:bob@biloxi.com").scheme_name, "SIPS");
}

TEST(Uri, HostForms) {
  EXPECT_EQ(must_parse("sip:192.0.2.4").host, "192.0.2.4");
  const Uri v6 = must_parse("sip:alice@[2001:db8::10]:5070;maddr=[2001:db8::1]");
  EXPECT_EQ(v6.host, "[2001:db8::10]");
  EXPECT_EQ(v6.port, 5070);
  EXPECT_EQ(v6.params, "maddr=[2001:db8::1]");
  // RFC 5118 §4.3: no port here, the last group is part of the address.
  const Uri amb = must_parse("sip:[2001:db8::10:5070]");
  EXPECT_EQ(amb.host, "[2001:db8::10:5070]");
  EXPECT_EQ(amb.port, 0);
  EXPECT_EQ(must_parse("sip:[::ffff:192.0.2.2]").host, "[::ffff:192.0.2.2]");
  EXPECT_EQ(must_parse("sip:host_name.example.com").host, "host_name.example.com");  // liberal '_'
  EXPECT_EQ(must_parse("sip:example.com:65535").port, 65535);
  EXPECT_EQ(must_parse("sip:example.com").port, 0);
}

TEST(Uri, UserPartOddButLegal) {
  // RFC 4475 §3.1.1.2 and §3.1.1.9.
  const Uri u = must_parse(
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
      ";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
  EXPECT_EQ(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_EQ(u.host, "example.com");
  const Uri s = must_parse("sip:user;par=u%40example.net@example.com");
  EXPECT_EQ(s.user, "user;par=u%40example.net");
  EXPECT_EQ(s.host, "example.com");
  EXPECT_EQ(must_parse("sip:*97#@pbx.example.com").user, "*97#");  // liberal '#'
}

TEST(Uri, EscapesStayEscaped) {
  const Uri u = must_parse("sip:sips%3Auser%40example.com@example.net");
  EXPECT_EQ(u.user, "sips%3Auser%40example.com");
  EXPECT_EQ(u.host, "example.net");
  EXPECT_EQ(must_parse("sip:null-%00-null@example.com").user, "null-%00-null");
  EXPECT_EQ(must_parse("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31").params,
            "%6C%72;n%61me=v%61lue%25%34%31");
}

TEST(Uri, TelUris) {
  const Uri g = must_parse("tel:+1-201-555-0123;ext=1234");
  EXPECT_EQ(g.scheme, UriScheme::tel);
  EXPECT_EQ(g.user, "+1-201-555-0123");
  EXPECT_EQ(g.number_text(), "+1-201-555-0123");
  EXPECT_EQ(g.params, "ext=1234");
  EXPECT_EQ(g.phone_context(), "");
  const Uri l = must_parse("tel:7042;phone-context=example.com");
  EXPECT_EQ(l.number_text(), "7042");
  EXPECT_EQ(l.phone_context(), "example.com");
  const Uri h = must_parse("tel:*31#;phone-context=+86");
  EXPECT_EQ(h.number_text(), "*31#");
  EXPECT_EQ(h.phone_context(), "+86");
  EXPECT_EQ(must_parse("tel:(555)%20123").user, "(555)%20123");
  EXPECT_FALSE(g.user_is_phone());
}

TEST(Uri, SipNumberHelpers) {
  const Uri a = must_parse("sip:+8613800138000@example.com;user=phone");
  EXPECT_TRUE(a.user_is_phone());
  EXPECT_EQ(a.number_text(), "+8613800138000");
  const Uri b = must_parse("sip:013800138000;phone-context=+86@example.com;user=Phone");
  EXPECT_TRUE(b.user_is_phone());
  EXPECT_EQ(b.number_text(), "013800138000");
  EXPECT_EQ(b.phone_context(), "+86");
  const Uri c = must_parse("sip:alice@example.com;user=ip");
  EXPECT_FALSE(c.user_is_phone());
  EXPECT_EQ(c.phone_context(), "");
  const Uri d = must_parse("sip:example.com");
  EXPECT_EQ(d.number_text(), "");
  const Uri o = must_parse("mailto:watson@bell-telephone.com");
  EXPECT_EQ(o.number_text(), "");
  EXPECT_EQ(o.phone_context(), "");
  EXPECT_FALSE(o.user_is_phone());
}

// number_text()/phone_context() find the user part's first ';' a word at a
// time: every length around the word size, every position, never a byte
// outside the view (the buffers are exactly the view, for ASan).
TEST(Uri, FindSemicolonEveryLengthAndPosition) {
  for (std::size_t n = 0; n <= 40; ++n) {
    for (std::size_t at = 0; at <= n; ++at) {  // at == n: no ';'
      for (int second = 0; second < 2; ++second) {
        std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
        for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<char>('0' + i % 10);
        if (at < n) buf[at] = ';';
        if (second && at + 3 < n) buf[at + 3] = ';';
        // Bytes that differ from ';' by one bit or a borrow, around it.
        if (at > 0 && at < n) buf[at - 1] = ':';
        if (at + 1 < n) buf[at + 1] = '<';
        const std::string_view v(buf.get(), n);
        const std::size_t want = v.find(';') == std::string_view::npos ? n : v.find(';');
        EXPECT_EQ(detail::find_semicolon(v), want) << "n " << n << " at " << at;
      }
    }
  }
  // High bytes and NULs do not confuse it.
  const std::string odd("\xff\x80\x00\x3a\x3c\xbb\x7b;\x00\xff", 10);
  EXPECT_EQ(detail::find_semicolon(odd), 7u);
}

TEST(Uri, NumberPartsMatchTheHelpers) {
  for (const char* text : {"sip:+8613800138000@example.com;user=phone", "sip:013800138000;phone-context=+86@x.com",
                           "sip:1234;isub=5;phone-context=example.com@x.com", "sip:1234;@x.com",
                           "sip:12345678901234567;PHONE-CONTEXT=%2B86-10@x.com", "sips:alice@example.com",
                           "tel:7042;phone-context=example.com", "tel:+1-201-555-0123;ext=1234", "tel:7042",
                           "sip:example.com", "mailto:watson@bell-telephone.com"}) {
    const Uri u = must_parse(text);
    std::string_view number, context;
    u.number_parts(number, context);
    EXPECT_EQ(number, u.number_text()) << text;
    EXPECT_EQ(context, u.phone_context()) << text;
  }
  std::string_view number, context;
  must_parse("sip:12345678901234567;PHONE-CONTEXT=%2B86-10@x.com").number_parts(number, context);
  EXPECT_EQ(number, "12345678901234567");
  EXPECT_EQ(context, "%2B86-10");
  must_parse("sip:1234;isub=5;phone-context=example.com@x.com").number_parts(number, context);
  EXPECT_EQ(number, "1234");
  EXPECT_EQ(context, "example.com");
}

TEST(Uri, EmptyParamsTolerated) {
  const Uri u = must_parse("sip:a@b.com;;lr;");
  std::string_view v;
  EXPECT_TRUE(u.param("lr", v));
  EXPECT_FALSE(u.param("", v));
}

TEST(Uri, OtherSchemes) {
  const Uri u = must_parse("soap.beep://192.0.2.103:3002");
  EXPECT_EQ(u.scheme, UriScheme::other);
  EXPECT_EQ(u.scheme_name, "soap.beep");
  EXPECT_EQ(u.host, "");
  EXPECT_EQ(must_parse("nobodyKnowsThisScheme:totallyopaquecontent").scheme, UriScheme::other);
  EXPECT_EQ(must_parse("urn:service:sos").scheme_name, "urn");
}

struct BadUri {
  const char* text;
  ParseError expect;
};
class UriErrors : public ::testing::TestWithParam<BadUri> {};

TEST_P(UriErrors, Rejected) {
  Uri u;
  EXPECT_EQ(parse_uri(GetParam().text, u), GetParam().expect) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    All, UriErrors,
    ::testing::Values(BadUri{"", ParseError::bad_uri}, BadUri{"sip:", ParseError::bad_uri},
                      BadUri{"sip:@example.com", ParseError::bad_uri}, BadUri{"sip:alice@", ParseError::bad_uri},
                      BadUri{"sip:alice@exa mple.com", ParseError::bad_uri},
                      BadUri{"sip:2001:db8::10", ParseError::bad_uri}, BadUri{"sip:host:", ParseError::bad_uri},
                      BadUri{"sip:host:65536", ParseError::bad_uri}, BadUri{"sip:host:12a", ParseError::bad_uri},
                      BadUri{"sip:[2001:db8::1", ParseError::bad_uri}, BadUri{"sip:[]", ParseError::bad_uri},
                      BadUri{"sip:[zz::1]", ParseError::bad_uri}, BadUri{"sip:a@b>", ParseError::bad_uri},
                      BadUri{"<sip:a@b>", ParseError::bad_uri}, BadUri{"1sip:a@b", ParseError::bad_uri},
                      BadUri{"alice@example.com", ParseError::bad_uri}, BadUri{"tel:", ParseError::bad_uri},
                      BadUri{"tel:+1 555", ParseError::bad_uri}, BadUri{"tel:+1555?x=y", ParseError::bad_uri},
                      BadUri{"foo:", ParseError::bad_uri}, BadUri{"foo:a b", ParseError::bad_uri},
                      BadUri{"sip:us%zzer@example.com", ParseError::bad_escape},
                      BadUri{"sip:user%4@example.com", ParseError::bad_escape},
                      BadUri{"sip:user%", ParseError::bad_escape},
                      BadUri{"sip:user:pa%g1@example.com", ParseError::bad_escape},
                      BadUri{"sip:a@b;x=%zz", ParseError::bad_escape}, BadUri{"sip:a@b?h=%", ParseError::bad_escape},
                      BadUri{"tel:+1%x", ParseError::bad_escape}, BadUri{"tel:+1;p=%1", ParseError::bad_escape}));

TEST(Uri, OutputIsResetOnEachCall) {
  Uri u;
  ASSERT_EQ(parse_uri("sip:alice:pw@example.com:5060;lr?h=v", u), ParseError::none);
  ASSERT_EQ(parse_uri("sip:example.org", u), ParseError::none);
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "");
  EXPECT_EQ(u.port, 0);
  EXPECT_EQ(u.params, "");
  EXPECT_EQ(u.headers, "");
}

}  // namespace
}  // namespace sipwall::sip::test
