// Every ParseError has a stable name and a description, and every one of
// them is produced by at least one input (the table below must cover the
// whole X-list, so a new reason without a test fails here).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

using namespace std::string_literals;

TEST(Errors, NamesAndDescriptions) {
  std::set<std::string_view> names;
  for (int i = 0; i < static_cast<int>(ParseError::count_); ++i) {
    const auto e = static_cast<ParseError>(i);
    const std::string_view n = to_string(e);
    ASSERT_FALSE(n.empty()) << i;
    EXPECT_FALSE(describe(e).empty()) << n;
    for (char c : n) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << n;
    EXPECT_TRUE(names.insert(n).second) << "duplicate name " << n;
  }
  EXPECT_EQ(to_string(ParseError::none), "none");
  EXPECT_EQ(describe(ParseError::none), "ok");
  EXPECT_EQ(to_string(ParseError::bad_escape), "bad_escape");
  EXPECT_EQ(to_string(ParseError::count_), "unknown");
  EXPECT_EQ(to_string(static_cast<ParseError>(250)), "unknown");
}

std::string with_header(const char* n, const char* v) {
  return MsgBuilder{}.set(n, v).str();
}

TEST(Errors, EveryReasonIsProduced) {
  const std::string valid = MsgBuilder{}.str();
  std::string no_blank = valid.substr(0, valid.size() - 2);
  std::string fold = "INVITE sip:b@example.com SIP/2.0\r\n x\r\n\r\n";
  std::string bare_cr = valid;
  bare_cr.replace(bare_cr.find("\r\nTo:"), 2, "\r");
  MsgBuilder many;
  for (std::size_t i = 0; i < kMaxHeaders; ++i) many.add("X", "1");

  struct Case {
    ParseError expect;
    std::string text;
    Transport t = Transport::datagram;
  };
  const std::vector<Case> cases = {
      {ParseError::none, valid},
      {ParseError::empty, ""},
      {ParseError::message_too_large, MsgBuilder{}.str(std::string(70000, 'b'))},
      {ParseError::line_too_long, with_header("Subject", std::string(9000, 's').c_str())},
      {ParseError::too_many_headers, many.str()},
      {ParseError::bad_start_line, MsgBuilder{}.line("INVITE sip:b@example.com").str()},
      {ParseError::bad_method, MsgBuilder{}.line("IN\"VITE sip:b@example.com SIP/2.0").str()},
      {ParseError::bad_request_uri, MsgBuilder{}.line("INVITE <sip:b@example.com> SIP/2.0").str()},
      {ParseError::bad_version, MsgBuilder{}.line("INVITE sip:b@example.com SIP/x").str()},
      {ParseError::unsupported_version, MsgBuilder{}.line("INVITE sip:b@example.com SIP/7.0").str()},
      {ParseError::bad_status_code, MsgBuilder{}.line("SIP/2.0 20 OK").str()},
      {ParseError::bad_header_name, with_header("Ba(d", "x")},
      {ParseError::missing_colon, MsgBuilder{}.line("INVITE sip:b@example.com SIP/2.0\r\nFoo bar").str()},
      {ParseError::fold_without_header, fold},
      {ParseError::headers_unterminated, no_blank},
      {ParseError::bare_cr, bare_cr},
      {ParseError::control_character, with_header("Subject", "a\x01z")},
      {ParseError::duplicate_single_header, MsgBuilder{}.add("t", "<sip:x@y>").str()},
      {ParseError::missing_from, MsgBuilder{}.del("From").str()},
      {ParseError::missing_to, MsgBuilder{}.del("To").str()},
      {ParseError::missing_call_id, MsgBuilder{}.del("Call-ID").str()},
      {ParseError::missing_cseq, MsgBuilder{}.del("CSeq").str()},
      {ParseError::missing_via, MsgBuilder{}.del("Via").str()},
      {ParseError::bad_from, with_header("From", "<sip:a@b> x")},
      {ParseError::bad_to, with_header("To", "\"x\" sip:a@b")},
      {ParseError::bad_contact, with_header("Contact", "<sip:a@b>;;")},
      {ParseError::bad_identity_header, MsgBuilder{}.add("P-Asserted-Identity", "nope").str()},
      {ParseError::bad_call_id, with_header("Call-ID", "a b")},
      {ParseError::bad_cseq, with_header("CSeq", "x INVITE")},
      {ParseError::cseq_method_mismatch, with_header("CSeq", "1 BYE")},
      {ParseError::bad_via, with_header("Via", "SIP/2.0/UDP")},
      {ParseError::bad_max_forwards, with_header("Max-Forwards", "256")},
      {ParseError::bad_content_length, with_header("Content-Length", "-1")},
      {ParseError::missing_content_length, MsgBuilder{}.str("", false), Transport::stream},
      {ParseError::body_truncated, with_header("Content-Length", "10")},
      {ParseError::bad_uri, ""},  // parse_uri() below
      {ParseError::unterminated_quote, with_header("To", "\"open <sip:a@b>")},
      {ParseError::unbalanced_angle, with_header("To", "<sip:a@b")},
      {ParseError::bad_escape, with_header("To", "<sip:%4g@b>")},
  };
  std::set<ParseError> covered;
  for (const Case& c : cases) {
    ParseError got;
    if (c.expect == ParseError::bad_uri) {
      Uri u;
      got = parse_uri("sip:a@b c", u);
    } else {
      Parsed p(c.text, c.t);
      got = p.err;
    }
    EXPECT_EQ(got, c.expect) << "expected " << name(c.expect) << ", got " << name(got);
    covered.insert(c.expect);
  }
  for (int i = 0; i < static_cast<int>(ParseError::count_); ++i) {
    EXPECT_TRUE(covered.count(static_cast<ParseError>(i)))
        << "no test input produces " << to_string(static_cast<ParseError>(i));
  }
}

}  // namespace
}  // namespace sipwall::sip::test
