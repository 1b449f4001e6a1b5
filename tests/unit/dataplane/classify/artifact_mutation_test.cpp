// Issue 12, item 3: an artifact with a correct checksum and a bad rule code
// loaded, and the data plane died on the first INVITE (`r.code + 1 >= ncode`
// wrapped at 0xFFFFFFFF; `rules explain` died at 19 of 2,440 offsets). The
// checksum only proves the bytes are what was written, so validation must
// make every offset, count and index safe whatever it says.
//
// The experiment of the issue, at every 4-byte-aligned offset of the compiled
// demo artifact: write each of 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0 and
// original + 1 there, recompute the checksum (so the validator, not the
// checksum, has to catch it), load, and if the set loads, classify and
// explain every INVITE of tests/data/sample.pcap with it. Nothing may crash,
// and under ASan/UBSan nothing may read out of bounds.
#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "control/common/sip_input.h"
#include "dataplane/classify/classify.h"
#include "dataplane/classify/explain.h"
#include "dataplane/sip/sip_message.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"

using namespace sipwall;

namespace {

// rules/compiled/artifact.h: the checksum is XXH3-64 of the 256-byte header
// (its checksum field, at offset 24, zeroed) seeded with XXH3-64 of the
// payload.
constexpr std::size_t kHeaderBytes = 256;
constexpr std::size_t kChecksumAt = 24;

void fix_checksum(std::string& b) {
  std::string header = b.substr(0, kHeaderBytes);
  std::memset(header.data() + kChecksumAt, 0, 8);
  const std::uint64_t payload = XXH3_64bits(b.data() + kHeaderBytes, b.size() - kHeaderBytes);
  const std::uint64_t sum = XXH3_64bits_withSeed(header.data(), kHeaderBytes, payload);
  std::memcpy(b.data() + kChecksumAt, &sum, 8);
}

std::filesystem::path source_dir() {
  const char* env = std::getenv("SIPWALL_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : SIPWALL_SOURCE_DIR_DEFAULT;
}

// rules/examples/demo.yaml, compiled and saved as `sipwallctl rules compile` does.
std::string demo_artifact() {
  const rules::LoadResult lr = rules::load_rule_set(source_dir() / "rules/examples/demo.yaml");
  EXPECT_TRUE(lr.ok());
  if (!lr.ok()) return {};
  rules::CompileResult cr = rules::compile(*lr.rule_set);
  EXPECT_TRUE(cr.ok());
  if (!cr.ok()) return {};
  const auto path =
      std::filesystem::temp_directory_path() / ("sipwall-mutation-" + std::to_string(::getpid()) + ".swr");
  const rules::ArtifactSaveResult s = rules::save_artifact(*cr.set, path.string());
  EXPECT_TRUE(s.ok) << s.error;
  std::ifstream f(path, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(f), {}};
  std::filesystem::remove(path);
  return bytes;
}

// The INVITEs of the demo capture, parsed once, with where they came from.
struct Invite {
  std::string bytes;
  sip::Message msg;
  classify::PacketSource src;
};

std::vector<std::unique_ptr<Invite>> sample_invites() {
  std::vector<std::unique_ptr<Invite>> out;
  control::InputStats stats;
  std::string err;
  const bool ok = control::read_sip_input(
      (source_dir() / "tests/data/sample.pcap").string(), {}, stats,
      [&](const control::SipPayload& p) {
        auto inv = std::make_unique<Invite>();
        inv->bytes = p.bytes;
        const auto t = p.stream ? sip::Transport::stream : sip::Transport::datagram;
        if (sip::parse_message(inv->bytes, inv->msg, t) != sip::ParseError::none) return;
        if (!inv->msg.is_request || inv->msg.method != sip::Method::invite) return;
        const net::DecodedPacket& d = p.packet;
        inv->src.src_ip = d.src;
        inv->src.dst_ip = d.dst;
        inv->src.family = d.ip_version == 6 ? classify::IpFamily::ipv6 : classify::IpFamily::ipv4;
        inv->src.src_port = d.src_port;
        inv->src.dst_port = d.dst_port;
        inv->src.vlan = d.vlan_count ? d.outer_vlan : classify::kNoVlan;
        inv->src.transport = p.stream ? classify::Transport::tcp : classify::Transport::udp;
        out.push_back(std::move(inv));
      },
      err);
  EXPECT_TRUE(ok) << err;
  return out;
}

// Everything the data plane and `rules explain` do with a loaded set.
std::size_t exercise(const rules::CompiledRuleSet& set, const std::vector<std::unique_ptr<Invite>>& invites) {
  classify::Scratch scratch;
  if (!scratch.prepare(set)) return 0;
  std::size_t n = 0;
  for (const auto& inv : invites) {
    const classify::Verdict v = classify::classify(set, inv->msg, inv->src, scratch);
    const classify::Explanation x = classify::explain(set, inv->msg, inv->src, scratch);
    n += classify::to_text(x, set).size() + static_cast<std::size_t>(v.action);
    const std::uint8_t addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 203, 0, 113, 9};
    n += set.find_deny(addr, -1, 5060) != rules::kNoDeny;
  }
  // The worker's UDP order: the next INVITE started before this one's verdict.
  classify::InFlight slot[2];
  for (std::size_t i = 0; i <= invites.size(); ++i) {
    if (i < invites.size()) slot[i & 1].start(set, invites[i]->msg, invites[i]->src, scratch);
    if (i > 0) n += static_cast<std::size_t>(slot[(i - 1) & 1].verdict().action);
  }
  // What status, stats and traces print of a set.
  for (std::size_t i = 0; i < set.rule_count(); ++i) n += set.rule_id(i).size() + set.rule_action(i).reject_code;
  for (std::size_t i = 0; i < set.trunk_count(); ++i) n += set.trunk_name(i).size() + set.trunk_class_name(i).size();
  for (std::size_t i = 0; i < set.deny_count(); ++i) n += set.deny_id(i).size();
  for (std::size_t i = 0; i < set.named_list_count(); ++i) n += set.list_name(i).size();
  return n + set.memory_bytes() + set.name().size() + set.version().size();
}

}  // namespace

TEST(ArtifactMutation, EveryWordOfTheDemoArtifactSetToHostileValues) {
  const std::string original = demo_artifact();
  ASSERT_GT(original.size(), kHeaderBytes);
  const auto invites = sample_invites();
  ASSERT_GE(invites.size(), 10u);  // the capture holds a dozen-odd INVITEs in many formats

  {  // The untouched artifact loads and decides.
    const rules::ArtifactLoadResult l = rules::load_artifact_bytes(original, "demo");
    ASSERT_TRUE(l.ok()) << l.message;
    EXPECT_GT(exercise(*l.set, invites), 0u);
  }
  std::size_t tried = 0, loaded = 0;
  std::string b;
  for (std::size_t off = 0; off + 4 <= original.size(); off += 4) {
    std::uint32_t was;
    std::memcpy(&was, original.data() + off, 4);
    for (const std::uint32_t v : {0xFFFFFFFFU, 0x80000000U, 0x7FFFFFFFU, 0U, was + 1}) {
      if (v == was) continue;
      b = original;
      std::memcpy(b.data() + off, &v, 4);
      fix_checksum(b);
      ++tried;
      const rules::ArtifactLoadResult l = rules::load_artifact_bytes(b, "mutated");
      if (!l.ok()) {
        EXPECT_FALSE(l.message.empty()) << "offset " << off;
        continue;
      }
      ++loaded;
      exercise(*l.set, invites);
    }
  }
  // Most words are content a validator cannot tell from another valid set
  // (strings, numbers, priorities): those load, and were run.
  EXPECT_GT(tried, 10000u);
  EXPECT_GT(loaded, 1000u);
  std::printf("artifact of %zu bytes: %zu mutations, %zu loaded and classified %zu INVITEs each\n", original.size(),
              tried, loaded, invites.size());
}

// The two fields the issue names, each on its own: a rule's first
// instruction at 0xFFFFFFFF (the wrap) is refused, not loaded.
TEST(ArtifactMutation, RuleCodeAtTheTopOfTheRangeIsRefused) {
  const std::string original = demo_artifact();
  ASSERT_GT(original.size(), kHeaderBytes);
  const rules::ArtifactLoadResult good = rules::load_artifact_bytes(original, "demo");
  ASSERT_TRUE(good.ok());
  // RuleInfo is {id(8), priority, file_order, code, action, where(8), ...}:
  // find each rule's `code` word by its value right after id/priority/order.
  std::size_t refused = 0;
  for (std::size_t off = kHeaderBytes; off + 4 <= original.size(); off += 4) {
    std::string b = original;
    const std::uint32_t v = 0xFFFFFFFFU;
    std::memcpy(b.data() + off, &v, 4);
    fix_checksum(b);
    const rules::ArtifactLoadResult l = rules::load_artifact_bytes(b, "m");
    if (!l.ok() && l.message.find("rule code out of range") != std::string::npos) ++refused;
  }
  // One per rule of the demo set: each rule's first instruction.
  EXPECT_EQ(refused, good.set->rule_count());
}
