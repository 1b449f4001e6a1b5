// Header lines: names, compact forms, case, folding, LWS around the colon,
// repeated headers, lookup, and the line-level errors.
#include <gtest/gtest.h>

#include <cctype>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

using namespace std::string_literals;

TEST(Headers, EveryCompactForm) {
  // RFC 3261 §7.3.3 (f t i v m l c s k e o r u b x y) plus RFC 3841 (a j d).
  const std::pair<char, HeaderId> forms[] = {
      {'f', HeaderId::from},
      {'t', HeaderId::to},
      {'i', HeaderId::call_id},
      {'v', HeaderId::via},
      {'m', HeaderId::contact},
      {'l', HeaderId::content_length},
      {'c', HeaderId::content_type},
      {'s', HeaderId::subject},
      {'k', HeaderId::supported},
      {'e', HeaderId::content_encoding},
      {'o', HeaderId::event},
      {'r', HeaderId::refer_to},
      {'u', HeaderId::allow_events},
      {'b', HeaderId::referred_by},
      {'x', HeaderId::session_expires},
      {'y', HeaderId::identity},
      {'a', HeaderId::accept_contact},
      {'j', HeaderId::reject_contact},
      {'d', HeaderId::request_disposition},
  };
  for (const auto& [c, id] : forms) {
    EXPECT_EQ(header_id(std::string(1, c)), id) << c;
    EXPECT_EQ(header_id(std::string(1, static_cast<char>(c - 'a' + 'A'))), id) << c;
    // ...and the long name resolves to the same id.
    EXPECT_EQ(header_id(to_string(id)), id) << to_string(id);
  }
  EXPECT_EQ(header_id("g"), HeaderId::other);
  EXPECT_EQ(header_id("z"), HeaderId::other);
}

TEST(Headers, CompactFormsInAMessage) {
  MsgBuilder b;
  b.hdrs = {{"v", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"},
            {"f", "<sip:alice@example.org>;tag=1"},
            {"t", "<sip:bob@example.com>"},
            {"i", "cid-1@example.org"},
            {"m", "<sip:alice@192.0.2.1>"},
            {"CSeq", "1 INVITE"},
            {"c", "application/sdp"},
            {"y", "eyJhbGciOiJFUzI1NiJ9.x.y;info=<https://cert.example.org/a.crt>"},
            {"s", "hello"}};
  Parsed p(b.add("l", "4").str("v=0\n", false));
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->via.host, "192.0.2.1");
  EXPECT_EQ(p->from.uri.user, "alice");
  EXPECT_EQ(p->to.uri.user, "bob");
  EXPECT_EQ(p->call_id, "cid-1@example.org");
  EXPECT_EQ(p->contact.uri.host, "192.0.2.1");
  EXPECT_EQ(p->content_type, "application/sdp");
  EXPECT_EQ(p->content_length, 4u);
  EXPECT_EQ(p->identity, "eyJhbGciOiJFUzI1NiJ9.x.y;info=<https://cert.example.org/a.crt>");
  EXPECT_EQ(p->body, "v=0\n");
  // Lookup resolves compact forms both ways.
  EXPECT_EQ(p->header("Subject"), "hello");
  EXPECT_EQ(p->header("s"), "hello");
  EXPECT_EQ(p->header("Call-ID"), "cid-1@example.org");
  EXPECT_EQ(p->header("I"), "cid-1@example.org");
  EXPECT_EQ(p->header("content-length"), "4");
}

TEST(Headers, NamesAreCaseInsensitive) {
  MsgBuilder b;
  b.hdrs = {{"vIA", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"},
            {"FROM", "<sip:alice@example.org>;tag=1"},
            {"tO", "<sip:bob@example.com>"},
            {"CALL-id", "x@y"},
            {"cseq", "1 INVITE"},
            {"MaX-fOrWaRdS", "0068"},
            {"p-ASSERTED-identity", "<sip:+15550001111@example.org>"},
            {"user-AGENT", "Phone/1.0"}};
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->max_forwards, 68u);
  EXPECT_EQ(p->pai_count, 1);
  EXPECT_EQ(p->user_agent, "Phone/1.0");
  EXPECT_EQ(p->headers[0].name, "vIA");
  EXPECT_EQ(p->headers[0].id, HeaderId::via);
  EXPECT_EQ(p->header("P-Asserted-Identity"), "<sip:+15550001111@example.org>");
}

TEST(Headers, EveryKnownLongNameResolves) {
  for (int i = 1; i < static_cast<int>(HeaderId::count_); ++i) {
    const auto id = static_cast<HeaderId>(i);
    std::string n(to_string(id));
    ASSERT_FALSE(n.empty());
    EXPECT_EQ(header_id(n), id) << n;
    for (char& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(header_id(n), id) << n;
    // Also through the word-compare path of the parser.
    MsgBuilder b;
    if (id != HeaderId::via && id != HeaderId::from && id != HeaderId::to && id != HeaderId::call_id &&
        id != HeaderId::cseq && id != HeaderId::max_forwards && id != HeaderId::content_length &&
        id != HeaderId::contact && id != HeaderId::p_asserted_identity && id != HeaderId::remote_party_id &&
        id != HeaderId::diversion && id != HeaderId::history_info) {
      b.add(n, "value");
      Parsed p(b.str());
      ASSERT_EQ(p.err, ParseError::none) << n << ": " << name(p.err);
      const Header* h = p->find(id);
      ASSERT_NE(h, nullptr) << n;
      EXPECT_EQ(h->name, n);
    }
  }
  EXPECT_EQ(header_id("Via-X"), HeaderId::other);
  EXPECT_EQ(header_id("Fro"), HeaderId::other);
  EXPECT_EQ(header_id(""), HeaderId::other);
  EXPECT_EQ(header_id("P-Asserted-Identitx"), HeaderId::other);
}

TEST(Headers, LwsAroundColonAndFolding) {
  const std::string text =
      "INVITE sip:bob@example.com SIP/2.0\r\n"
      "TO :\r\n sip:bob@example.com ;   tag    = 1918181833n\r\n"
      "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = "
      "98asjd8\r\n"
      "Call-ID\t:\tx@y\r\n"
      "cseq: 0009\r\n  INVITE\r\n"
      "Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n"
      "NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
      "l: 0\r\n\r\n";
  Parsed p(text);
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->to.uri_text, "sip:bob@example.com");
  EXPECT_EQ(p->to.tag, "1918181833n");
  EXPECT_EQ(p->from.display_name, "J Rosenberg \\\\\\\"");
  EXPECT_TRUE(p->from.display_quoted);
  EXPECT_EQ(p->from.tag, "98asjd8");
  EXPECT_EQ(p->call_id, "x@y");
  EXPECT_EQ(p->cseq.number, 9u);
  EXPECT_EQ(p->cseq.method, "INVITE");
  EXPECT_EQ(p->via.transport, "UDP");
  EXPECT_EQ(p->via.host, "192.0.2.2");
  EXPECT_EQ(p->via.branch, "390skdjuw");
  // Folded values keep their line breaks; readers treat them as LWS.
  EXPECT_EQ(p->header("newfangledheader"), "newfangled value\r\n continued newfangled value");
}

TEST(Headers, EmptyValue) {
  Parsed p(MsgBuilder{}.add("Subject", "").add("X-Empty", "   ").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  const Header* h = p->find(HeaderId::subject);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->value, "");
  EXPECT_EQ(p->header("x-empty"), "");
}

TEST(Headers, RepeatedHeadersAndFindNext) {
  MsgBuilder b;
  b.add("Via", "SIP/2.0/TCP second.example.com;branch=z9hG4bK2")
      .add("Route", "<sip:p1.example.com;lr>")
      .add("Route", "<sip:p2.example.com;lr>");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->via.host, "192.0.2.1");  // the top-most Via
  int vias = 0;
  for (const Header* h = p->find(HeaderId::via); h; h = p->find_next(HeaderId::via, h)) ++vias;
  EXPECT_EQ(vias, 2);
  const Header* r = p->find(HeaderId::route);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->value, "<sip:p1.example.com;lr>");
  r = p->find_next(HeaderId::route, r);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->value, "<sip:p2.example.com;lr>");
  EXPECT_EQ(p->find_next(HeaderId::route, r), nullptr);
  EXPECT_EQ(p->find_next(HeaderId::route, nullptr), nullptr);
  EXPECT_EQ(p->header("route"), "<sip:p1.example.com;lr>");
  EXPECT_EQ(p->header("X-Absent"), "");
  EXPECT_EQ(p->find(HeaderId::expires), nullptr);
}

TEST(Headers, UnknownHeaderLookupAndEscapedName) {
  // RFC 4475 §3.1.1.5: "C%6Fntact" is a valid token but not Contact.
  MsgBuilder b;
  b.del("Contact").add("C%6Fntact", "<sip:alias2@host2.example.com>");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_FALSE(p->contact.present);
  EXPECT_EQ(p->header("c%6fntact"), "<sip:alias2@host2.example.com>");
  EXPECT_EQ(p->header("Contact"), "");
}

TEST(Headers, BareLfLineEndings) {
  MsgBuilder b;
  b.eol = "\n";
  Parsed p(b.str("v=0\n"));
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->from.tag, "1928301774");
  EXPECT_EQ(p->body, "v=0\n");
  // Mixed CRLF and LF too.
  std::string mixed = MsgBuilder{}.str();
  mixed.replace(mixed.find("\r\nMax-Forwards"), 2, "\n");
  Parsed q(mixed);
  EXPECT_EQ(q.err, ParseError::none) << name(q.err);
  EXPECT_EQ(q->max_forwards, 70u);
}

TEST(Headers, TabInsideValue) {
  Parsed p(MsgBuilder{}.add("Subject", "a\tb").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->header("Subject"), "a\tb");
}

TEST(Headers, ControlCharacters) {
  std::string s = MsgBuilder{}.add("Subject", std::string("a\0b", 3)).str();
  Parsed p(s);
  EXPECT_EQ(p.err, ParseError::control_character);
  EXPECT_EQ(p->error_offset, s.find(std::string("a\0b", 3)) + 1);
  Parsed del(MsgBuilder{}.add("Subject", "a\x7f").str());
  EXPECT_EQ(del.err, ParseError::control_character);
  Parsed bel(MsgBuilder{}.line("INVITE sip:bob@example.com\a SIP/2.0").str());
  EXPECT_EQ(bel.err, ParseError::control_character);
  // ...but a quoted-pair may escape them (RFC 4475 §3.1.1.2).
  Parsed q(MsgBuilder{}.set("To", "\"BEL:\\\a NUL:\\\0 DEL:\\\x7f\" <sip:bob@example.com>"s).str());
  ASSERT_EQ(q.err, ParseError::none) << name(q.err);
  EXPECT_EQ(q->to.display_name.size(), 20u);
  // An unescaped control inside quotes is still rejected.
  Parsed r(MsgBuilder{}.set("To", "\"a\0b\" <sip:bob@example.com>"s).str());
  EXPECT_EQ(r.err, ParseError::control_character);
}

TEST(Headers, BareCr) {
  std::string s = MsgBuilder{}.str();
  s.replace(s.find("\r\nMax-Forwards"), 2, "\r");
  Parsed p(s);
  EXPECT_EQ(p.err, ParseError::bare_cr);
  std::string t = MsgBuilder{}.str();
  t.replace(t.size() - 2, 2, "\rX");  // the empty line
  Parsed q(t);
  EXPECT_EQ(q.err, ParseError::bare_cr);
}

TEST(Headers, BadHeaderName) {
  EXPECT_EQ(Parsed(MsgBuilder{}.add("Bad@Name", "x").str()).err, ParseError::bad_header_name);
  EXPECT_EQ(Parsed(MsgBuilder{}.add("", "x").str()).err, ParseError::bad_header_name);
  EXPECT_EQ(Parsed(MsgBuilder{}.add("\xC3\xA9t\xC3\xA9", "x").str()).err, ParseError::bad_header_name);
}

TEST(Headers, MissingColon) {
  std::string s = MsgBuilder{}.str();
  s.insert(s.find("Max-Forwards"), "Foobar roobar\r\n");
  EXPECT_EQ(Parsed(s).err, ParseError::missing_colon);
  std::string t = MsgBuilder{}.str();
  t.insert(t.find("Max-Forwards"), "JustAName\r\n");
  EXPECT_EQ(Parsed(t).err, ParseError::missing_colon);
}

TEST(Headers, FoldWithoutHeader) {
  std::string s = "INVITE sip:bob@example.com SIP/2.0\r\n continuation\r\nVia: x\r\n\r\n";
  EXPECT_EQ(Parsed(s).err, ParseError::fold_without_header);
}

TEST(Headers, DuplicateSingleHeaders) {
  const char* singles[][2] = {{"From", "<sip:x@example.org>;tag=2"},
                              {"To", "<sip:y@example.com>"},
                              {"Call-ID", "other@example.org"},
                              {"CSeq", "2 INVITE"},
                              {"Max-Forwards", "69"},
                              {"Content-Length", "0"}};
  for (const auto& h : singles) {
    MsgBuilder b;
    b.add(h[0], h[1]);
    if (std::string(h[0]) == "Content-Length") b.add("Content-Length", "0");
    Parsed p(b.str("", std::string(h[0]) != "Content-Length"));
    EXPECT_EQ(p.err, ParseError::duplicate_single_header) << h[0] << ": " << name(p.err);
  }
  // A compact form counts as the same header.
  EXPECT_EQ(Parsed(MsgBuilder{}.add("f", "<sip:x@example.org>").str()).err, ParseError::duplicate_single_header);
  EXPECT_EQ(Parsed(MsgBuilder{}.add("i", "abc").str()).err, ParseError::duplicate_single_header);
}

TEST(Headers, TooManyHeaders) {
  MsgBuilder ok;
  while (ok.hdrs.size() + 1 < kMaxHeaders) ok.add("X-Fill", "1");
  Parsed p(ok.str());  // + Content-Length = kMaxHeaders lines
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->header_count, kMaxHeaders);
  ok.add("X-Fill", "1");
  EXPECT_EQ(Parsed(ok.str()).err, ParseError::too_many_headers);
}

TEST(Headers, LineTooLong) {
  // The limit counts the whole (unfolded) line: name, colon, value.
  const std::string prefix = "Subject: ";
  Parsed ok(MsgBuilder{}.add("Subject", std::string(kMaxLineLength - prefix.size(), 'a')).str());
  EXPECT_EQ(ok.err, ParseError::none) << name(ok.err);
  Parsed p(MsgBuilder{}.add("Subject", std::string(kMaxLineLength - prefix.size() + 1, 'a')).str());
  EXPECT_EQ(p.err, ParseError::line_too_long);
  // Folded pieces add up.
  std::string folded = std::string(5000, 'a') + "\r\n " + std::string(5000, 'b');
  EXPECT_EQ(Parsed(MsgBuilder{}.add("Subject", folded).str()).err, ParseError::line_too_long);
  // The start line has the same limit.
  std::string uri = "sip:" + std::string(kMaxLineLength, 'u') + "@example.com";
  EXPECT_EQ(Parsed(MsgBuilder{}.line("INVITE " + uri + " SIP/2.0").str()).err, ParseError::line_too_long);
}

TEST(Headers, HeaderViewsPointIntoTheBuffer) {
  Parsed p(MsgBuilder{}.str());
  ASSERT_EQ(p.err, ParseError::none);
  const char* b = p.buf.data();
  for (std::uint16_t i = 0; i < p->header_count; ++i) {
    const Header& h = p->headers[i];
    EXPECT_GE(h.name.data(), b);
    EXPECT_LE(h.value.data() + h.value.size(), b + p.buf.size());
  }
  EXPECT_EQ(p->headers[0].name, "Via");
  EXPECT_EQ(p->headers[0].value, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds");
}

}  // namespace
}  // namespace sipwall::sip::test
