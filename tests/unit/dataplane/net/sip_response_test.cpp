#include "dataplane/net/sip_response.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/sip/sip_message.h"

namespace net = sipwall::net;
namespace sip = sipwall::sip;

namespace {

const std::string kInvite =
    "INVITE sip:+15551230000@core.example.net;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-abc-1;rport\r\n"
    "v: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bK-inner,SIP/2.0/TCP 10.2.2.2:5070;branch=z9hG4bK-x\r\n"
    "Via: SIP/2.0/UDP [2001:db8::5];branch=z9hG4bK-v6\r\n"
    "Max-Forwards: 69\r\n"
    "f: \"Robo \\\"Caller\\\"\" <sip:+15550001111@trunk.example.com>;tag=from-77\r\n"
    "To: <sip:+15551230000@core.example.net>\r\n"
    "Call-ID: 8f3e2a@203.0.113.5\r\n"
    "CSeq: 314 INVITE\r\n"
    "Subject: folded\r\n  line\r\n"
    "Contact: <sip:+15550001111@203.0.113.5:5060>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

struct Parsed {
  std::string text;
  sip::Message msg;
  explicit Parsed(std::string t) : text(std::move(t)) {
    EXPECT_EQ(sip::parse_message(text, msg), sip::ParseError::none);
  }
};

std::string build(const sip::Message& m, const net::SipResponseOptions& o, std::size_t cap = 4096) {
  std::vector<char> buf(cap);
  std::size_t n = net::build_sip_response(m, o, buf.data(), buf.size());
  return std::string(buf.data(), n);
}

TEST(SipResponse, DeclineLayout) {
  Parsed req(kInvite);
  net::SipResponseOptions o;
  o.code = 603;
  o.reason_text = "Blocked: \"spam\" list \\ v2";
  std::string r = build(req.msg, o);
  char tag[16];
  net::derive_to_tag(req.msg, 0, tag);
  const std::string expect =
      "SIP/2.0 603 Decline\r\n"
      "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-abc-1;rport\r\n"
      "Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bK-inner,SIP/2.0/TCP 10.2.2.2:5070;branch=z9hG4bK-x\r\n"
      "Via: SIP/2.0/UDP [2001:db8::5];branch=z9hG4bK-v6\r\n"
      "From: \"Robo \\\"Caller\\\"\" <sip:+15550001111@trunk.example.com>;tag=from-77\r\n"
      "To: <sip:+15551230000@core.example.net>;tag=" +
      std::string(tag, 16) +
      "\r\n"
      "Call-ID: 8f3e2a@203.0.113.5\r\n"
      "CSeq: 314 INVITE\r\n"
      "Reason: SIP;cause=603;text=\"Blocked: \\\"spam\\\" list \\\\ v2\"\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  EXPECT_EQ(r, expect);

  // The response is itself well-formed SIP that a UAC would match.
  sip::Message resp;
  ASSERT_EQ(sip::parse_message(r, resp), sip::ParseError::none);
  EXPECT_FALSE(resp.is_request);
  EXPECT_EQ(resp.status_code, 603);
  EXPECT_EQ(resp.call_id, req.msg.call_id);
  EXPECT_EQ(resp.cseq.number, 314u);
  EXPECT_EQ(resp.via.branch, "z9hG4bK-abc-1");
  EXPECT_EQ(resp.to.tag, std::string_view(tag, 16));
  EXPECT_EQ(resp.from.tag, "from-77");
  EXPECT_EQ(resp.content_length, 0u);
}

TEST(SipResponse, RejectedWithCallInfoAndServer) {
  Parsed req(kInvite);
  net::SipResponseOptions o;
  o.code = 608;
  o.reason_text = "robocall score 90";
  o.call_info_uri = "https://jwscard.example.net/blocked";
  o.server = "sipwall/0.1";
  std::string r = build(req.msg, o);
  EXPECT_EQ(r.rfind("SIP/2.0 608 Rejected\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nReason: SIP;cause=608;text=\"robocall score 90\"\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nCall-Info: <https://jwscard.example.net/blocked>;purpose=jwscard\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nServer: sipwall/0.1\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
  sip::Message resp;
  ASSERT_EQ(sip::parse_message(r, resp), sip::ParseError::none);
  EXPECT_EQ(resp.header("Call-Info"), "<https://jwscard.example.net/blocked>;purpose=jwscard");

  // 603 never carries Call-Info; an unusable URI is left out.
  o.code = 603;
  EXPECT_EQ(build(req.msg, o).find("Call-Info"), std::string::npos);
  o.code = 608;
  o.call_info_uri = "https://x/ <evil>";
  EXPECT_EQ(build(req.msg, o).find("Call-Info"), std::string::npos);
  o.call_info_uri = {};
  o.reason_text = {};
  EXPECT_NE(build(req.msg, o).find("Reason: SIP;cause=608;text=\"Rejected\"\r\n"), std::string::npos);
}

TEST(SipResponse, ControlCharactersNeverReachTheWire) {
  Parsed req(kInvite);
  net::SipResponseOptions o;
  o.reason_text = "bad\r\nInjected: yes";
  o.server = "x\r\nEvil: 1";
  std::string r = build(req.msg, o);
  EXPECT_EQ(r.find("\r\nInjected"), std::string::npos);
  EXPECT_NE(r.find("text=\"badInjected: yes\""), std::string::npos);
  EXPECT_EQ(r.find("Server:"), std::string::npos);
  EXPECT_EQ(r.find("Evil"), std::string::npos);
}

TEST(SipResponse, ToTagDeterministicAndKept) {
  Parsed a(kInvite), b(kInvite);
  char t1[16], t2[16], t3[16];
  net::derive_to_tag(a.msg, 0, t1);
  net::derive_to_tag(b.msg, 0, t2);
  EXPECT_EQ(std::memcmp(t1, t2, 16), 0);  // retransmission -> same tag
  net::derive_to_tag(a.msg, 42, t3);
  EXPECT_NE(std::memcmp(t1, t3, 16), 0);  // seed matters
  std::string other = kInvite;
  other.replace(other.find("8f3e2a"), 6, "8f3e2b");
  Parsed c(other);
  net::derive_to_tag(c.msg, 0, t3);
  EXPECT_NE(std::memcmp(t1, t3, 16), 0);
  for (char ch : t1) EXPECT_TRUE((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));

  net::SipResponseOptions o;
  EXPECT_EQ(build(a.msg, o), build(b.msg, o));  // byte-identical answers

  std::string tagged = kInvite;
  tagged.replace(tagged.find("To: <sip:+15551230000@core.example.net>"), 39,
                 "To: <sip:+15551230000@core.example.net>;tag=abc");
  Parsed d(tagged);
  std::string r = build(d.msg, o);
  EXPECT_NE(r.find("\r\nTo: <sip:+15551230000@core.example.net>;tag=abc\r\n"), std::string::npos);
  EXPECT_EQ(r.find(";tag=abc;tag="), std::string::npos);
}

// The To-tag of a given request does not change between releases: a UAC
// that retransmits an INVITE across an upgrade gets the same answer. Values
// from the byte-wise implementation, for Call-IDs and From-tags of every
// tail length (0-7 bytes past a multiple of 8).
TEST(SipResponse, ToTagValuesAreStable) {
  std::string got;
  for (std::size_t n = 1; n <= 17; ++n) {
    std::string inv = kInvite;
    inv.replace(inv.find("8f3e2a@203.0.113.5"), 18, std::string(n, 'c') + "@h");
    inv.replace(inv.find("from-77"), 7, std::string(n % 9 + 1, 't'));
    Parsed p(inv);
    char t[16];
    net::derive_to_tag(p.msg, n, t);
    got += std::string(t, 16) + (n % 4 == 0 ? "\n" : " ");
  }
  const std::string kGolden =
      "5cd1329a63aca087 d5121c7978972cd3 8ecba52a31b565e0 1fe190ecd7198d08\n"
      "81d47efe9e88e247 c2655a43b94fd3ac ae62993cffdecf85 c91dbcf86435e49b\n"
      "e620b7f143980060 63fdfb571f14ac9c 376a11ea9d82efe0 2d3eea0e1119c7b3\n"
      "bb96b385aed415b8 5ee5d9ec4765f2e6 e22077772ac13fbb 03d1162c36181d09\n"
      "37b0771cbc3cc689 ";
  EXPECT_EQ(got, kGolden);
}

TEST(SipResponse, ReceivedAndRport) {
  Parsed req(kInvite);
  net::SipResponseOptions o;
  o.received = "198.51.100.7";
  o.rport = 40123;
  std::string r = build(req.msg, o);
  EXPECT_NE(r.find("\r\nVia: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-abc-1;rport=40123;received=198.51.100.7\r\n"),
            std::string::npos)
      << r;
  // Only the top Via changes.
  EXPECT_NE(r.find("\r\nVia: SIP/2.0/UDP [2001:db8::5];branch=z9hG4bK-v6\r\n"), std::string::npos);

  // Same host, no rport: nothing added (RFC 3261 §18.2.1).
  std::string plain = kInvite;
  plain.replace(plain.find(";rport"), 6, "");
  Parsed p2(plain);
  o.received = "203.0.113.5";
  r = build(p2.msg, o);
  EXPECT_NE(r.find("\r\nVia: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-abc-1\r\n"), std::string::npos);
  // A bad address text is not written.
  o.received = "1.2.3.4;evil";
  r = build(p2.msg, o);
  EXPECT_EQ(r.find("evil"), std::string::npos);
}

TEST(SipResponse, FoldedValuesAreUnfolded) {
  std::string folded = kInvite;
  folded.replace(folded.find("To: <sip:"), 9, "To:\r\n  <sip:");
  Parsed req(folded);
  std::string r = build(req.msg, net::SipResponseOptions{});
  EXPECT_NE(r.find("\r\nTo: <sip:+15551230000@core.example.net>;tag="), std::string::npos) << r;
  // No line in the output starts with whitespace (no folding left).
  EXPECT_EQ(r.find("\n "), std::string::npos);
  EXPECT_EQ(r.find("\n\t"), std::string::npos);
}

TEST(SipResponse, BufferTooSmallWritesNothingPastCap) {
  Parsed req(kInvite);
  net::SipResponseOptions o;
  o.code = 608;
  o.call_info_uri = "https://jwscard.example.net/x";
  const std::string full = build(req.msg, o);
  ASSERT_GT(full.size(), 300u);
  for (std::size_t cap = 0; cap < full.size(); ++cap) {
    std::vector<char> buf(cap + 16, '#');
    EXPECT_EQ(net::build_sip_response(req.msg, o, buf.data(), cap), 0u) << cap;
    for (std::size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], '#') << cap;
  }
  std::vector<char> exact(full.size());
  EXPECT_EQ(net::build_sip_response(req.msg, o, exact.data(), exact.size()), full.size());
}

TEST(SipResponse, OptionsValidation) {
  net::SipResponseOptions o;
  EXPECT_EQ(net::check_response_options(o), nullptr);
  o.code = 600;
  EXPECT_NE(net::check_response_options(o), nullptr);
  Parsed req(kInvite);
  std::vector<char> buf(4096);
  EXPECT_EQ(net::build_sip_response(req.msg, o, buf.data(), buf.size()), 0u);
  o.code = 603;
  o.call_info_uri = "https://x";
  EXPECT_NE(net::check_response_options(o), nullptr);  // Call-Info only with 608
  o.code = 608;
  EXPECT_EQ(net::check_response_options(o), nullptr);
  o.call_info_uri = "no-scheme";
  EXPECT_NE(net::check_response_options(o), nullptr);
  o.call_info_uri = {};
  o.reason_text = "a\nb";
  EXPECT_NE(net::check_response_options(o), nullptr);
  EXPECT_EQ(net::reason_phrase(608), "Rejected");
  EXPECT_EQ(net::reason_phrase(603), "Decline");
}

// Parts rendered once (as a rule set's reject actions are at load) give the
// same bytes as rendering the options on every call, for every kind of
// option, and the same refusal when the buffer is short.
TEST(SipResponse, RenderedPartsGiveTheSameBytes) {
  Parsed req(kInvite);
  std::vector<net::SipResponseOptions> cases(6);
  cases[1].reason_text = "Blocked: \"spam\" list \\ v2";
  cases[2].code = 608;
  cases[2].call_info_uri = "https://jwscard.example.net/blocked";
  cases[2].server = "sipwall";
  cases[3].code = 608;
  cases[3].call_info_uri = "https://x/ <evil>";  // omitted either way
  cases[4].server = "x\r\nEvil: 1";              // sanitised either way
  cases[4].reason_text = "a\tb\x01c";
  cases[5].received = "198.51.100.7";
  cases[5].rport = 40000;
  cases[5].tag_seed = 99;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    net::SipResponseOptions o = cases[i];
    const std::string plain = build(req.msg, o);
    ASSERT_FALSE(plain.empty()) << i;
    char text[2048];
    net::ResponseParts parts;
    ASSERT_TRUE(net::render_response_parts(o, text, sizeof text, parts)) << i;
    EXPECT_EQ(plain.substr(0, parts.status_line.size()), parts.status_line) << i;
    EXPECT_EQ(plain.substr(plain.size() - parts.tail.size()), parts.tail) << i;
    o.parts = &parts;
    EXPECT_EQ(build(req.msg, o), plain) << i;
    for (std::size_t cap = 0; cap < plain.size(); cap += 7) {
      std::vector<char> buf(cap + 16, '#');
      EXPECT_EQ(net::build_sip_response(req.msg, o, buf.data(), cap), 0u) << i << " " << cap;
      for (std::size_t k = cap; k < buf.size(); ++k) ASSERT_EQ(buf[k], '#') << cap;
    }
  }
  net::SipResponseOptions bad;
  bad.code = 600;
  char text[2048];
  net::ResponseParts parts;
  EXPECT_FALSE(net::render_response_parts(bad, text, sizeof text, parts));
  net::SipResponseOptions ok;
  EXPECT_FALSE(net::render_response_parts(ok, text, 20, parts));  // too small
  ASSERT_TRUE(net::render_response_parts(ok, text, sizeof text, parts));
  EXPECT_EQ(parts.status_line, "SIP/2.0 603 Decline\r\n");
  EXPECT_EQ(parts.tail, "Reason: SIP;cause=603;text=\"Decline\"\r\nContent-Length: 0\r\n\r\n");
}

TEST(SipResponse, ViaResponsePort) {
  Parsed req(kInvite);  // top Via has rport
  EXPECT_EQ(net::via_response_port(req.msg, 40000), 40000);
  std::string norport = kInvite;
  norport.replace(norport.find(";rport"), 6, "");
  Parsed a(norport);
  EXPECT_EQ(net::via_response_port(a.msg, 40000), 5060);
  std::string noport = norport;
  noport.replace(noport.find("203.0.113.5:5060;"), 17, "203.0.113.5;");
  Parsed b(noport);
  EXPECT_EQ(net::via_response_port(b.msg, 40000), 5060);
  std::string tls = noport;
  tls.replace(tls.find("SIP/2.0/UDP 203"), 15, "SIP/2.0/TLS 203");
  Parsed c(tls);
  EXPECT_EQ(net::via_response_port(c.msg, 40000), 5061);
}

}  // namespace
