// The data plane's configuration (dataplane/app/config.cpp) through the one
// YAML reader (rules/yaml/reader.h): every mistake of a file at its
// file:line:col in one pass, in file order; unknown keys with "did you
// mean"; keys written twice; only true/false as booleans. No EAL.
// tests/integration/dataplane/test_config_errors.py runs the binary.
#include "dataplane/app/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/rules/test_util.h"

namespace sipwall::dataplane {
namespace {

using Lines = std::vector<std::string>;

constexpr const char* kPorts = R"(eal: {vdevs: ["net_null0", "net_null1"]}
ports:
  - {name: trunk, device: net_null0}
  - {name: core, device: net_null1, role: core}
pairs: [[trunk, core]]
)";

class ConfigFile : public ::testing::Test {
 protected:
  // The errors for `yaml`, with the scratch directory taken out of the paths.
  Lines errors(const std::string& yaml) {
    const std::string path = dir_.write("dp.yaml", yaml).string();
    Lines errors;
    EXPECT_FALSE(load_config(path, errors).has_value());
    const std::string prefix = dir_.path().string() + "/";
    for (std::string& e : errors) {
      for (std::size_t at; (at = e.find(prefix)) != std::string::npos;) e.erase(at, prefix.size());
    }
    return errors;
  }
  std::optional<DataplaneConfig> load(const std::string& yaml, Lines& errors) {
    return load_config(dir_.write("dp.yaml", yaml).string(), errors);
  }
  rules::test::TempDir dir_;
};

TEST_F(ConfigFile, AValidFileLoads) {
  Lines errors;
  const auto c = load(std::string(kPorts) + "offload: {steering: false}\nsip: {udp_ports: [5060, 5080]}\n", errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0]);
  ASSERT_EQ(c->ports.size(), 2u);
  EXPECT_EQ(c->ports[1].role, PortRole::core);
  EXPECT_EQ(c->pairs.size(), 1u);
  EXPECT_FALSE(c->offload_steering);
  EXPECT_EQ(c->sip_udp_ports, (std::vector<std::uint16_t>{5060, 5080}));
  EXPECT_EQ(c->worker_lcores, (std::vector<unsigned>{1}));
}

// eal.lcores: a plain list goes to EAL's -l; an lcore@cpu mapping (three
// lcores on two CPUs) only --lcores takes, -l refuses it.
TEST_F(ConfigFile, LcoreMappingsGoToEalAsLcores) {
  Lines errors;
  auto c = load(
      "eal: {vdevs: [\"net_null0\", \"net_null1\"], lcores: \"0@0,(1,2)@1\"}\n"
      "ports:\n  - {name: trunk, device: net_null0}\n  - {name: core, device: net_null1, role: core}\n"
      "pairs: [[trunk, core]]\nworkers: {lcores: [1, 2]}\n",
      errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0]);
  std::vector<std::string> a = eal_arguments(*c, "dp");
  ASSERT_GE(a.size(), 5u);
  EXPECT_EQ((std::vector<std::string>{a[1], a[2], a[3], a[4]}),
            (std::vector<std::string>{"--lcores", "0@0,(1,2)@1", "--main-lcore", "0"}));
  c = load(std::string(kPorts), errors);
  ASSERT_TRUE(c);
  a = eal_arguments(*c, "dp");
  EXPECT_EQ((std::vector<std::string>{a[1], a[2]}), (std::vector<std::string>{"-l", "0-1"}));
}

// HEP export and watches (docs/export.md): the collector is an address
// literal and a port, the filter one the control socket would take.
TEST_F(ConfigFile, HepExportAndWatch) {
  Lines errs;
  const auto c = load(std::string(kPorts) +
                          "watch: {calls: 1024, ring_size: 100}\n"
                          "export:\n  hep: {collector: \"[2001:db8::5]:9060\", transport: tcp, agent_id: 7, "
                          "match: caller, value: \"+8613800138000\"}\n",
                      errs);
  ASSERT_TRUE(c) << (errs.empty() ? "" : errs[0]);
  EXPECT_EQ(c->hep_address, "2001:db8::5");
  EXPECT_EQ(c->hep_port, 9060);
  EXPECT_TRUE(c->hep_tcp);
  EXPECT_EQ(c->hep_agent_id, 7u);
  EXPECT_EQ(c->hep_match, "caller");
  EXPECT_EQ(c->watch_calls, 1024u);
  EXPECT_EQ(c->watch_ring_size, 100u);
  const auto bad = errors(std::string(kPorts) + "export:\n  hep: {collector: \"collector.example:9060\"}\n");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("dp.yaml:7:20: collector: "), std::string::npos) << bad[0];
  for (const char* text : {"192.0.2.5", "192.0.2.5:0", "192.0.2.5:65536", "[2001:db8::5]9060", "192.0.2.5:90a"})
    EXPECT_EQ(errors(std::string(kPorts) + "export:\n  hep: {collector: \"" + text + "\"}\n").size(), 1u) << text;
  const auto no_value = errors(std::string(kPorts) + "export:\n  hep: {collector: \"192.0.2.5:9060\", match: trunk}\n");
  ASSERT_EQ(no_value.size(), 1u);
  EXPECT_NE(no_value[0].find("match: the filter 'trunk' needs a value"), std::string::npos) << no_value[0];
  const auto not_e164 =
      errors(std::string(kPorts) + "export:\n  hep: {collector: \"192.0.2.5:9060\", match: caller, value: \"0138\"}\n");
  ASSERT_EQ(not_e164.size(), 1u);
  EXPECT_EQ(errors(std::string(kPorts) + "export:\n  hep: {transport: udp}\n").size(), 1u);  // no collector
}

// Call records (docs/records.md): the records section and detection.linger_ms.
TEST_F(ConfigFile, RecordsSection) {
  Lines problems;
  auto c = load(std::string(kPorts), problems);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->records_enabled);
  EXPECT_EQ(c->records_ring_size, 16384u);
  EXPECT_EQ(c->records_socket, "/run/sipwall/records.sock");
  c = load(std::string(kPorts) +
               "records: {enabled: true, ring_size: 64, socket: /tmp/r.sock}\ndetection: {linger_ms: 500}\n",
           problems);
  ASSERT_TRUE(c) << (problems.empty() ? "" : problems[0]);
  EXPECT_TRUE(c->records_enabled);
  EXPECT_EQ(c->records_ring_size, 64u);
  EXPECT_EQ(c->records_socket, "/tmp/r.sock");
  EXPECT_EQ(c->detection_linger_ms, 500u);
  const Lines e = errors(std::string(kPorts) + "records: {enabled: yes please, ring_size: 8, sockt: x}\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NE(e[0].find("'enabled' must be true or false"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("'ring_size' must be between 64 and"), std::string::npos) << e[1];
  EXPECT_NE(e[2].find("unknown key 'sockt' in records; did you mean 'socket'?"), std::string::npos) << e[2];
}

// Before: "unknown key 'memroy_mb' in eal (allowed: ...)" without the hint
// the rule loader and sipwall-control's config gave.
TEST_F(ConfigFile, UnknownKeysSayWhatWasMeant) {
  EXPECT_EQ(
      errors(std::string(kPorts) + "offload: {steerng: false}\nfragment: {max_flows: 64}\n"),
      (Lines{
          "dp.yaml:6:11: unknown key 'steerng' in offload; did you mean 'steering'? (allowed: steering, "
          "deny)",
          "dp.yaml:7:1: unknown key 'fragment' in the configuration; did you mean 'fragments'? (allowed: eal, "
          "cpu, ports, pairs, workers, sip, ruleset, control, fragments, tcp, trace, run, offload, detection, watch, "
          "export, records)"}));
  EXPECT_EQ(errors(std::string(kPorts) + "eal: {memroy_mb: 256}\n"),
            (Lines{"dp.yaml:6:1: duplicate key 'eal' (first at dp.yaml:1:1)"}));
  EXPECT_EQ(errors("eal:\n  memroy_mb: 256\n  vdevs: [\"net_null0\", \"net_null1\"]\n" +
                   std::string(kPorts).substr(std::string(kPorts).find("ports:"))),
            (Lines{"dp.yaml:2:3: unknown key 'memroy_mb' in eal; did you mean 'memory_mb'? (allowed: lcores, "
                   "main_lcore, memory_mb, no_huge, no_pci, vdevs, allow, file_prefix, extra)"}));
}

TEST_F(ConfigFile, UnknownPortsAndWordsSayWhatWasMeant) {
  EXPECT_EQ(errors(R"(eal: {vdevs: ["net_null0", "net_null1"]}
ports:
  - {name: trunk, device: net_null0, role: trunck}
  - {name: core, device: net_null1, role: core}
pairs: [[trunk, cor]]
sip: {malformed: fail_closd}
)"),
            (Lines{"dp.yaml:3:44: 'role' must be trunk or core, got 'trunck'; did you mean 'trunk'?",
                   "dp.yaml:5:17: unknown port 'cor'; did you mean 'core'? (ports: trunk, core)",
                   "dp.yaml:6:18: 'malformed' must be fail_open or fail_closed, got 'fail_closd'; did you mean "
                   "'fail_closed'?"}));
}

// Before: the second `mtu` silently won; yes/on were taken as true.
TEST_F(ConfigFile, DuplicateKeysAndLooseBooleansAreErrors) {
  EXPECT_EQ(errors(R"(eal: {vdevs: ["net_null0", "net_null1"], no_huge: yes}
ports:
  - {name: trunk, device: net_null0, mtu: 1500, mtu: 9000}
  - {name: core, device: net_null1, role: core}
pairs: [[trunk, core]]
)"),
            (Lines{"dp.yaml:1:51: 'no_huge' must be true or false, got 'yes'",
                   "dp.yaml:3:49: duplicate key 'mtu' (first at dp.yaml:3:38)"}));
}

// A list with a bad entry is not used at all (no second error about what
// its other entries would have meant).
TEST_F(ConfigFile, EveryMistakeInOnePassInFileOrder) {
  EXPECT_EQ(errors(R"(eal:
  memory_mb: 12
  vdevs: ["net_null0", "net_null1"]
ports:
  - {name: trunk, device: net_null0, mtu: 100000}
  - {name: core, device: net_null0}
pairs: [[trunk, core], [core]]
workers: {lcores: [0, 70000]}
control: {mode: "0999"}
run: {stats_json: [a]}
)"),
            (Lines{"dp.yaml:2:14: 'memory_mb' must be between 64 and 1048576, got 12",
                   "dp.yaml:5:43: 'mtu' must be between 576 and 9000, got 100000",
                   "dp.yaml:6:26: device 'net_null0' used by two ports",
                   "dp.yaml:7:24: a pair is [port, port] or {ports: [port, port], link_follow: true|false}, got a list",
                   "dp.yaml:8:23: each entry of 'lcores' must be between 0 and 1023, got 70000",
                   "dp.yaml:9:17: 'mode' must be an octal file mode such as \"0660\", got '0999'",
                   "dp.yaml:10:19: 'stats_json' must be a path, got a list"}));
}

// Issue 17: a pair may be a map, to set its link_follow (default on).
TEST_F(ConfigFile, PairsTakeLinkFollow) {
  std::vector<std::string> errs;
  auto c = load(R"(eal: {vdevs: ["net_null0", "net_null1", "net_null2", "net_null3"]}
ports:
  - {name: a, device: net_null0}
  - {name: b, device: net_null1, role: core}
  - {name: c, device: net_null2}
  - {name: d, device: net_null3, role: core}
pairs:
  - [a, b]
  - {ports: [c, d], link_follow: false}
)",
                errs);
  ASSERT_TRUE(c) << (errs.empty() ? "" : errs[0]);
  EXPECT_EQ(c->pairs.size(), 2u);
  EXPECT_EQ(c->pair_link_follow, (std::vector<bool>{true, false}));
  EXPECT_EQ(errors(R"(eal: {vdevs: ["net_null0", "net_null1"]}
ports:
  - {name: a, device: net_null0}
  - {name: b, device: net_null1, role: core}
pairs:
  - {ports: [a, b], link_folow: false}
)"),
            (Lines{"dp.yaml:6:21: unknown key 'link_folow' in a pair; did you mean 'link_follow'? (allowed: ports, "
                   "link_follow)"}));
}

TEST_F(ConfigFile, RequiredSectionsAndKeys) {
  EXPECT_EQ(errors("eal: {}\n"), (Lines{"dp.yaml:1:1: ports: is required",
                                        "dp.yaml:1:1: pairs: is required (which port forwards to which)"}));
  EXPECT_EQ(errors("ports: [{device: net_null0}]\npairs: []\n"),
            (Lines{"dp.yaml:1:9: missing required key 'name' in a port",
                   "dp.yaml:1:18: device 'net_null0' is neither a PCI address nor a vdev in eal.vdevs"}));
}

}  // namespace
}  // namespace sipwall::dataplane
