// Inputs that once broke a parser: the sipgo fuzz seeds, and every crash or
// sanitizer report the libFuzzer target (tests/fuzz/fuzz_sip_parser.cpp) found.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

using namespace std::string_literals;

// Parses an exact-size heap copy (ASan sees one byte of overread) and
// returns the datagram result; the stream parse must end in a named reason.
ParseError parse_exact(const std::string& s) {
  std::unique_ptr<char[]> buf(new char[s.empty() ? 1 : s.size()]);
  std::memcpy(buf.get(), s.data(), s.size());
  auto m = std::make_unique<Message>();
  const std::string_view v(buf.get(), s.size());
  const ParseError st = parse_message(v, *m, Transport::stream);
  EXPECT_LT(static_cast<int>(st), static_cast<int>(ParseError::count_));
  return parse_message(v, *m, Transport::datagram);
}

ParseError parse_both(const std::string& s) {
  auto m = std::make_unique<Message>();
  const ParseError d = parse_message(s, *m, Transport::datagram);
  const ParseError st = parse_message(s, *m, Transport::stream);
  (void)st;
  return d;
}

TEST(Regressions, SipgoSeeds) {
  // emiago/sipgo crash seeds: start line of three tokens, compact Via garbage.
  EXPECT_EQ(parse_both("0 0 SIP\r\nV:// ;0=;\r\n"), ParseError::bad_version);
  EXPECT_EQ(parse_both("0 0 SIP\r\nV:/\r\n"), ParseError::bad_version);
  EXPECT_EQ(parse_both("0 0 SIP/2.0\r\nV:// ;0=;\r\n\r\n"), ParseError::bad_request_uri);
  EXPECT_EQ(parse_both("INVITE sip:a@b SIP/2.0\r\nV:// ;0=;\r\n\r\n"), ParseError::bad_via);
  EXPECT_EQ(parse_both("INVITE sip:a@b SIP/2.0\r\nV:/\r\n\r\n"), ParseError::bad_via);
}

TEST(Regressions, ValuesEndingAtTheBufferEnd) {
  // Scanners near the end of the buffer must not load past it (ASan checks).
  for (const std::string& tail : {"To: <sip:a@b>"s, "f:\"x\"<sip:y@z>;tag=1"s, "v:SIP/2.0/UDP h;branch=1"s, "i:abc"s,
                                  "m:*"s, "l:0"s, "CSeq:1 INVITE"s}) {
    std::string s = "INVITE sip:a@b SIP/2.0\r\n" + tail + "\r\n\r\n";
    auto m = std::make_unique<Message>();
    for (std::size_t n = 0; n <= s.size(); ++n) {
      // A heap copy of exactly n bytes so ASan sees any overread.
      std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
      std::memcpy(buf.get(), s.data(), n);
      const ParseError e = parse_message(std::string_view(buf.get(), n), *m);
      EXPECT_LT(static_cast<int>(e), static_cast<int>(ParseError::count_));
    }
  }
}

TEST(Regressions, Fuzz1QuotedRunPastValueEnd) {
  // fuzz_sip_parser crash-4373a4a8: a 16-byte block of quoted-string bytes
  // (CR LF included) that ran past the value end made skip_run() return a
  // pointer beyond it; skip_quoted() then read past the buffer.
  const std::string s =
      "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n"
      "To: sip:user@example.com\r\n"
      "From:\"sip:caller@examp2.1net;tag=34151.net>\r\n"
      "Call-ID: ";
  EXPECT_EQ(parse_exact(s), ParseError::unterminated_quote);
  // The same shape with the headers complete.
  EXPECT_EQ(parse_exact(s + "x\r\n\r\n"), ParseError::unterminated_quote);
}

}  // namespace
}  // namespace sipwall::sip::test
