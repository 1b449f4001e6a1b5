// The fast paths (sip_fast.cpp, the mask-driven line loop) against the
// reference parsers they stand in for. A fast path may give up on any input,
// but whatever it accepts must come out exactly as the reference parser
// gives it; and it must accept the shapes real traffic uses, or the parser
// silently loses its speed.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/sip/sip_fast.h"
#include "dataplane/sip/sip_fields.h"
#include "dataplane/sip/sip_window.h"
#include "tests/unit/dataplane/sip/field_diff.h"
#include "tests/unit/dataplane/sip/sip_test_util.h"

namespace sipwall::sip::detail {
namespace {

using test::diff_na;
using test::diff_uri;
using test::diff_via;

// A header line holding `value`, as the line loop sees it: the value's
// Window comes from the message masks, and a CRLF and more bytes follow.
struct Line {
  std::string buf;
  std::size_t v = 0;  // value offset
  std::size_t ve = 0;
  Window w;

  explicit Line(const std::string& value) {
    buf = "X: " + value + "\r\nMore: stuff after the line\r\n\r\n";
    v = 3;
    ve = v + value.size();
    MessageMasks mm(buf.data(), buf.data() + buf.size());
    mm.need((v >> 6) + 3);
    mm.window(v, w);
  }
  const char* p() const { return buf.data() + v; }
  const char* e() const { return buf.data() + ve; }
  const char* limit() const { return buf.data() + buf.size(); }
};

// Values of the usual shapes, and the odd ones around them.
const std::vector<std::string> kNameAddrs = {
    "<sip:+8613800138000@example.com;user=phone>;tag=1928301774",
    "\"Alice Liddell\" <sip:alice@atlanta.example.com>;tag=9fxced76sl",
    "Bob <sips:bob@biloxi.example.com:5061;transport=tls>",
    "<tel:+8613912345678;phone-context=+86>",
    "<sip:%2B8613800138000@192.0.2.11;user=phone>;tag=a;x=\"q v\"",
    "<sip:13800138000;phone-context=+86@192.0.2.1;user=phone>",
    "<sip:+8613512345679@[2001:db8:a::11]:5060;transport=udp>",
    "<sip:192.0.2.1:5060;lr>",
    "<sip:user:secret@host.example>",
    "<sip:host.example?subject=x>",
    "< sip:a@b >",
    "\"a\\\"b\" <sip:a@b>",
    "sip:addr@spec.example;tag=x",
    "<sip:a@b>, <sip:c@d>",
    "<sip:a@b>;tag=",
    "<sip:a@b>;;tag=x",
    "<sip:a@b;user=phone",
    "<sip:@b>",
    "<sip:a@>",
    "<sip:a@b:99999>",
    "<sip:a@b:50x0>",
    "<sip:a%2@b>",
    "<sip:a@b;p=%zz>",
    "<mailto:a@b>",
    "<sip:a@b> junk",
    "\"unterminated <sip:a@b>",
    "<sip:a@[2001:db8::1>",
    "<sip:a@b>;tag=\"quoted\";x",
    "Bell, Alexander <sip:a.g.bell@bell-tel.com>",
};

const std::vector<std::string> kVias = {
    "SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bKdemo-001;rport",
    "SIP/2.0/TCP client.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1",
    "SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3-111",
    "SIP/2.0/UDP 192.0.2.1;BRANCH=z9hG4bKx, SIP/2.0/UDP 192.0.2.2",
    "sip/2.0/udp host;branch=\"quoted\"",
    "SIP / 2.0 / UDP host;branch=x",
    "SIP/2.0/UDP host:70000;branch=x",
    "SIP/2.0/UDP host:;branch=x",
    "SIP/2.0/UDP;branch=x",
    "SIP/2.0/UDP host;branch",
    "SIP/2.0/UDP host;;x",
    "SIP/2.0/UDP host junk",
};

// Deterministic single-byte edits of s: every position gets a few bytes
// that matter to the grammar.
std::vector<std::string> mutations(const std::string& s) {
  static const char kBytes[] = {' ', '\t', ';', ',', '<', '>', '"', '\\', '@', ':',
                                '%', '=',  '?', '[', ']', '/', '+', 'A',  '0', '\x80'};
  std::vector<std::string> out{s};
  for (std::size_t i = 0; i < s.size(); ++i) {
    for (char c : kBytes) {
      std::string m = s;
      m[i] = c;
      out.push_back(m);
    }
    out.push_back(s.substr(0, i) + s.substr(i + 1));
    out.push_back(s.substr(0, i));
  }
  return out;
}

TEST(FastPath, NameAddrMatchesReference) {
  std::size_t fast = 0;
  std::size_t accepted = 0;  // by the reference
  for (const std::string& base : kNameAddrs) {
    for (const std::string& value : mutations(base)) {
      for (bool list : {false, true}) {
        Line l(value);
        ASSERT_TRUE(l.w.covers(l.e())) << value;
        NameAddr f;
        NameAddr r;
        const char* fn = nullptr;
        const char* rn = nullptr;
        const bool ok = fast_name_addr(l.w, l.p(), l.e(), list, f, fn);
        const ParseError e = parse_name_addr(l.p(), l.e(), l.limit(), list, ParseError::bad_from, r, rn);
        accepted += e == ParseError::none;
        if (!ok) continue;
        ++fast;
        ASSERT_EQ(e, ParseError::none) << "fast path accepted what the reference rejects: " << value;
        EXPECT_EQ(diff_na(f, r), "") << value;
        EXPECT_EQ(fn, rn) << value;
      }
    }
  }
  // The fast path takes most of what the reference accepts.
  EXPECT_GT(fast * 10, accepted * 6) << fast << " of " << accepted;
}

TEST(FastPath, ViaMatchesReference) {
  for (const std::string& base : kVias) {
    for (const std::string& value : mutations(base)) {
      Line l(value);
      Via f;
      Via r;
      const bool ok = fast_via(l.w, l.p(), l.e(), f);
      const ParseError e = parse_via(l.p(), l.e(), l.limit(), r);
      if (!ok) continue;
      ASSERT_EQ(e, ParseError::none) << "fast path accepted what the reference rejects: " << value;
      EXPECT_EQ(diff_via(f, r), "") << value;
    }
  }
}

TEST(FastPath, UriMatchesReference) {
  for (const std::string& base : kNameAddrs) {
    // The URI between < and > (or from the start).
    const std::size_t lt = base.find('<');
    const std::string from = lt == std::string::npos ? base : base.substr(lt + 1);
    for (const std::string& value : mutations(from)) {
      Line l(value);
      Uri f;
      Uri r;
      const char* fs = nullptr;
      const char* rs = l.p();
      const bool ok = fast_uri(l.w, l.p(), l.e(), f, fs);
      const ParseError e = parse_uri_at(l.p(), l.e(), l.limit(), UriCtx::angle, r, rs);
      if (!ok) continue;
      ASSERT_EQ(e, ParseError::none) << "fast path accepted what the reference rejects: " << value;
      EXPECT_EQ(diff_uri(f, r), "") << value;
      EXPECT_EQ(fs, rs) << value;
    }
  }
}

// The shapes of real traffic must take the fast path: if they stop doing so
// the parser is still right, only slow, and no other test would notice.
TEST(FastPath, TakesTheUsualShapes) {
  for (const char* v :
       {"<sip:+8613800138000@core.example.net;user=phone>;tag=4f2a9c3e",
        "\"Caller Name\" <sip:+8613912345678@trunk.example.org;user=phone>;tag=x", "<sip:1001@10.1.2.3:5060>",
        "<tel:+8613912345678>", "<sip:+86135@[2001:db8:a::11];user=phone>;tag=fr124x",
        "<sip:%2B8613800138000@192.0.2.11>;tag=fr124x"}) {
    Line l(v);
    NameAddr na;
    const char* next = nullptr;
    EXPECT_TRUE(fast_name_addr(l.w, l.p(), l.e(), false, na, next)) << v;
  }
  for (const char* v : {"SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---77ba1c;rport",
                        "SIP/2.0/TCP [2001:db8:a::11]:5060;branch=z9hG4bKdemo-015;rport"}) {
    Line l(v);
    Via via;
    EXPECT_TRUE(fast_via(l.w, l.p(), l.e(), via)) << v;
  }
}

// A Window's answers against a byte-by-byte scan, over every start offset.
TEST(FastPath, WindowRunsMatchSkipRun) {
  const std::string value = "<sip:+86%2013800;x=y@host-1.example_2.com:5060;user=phone;a=[::1]?h=v>;tag=\"q\\\"\"";
  Line l(value);
  for (std::size_t i = 0; i <= value.size(); ++i) {
    const char* q = l.p() + i;
    EXPECT_EQ(l.w.run<0>(q, l.e()), skip_class(q, l.e(), kHost)) << i;
    EXPECT_EQ(l.w.run<kToken>(q, l.e()), skip_class(q, l.e(), kToken)) << i;
    EXPECT_EQ(l.w.run<kQText>(q, l.e()), skip_class(q, l.e(), kQText)) << i;
    EXPECT_EQ(l.w.run_escaped<kUser>(q, l.e()), skip_escaped(q, l.e(), l.limit(), kUser)) << i;
    EXPECT_EQ(l.w.run_escaped<kParamRun>(q, l.e()), skip_escaped(q, l.e(), l.limit(), kParamRun)) << i;
  }
}

// The message masks, with AVX2 and with SSSE3, against a scalar classification
// of every byte value at every position of a block, and across the buffer's
// partial last block.
TEST(FastPath, MessageMasksMatchScalar) {
  std::string buf;
  for (int i = 0; i < 600; ++i) buf.push_back(static_cast<char>((i * 37 + i / 256) & 0xff));
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65},
                           std::size_t{300}, buf.size()}) {
    for (bool avx2 : {false, true}) {
      const bool saved = g_use_avx2;
      g_use_avx2 = avx2 && saved;  // AVX2 only where the CPU has it
      MessageMasks mm(buf.data(), buf.data() + size);
      for (std::size_t off = 0; off < size; ++off) {
        mm.need((off >> 6) + 1);  // as the line loop does: forward
        const std::uint64_t sp = mm.special64(off);
        const std::uint64_t ct = mm.ctl64(off);
        for (std::size_t i = 0; i < 64; ++i) {
          const bool past = off + i >= size;
          const auto c = past ? 0u : static_cast<unsigned char>(buf[off + i]);
          const bool special = past || !is_host_char(c);
          const bool ctl = past || c < 0x20 || c == 0x7f;
          ASSERT_EQ(((sp >> i) & 1) != 0, special) << size << " " << off << " " << i;
          ASSERT_EQ(((ct >> i) & 1) != 0, ctl) << size << " " << off << " " << i;
        }
      }
      g_use_avx2 = saved;
    }
  }
}

// Whole messages parse the same way with the AVX2 and the SSSE3 classifier.
TEST(FastPath, SameResultWithAndWithoutAvx2) {
  test::MsgBuilder b;
  b.set("From", "\"Caller\" <sip:+8613912345678@trunk.example.org;user=phone>;tag=4f2a9c3e");
  b.add("P-Asserted-Identity", "<sip:+8613912345678@trunk.example.org;user=phone>, <tel:+86139>");
  b.add("Diversion", "<sip:+8613700000000@trunk.example.org>;reason=unconditional;counter=1");
  const std::string text = b.str(std::string(300, 'x'));
  const bool saved = g_use_avx2;
  for (std::size_t cut = 0; cut <= text.size(); cut += 7) {
    const std::string s = text.substr(0, cut);
    g_use_avx2 = false;
    test::Parsed a(s);
    g_use_avx2 = saved;
    test::Parsed c(s);
    ASSERT_EQ(a.err, c.err) << cut;
    ASSERT_EQ(a->error_offset, c->error_offset) << cut;
    if (a.err != ParseError::none) continue;
    ASSERT_EQ(a->header_count, c->header_count);
    EXPECT_EQ(a->from.uri.user, c->from.uri.user);
    EXPECT_EQ(a->pai_count, c->pai_count);
    EXPECT_EQ(a->via.branch, c->via.branch);
  }
  g_use_avx2 = saved;
}

// Uri::number_text() / phone_context() of user parts the fast path parsed:
// every length and every position of the ';'.
TEST(FastPath, NumberTextAtEveryLength) {
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t semi = 0; semi <= len; ++semi) {
      std::string user(len, '5');
      if (semi < len) user[semi] = ';';
      std::string text = "sip:" + user + "@h";
      if (semi < len) text = "sip:" + user.substr(0, semi) + ";phone-context=+86" + user.substr(semi + 1) + "@h";
      Uri u;
      ASSERT_EQ(parse_uri(text, u), ParseError::none) << text;
      const std::string_view num = u.number_text();
      EXPECT_EQ(num, user.substr(0, semi)) << text;
      EXPECT_EQ(u.phone_context().empty(), semi == len) << text;
    }
  }
}

}  // namespace
}  // namespace sipwall::sip::detail
