// The benchmark measures garbage if its INVITEs are broken, so the mix is
// checked like product input: every template decodes, parses as an INVITE,
// and after the generator writes a caller and a callee into it, the numbers
// the classifier would see are exactly those. Also the latency histogram.
#include <gtest/gtest.h>

#include <string>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/sip/sip_message.h"
#include "perf/pipeline/invite_mix.h"
#include "perf/pipeline/latency_histogram.h"
#include "rules/number/dial_plan.h"
#include "rules/number/normalize.h"

namespace sipwall::perf {
namespace {

std::string e164(const National& n) {
  return "+86" + std::string(n.data(), n.size());
}

number::Number norm(const sip::Uri& u) {
  static const number::DialPlan plan = number::DialPlan::china();
  return number::normalize(u.number_text(), u.phone_context(), plan);
}

MixSpec spec_with_hits() {
  MixSpec s;
  s.templates = 1024;
  s.hit_callees = {"+861012345678", "+8675512345678"};
  s.hit_agents = {"Voipdialer/v0.4 (build 360)"};
  s.hit_names = {"Promo #0"};
  return s;
}

TEST(InviteMix, EveryTemplateIsAWellFormedInviteCarryingTheNumbersWritten) {
  MixSummary sum;
  auto mix = build_mix(spec_with_hits(), sum);
  ASSERT_EQ(mix.size(), 1024u);
  std::uint64_t rng = 42;
  auto* msg = new sip::Message();
  for (std::size_t i = 0; i < mix.size(); ++i) {
    SCOPED_TRACE("template " + std::to_string(i));
    InviteTemplate& t = mix[i];
    ASSERT_FALSE(t.caller_digits.empty());
    ASSERT_EQ(t.caller_digits.size() % 11, 0u);
    ASSERT_EQ(t.callee_digits.size() % 11, 0u);
    const National caller = random_mobile(rng), callee = random_mobile(rng);
    put_number(t.frame.data(), t.caller_digits, caller);
    put_number(t.frame.data(), t.callee_digits, callee);
    if (t.ipv6) fix_ipv6_udp_checksum(t.frame.data(), t.l3_offset);

    net::DecodedPacket d;
    ASSERT_EQ(net::decode_frame(t.frame.data(), t.frame.size(), d), net::DecodeResult::ok);
    EXPECT_EQ(d.l4_proto, 17);
    EXPECT_EQ(d.dst_port, 5060);
    EXPECT_EQ(d.ip_version, t.ipv6 ? 6 : 4);
    EXPECT_TRUE(net::l4_checksum_ok(t.frame.data(), d));
    if (!t.ipv6) {
      EXPECT_TRUE(net::ipv4_header_checksum_ok(t.frame.data() + d.l3_offset));
    }
    EXPECT_GE(t.frame.size(), 800u);
    EXPECT_LE(t.frame.size(), 1400u);

    ASSERT_EQ(sip::parse_message(d.payload(t.frame.data()), *msg, sip::Transport::datagram), sip::ParseError::none);
    EXPECT_EQ(msg->method, sip::Method::invite);
    EXPECT_EQ(msg->length, d.payload_length);  // Content-Length frames the whole datagram
    // The caller the classifier uses: P-Asserted-Identity, else From.
    const sip::Uri& caller_uri = msg->pai_count ? msg->pai[0].uri : msg->from.uri;
    EXPECT_EQ(norm(caller_uri).text(), e164(caller));
    if (msg->pai_count && msg->from.uri.number_text() != "anonymous") {
      EXPECT_EQ(norm(msg->from.uri).text(), e164(caller));
    }
    const number::Number ruri = norm(msg->request_uri);
    if (t.kind == MixKind::prefix_hit) {
      EXPECT_TRUE(t.callee_digits.empty());
      EXPECT_TRUE(ruri.text() == "+861012345678" || ruri.text() == "+8675512345678") << ruri.text();
    } else {
      EXPECT_EQ(ruri.text(), e164(callee));
      EXPECT_EQ(norm(msg->to.uri).text(), e164(callee));
    }
    if (t.kind == MixKind::agent_hit) {
      EXPECT_EQ(msg->user_agent, "Voipdialer/v0.4 (build 360)");
    }
    if (t.kind == MixKind::name_hit) {
      const sip::NameAddr& id = msg->pai_count ? msg->pai[0] : msg->from;
      EXPECT_EQ(id.display_name, "Promo #0");
    }
  }
  delete msg;
}

TEST(InviteMix, SharesAndFormatsAreAsSpecified) {
  MixSummary sum;
  auto mix = build_mix(spec_with_hits(), sum);
  EXPECT_EQ(sum.frames, 1024u);
  EXPECT_EQ(sum.by_kind[static_cast<unsigned>(MixKind::caller_hit)], 102u);  // 10% of 1024, rounded
  EXPECT_EQ(sum.by_kind[static_cast<unsigned>(MixKind::prefix_hit)], 31u);   // 3%
  EXPECT_EQ(sum.by_kind[static_cast<unsigned>(MixKind::agent_hit)], 10u);    // 1%
  EXPECT_EQ(sum.by_kind[static_cast<unsigned>(MixKind::name_hit)], 10u);     // 1%
  for (std::size_t f = 0; f < 7; ++f) EXPECT_GT(sum.caller_formats[f], 10u) << kCallerFormatNames[f];
  EXPECT_GT(sum.ipv6, 50u);
  EXPECT_GT(sum.vlan, 50u);
  EXPECT_GT(sum.pai, 300u);
  EXPECT_GT(sum.avg_len, 900.0);
  EXPECT_LT(sum.avg_len, 1150.0);
  // Deterministic for a seed; another seed gives other frames.
  MixSummary s2;
  auto again = build_mix(spec_with_hits(), s2);
  EXPECT_EQ(again[7].frame, mix[7].frame);
  MixSpec other = spec_with_hits();
  other.seed = 2;
  auto diff = build_mix(other, s2);
  EXPECT_NE(diff[7].frame, mix[7].frame);
}

TEST(InviteMix, NationalOfAcceptsOnlyChinaMobiles) {
  National n;
  ASSERT_TRUE(national_of("+8613800138000", n));
  EXPECT_EQ(std::string(n.data(), 11), "13800138000");
  EXPECT_FALSE(national_of("+861012345678", n));   // fixed line: not 11 digits after 86
  EXPECT_FALSE(national_of("+8623800138000", n));  // does not start with 1
  EXPECT_FALSE(national_of("+4420712345678", n));
  EXPECT_FALSE(national_of("+86138001380x0", n));
}

TEST(LatencyHistogram, PercentilesFromFineAndCoarseBuckets) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile_us(0.5), 0.0);
  for (int i = 0; i < 990; ++i) h.add(1000);  // 1 us
  for (int i = 0; i < 9; ++i) h.add(50000);   // 50 us
  h.add(3'000'000);                           // 3 ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_DOUBLE_EQ(h.percentile_us(0.5), 1.01);   // upper edge of the 1.00-1.01 us bucket
  EXPECT_DOUBLE_EQ(h.percentile_us(0.99), 1.01);  // the 990th of 1000
  EXPECT_DOUBLE_EQ(h.percentile_us(0.995), 50.01);
  // 3 ms falls in [1.6, 3.2) ms (100 us sub-buckets): edge 3.1 ms, capped at the maximum seen.
  EXPECT_DOUBLE_EQ(h.percentile_us(1.0), 3000.0);
  EXPECT_DOUBLE_EQ(h.max_us(), 3000.0);
  h.clear();
  EXPECT_EQ(h.count(), 0u);
  h.add(250'000);  // 250 us: [200, 400) us, 12.5 us sub-buckets -> edge 262.5, capped at max 250
  EXPECT_DOUBLE_EQ(h.percentile_us(0.5), 250.0);
}

}  // namespace
}  // namespace sipwall::perf
