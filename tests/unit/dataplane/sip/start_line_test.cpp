// Request-Line and Status-Line (RFC 3261 §7.1, §7.2).
#include <gtest/gtest.h>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

TEST(StartLine, RequestLineFields) {
  Parsed p(MsgBuilder{}.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_TRUE(p->is_request);
  EXPECT_EQ(p->method, Method::invite);
  EXPECT_EQ(p->method_text, "INVITE");
  EXPECT_EQ(p->request_uri_text, "sip:+15551230000@example.com");
  EXPECT_EQ(p->request_uri.scheme, UriScheme::sip);
  EXPECT_EQ(p->request_uri.user, "+15551230000");
  EXPECT_EQ(p->request_uri.host, "example.com");
  EXPECT_EQ(p->start_line, "INVITE sip:+15551230000@example.com SIP/2.0");
  EXPECT_EQ(p->status_code, 0);
}

TEST(StartLine, EveryKnownMethod) {
  const std::pair<const char*, Method> methods[] = {
      {"INVITE", Method::invite},   {"ACK", Method::ack},
      {"BYE", Method::bye},         {"CANCEL", Method::cancel},
      {"OPTIONS", Method::options}, {"REGISTER", Method::register_},
      {"PRACK", Method::prack},     {"SUBSCRIBE", Method::subscribe},
      {"NOTIFY", Method::notify},   {"PUBLISH", Method::publish},
      {"INFO", Method::info},       {"REFER", Method::refer},
      {"MESSAGE", Method::message}, {"UPDATE", Method::update},
  };
  for (const auto& [text, m] : methods) {
    MsgBuilder b;
    b.line(std::string(text) + " sip:bob@example.com SIP/2.0").set("CSeq", std::string("1 ") + text);
    Parsed p(b.str());
    ASSERT_EQ(p.err, ParseError::none) << text << ": " << name(p.err);
    EXPECT_EQ(p->method, m) << text;
    EXPECT_EQ(to_string(m), text);
  }
}

TEST(StartLine, MethodsAreCaseSensitive) {
  // "invite" is a valid token but not the INVITE method (RFC 3261 §7.1).
  MsgBuilder b;
  b.line("invite sip:bob@example.com SIP/2.0").set("CSeq", "1 invite");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->method, Method::unknown);
  EXPECT_EQ(p->method_text, "invite");
}

TEST(StartLine, ExtensionMethodToken) {
  const std::string m = "!interesting-Method0123456789_*+`.%indeed'~";
  MsgBuilder b;
  b.line(m + " sip:bob@example.com SIP/2.0").set("CSeq", "9 " + m);
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->method, Method::unknown);
  EXPECT_EQ(p->method_text, m);
}

TEST(StartLine, StatusLine) {
  MsgBuilder b;
  b.line("SIP/2.0 486 Busy Here");
  Parsed p(b.str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_FALSE(p->is_request);
  EXPECT_EQ(p->status_code, 486);
  EXPECT_EQ(p->reason_phrase, "Busy Here");
  EXPECT_TRUE(p->method_text.empty());
  // Responses are not checked against the request method.
  EXPECT_EQ(p->cseq.method, "INVITE");
}

TEST(StartLine, StatusLineEmptyAndUtf8Reason) {
  Parsed empty(MsgBuilder{}.line("SIP/2.0 100 ").str());
  ASSERT_EQ(empty.err, ParseError::none);
  EXPECT_EQ(empty->status_code, 100);
  EXPECT_EQ(empty->reason_phrase, "");
  Parsed none(MsgBuilder{}.line("SIP/2.0 180").str());
  ASSERT_EQ(none.err, ParseError::none);
  EXPECT_EQ(none->status_code, 180);
  Parsed utf8(MsgBuilder{}.line("SIP/2.0 200 \xD0\xBE\xD0\xBA").str());
  ASSERT_EQ(utf8.err, ParseError::none);
  EXPECT_EQ(utf8->reason_phrase, "\xD0\xBE\xD0\xBA");
}

TEST(StartLine, LiberalSpaces) {
  // RFC 4475 §3.1.2.9 / §3.1.2.10 allow a liberal parse of extra SP.
  Parsed p(MsgBuilder{}.line("INVITE  sip:bob@example.com   SIP/2.0  ").str());
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->request_uri_text, "sip:bob@example.com");
}

TEST(StartLine, VersionIsCaseInsensitiveLiteral) {
  Parsed p(MsgBuilder{}.line("INVITE sip:bob@example.com sip/2.0").str());
  EXPECT_EQ(p.err, ParseError::none) << name(p.err);
}

struct BadLine {
  const char* line;
  ParseError expect;
};

class StartLineErrors : public ::testing::TestWithParam<BadLine> {};

TEST_P(StartLineErrors, Rejected) {
  Parsed p(MsgBuilder{}.line(GetParam().line).str());
  EXPECT_EQ(p.err, GetParam().expect) << GetParam().line << " -> " << name(p.err);
  EXPECT_EQ(p->error_offset <= p.buf.size(), true);
}

INSTANTIATE_TEST_SUITE_P(
    All, StartLineErrors,
    ::testing::Values(BadLine{"INVITE sip:bob@example.com", ParseError::bad_start_line},
                      BadLine{"INVITE", ParseError::bad_start_line},
                      BadLine{" INVITE sip:bob@example.com SIP/2.0", ParseError::bad_method},
                      BadLine{"INV(TE sip:bob@example.com SIP/2.0", ParseError::bad_method},
                      BadLine{"INVITE <sip:bob@example.com> SIP/2.0", ParseError::bad_request_uri},
                      BadLine{"INVITE sip:bob@example.com; lr SIP/2.0", ParseError::bad_request_uri},
                      BadLine{"INVITE sip:2001:db8::10 SIP/2.0", ParseError::bad_request_uri},
                      BadLine{"INVITE bob SIP/2.0", ParseError::bad_request_uri},
                      BadLine{"INVITE sip:b%zzob@example.com SIP/2.0", ParseError::bad_escape},
                      BadLine{"INVITE sip:bob@example.com SIP/2", ParseError::bad_version},
                      BadLine{"INVITE sip:bob@example.com HTTP/1.1", ParseError::bad_version},
                      BadLine{"INVITE sip:bob@example.com SIP/2.0x", ParseError::bad_version},
                      BadLine{"INVITE sip:bob@example.com SIP/7.0", ParseError::unsupported_version},
                      BadLine{"SIP/3.0 200 OK", ParseError::unsupported_version},
                      BadLine{"SIP/2.0 4294967301 better not break the receiver", ParseError::bad_status_code},
                      BadLine{"SIP/2.0 20 OK", ParseError::bad_status_code},
                      BadLine{"SIP/2.0 099 Too Low", ParseError::bad_status_code},
                      BadLine{"SIP/2.0 700 Too High", ParseError::bad_status_code},
                      BadLine{"SIP/2.0 2x0 OK", ParseError::bad_status_code},
                      BadLine{"SIP/2.0 200OK", ParseError::bad_status_code}));

TEST(StartLine, EmptyStartLineAfterSkippedCrlfIsNotPossible) {
  // Leading CRLFs are skipped, so the first non-empty line is the start line;
  // a start line that is only spaces is no request.
  Parsed p(std::string("   \r\nVia: x\r\n\r\n"));
  EXPECT_EQ(p.err, ParseError::bad_method);
}

}  // namespace
}  // namespace sipwall::sip::test
