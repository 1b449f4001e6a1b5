// Content-Length framing on datagrams and streams (RFC 3261 §18.3, §20.14).
#include <gtest/gtest.h>

#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::test {
namespace {

const std::string kSdp =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0\r\n";

TEST(Framing, BodyByContentLength) {
  const std::string text = MsgBuilder{}.set("Content-Type", "application/sdp").str(kSdp);
  Parsed p(text);
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_TRUE(p->has_content_length);
  EXPECT_EQ(p->content_length, kSdp.size());
  EXPECT_EQ(p->body, kSdp);
  EXPECT_EQ(p->length, text.size());
  EXPECT_EQ(p->body_offset, text.size() - kSdp.size());
  EXPECT_EQ(p->headers_end, p->body_offset - 2);
  EXPECT_EQ(text.substr(p->headers_end, 2), "\r\n");
  EXPECT_EQ(p->content_type, "application/sdp");
}

TEST(Framing, DatagramTrailingBytesIgnored) {
  // RFC 4475 §3.1.1.8: a second request after the body is not looked at.
  const std::string first = MsgBuilder{}.str(kSdp);
  const std::string text = first + "INVITE sip:joe@example.com SIP/2.0\r\n\r\n";
  Parsed p(text);
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_EQ(p->length, first.size());
  EXPECT_EQ(p->body, kSdp);
}

TEST(Framing, DatagramWithoutContentLengthTakesTheRest) {
  const std::string text = MsgBuilder{}.str(kSdp, false);
  Parsed p(text);
  ASSERT_EQ(p.err, ParseError::none) << name(p.err);
  EXPECT_FALSE(p->has_content_length);
  EXPECT_EQ(p->body, kSdp);
  EXPECT_EQ(p->length, text.size());
}

TEST(Framing, BodyTruncated) {
  Parsed p(MsgBuilder{}.set("Content-Length", "9999").str(kSdp));
  EXPECT_EQ(p.err, ParseError::body_truncated);
  Parsed s(MsgBuilder{}.set("Content-Length", "9999").str(kSdp), Transport::stream);
  EXPECT_EQ(s.err, ParseError::body_truncated);
  // Exactly the data: fine.
  Parsed e(MsgBuilder{}.set("Content-Length", std::to_string(kSdp.size())).str(kSdp));
  EXPECT_EQ(e.err, ParseError::none);
}

TEST(Framing, BadContentLength) {
  for (const char* v : {"-999", "", "1x", "0x10", "4294967296", "99999999999999999999", "1 2"}) {
    Parsed p(MsgBuilder{}.set("Content-Length", v).str());
    EXPECT_EQ(p.err, ParseError::bad_content_length) << "'" << v << "' -> " << name(p.err);
  }
  Parsed z(MsgBuilder{}.set("Content-Length", "0000").str());
  EXPECT_EQ(z.err, ParseError::none);
}

TEST(Framing, StreamRequiresContentLength) {
  Parsed p(MsgBuilder{}.str("", false), Transport::stream);
  EXPECT_EQ(p.err, ParseError::missing_content_length);
}

TEST(Framing, StreamOfSeveralMessages) {
  MsgBuilder a, b, c;
  b.set("Call-ID", "second@example.org");
  c.line("SIP/2.0 180 Ringing").set("Call-ID", "third@example.org");
  const std::string stream = a.str(kSdp) + "\r\n\r\n" + b.str() + c.str("xyz");
  auto m = std::make_unique<Message>();
  std::size_t off = 0;
  std::vector<std::string> ids;
  int keepalives = 0;
  while (off < stream.size()) {
    const ParseError e = parse_message(std::string_view(stream).substr(off), *m, Transport::stream);
    ASSERT_TRUE(e == ParseError::none || e == ParseError::empty) << name(e);
    ASSERT_GT(m->length, 0u);
    if (e == ParseError::none) ids.emplace_back(m->call_id);
    off += m->length;
    keepalives += e == ParseError::empty;
  }
  EXPECT_EQ(off, stream.size());
  EXPECT_EQ(keepalives, 0);  // the CRLFs before the 2nd message belong to it
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(ids[1], "second@example.org");
  EXPECT_EQ(ids[2], "third@example.org");
  EXPECT_EQ(m->status_code, 180);
  EXPECT_EQ(m->body, "xyz");
}

TEST(Framing, KeepAliveOnly) {
  auto m = std::make_unique<Message>();
  EXPECT_EQ(parse_message("\r\n\r\n", *m, Transport::stream), ParseError::empty);
  EXPECT_EQ(m->length, 4u);
  EXPECT_EQ(parse_message("", *m, Transport::stream), ParseError::empty);
  EXPECT_EQ(m->length, 0u);
  EXPECT_EQ(parse_message("\n", *m), ParseError::empty);
  EXPECT_EQ(m->length, 1u);
}

TEST(Framing, LeadingCrlfCountsInLength) {
  const std::string text = "\r\n" + MsgBuilder{}.str();
  Parsed p(text);
  ASSERT_EQ(p.err, ParseError::none);
  EXPECT_EQ(p->length, text.size());
  EXPECT_EQ(p->start_line.data(), p.buf.data() + 2);
}

TEST(Framing, HeadersUnterminated) {
  std::string text = MsgBuilder{}.str();
  text.resize(text.size() - 2);  // drop the empty line
  EXPECT_EQ(Parsed(text).err, ParseError::headers_unterminated);
  EXPECT_EQ(Parsed(text, Transport::stream).err, ParseError::headers_unterminated);
  // Every prefix of a valid message is incomplete, never accepted, never a crash.
  const std::string full = MsgBuilder{}.str(kSdp);
  auto m = std::make_unique<Message>();
  for (std::size_t n = 1; n < full.size(); ++n) {
    const ParseError e = parse_message(std::string_view(full).substr(0, n), *m, Transport::stream);
    EXPECT_TRUE(e == ParseError::headers_unterminated || e == ParseError::body_truncated) << n << ": " << name(e);
  }
  EXPECT_EQ(parse_message("INVITE sip:bob@example.com SIP/2.0\r", *m), ParseError::headers_unterminated);
}

TEST(Framing, MessageTooLarge) {
  // Datagrams: the whole datagram counts.
  std::string big = MsgBuilder{}.str(std::string(kMaxMessageSize, 'x'));
  EXPECT_EQ(Parsed(big).err, ParseError::message_too_large);
  // Exactly at the limit is fine (the Content-Length digits move with the body).
  std::size_t n = kMaxMessageSize - MsgBuilder{}.str().size();
  for (int i = 0; i < 3; ++i) n = n + kMaxMessageSize - MsgBuilder{}.str(std::string(n, 'x')).size();
  const std::string at = MsgBuilder{}.str(std::string(n, 'x'));
  ASSERT_EQ(at.size(), kMaxMessageSize);
  Parsed ok(at);
  EXPECT_EQ(ok.err, ParseError::none) << name(ok.err);
  EXPECT_EQ(Parsed(at + "x").err, ParseError::message_too_large);
  Parsed ok_stream(at + "trailing", Transport::stream);
  EXPECT_EQ(ok_stream.err, ParseError::none) << name(ok_stream.err);
  // Streams: a Content-Length that can never fit is refused at once...
  Parsed s(MsgBuilder{}.set("Content-Length", "70000").str(), Transport::stream);
  EXPECT_EQ(s.err, ParseError::message_too_large);
  // ...and so are headers that do not end within the limit.
  std::string hdrs = MsgBuilder{}.line("INVITE sip:bob@example.com SIP/2.0").str();
  hdrs.resize(hdrs.size() - 2);
  while (hdrs.size() <= kMaxMessageSize) hdrs += "X-Fill: " + std::string(8000, 'f') + "\r\n";
  EXPECT_EQ(Parsed(hdrs, Transport::stream).err, ParseError::message_too_large);
  // A stream buffer holding a small message followed by lots of data is fine.
  const std::string small = MsgBuilder{}.str();
  Parsed tail(small + std::string(100000, 'z'), Transport::stream);
  EXPECT_EQ(tail.err, ParseError::none);
  EXPECT_EQ(tail->length, small.size());
}

}  // namespace
}  // namespace sipwall::sip::test
