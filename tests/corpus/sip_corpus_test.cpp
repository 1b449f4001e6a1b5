// External SIP corpora through the parser. Each RFC message has an explicit
// expected outcome (the same table, with the reasons, is in
// docs/sip-parser.md); PROTOS and the fuzz seeds must each end in "none" or a
// named reason, without crash, sanitizer report or hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/sip/depth_check.h"

namespace sipwall::sip {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The corpora live outside the repository; CI always has them. Missing data is
// a failure, never a silent skip.
fs::path testdata() {
  const char* env = std::getenv("SIPWALL_TESTDATA");
  return env ? fs::path(env) : fs::path();
}

#define REQUIRE_DIR(dir)                                                                     \
  ASSERT_TRUE(!(dir).empty() && fs::is_directory(dir))                                       \
      << "corpus directory '" << (dir).string()                                              \
      << "' not found: set SIPWALL_TESTDATA to the external SIP corpora (shared/testdata); " \
         "the corpus tests cannot run without them"

std::string name(ParseError e) {
  return std::string(to_string(e));
}

// Parses a heap copy of exactly the file's bytes, so ASan sees any overread.
// The copy is freed on return: callers read only the scalar results.
ParseError parse_exact(const std::string& bytes, Message& m, Transport t) {
  std::unique_ptr<char[]> copy(new char[bytes.size() + (bytes.empty() ? 1 : 0)]);
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  return parse_message(std::string_view(copy.get(), bytes.size()), m, t);
}

bool named(ParseError e) {
  return static_cast<int>(e) < static_cast<int>(ParseError::count_) && !to_string(e).empty() &&
         to_string(e) != "unknown";
}

struct Expect {
  const char* file;
  ParseError datagram;
};

// RFC 4475. §3.1.1 must parse; §3.1.2 each has the reason it is rejected
// with, or "none" where the RFC allows a liberal parse; §3.2-3.4 likewise.
const Expect kRfc4475[] = {
    // §3.1.1 valid
    {"wsinv.dat", ParseError::none},
    {"intmeth.dat", ParseError::none},
    {"esc01.dat", ParseError::none},
    {"escnull.dat", ParseError::none},
    {"esc02.dat", ParseError::none},
    {"lwsdisp.dat", ParseError::none},
    {"longreq.dat", ParseError::none},
    {"dblreq.dat", ParseError::none},
    {"semiuri.dat", ParseError::none},
    {"transports.dat", ParseError::none},
    {"mpart01.dat", ParseError::none},
    {"unreason.dat", ParseError::none},
    {"noreason.dat", ParseError::none},
    // §3.1.2 invalid
    {"badinv01.dat", ParseError::bad_via},
    {"clerr.dat", ParseError::body_truncated},
    {"ncl.dat", ParseError::bad_content_length},
    {"scalar02.dat", ParseError::bad_cseq},
    {"scalarlg.dat", ParseError::bad_cseq},
    {"quotbal.dat", ParseError::unterminated_quote},
    {"ltgtruri.dat", ParseError::bad_request_uri},
    {"lwsruri.dat", ParseError::bad_request_uri},
    {"lwsstart.dat", ParseError::none},  // liberal: extra SP in the request line
    {"trws.dat", ParseError::none},      // liberal: trailing SP in the request line
    {"escruri.dat", ParseError::none},   // liberal: headers in the Request-URI are reported
    {"baddate.dat", ParseError::none},   // liberal: Date is not interpreted
    {"regbadct.dat", ParseError::bad_contact},
    {"badaspec.dat", ParseError::none},                       // liberal: LWS inside <...> dropped
    {"baddn.dat", ParseError::headers_unterminated},          // archive bytes: no empty line
    {"baddn.with-final-crlf.dat.variant", ParseError::none},  // liberal display name
    {"badvers.dat", ParseError::unsupported_version},
    {"mismatch01.dat", ParseError::cseq_method_mismatch},
    {"mismatch02.dat", ParseError::cseq_method_mismatch},
    {"bigcode.dat", ParseError::bad_status_code},
    // §3.2 - §3.4
    {"badbranch.dat", ParseError::none},
    {"insuf.dat", ParseError::missing_from},
    {"unkscm.dat", ParseError::none},
    {"novelsc.dat", ParseError::none},
    {"unksm2.dat", ParseError::none},
    {"bext01.dat", ParseError::none},
    {"invut.dat", ParseError::none},
    {"regaut01.dat", ParseError::none},
    {"multi01.dat", ParseError::duplicate_single_header},
    {"mcl01.dat", ParseError::duplicate_single_header},
    {"bcast.dat", ParseError::none},
    {"zeromf.dat", ParseError::none},
    {"cparam01.dat", ParseError::none},
    {"cparam02.dat", ParseError::none},
    {"regescrt.dat", ParseError::none},
    {"sdp01.dat", ParseError::none},
    {"inv2543.dat", ParseError::none},
    {"test.dat", ParseError::bad_start_line},  // no SIP-Version
};

const Expect kRfc5118[] = {
    {"ipv4-mapped-ipv6.dat", ParseError::none},
    {"ipv6-bad.dat", ParseError::bad_request_uri},
    {"ipv6-bug-abnf-3-colons.dat", ParseError::none},  // RFC 5118 §4.10: tolerate
    {"ipv6-correct-abnf-2-colons.dat", ParseError::none},
    {"ipv6-good.dat", ParseError::none},
    {"ipv6-in-sdp.dat", ParseError::none},
    {"mult-ip-in-header.dat", ParseError::none},
    {"mult-ip-in-sdp.dat", ParseError::none},
    {"port-ambiguous.dat", ParseError::none},
    {"port-unambiguous.dat", ParseError::none},
    {"via-received-param-no-delim.dat", ParseError::none},
    {"via-received-param-with-delim.dat", ParseError::none},
};

void run_table(const fs::path& dir, const Expect* begin, const Expect* end, const char* ext) {
  REQUIRE_DIR(dir);
  auto m = std::make_unique<Message>();
  std::size_t in_dir = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.size() > std::strlen(ext) && f.ends_with(ext)) ++in_dir;
  }
  std::size_t listed = 0;
  for (const Expect* x = begin; x != end; ++x) {
    if (std::string_view(x->file).ends_with(ext)) ++listed;
    const fs::path path = dir / x->file;
    ASSERT_TRUE(fs::exists(path)) << path;
    const std::string bytes = read_file(path);
    const ParseError d = parse_exact(bytes, *m, Transport::datagram);
    EXPECT_EQ(d, x->datagram) << x->file << ": expected " << name(x->datagram) << ", got " << name(d) << " at offset "
                              << m->error_offset;
    if (d == ParseError::none) {
      EXPECT_LE(m->length, bytes.size()) << x->file;
      EXPECT_GT(m->header_count, 0) << x->file;
    }
    // As a stream the same bytes must also end in ok or a named reason; a
    // message that parsed as a datagram with a Content-Length parses here too.
    const bool had_cl = d == ParseError::none && m->has_content_length;
    const ParseError s = parse_exact(bytes, *m, Transport::stream);
    EXPECT_TRUE(named(s)) << x->file;
    if (had_cl) {
      EXPECT_EQ(s, ParseError::none) << x->file << " as stream: " << name(s);
    }
  }
  // Every message in the directory is in the table.
  EXPECT_EQ(listed, in_dir) << "expectation table and " << dir << " disagree";
}

TEST(Rfc4475, ExpectedOutcomePerMessage) {
  const fs::path dir = testdata() / "rfc4475";
  run_table(dir, std::begin(kRfc4475), std::end(kRfc4475), ".dat");
}

TEST(Rfc4475, FieldsOfValidMessages) {
  const fs::path dir = testdata() / "rfc4475";
  REQUIRE_DIR(dir);
  auto m = std::make_unique<Message>();
  std::string b = read_file(dir / "wsinv.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->to.tag, "1918181833n");
  EXPECT_EQ(m->from.display_name, "J Rosenberg \\\\\\\"");
  EXPECT_EQ(m->from.tag, "98asjd8");
  EXPECT_EQ(m->max_forwards, 68u);
  EXPECT_EQ(m->cseq.number, 9u);
  EXPECT_EQ(m->via.branch, "390skdjuw");
  EXPECT_EQ(m->content_length, 150u);
  EXPECT_EQ(m->contact.display_name, "Quoted string \\\"\\\"");

  b = read_file(dir / "intmeth.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->method, Method::unknown);
  EXPECT_EQ(m->method_text, "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(m->request_uri.host, "example.com");
  EXPECT_EQ(m->from.tag, "_token~1'+`*%!-.");

  b = read_file(dir / "esc01.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->request_uri.user, "sips%3Auser%40example.com");
  EXPECT_EQ(m->to.uri.user, "%75se%72");

  b = read_file(dir / "dblreq.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->method, Method::register_);
  EXPECT_EQ(m->body.size(), 0u);
  EXPECT_LT(m->length, b.size());
  EXPECT_EQ(b.substr(m->length, 2), "\r\n");

  b = read_file(dir / "mpart01.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->body.size(), 553u);
  EXPECT_EQ(m->user_agent, "SIPimp.org/0.2.5 (curses)");
  EXPECT_FALSE(m->identity.empty());

  b = read_file(dir / "longreq.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  int vias = 0;
  for (const Header* h = m->find(HeaderId::via); h; h = m->find_next(HeaderId::via, h)) ++vias;
  EXPECT_EQ(vias, 34);
  EXPECT_EQ(m->via.host, "sip33.example.com");

  b = read_file(dir / "noreason.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->status_code, 100);
  EXPECT_EQ(m->reason_phrase, "");

  b = read_file(dir / "semiuri.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->request_uri.user, "user;par=u%40example.net");
}

TEST(Rfc5118, ExpectedOutcomePerMessage) {
  const fs::path dir = testdata() / "rfc5118";
  run_table(dir, std::begin(kRfc5118), std::end(kRfc5118), ".dat");
  auto m = std::make_unique<Message>();
  std::string b = read_file(dir / "port-ambiguous.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->request_uri.host, "[2001:db8::10:5070]");
  EXPECT_EQ(m->request_uri.port, 0);
  b = read_file(dir / "port-unambiguous.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->request_uri.port, 5070);
  b = read_file(dir / "mult-ip-in-header.dat");
  ASSERT_EQ(parse_message(b, *m), ParseError::none);
  EXPECT_EQ(m->via.host, "[2001:db8::9:1]");
  EXPECT_EQ(m->via.port, 6050);
}

TEST(Sipgo, FuzzSeeds) {
  const fs::path dir = testdata() / "fuzz" / "sipgo";
  REQUIRE_DIR(dir);
  auto m = std::make_unique<Message>();
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".raw") continue;
    const std::string b = read_file(e.path());
    const ParseError d = parse_exact(b, *m, Transport::datagram);
    const ParseError s = parse_exact(b, *m, Transport::stream);
    EXPECT_EQ(d, ParseError::bad_version) << e.path();  // "0 0 SIP" has no valid version
    EXPECT_EQ(s, ParseError::bad_version) << e.path();
    ++n;
  }
  EXPECT_EQ(n, 2);
}

// PROTOS groups by first case (groups.tsv).
struct Group {
  std::string name;
  int first = 0;
  int count = 0;
};

std::vector<Group> read_groups(const fs::path& tsv) {
  std::vector<Group> g;
  std::ifstream f(tsv);
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    Group x;
    std::string first, count;
    std::getline(ls, x.name, '\t');
    std::getline(ls, first, '\t');
    std::getline(ls, count, '\t');
    x.first = std::stoi(first);
    x.count = std::stoi(count);
    g.push_back(x);
  }
  return g;
}

void print_counts(const char* what, const std::map<ParseError, int>& c) {
  std::printf("PROTOS %s:", what);
  int total = 0;
  for (const auto& [e, n] : c) {
    std::printf(" %s=%d", std::string(to_string(e)).c_str(), n);
    total += n;
  }
  std::printf(" (total %d)\n", total);
}

TEST(Protos, AllCasesDatagramAndStream) {
  const fs::path src = testdata() / "protos";
  REQUIRE_DIR(src);
  const char* env = std::getenv("SIPWALL_PROTOS_RENDERED");
  const fs::path dir = env ? fs::path(env) : fs::path(SIPWALL_PROTOS_RENDERED_DIR);
  ASSERT_TRUE(!dir.empty() && fs::is_directory(dir))
      << "rendered PROTOS directory '" << dir.string()
      << "' missing: run the ctest fixture corpus.render_protos (tests/corpus/render_protos.py)";
  const std::vector<Group> groups = read_groups(src / "groups.tsv");
  ASSERT_EQ(groups.size(), 54u);

  std::vector<std::string> cases;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".invite") cases.push_back(e.path().stem().string());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_EQ(cases.size(), 4527u);

  auto m = std::make_unique<Message>();
  std::map<ParseError, int> dgram, stream, teardown;
  std::vector<ParseError> by_case(cases.size(), ParseError::count_);
  int too_large = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string inv = read_file(dir / (cases[i] + ".invite"));
    const std::string tdn = read_file(dir / (cases[i] + ".teardown"));
    ASSERT_EQ(std::stoul(cases[i]), i);

    const ParseError d = parse_exact(inv, *m, Transport::datagram);
    ASSERT_TRUE(named(d)) << cases[i];
    if (d == ParseError::none) {
      ASSERT_LE(m->length, inv.size()) << cases[i];
    }
    if (inv.size() > kMaxMessageSize) {
      EXPECT_EQ(d, ParseError::message_too_large) << cases[i] << " (" << inv.size() << " bytes)";
      ++too_large;
    }
    ++dgram[d];
    by_case[i] = d;

    const ParseError t = parse_exact(tdn, *m, Transport::datagram);
    ASSERT_TRUE(named(t)) << cases[i];
    ++teardown[t];

    // As a TCP stream: INVITE then CANCEL back to back; the reader loops on
    // `length` and stops at the first error, as a connection handler would.
    const std::string both = inv + tdn;
    std::size_t off = 0;
    for (int k = 0; k < 2 && off < both.size(); ++k) {
      const ParseError s = parse_exact(both.substr(off), *m, Transport::stream);
      ASSERT_TRUE(named(s)) << cases[i] << " stream message " << k;
      if (k == 0) ++stream[s];
      if (s != ParseError::none) break;
      ASSERT_GT(m->length, 0u);
      ASSERT_LE(off + m->length, both.size());
      off += m->length;
    }
  }
  print_counts("INVITE as datagram", dgram);
  print_counts("INVITE as stream", stream);
  print_counts("CANCEL teardown as datagram", teardown);
  RecordProperty("protos_datagram_ok", dgram[ParseError::none]);

  // The reference case parses, both ways.
  EXPECT_EQ(by_case[0], ParseError::none);
  EXPECT_EQ(too_large, 81);
  {
    const std::string inv = read_file(dir / "0000000.invite");
    const std::string tdn = read_file(dir / "0000000.teardown");
    // (parse the strings themselves: the views are read afterwards)
    ASSERT_EQ(parse_message(inv, *m, Transport::stream), ParseError::none);
    EXPECT_EQ(m->method, Method::invite);
    EXPECT_EQ(m->from.uri.user, "alice");
    EXPECT_EQ(m->to.uri.host, "192.0.2.10");
    EXPECT_EQ(m->body.size(), m->content_length);
    ASSERT_EQ(parse_message(tdn, *m, Transport::datagram), ParseError::none);
    EXPECT_EQ(m->method, Method::cancel);
  }
  // The SDP groups only break the body, which the parser frames but does not
  // read: every one of those INVITEs must parse (unless too large for UDP).
  for (const Group& g : groups) {
    if (!g.name.starts_with("sdp-")) continue;
    for (int c = g.first; c < g.first + g.count; ++c) {
      EXPECT_TRUE(by_case[static_cast<std::size_t>(c)] == ParseError::none ||
                  by_case[static_cast<std::size_t>(c)] == ParseError::message_too_large)
          << g.name << " case " << c << ": " << name(by_case[static_cast<std::size_t>(c)]);
    }
  }
}

// Every corpus message at both parse depths (sip_message.h, Depth): the
// verdict parse plus parse_deferred() must give what the full parse gives
// (test::check_depths). Printed: the messages a verdict parse takes that a
// full parse refuses (their fault is in Via, Contact or Max-Forwards), by
// the full parse's reason; docs/sip-parser.md ("Parse depth") lists them.
TEST(Depth, EveryCorpusMessageAgreesAtBothDepths) {
  std::vector<std::pair<std::string, std::string>> inputs;  // name, bytes
  for (const char* sub : {"rfc4475", "rfc5118"}) {
    const fs::path dir = testdata() / sub;
    REQUIRE_DIR(dir);
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".dat") inputs.emplace_back(e.path().string(), read_file(e.path()));
    }
  }
  const char* env = std::getenv("SIPWALL_PROTOS_RENDERED");
  const fs::path protos = env ? fs::path(env) : fs::path(SIPWALL_PROTOS_RENDERED_DIR);
  ASSERT_TRUE(!protos.empty() && fs::is_directory(protos)) << "rendered PROTOS directory missing";
  std::size_t n_protos = 0;
  for (const auto& e : fs::directory_iterator(protos)) {
    if (e.path().extension() != ".invite" && e.path().extension() != ".teardown") continue;
    inputs.emplace_back(e.path().string(), read_file(e.path()));
    ++n_protos;
  }
  ASSERT_EQ(n_protos, 2u * 4527u);
  std::sort(inputs.begin(), inputs.end());
  auto m = std::make_unique<Message>();
  std::map<std::string, std::map<ParseError, int>> only_verdict;  // corpus -> full parse's reason -> messages
  for (const auto& [path, bytes] : inputs) {
    for (Transport t : {Transport::datagram, Transport::stream}) {
      // A heap copy of exactly the bytes, so ASan sees any overread.
      std::unique_ptr<char[]> copy(new char[bytes.size() + 1]);
      std::memcpy(copy.get(), bytes.data(), bytes.size());
      const std::string_view b(copy.get(), bytes.size());
      ASSERT_EQ(test::check_depths(b, t), "") << path << (t == Transport::stream ? " (stream)" : "");
      if (t != Transport::datagram) continue;
      const ParseError full = parse_message(b, *m, t, Depth::full);
      if (full != ParseError::none && parse_message(b, *m, t, Depth::verdict) == ParseError::none) {
        const std::string corpus = path.find("rfc4475") != std::string::npos   ? "rfc4475"
                                   : path.find("rfc5118") != std::string::npos ? "rfc5118"
                                                                               : "protos";
        only_verdict[corpus][full]++;
        if (corpus != "protos") std::printf("verdict depth takes %s (full: %s)\n", path.c_str(), name(full).c_str());
      }
    }
  }
  for (const auto& [corpus, counts] : only_verdict) {
    std::printf("%s, datagrams taken at verdict depth that a full parse refuses:", corpus.c_str());
    for (const auto& [e, n] : counts) std::printf(" %s=%d", name(e).c_str(), n);
    std::printf("\n");
  }
}

}  // namespace
}  // namespace sipwall::sip
