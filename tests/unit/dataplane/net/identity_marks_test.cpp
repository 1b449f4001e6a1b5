// The tag action's label and verstat marks (identity_marks.h) on every form
// of From and P-Asserted-Identity, and insert_tag() on UDP frames: the
// tagged frame equals one built fresh from the expected text (so every
// length and checksum is right), the result parses with the label in the
// display name, and a tag that does not fit leaves the frame untouched.
#include "dataplane/net/identity_marks.h"

#include <gtest/gtest.h>

#include "dataplane/net/packet_decode.h"
#include "dataplane/net/tag_insert.h"
#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/net/frames.h"

using namespace nettest;
namespace net = sipwall::net;
namespace sip = sipwall::sip;

namespace {

const Addr kA4 = v4(203, 0, 113, 5);
const Addr kB4 = v4(198, 51, 100, 1);
const Addr kA6 = v6({0x2001, 0xdb8, 1, 0, 0, 0, 0, 5});
const Addr kB6 = v6({0x2001, 0xdb8, 2, 0, 0, 0, 0, 1});

constexpr std::string_view kLine = "X-Sipwall-Risk: score=70; rule=r1";
constexpr std::string_view kLabel = "[骚扰]";
constexpr std::string_view kNoTn = "No-TN-Validation";
const std::string kBody = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n";

// An INVITE whose identity headers are `ids` (each a whole line without its CRLF).
std::string invite(const std::vector<std::string>& ids, const std::string& nl = "\r\n") {
  std::string m = "INVITE sip:+8610086@core SIP/2.0" + nl + "Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bK1" + nl;
  for (const std::string& h : ids) m += h + nl;
  m += "To: <sip:+8610086@core>" + nl + "Call-ID: c1" + nl + "CSeq: 1 INVITE" + nl +
       "Content-Length: " + std::to_string(kBody.size()) + nl + nl + kBody;
  return m;
}

// The message with the spec's marks applied, as text.
std::string marked(const std::string& text, const net::TagSpec& spec, net::TagPlan* plan_out = nullptr) {
  sip::Message m;
  EXPECT_EQ(sip::parse_message(text, m), sip::ParseError::none) << text;
  net::TagPlan plan;
  if (!net::plan_tag(m, text, spec, plan)) return "<no plan>";
  char out[8192];
  const std::size_t n = net::render_marks(text, 0, plan, 0, plan.n - 1, spec, out, sizeof out);
  EXPECT_GT(n, 0u);
  const std::size_t b = plan.marks[0].at;
  const std::size_t e = std::size_t{plan.marks[plan.n - 1].at} + plan.marks[plan.n - 1].remove;
  if (plan_out != nullptr) *plan_out = plan;
  return text.substr(0, b) + std::string(out, n) + text.substr(e);
}

// `line` (a From or P-Asserted-Identity line) marked by `spec`.
std::string mark_one(const std::string& line, const net::TagSpec& spec) {
  // A message needs a From: after a P-Asserted-Identity line, one of its own.
  const bool pai = line.rfind("P-Asserted-Identity:", 0) == 0;
  const std::string out = marked(pai ? invite({line, "From: <sip:f@t>;tag=1"}) : invite({line}), spec);
  const std::size_t at = out.find('\n', out.find('\n') + 1) + 1;  // the line after Via
  return out.substr(at, out.find("\r\n", at) - at);
}

const net::TagSpec kBoth{kLine, kLabel, kNoTn};
const net::TagSpec kLabelOnly{kLine, kLabel, {}};
const net::TagSpec kVerstatOnly{kLine, {}, kNoTn};

TEST(IdentityMarks, QuotedDisplayName) {
  EXPECT_EQ(mark_one("From: \"Alice\" <sip:+8613800138000@t.example;user=phone>;tag=1", kBoth),
            "From: \"[骚扰] Alice\" <sip:+8613800138000;verstat=No-TN-Validation@t.example;user=phone>;tag=1");
  EXPECT_EQ(mark_one("From: \"Alice\" <sip:+8613800138000@t.example;user=phone>;tag=1", kLabelOnly),
            "From: \"[骚扰] Alice\" <sip:+8613800138000@t.example;user=phone>;tag=1");
  // No LWS before '<' (RFC 4475 §3.1.1.6) and an empty quoted name.
  EXPECT_EQ(mark_one("From: \"Alice\"<sip:a@t>;tag=1", kLabelOnly), "From: \"[骚扰] Alice\"<sip:a@t>;tag=1");
  EXPECT_EQ(mark_one("From: \"\" <sip:a@t>;tag=1", kLabelOnly), "From: \"[骚扰]\" <sip:a@t>;tag=1");
}

TEST(IdentityMarks, QuotedDisplayNameWithEscapesStaysValid) {
  const std::string line = R"(From: "Al \"Bo\" \\ x" <sip:a@t>;tag=1)";
  const std::string out = marked(invite({line}), kLabelOnly);
  EXPECT_NE(out.find(R"(From: "[骚扰] Al \"Bo\" \\ x" <sip:a@t>;tag=1)"), std::string::npos) << out;
  sip::Message m;
  ASSERT_EQ(sip::parse_message(out, m), sip::ParseError::none);
  EXPECT_TRUE(m.from.display_quoted);
  EXPECT_EQ(m.from.display_name, R"([骚扰] Al \"Bo\" \\ x)");
  EXPECT_EQ(m.from.tag, "1");
}

TEST(IdentityMarks, TokenDisplayNameIsQuoted) {
  EXPECT_EQ(mark_one("From: Alice Smith <sip:a@t>;tag=1", kLabelOnly), "From: \"[骚扰] Alice Smith\" <sip:a@t>;tag=1");
  // UTF-8 sent unquoted (liberal) is qdtext inside the quotes.
  EXPECT_EQ(mark_one("From: 张三 <sip:a@t>;tag=1", kBoth),
            "From: \"[骚扰] 张三\" <sip:a@t;verstat=No-TN-Validation>;tag=1");
}

TEST(IdentityMarks, NoDisplayName) {
  EXPECT_EQ(mark_one("From: <sip:a@t>;tag=1", kLabelOnly), "From: \"[骚扰]\" <sip:a@t>;tag=1");
  // LWS inside the brackets (RFC 4475 §3.1.2.14) is kept.
  EXPECT_EQ(mark_one("From: < sip:a@t >;tag=1", kLabelOnly), "From: \"[骚扰]\" < sip:a@t >;tag=1");
}

TEST(IdentityMarks, AddrSpecGetsBracketsAndKeepsHeaderParamsOutside) {
  // ;tag=1 belongs to the header (RFC 3261 §20.10): it stays after '>'.
  EXPECT_EQ(mark_one("From: sip:+8613800138000@t;tag=1", kBoth),
            "From: \"[骚扰]\" <sip:+8613800138000;verstat=No-TN-Validation@t>;tag=1");
  EXPECT_EQ(mark_one("From: sip:alice@t;tag=1", kLabelOnly), "From: \"[骚扰]\" <sip:alice@t>;tag=1");
  EXPECT_EQ(mark_one("From: sip:alice@t;tag=1", kVerstatOnly), "From: <sip:alice@t;verstat=No-TN-Validation>;tag=1");
  EXPECT_EQ(mark_one("From: sip:alice@t", kLabelOnly), "From: \"[骚扰]\" <sip:alice@t>");
  const std::string out = marked(invite({"From: sip:+8613800138000@t;tag=77"}), kBoth);
  sip::Message m;
  ASSERT_EQ(sip::parse_message(out, m), sip::ParseError::none);
  EXPECT_EQ(m.from.display_name, "[骚扰]");
  EXPECT_EQ(m.from.tag, "77");
  EXPECT_EQ(m.from.uri.host, "t");
}

TEST(IdentityMarks, CompactFrom) {
  EXPECT_EQ(mark_one("f: Alice <sip:+8613800138000@t>;tag=1", kBoth),
            "f: \"[骚扰] Alice\" <sip:+8613800138000;verstat=No-TN-Validation@t>;tag=1");
}

TEST(IdentityMarks, VerstatPlacement) {
  // A telephone number (user=phone, or a '+' number): a tel URI parameter in the user part (3GPP TS 24.229).
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:8613800138000@ims;user=phone>", kVerstatOnly),
            "P-Asserted-Identity: <sip:8613800138000;verstat=No-TN-Validation@ims;user=phone>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:+8613800138000;cpc=ordinary@ims;user=phone>", kVerstatOnly),
            "P-Asserted-Identity: <sip:+8613800138000;cpc=ordinary;verstat=No-TN-Validation@ims;user=phone>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:+8613800138000:pw@ims>", kVerstatOnly),
            "P-Asserted-Identity: <sip:+8613800138000;verstat=No-TN-Validation:pw@ims>");
  // tel URI: at its end.
  EXPECT_EQ(mark_one("P-Asserted-Identity: <tel:+8613800138000>", kVerstatOnly),
            "P-Asserted-Identity: <tel:+8613800138000;verstat=No-TN-Validation>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <tel:+8613800138000;cpc=x>", kVerstatOnly),
            "P-Asserted-Identity: <tel:+8613800138000;cpc=x;verstat=No-TN-Validation>");
  // Not a number: a SIP URI parameter, before any '?' headers.
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:alice@ims;transport=tcp>", kVerstatOnly),
            "P-Asserted-Identity: <sip:alice@ims;transport=tcp;verstat=No-TN-Validation>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:alice@ims?Subject=x>", kVerstatOnly),
            "P-Asserted-Identity: <sip:alice@ims;verstat=No-TN-Validation?Subject=x>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:ims.example>", kVerstatOnly),
            "P-Asserted-Identity: <sip:ims.example;verstat=No-TN-Validation>");
  // IPv6 host references keep their brackets.
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:+8613800138000@[2001:db8::1]:5060;user=phone>", kVerstatOnly),
            "P-Asserted-Identity: <sip:+8613800138000;verstat=No-TN-Validation@[2001:db8::1]:5060;user=phone>");
  // Another scheme: no verstat (the label still goes on).
  EXPECT_EQ(mark_one("P-Asserted-Identity: \"X\" <mailto:x@y>", kBoth),
            "P-Asserted-Identity: \"[骚扰] X\" <mailto:x@y>");
}

TEST(IdentityMarks, ExistingVerstatIsReplaced) {
  const net::TagSpec failed{kLine, {}, "TN-Validation-Failed"};
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:+8613800138000;verstat=TN-Validation-Passed@ims;user=phone>", failed),
            "P-Asserted-Identity: <sip:+8613800138000;verstat=TN-Validation-Failed@ims;user=phone>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <sip:+8613800138000@ims;user=phone;VerStat=TN-Validation-Passed>", failed),
            "P-Asserted-Identity: <sip:+8613800138000@ims;user=phone;VerStat=TN-Validation-Failed>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <tel:+8613800138000;verstat>", failed),
            "P-Asserted-Identity: <tel:+8613800138000;verstat=TN-Validation-Failed>");
  EXPECT_EQ(mark_one("P-Asserted-Identity: <tel:+8613800138000;verstat=;x=1>", failed),
            "P-Asserted-Identity: <tel:+8613800138000;verstat=TN-Validation-Failed;x=1>");
  // A longer value replaced by a shorter one: the message shrinks there.
  net::TagPlan plan;
  marked(invite({"P-Asserted-Identity: <tel:+8613800138000;verstat=TN-Validation-Passed>", "From: <sip:f@t>;tag=1"}),
         kVerstatOnly, &plan);
  const std::int64_t from_verstat = std::string_view(";verstat=No-TN-Validation").size();
  EXPECT_EQ(plan.growth(kVerstatOnly), std::int64_t(kLine.size() + 2) + from_verstat - 4);
  EXPECT_EQ(plan.verstats, 2u);
}

TEST(IdentityMarks, EveryPaiValueIsMarkedAndFromToo) {
  const std::string text =
      invite({"P-Asserted-Identity: \"Bob\" <sip:+8613800138000@ims;user=phone>", "From: <sip:+8613800138000@t>;tag=1",
              "P-Asserted-Identity: <tel:+8613800138000>, Carol <sip:carol@ims>"});
  net::TagPlan plan;
  const std::string out = marked(text, kBoth, &plan);
  EXPECT_EQ(plan.labels, 4u);
  EXPECT_EQ(plan.verstats, 4u);
  EXPECT_NE(out.find("P-Asserted-Identity: \"[骚扰] Bob\" <sip:+8613800138000;verstat=No-TN-Validation@ims;"
                     "user=phone>\r\nFrom: \"[骚扰]\" <sip:+8613800138000;verstat=No-TN-Validation@t>;tag=1\r\n"
                     "P-Asserted-Identity: \"[骚扰]\" <tel:+8613800138000;verstat=No-TN-Validation>, \"[骚扰] Carol\" "
                     "<sip:carol@ims;verstat=No-TN-Validation>\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(std::string(kLine) + "\r\n\r\n" + kBody), std::string::npos);
  sip::Message m;
  ASSERT_EQ(sip::parse_message(out, m), sip::ParseError::none);
  ASSERT_EQ(m.pai_count, 3u);
  EXPECT_EQ(m.pai[0].display_name, "[骚扰] Bob");
  EXPECT_EQ(m.pai[1].display_name, "[骚扰]");
  EXPECT_EQ(m.pai[2].display_name, "[骚扰] Carol");
  EXPECT_EQ(m.from.display_name, "[骚扰]");
  std::string_view v;
  EXPECT_TRUE(m.pai[1].uri.param("verstat", v));
  EXPECT_EQ(v, kNoTn);
  EXPECT_EQ(m.body, kBody);
}

TEST(IdentityMarks, AlreadyLabelledIsLeftAlone) {
  EXPECT_EQ(mark_one("From: \"[骚扰] Alice\" <sip:a@t>;tag=1", kLabelOnly), "From: \"[骚扰] Alice\" <sip:a@t>;tag=1");
  EXPECT_EQ(mark_one("From: \"[骚扰]\" <sip:a@t>;tag=1", kBoth),
            "From: \"[骚扰]\" <sip:a@t;verstat=No-TN-Validation>;tag=1");
  // Only a whole-word prefix counts.
  EXPECT_EQ(mark_one("From: \"[骚扰]x\" <sip:a@t>;tag=1", kLabelOnly), "From: \"[骚扰] [骚扰]x\" <sip:a@t>;tag=1");
}

TEST(IdentityMarks, HeaderOnlyAndBareLf) {
  const std::string text = invite({"From: \"A\" <sip:a@t>;tag=1"});
  const net::TagSpec line_only{kLine, {}, {}};
  net::TagPlan plan;
  EXPECT_EQ(marked(text, line_only, &plan), text.substr(0, text.find("\r\n\r\n") + 2) + std::string(kLine) + "\r\n" +
                                                text.substr(text.find("\r\n\r\n") + 2));
  EXPECT_EQ(plan.n, 1u);
  const std::string lf = invite({"From: A <sip:a@t>;tag=1"}, "\n");
  const std::string out = marked(lf, kLabelOnly);
  EXPECT_NE(out.find("From: \"[骚扰] A\" <sip:a@t>;tag=1\n"), std::string::npos);
  EXPECT_NE(out.find(std::string(kLine) + "\n\n"), std::string::npos);
}

TEST(IdentityMarks, RefusedSpecsAndBuffers) {
  const std::string text = invite({"From: <sip:a@t>;tag=1"});
  sip::Message m;
  ASSERT_EQ(sip::parse_message(text, m), sip::ParseError::none);
  net::TagPlan plan;
  EXPECT_FALSE(net::plan_tag(m, text, net::TagSpec{kLine, "a\"b", {}}, plan));
  EXPECT_FALSE(net::plan_tag(m, text, net::TagSpec{kLine, "a\\b", {}}, plan));
  EXPECT_FALSE(net::plan_tag(m, text, net::TagSpec{kLine, "a\r\nX: y", {}}, plan));
  EXPECT_FALSE(net::plan_tag(m, text, net::TagSpec{kLine, std::string(65, 'x'), {}}, plan));
  EXPECT_FALSE(net::plan_tag(m, text, net::TagSpec{kLine, {}, "a;b"}, plan));
  EXPECT_FALSE(net::plan_tag(m, text, net::TagSpec{"no colon", {}, {}}, plan));
  // Views of another buffer (a copy of the text) are refused, not followed.
  const std::string copy = text;
  EXPECT_FALSE(net::plan_tag(m, copy, kBoth, plan));
  ASSERT_TRUE(net::plan_tag(m, text, kBoth, plan));
  char small[8];
  EXPECT_EQ(net::render_marks(text, 0, plan, 0, plan.n - 1, kBoth, small, sizeof small), 0u);
  // The span must lie inside the bytes given.
  char big[4096];
  EXPECT_EQ(net::render_marks(std::string_view(text).substr(0, 20), 0, plan, 0, plan.n - 1, kBoth, big, sizeof big),
            0u);
}

// --- insert_tag on frames ------------------------------------------------------------------------

struct Buf {
  std::vector<std::uint8_t> data;
  std::size_t len;
  Buf(const Bytes& f, std::size_t tailroom) : data(f), len(f.size()) { data.resize(f.size() + tailroom, 0xCC); }
  Bytes frame() const { return Bytes(data.begin(), data.begin() + static_cast<long>(len)); }
};

net::TagResult tag_frame(Buf& b, const net::TagSpec& spec, std::size_t mtu) {
  net::DecodedPacket p;
  EXPECT_EQ(net::decode_frame(b.data.data(), b.len, p), net::DecodeResult::ok);
  sip::Message m;
  EXPECT_EQ(sip::parse_message(p.payload(b.data.data()), m), sip::ParseError::none);
  const net::TagResult r = net::insert_tag(b.data.data(), b.len, b.data.size(), p, m, spec, mtu);
  if (r == net::TagResult::ok) {
    EXPECT_EQ(p.ip_end, b.len);
  }
  return r;
}

Bytes udp4(const std::string& text) {
  return eth(0x0800, ipv4(kA4, kB4, 17, udp(kA4, kB4, 5060, 5060, bytes(text))));
}
Bytes udp6(const std::string& text) {
  return eth(0x86DD, ipv6(kA6, kB6, 17, udp(kA6, kB6, 5060, 5060, bytes(text))), {{0x8100, 12}});
}

const std::vector<std::string> kIds = {"From: Alice <sip:+8613800138000@t>;tag=1",
                                       "P-Asserted-Identity: <sip:+8613800138000;verstat=TN-Validation-Passed@ims;"
                                       "user=phone>, sip:+8613800138000@ims"};

TEST(InsertTag, Ipv4AndIpv6UdpEqualAFreshFrame) {
  const std::string text = invite(kIds);
  // Label lengths of both parities: each mark shifts the tail by an odd or even count.
  for (const net::TagSpec& spec : {kBoth, net::TagSpec{kLine, "SPAM?", "TN-Validation-Failed"}, kLabelOnly,
                                   kVerstatOnly, net::TagSpec{"X-R: 1", "ab", "No-TN-Validation"}}) {
    const std::string want = marked(text, spec);
    for (bool v6 : {false, true}) {
      Buf b(v6 ? udp6(text) : udp4(text), 512);
      ASSERT_EQ(tag_frame(b, spec, 1500), net::TagResult::ok);
      EXPECT_EQ(b.frame(), v6 ? udp6(want) : udp4(want)) << spec.label << " " << spec.verstat;
      EXPECT_TRUE(checksums_valid(b.frame()));
      for (std::size_t i = b.len; i < b.data.size(); ++i) ASSERT_EQ(b.data[i], 0xCC) << "wrote past the frame";
    }
  }
}

TEST(InsertTag, MtuAndRoomLeaveTheFrameUntouched) {
  const std::string text = invite(kIds);
  const std::string want = marked(text, kBoth);
  const Bytes before = udp4(text);
  const std::size_t ip_after = udp4(want).size() - 14;
  {
    Buf b(before, 512);
    EXPECT_EQ(tag_frame(b, kBoth, ip_after), net::TagResult::ok);  // fits exactly
  }
  {
    Buf b(before, 512);
    EXPECT_EQ(tag_frame(b, kBoth, ip_after - 1), net::TagResult::exceeds_mtu);
    EXPECT_EQ(b.frame(), before);
  }
  {
    Buf b(before, want.size() - text.size() - 1);
    EXPECT_EQ(tag_frame(b, kBoth, 0), net::TagResult::no_tailroom);
    EXPECT_EQ(b.frame(), before);
  }
  {
    Buf b(before, 512);
    EXPECT_EQ(tag_frame(b, net::TagSpec{kLine, "a\"b", {}}, 1500), net::TagResult::bad_line);
    EXPECT_EQ(b.frame(), before);
  }
}

TEST(InsertTag, PeakLengthIsWhatMustFit) {
  // The PAI's verstat shrinks the message by 4 after the From's verstat and
  // the header line grew it: applied from the last mark to the first, the
  // datagram is longest just before the shrink. The MTU must hold that peak.
  const std::string text =
      invite({"P-Asserted-Identity: <tel:+8613800138000;verstat=TN-Validation-Passed>", "From: <sip:f@t>;tag=1"});
  const std::string want = marked(text, kVerstatOnly);
  const std::size_t from_verstat = std::string_view(";verstat=No-TN-Validation").size();
  ASSERT_EQ(want.size() + 4, text.size() + kLine.size() + 2 + from_verstat);
  const Bytes before = udp4(text);
  const std::size_t ip_peak = before.size() - 14 + kLine.size() + 2 + from_verstat;
  Buf b(before, 512);
  EXPECT_EQ(tag_frame(b, kVerstatOnly, ip_peak - 1), net::TagResult::exceeds_mtu);
  EXPECT_EQ(tag_frame(b, kVerstatOnly, ip_peak), net::TagResult::ok);
  EXPECT_EQ(b.frame(), udp4(want));
}

TEST(InsertTag, TcpIsRefused) {
  const std::string text = invite(kIds);
  Buf b(eth(0x0800, ipv4(kA4, kB4, 6, tcp(kA4, kB4, 40000, 5060, 1, 1, 0x18, bytes(text)))), 512);
  EXPECT_EQ(tag_frame(b, kBoth, 1500), net::TagResult::tcp);
}

}  // namespace
