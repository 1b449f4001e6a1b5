// deny_sources: the YAML schema and its errors, the compiled entries and
// their lookup, the artifact round trip (and that a set without entries keeps
// its old bytes), and `rules diff`.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <sstream>

#include "rules/compiled/access.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/diff/diff.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

std::array<std::uint8_t, 16> v4(const char* text) {
  std::array<std::uint8_t, 16> a{};
  a[10] = a[11] = 0xFF;
  EXPECT_EQ(inet_pton(AF_INET, text, a.data() + 12), 1);
  return a;
}
std::array<std::uint8_t, 16> v6(const char* text) {
  std::array<std::uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1);
  return a;
}

const std::string kDeny = kHead +
                          "deny_sources:\n"
                          "  - 203.0.113.0/24\n"
                          "  - {cidr: 198.51.100.7, port: 5060, id: scanner-7, description: SIPVicious}\n"
                          "  - {cidr: '2001:db8:bad::/48', vlan: 200}\n"
                          "  - {cidr: 192.0.2.0/25, vlan: 100, port: 5061}\n"
                          "rules: []\n";

class DenySources : public ::testing::Test {
 protected:
  Lines errors(const std::string& yaml) {
    const LoadResult r = dir.load(yaml);
    EXPECT_FALSE(r.ok());
    Lines out;
    for (const std::string& l : dir.lines(r))
      if (l.find(": warning: ") == std::string::npos) out.push_back(l);
    return out;
  }
  std::unique_ptr<CompiledRuleSet> compile_ok(const std::string& yaml) {
    LoadResult r = dir.load(yaml);
    EXPECT_TRUE(r.ok()) << (dir.lines(r).empty() ? "" : dir.lines(r)[0]);
    if (!r.ok()) return nullptr;
    CompileResult c = compile(*r.rule_set);
    EXPECT_TRUE(c.set) << (c.diagnostics.empty() ? "" : c.diagnostics[0].message);
    return std::move(c.set);
  }
  TempDir dir;
};

TEST_F(DenySources, LoadsEntriesWithIdsAndQualifiers) {
  LoadResult r = dir.load(kDeny);
  ASSERT_TRUE(r.ok()) << dir.lines(r)[0];
  const auto& ds = r.rule_set->deny_sources;
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds[0].id, "203.0.113.0/24");
  EXPECT_TRUE(ds[0].source.is_ipv4);
  EXPECT_EQ(ds[0].source.prefix_len, 96 + 24);
  EXPECT_FALSE(ds[0].source.vlan.has_value());
  EXPECT_EQ(ds[1].id, "scanner-7");
  EXPECT_EQ(ds[1].description, "SIPVicious");
  EXPECT_EQ(ds[1].source.prefix_len, 128);
  EXPECT_EQ(*ds[1].source.port, 5060);
  EXPECT_EQ(ds[2].id, "2001:db8:bad::/48 vlan 200");
  EXPECT_FALSE(ds[2].source.is_ipv4);
  EXPECT_EQ(ds[2].source.prefix_len, 48);
  EXPECT_EQ(ds[3].id, "192.0.2.0/25 vlan 100 port 5061");
  EXPECT_EQ(ds[3].where.line, 7u);
  EXPECT_EQ(ds[3].where.column, 5u);
}

TEST_F(DenySources, ErrorsNameFileLineColumn) {
  EXPECT_EQ(errors(kHead + "deny_sources: 10.0.0.0/8\n"),
            Lines{"r.yaml:3:15: 'deny_sources' must be a list of source prefixes, got '10.0.0.0/8'"});
  EXPECT_EQ(errors(kHead + "deny_sources:\n  - 10.0.0.1/8\n"),
            Lines{"r.yaml:4:5: bad deny_sources prefix: '10.0.0.1/8' has host bits set; did you mean "
                  "'10.0.0.0/8'?"});
  EXPECT_EQ(errors(kHead + "deny_sources:\n  - 300.1.2.3\n"),
            Lines{"r.yaml:4:5: bad deny_sources prefix: '300.1.2.3' is not an IPv4 or IPv6 address or prefix"});
  EXPECT_EQ(errors(kHead + "deny_sources:\n  - {cidr: '2001:db8::/129'}\n"),
            Lines{"r.yaml:4:5: bad deny_sources prefix: bad prefix length in '2001:db8::/129': expected 0..128"});
  const Lines vlan = errors(kHead + "deny_sources:\n  - {cidr: 10.0.0.0/8, vlan: 4095}\n");
  ASSERT_EQ(vlan.size(), 1u);
  EXPECT_EQ(vlan[0].substr(0, 12), "r.yaml:4:30:");
  const Lines key = errors(kHead + "deny_sources:\n  - {cidr: 10.0.0.0/8, prot: 5060}\n");
  ASSERT_EQ(key.size(), 1u);
  EXPECT_NE(key[0].find("r.yaml:4:24: unknown key 'prot' in a deny_sources entry; did you mean 'port'?"),
            std::string::npos)
      << key[0];
  const Lines missing = errors(kHead + "deny_sources:\n  - {port: 5060}\n");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("r.yaml:4:5: missing required key 'cidr' in a deny_sources entry"), std::string::npos)
      << missing[0];
  EXPECT_NE(missing[0].find("cidr"), std::string::npos) << missing[0];
}

TEST_F(DenySources, RepeatedEntryAndDuplicateIdAreErrors) {
  EXPECT_EQ(errors(kHead + "deny_sources:\n  - 10.0.0.0/8\n  - {cidr: 10.0.0.0/8}\n"),
            Lines{"r.yaml:5:5: deny_sources entry 10.0.0.0/8 repeats the entry at r.yaml:4:5"});
  EXPECT_EQ(errors(kHead + "deny_sources:\n  - {cidr: 10.0.0.0/8, id: x}\n  - {cidr: 11.0.0.0/8, id: x}\n"),
            Lines{"r.yaml:5:5: duplicate deny_sources id 'x' (first used at r.yaml:4:5)"});
  // The same prefix with different qualifiers is a different entry.
  EXPECT_TRUE(dir.load(kHead + "deny_sources:\n  - 10.0.0.0/8\n  - {cidr: 10.0.0.0/8, port: 5060}\nrules: []\n").ok());
}

TEST_F(DenySources, WarnsWhenAnEntrySwallowsATrunkSource) {
  LoadResult r = dir.load(kHead +
                          "trunks:\n"
                          "  gw: {class: peer, sources: [198.51.100.0/25, {cidr: 203.0.113.0/24, vlan: 5}]}\n"
                          "deny_sources:\n"
                          "  - 198.51.100.0/24\n"
                          "  - {cidr: 203.0.113.0/24, vlan: 6}\n"
                          "  - {cidr: 203.0.113.0/25, vlan: 5}\n"
                          "rules: []\n");
  ASSERT_TRUE(r.ok());
  Lines warnings;
  for (const std::string& l : dir.lines(r))
    if (l.find("deny_sources") != std::string::npos) warnings.push_back(l);
  // The /24 covers the trunk's /25; the VLAN 6 entry cannot match VLAN 5
  // traffic; the /25 on VLAN 5 covers only half of the trunk's /24.
  EXPECT_EQ(warnings, Lines{"r.yaml:6:5: warning: deny_sources entry 198.51.100.0/24 covers all of source "
                            "198.51.100.0/25 of trunk 'gw' (r.yaml:4:31); no call from it reaches the rules"});
}

TEST_F(DenySources, CompiledLookupMostSpecificEntry) {
  auto set = compile_ok(kHead +
                        "deny_sources:\n"
                        "  - {cidr: 10.0.0.0/8, id: wide}\n"
                        "  - {cidr: 10.1.0.0/16, port: 5060, id: narrow-port}\n"
                        "  - {cidr: 10.1.2.0/24, vlan: 7, id: vlan7}\n"
                        "  - {cidr: '2001:db8::/32', id: v6}\n"
                        "  - {cidr: '::ffff:192.0.2.0/120', id: mapped}\n"
                        "rules: []\n");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->deny_count(), 5u);
  auto id = [&](std::array<std::uint8_t, 16> a, int vlan, std::uint16_t port) -> std::string {
    const std::uint32_t e = set->find_deny(a.data(), vlan, port);
    return e == kNoDeny ? "-" : std::string(set->deny_id(e));
  };
  EXPECT_EQ(id(v4("10.9.9.9"), -1, 5060), "wide");
  EXPECT_EQ(id(v4("10.1.9.9"), -1, 5060), "narrow-port");
  EXPECT_EQ(id(v4("10.1.9.9"), -1, 5080), "wide");
  EXPECT_EQ(id(v4("10.1.9.9"), -1, 0), "wide");  // no L4 header
  EXPECT_EQ(id(v4("10.1.2.3"), 7, 5060), "vlan7");
  EXPECT_EQ(id(v4("10.1.2.3"), 8, 5060), "narrow-port");
  EXPECT_EQ(id(v4("11.0.0.1"), -1, 5060), "-");
  EXPECT_EQ(id(v6("2001:db8:1::1"), -1, 5060), "v6");
  EXPECT_EQ(id(v6("2001:db9::1"), -1, 5060), "-");
  EXPECT_EQ(id(v4("192.0.2.77"), -1, 5060), "mapped");  // IPv4 is stored mapped
  const DenyEntry& e = set->deny_entry(1);
  EXPECT_EQ(e.prefix_len, 96 + 16);
  EXPECT_EQ(e.port, 5060);
  EXPECT_EQ(e.vlan, kAnyQualifier);
  EXPECT_EQ(e.is_ipv4, 1);
  EXPECT_EQ(set->str(e.text), "10.1.0.0/16");
}

TEST_F(DenySources, ArtifactRoundTripKeepsEntriesAndTable) {
  auto set = compile_ok(kDeny);
  ASSERT_TRUE(set);
  const std::string path = (dir.path() / "a.swr").string();
  ASSERT_TRUE(save_artifact(*set, path).ok);
  ArtifactLoadResult r = load_artifact(path);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.set->checksum(), set->checksum());
  ASSERT_EQ(r.set->deny_count(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(r.set->deny_id(i), set->deny_id(i));
  const auto a = v4("198.51.100.7");
  EXPECT_EQ(r.set->find_deny(a.data(), -1, 5060), 1u);
  EXPECT_EQ(r.set->find_deny(a.data(), -1, 5061), kNoDeny);
  const auto b = v6("2001:db8:bad:1::5");
  EXPECT_EQ(r.set->find_deny(b.data(), 200, 5060), 2u);
  EXPECT_EQ(r.set->find_deny(b.data(), -1, 5060), kNoDeny);
}

TEST_F(DenySources, AddingEntriesChangesChecksumNoEntriesKeepsOldBytes) {
  auto with = compile_ok(kDeny);
  auto without = compile_ok(kHead + "rules: []\n");
  ASSERT_TRUE(with && without);
  EXPECT_NE(with->checksum(), without->checksum());
  // A set without entries loads as one (its artifact has no deny sections).
  const std::string path = (dir.path() / "b.swr").string();
  ASSERT_TRUE(save_artifact(*without, path).ok);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ArtifactLoadResult r = load_artifact_bytes(bytes);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.set->deny_count(), 0u);
}

TEST_F(DenySources, ArtifactWithBrokenDenyTableIsRefused) {
  auto set = compile_ok(kDeny);
  ASSERT_TRUE(set);
  CompiledRuleSetData& d = CompiledRuleSetAccess::data(*set);
  d.deny.pop_back();  // the table now names a missing entry
  std::string why;
  EXPECT_FALSE(validate(d, why));
  EXPECT_EQ(why, "deny_sources table names a missing entry");
}

TEST_F(DenySources, DiffShowsAddedRemovedChanged) {
  LoadResult a = dir.load(kHead +
                          "deny_sources:\n  - {cidr: 10.0.0.0/8, id: a}\n  - {cidr: 11.0.0.0/8, id: b}\n"
                          "  - {cidr: 12.0.0.0/8, id: c}\nrules: []\n");
  LoadResult b =
      dir.load(kHead +
                   "deny_sources:\n  - {cidr: 10.0.0.0/8, id: a}\n  - {cidr: 11.0.0.0/16, id: b, port: 5060}\n"
                   "  - {cidr: 13.0.0.0/8, id: d}\nrules: []\n",
               "s.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  RuleSetDiff d = diff(*a.rule_set, *b.rule_set);
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(d.deny_added, std::vector<std::string>{"d: 13.0.0.0/8"});
  EXPECT_EQ(d.deny_removed, std::vector<std::string>{"c: 12.0.0.0/8"});
  EXPECT_EQ(d.deny_changed, std::vector<std::string>{"b: 11.0.0.0/8 -> 11.0.0.0/16 port 5060"});
  std::ostringstream os;
  print_diff(os, d);
  EXPECT_NE(os.str().find(
                "deny_sources:\n  + d: 13.0.0.0/8\n  - c: 12.0.0.0/8\n  ~ b: 11.0.0.0/8 -> 11.0.0.0/16 port 5060\n"),
            std::string::npos)
      << os.str();
  EXPECT_TRUE(diff(*a.rule_set, *a.rule_set).empty());
}

}  // namespace
}  // namespace sipwall::rules::test
