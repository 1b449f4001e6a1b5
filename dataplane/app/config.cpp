#include "dataplane/app/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>
#include <string_view>

#include "dataplane/app/af_packet_ring.h"
#include "dataplane/app/counters.h"  // kMaxPorts, kMaxWorkers (plain C++)
#include "dataplane/protocol/socket_path.h"
#include "dataplane/watch/watch_filter.h"
#include "rules/io/file_input.h"
#include "rules/text/safe_text.h"
#include "rules/yaml/reader.h"
#include "rules/yaml/suggest.h"

namespace sipwall::dataplane {
namespace {

using yaml::Entry;
using yaml::Map;
using yaml::SourceLocation;

constexpr std::array<std::string_view, 17> kTopKeys = {"eal",     "cpu",       "ports",     "pairs",  "workers", "sip",
                                                       "ruleset", "control",   "fragments", "tcp",    "trace",   "run",
                                                       "offload", "detection", "watch",     "export", "records"};
constexpr std::array<std::string_view, 9> kEalKeys = {"lcores", "main_lcore", "memory_mb",   "no_huge", "no_pci",
                                                      "vdevs",  "allow",      "file_prefix", "extra"};
constexpr std::array<std::string_view, 2> kCpuKeys = {"main_core", "corelist_workers"};
constexpr std::array<std::string_view, 4> kPortKeys = {"name", "device", "role", "mtu"};
constexpr std::array<std::string_view, 2> kPairKeys = {"ports", "link_follow"};
constexpr std::array<std::string_view, 2> kRoles = {"trunk", "core"};  // as PortRole
constexpr std::array<std::string_view, 4> kWorkerKeys = {"lcores", "rx_ring_size", "tx_ring_size", "mbufs"};
constexpr std::array<std::string_view, 3> kSipKeys = {"udp_ports", "tcp_ports", "malformed"};
constexpr std::array<std::string_view, 2> kMalformed = {"fail_open", "fail_closed"};
constexpr std::array<std::string_view, 3> kRulesetKeys = {"artifact", "state_dir", "last_good_after_ms"};
constexpr std::array<std::string_view, 3> kControlKeys = {"socket", "mode", "group"};
constexpr std::array<std::string_view, 2> kFragmentKeys = {"max_flows", "timeout_ms"};
constexpr std::array<std::string_view, 6> kTcpKeys = {"max_flows",        "reassembly_flows",
                                                      "reassembly_bytes", "reassembly_segments",
                                                      "reassembly_mbufs", "reassembly_timeout_ms"};
constexpr std::array<std::string_view, 2> kOffloadKeys = {"steering", "deny"};
constexpr std::array<std::string_view, 2> kTraceKeys = {"ring_size", "buffer"};
constexpr std::array<std::string_view, 3> kRecordsKeys = {"enabled", "ring_size", "socket"};
constexpr std::array<std::string_view, 10> kDetectionKeys = {"capacity",
                                                             "calls",
                                                             "report_queue",
                                                             "merge_ms",
                                                             "max_keys",
                                                             "report_percent",
                                                             "expire_visits",
                                                             "ringing_timeout_ms",
                                                             "answered_timeout_ms",
                                                             "linger_ms"};
constexpr std::array<std::string_view, 2> kRunKeys = {"stop_when_idle_ms", "stats_json"};
constexpr std::array<std::string_view, 5> kWatchKeys = {"calls", "call_ttl_ms", "ring_size", "mbufs", "drain_per_turn"};
constexpr std::array<std::string_view, 1> kExportKeys = {"hep"};
constexpr std::array<std::string_view, 7> kHepKeys = {"collector", "transport", "agent_id",  "auth_key",
                                                      "match",     "value",     "tcp_buffer"};
constexpr std::array<std::string_view, 2> kHepTransports = {"udp", "tcp"};

// Where a value of the file is, for errors about settings together: the
// value of `section`.`key` if written, else the section, else the file.
SourceLocation place(const yaml::Reader& r, const Map& top, std::string_view section, const char* key = nullptr) {
  const Entry* s = top.find(section);
  if (s == nullptr) return top.at();
  if (key != nullptr && s->value.IsMap()) {
    if (const YAML::Node v = s->value[key]; v.IsDefined()) return r.at(v, s->value_at);
  }
  return s->value_at;
}

bool written(const Map& top, std::string_view section, const char* key) {
  const Entry* s = top.find(section);
  return s != nullptr && s->value.IsMap() && s->value[key].IsDefined();
}

void read_eal(Map& m, DataplaneConfig& c) {
  m.text("lcores", c.eal_lcores, "a core list such as \"0-1\"", Map::Empty::allowed);
  m.integer("main_lcore", c.main_lcore, 0, 1023);
  m.integer("memory_mb", c.memory_mb, 64, 1 << 20);
  m.flag("no_huge", c.no_huge);
  m.flag("no_pci", c.no_pci);
  m.texts("vdevs", c.vdevs, "a vdev such as \"net_pcap0,rx_pcap=in.pcap\"");
  m.texts("allow", c.allow, "a PCI address");
  m.text("file_prefix", c.file_prefix, "a string", Map::Empty::allowed);
  m.texts("extra", c.eal_extra, "an EAL argument");
}

// The ports, and where each one's device is written (check_devices).
void read_ports(yaml::Reader& r, const Entry& e, DataplaneConfig& c, std::vector<SourceLocation>& device_at) {
  if (!e.value.IsSequence()) {
    r.error(e.value_at, "'ports' must be a list of {name, device, role}, got " + yaml::Reader::describe(e.value));
    return;
  }
  std::set<std::string> names, devices;
  for (const YAML::Node& node : e.value) {
    Map p(r, node, r.at(node, e.value_at), "a port", kPortKeys);
    if (!p.ok()) continue;
    PortConfig pc;
    if (p.require("name")) p.text("name", pc.name, "a port name");
    if (p.require("device")) p.text("device", pc.device, "a DPDK device name (vdev name or PCI address)");
    std::string role(kRoles[0]);
    p.word("role", kRoles, role);
    pc.role = role == "core" ? PortRole::core : PortRole::trunk;
    p.integer("mtu", pc.mtu, 576, 9000);
    if (!pc.name.empty() && !names.insert(pc.name).second)
      r.error(p.at("name"), "port name " + text::quote(pc.name) + " used twice");
    if (!pc.device.empty() && !devices.insert(pc.device).second)
      r.error(p.at("device"), "device " + text::quote(pc.device) + " used by two ports");
    c.ports.push_back(pc);
    device_at.push_back(p.at("device"));
  }
}

void read_pairs(yaml::Reader& r, const Entry& e, DataplaneConfig& c) {
  if (!e.value.IsSequence()) {
    r.error(e.value_at, "'pairs' must be a list of [port, port], got " + yaml::Reader::describe(e.value));
    return;
  }
  std::vector<std::string> port_names;
  for (const PortConfig& p : c.ports) {
    if (std::find(port_names.begin(), port_names.end(), p.name) == port_names.end()) port_names.push_back(p.name);
  }
  auto index_of = [&](const YAML::Node& n, const SourceLocation& at) -> int {
    for (std::size_t i = 0; i < c.ports.size(); ++i)
      if (c.ports[i].name == n.Scalar()) return static_cast<int>(i);
    std::string msg = "unknown port " + text::quote(n.Scalar());
    if (const std::string near = yaml::closest(n.Scalar(), port_names); !near.empty())
      msg += "; did you mean '" + near + "'?";
    r.error(at, msg + " (ports: " + yaml::join_names(port_names) + ")");
    return -1;
  };
  std::set<std::uint16_t> used;
  for (const YAML::Node& entry : e.value) {
    const SourceLocation entry_at = r.at(entry, e.value_at);
    // [a, b], or {ports: [a, b], link_follow: BOOL} for the pair's options.
    YAML::Node p = entry;
    SourceLocation pair_at = entry_at;
    bool link_follow = true;
    if (entry.IsMap()) {
      Map m(r, entry, entry_at, "a pair", kPairKeys);
      if (!m.ok()) continue;
      m.flag("link_follow", link_follow);
      const Entry* ports = m.require("ports");
      if (ports == nullptr) continue;
      p = ports->value;
      pair_at = ports->value_at;
    }
    if (!p.IsSequence() || p.size() != 2 || !p[0].IsScalar() || !p[1].IsScalar()) {
      r.error(pair_at, "a pair is [port, port] or {ports: [port, port], link_follow: true|false}, got " +
                           yaml::Reader::describe(p));
      continue;
    }
    const int a = index_of(p[0], r.at(p[0], pair_at)), b = index_of(p[1], r.at(p[1], pair_at));
    if (a < 0 || b < 0) continue;
    if (a == b) {
      r.error(pair_at, "a port cannot be paired with itself");
      continue;
    }
    for (int x : {a, b})
      if (!used.insert(static_cast<std::uint16_t>(x)).second)
        r.error(pair_at, "port " + text::quote(c.ports[static_cast<std::size_t>(x)].name) + " is in two pairs");
    c.pairs.emplace_back(static_cast<std::uint16_t>(a), static_cast<std::uint16_t>(b));
    c.pair_link_follow.push_back(link_follow);
  }
}

void read_workers(Map& m, DataplaneConfig& c) {
  m.integers("lcores", c.worker_lcores, 0, 1023);
  m.integer("rx_ring_size", c.rx_ring_size, 64, 16384);
  m.integer("tx_ring_size", c.tx_ring_size, 64, 16384);
  m.integer("mbufs", c.mbufs, 1023, 16 << 20);
}

void read_sip(Map& m, DataplaneConfig& c) {
  m.integers("udp_ports", c.sip_udp_ports, 1, 65535);
  m.integers("tcp_ports", c.sip_tcp_ports, 1, 65535);
  std::string malformed(kMalformed[0]);
  if (m.word("malformed", kMalformed, malformed)) c.fail_closed = malformed == "fail_closed";
}

void read_control(yaml::Reader& r, Map& m, DataplaneConfig& c) {
  // Checked here, so --check fails on a path bind() would refuse at start.
  if (m.text("socket", c.control_socket, "a socket path", Map::Empty::allowed)) {
    if (auto bad = protocol::socket_path_problem(c.control_socket)) r.error(m.at("socket"), "socket: " + *bad);
  }
  m.mode("mode", c.control_socket_mode);
  m.text("group", c.control_socket_group, "a group name", Map::Empty::allowed);
}

void read_tcp(Map& m, DataplaneConfig& c) {
  m.integer("max_flows", c.tcp_max_flows, 16, 1 << 24);
  m.integer("reassembly_flows", c.tcp_reassembly_flows, 16, 1 << 20);
  // At least one whole SIP message of the parser's maximum size (64 KiB).
  m.integer("reassembly_bytes", c.tcp_reassembly_bytes, 65536, 1 << 20);
  m.integer("reassembly_segments", c.tcp_reassembly_segments, 2, 1024);
  m.integer("reassembly_mbufs", c.tcp_reassembly_mbufs, 16, 1 << 20);
  m.integer("reassembly_timeout_ms", c.tcp_reassembly_timeout_ms, 10, 60000);
}

// "192.0.2.5:9060" or "[2001:db8::5]:9060": an address literal (the main
// lcore never waits on a name lookup) and a port.
bool split_collector(const std::string& text, std::string& address, std::uint16_t& port) {
  std::string host, digits;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    digits = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return false;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    digits = text.substr(colon + 1);
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return false;
  }
  if (digits.empty() || digits.size() > 5) return false;
  unsigned long p = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return false;
    p = p * 10 + static_cast<unsigned long>(ch - '0');
  }
  if (p == 0 || p > 65535) return false;
  address = host;
  port = static_cast<std::uint16_t>(p);
  return true;
}

void read_hep(yaml::Reader& r, Map& m, DataplaneConfig& c) {
  if (m.text("collector", c.hep_collector, "an address and port such as \"192.0.2.5:9060\"")) {
    if (!split_collector(c.hep_collector, c.hep_address, c.hep_port))
      r.error(m.at("collector"), "collector: " + text::quote(c.hep_collector) +
                                     " is not an IP address and port (\"192.0.2.5:9060\", \"[2001:db8::5]:9060\")");
  }
  std::string transport(kHepTransports[0]);
  if (m.word("transport", kHepTransports, transport)) c.hep_tcp = transport == "tcp";
  m.integer("agent_id", c.hep_agent_id, 0, 0xFFFFFFFFLL);
  m.text("auth_key", c.hep_auth_key, "a string", Map::Empty::allowed);
  m.word("match", watch::kWatchKindNames, c.hep_match);
  m.text("value", c.hep_value, "a trunk name, rule id, detector name or E.164 number", Map::Empty::allowed);
  m.integer("tcp_buffer", c.hep_tcp_buffer, 65536, 1 << 30);
  std::string why;
  if (!watch::parse_watch_filter(c.hep_match, c.hep_value, why)) r.error(m.at("match"), "match: " + why);
  if (c.hep_collector.empty()) r.error(m.at(), "export.hep needs a collector");
}

// The sections that are plain settings, each optional.
void read_settings(yaml::Reader& r, Map& top, DataplaneConfig& c) {
  if (auto m = top.map("eal", kEalKeys)) read_eal(*m, c);
  if (auto m = top.map("workers", kWorkerKeys)) read_workers(*m, c);
  if (auto m = top.map("sip", kSipKeys)) read_sip(*m, c);
  if (auto m = top.map("ruleset", kRulesetKeys)) {
    m->text("artifact", c.artifact, "a path", Map::Empty::allowed);
    m->text("state_dir", c.state_dir, "a path", Map::Empty::allowed);
    m->integer("last_good_after_ms", c.last_good_after_ms, 0, 3600000);
  }
  if (auto m = top.map("control", kControlKeys)) read_control(r, *m, c);
  if (auto m = top.map("fragments", kFragmentKeys)) {
    m->integer("max_flows", c.frag_max_flows, 16, 1 << 20);
    m->integer("timeout_ms", c.frag_timeout_ms, 10, 60000);
  }
  if (auto m = top.map("tcp", kTcpKeys)) read_tcp(*m, c);
  if (auto m = top.map("offload", kOffloadKeys)) {
    m->flag("steering", c.offload_steering);
    m->flag("deny", c.offload_deny);
  }
  if (auto m = top.map("detection", kDetectionKeys)) {
    m->integer("capacity", c.detection_capacity, 4, 1 << 26);
    m->integer("calls", c.detection_calls, 8, 1 << 26);
    m->integer("report_queue", c.detection_report_queue, 64, 1 << 24);
    // The bound: every worker acts on a crossing within 200 ms.
    m->integer("merge_ms", c.detection_merge_ms, 1, 100);
    m->integer("max_keys", c.detection_max_keys, 64, 1 << 24);
    m->integer("report_percent", c.detection_report_percent, 1, 100);
    m->integer("expire_visits", c.detection_expire_visits, 1, 1 << 16);
    m->integer("ringing_timeout_ms", c.detection_ringing_timeout_ms, 1000, 3600000);
    m->integer("answered_timeout_ms", c.detection_answered_timeout_ms, 60000, 86400000);
    m->integer("linger_ms", c.detection_linger_ms, 100, 600000);
  }
  if (auto m = top.map("records", kRecordsKeys)) {
    m->flag("enabled", c.records_enabled);
    m->integer("ring_size", c.records_ring_size, 64, 1 << 22);
    if (m->text("socket", c.records_socket, "a socket path", Map::Empty::allowed)) {
      if (auto bad = protocol::socket_path_problem(c.records_socket)) r.error(m->at("socket"), "socket: " + *bad);
    }
  }
  if (auto m = top.map("trace", kTraceKeys)) {
    m->integer("ring_size", c.trace_ring_size, 64, 1 << 22);
    m->integer("buffer", c.trace_buffer, 64, 1 << 24);
  }
  if (auto m = top.map("watch", kWatchKeys)) {
    m->integer("calls", c.watch_calls, 64, 1 << 24);
    m->integer("call_ttl_ms", c.watch_call_ttl_ms, 1000, 86400000);
    m->integer("ring_size", c.watch_ring_size, 64, 1 << 20);
    m->integer("mbufs", c.watch_mbufs, 255, 1 << 22);
    m->integer("drain_per_turn", c.watch_drain_per_turn, 16, 1 << 20);
  }
  if (auto m = top.map("export", kExportKeys)) {
    if (auto hep = m->map("hep", kHepKeys)) read_hep(r, *hep, c);
  }
  if (auto m = top.map("run", kRunKeys)) {
    m->integer("stop_when_idle_ms", c.stop_when_idle_ms, 0, 86400000);
    m->text("stats_json", c.stats_json, "a path", Map::Empty::allowed);
  }
}

// "2-5,8" -> "2-5,8": consecutive cores folded into ranges (the form EAL -l takes).
std::string core_list_text(const std::vector<unsigned>& cores) {
  std::vector<unsigned> v = cores;
  std::sort(v.begin(), v.end());
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(v[i]);
    if (j > i) out += '-' + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

// cpu: {main_core, corelist_workers} — VPP's `cpu { main-core N corelist-workers L }`.
// It stands for eal.lcores, eal.main_lcore and workers.lcores together, so
// giving any of those as well is an error at both places.
void read_cpu(yaml::Reader& r, Map& top, Map& cpu, DataplaneConfig& c) {
  bool conflict = false;
  auto clash = [&](std::string_view section, const char* key) {
    if (!written(top, section, key)) return;
    r.error(place(r, top, section, key), std::string(section) + "." + key +
                                             " and cpu: both give the cores; keep one (cpu: sets eal.lcores, "
                                             "eal.main_lcore and workers.lcores)");
    conflict = true;
  };
  clash("eal", "lcores");
  clash("eal", "main_lcore");
  clash("workers", "lcores");
  if (conflict) r.error(cpu.at(), "cpu: given together with eal/workers core settings (see the other errors)");

  unsigned main_core = 0;
  cpu.integer("main_core", main_core, 0, 1023);
  const Entry* list = cpu.find("corelist_workers");
  if (list == nullptr) {
    r.error(cpu.at(), "cpu needs corelist_workers (the worker cores, e.g. \"2-5\")");
    return;
  }
  const auto text = r.scalar(*list, "a core list such as \"2-5,8\"");
  if (!text) return;
  std::string why;
  auto cores = parse_core_list(*text, why);
  if (!cores) {
    r.error(list->value_at, "corelist_workers: " + why);
    return;
  }
  if (std::find(cores->begin(), cores->end(), main_core) != cores->end()) {
    r.error(list->value_at, "corelist_workers contains core " + std::to_string(main_core) + ", the main_core");
    return;
  }
  if (conflict) return;
  c.main_lcore = main_core;
  c.worker_lcores = *cores;
  std::vector<unsigned> all = *cores;
  all.push_back(main_core);
  c.eal_lcores = core_list_text(all);
}

// The worker lcores: one each, none the main lcore.
void check_workers(yaml::Reader& r, const Map& top, const DataplaneConfig& c) {
  std::set<unsigned> seen;
  for (unsigned l : c.worker_lcores) {
    if (l == c.main_lcore)
      r.error(place(r, top, "workers"), "worker lcore " + std::to_string(l) + " is the main lcore");
    if (!seen.insert(l).second)
      r.error(place(r, top, "workers"), "worker lcore " + std::to_string(l) + " listed twice");
  }
}

// Without cpu:, eal.lcores must contain the main lcore and every worker
// lcore, or EAL refuses to start (or the worker is never launched). Only
// plain lists are checked; DPDK's lcore@cpu / (set)@cpu mappings are left
// to EAL.
void check_lcores(yaml::Reader& r, const Map& top, const DataplaneConfig& c) {
  std::string why;
  auto enabled = parse_core_list(c.eal_lcores, why);
  if (!enabled) {
    if (c.eal_lcores.find_first_of("@()") != std::string::npos) return;
    r.error(place(r, top, "eal", "lcores"), "lcores: " + why);
    return;
  }
  auto in = [&](unsigned l) { return std::find(enabled->begin(), enabled->end(), l) != enabled->end(); };
  const std::string lcores = "eal.lcores \"" + text::printable(c.eal_lcores, text::kMaxQuotedBytes) + "\"";
  if (!in(c.main_lcore))
    r.error(place(r, top, "eal", "main_lcore"), "main lcore " + std::to_string(c.main_lcore) + " is not in " + lcores);
  for (unsigned l : c.worker_lcores)
    if (l != c.main_lcore && !in(l))
      r.error(place(r, top, "workers", "lcores"), "worker lcore " + std::to_string(l) + " is not in " + lcores);
}

bool is_pci_address(const std::string& s) {
  // [domain:]bus:device.function, hex: 0000:3b:00.0 or 3b:00.0
  unsigned a, b, d, f;
  char end;
  return std::sscanf(s.c_str(), "%x:%x:%x.%x%c", &a, &b, &d, &f, &end) == 4 ||
         std::sscanf(s.c_str(), "%x:%x.%x%c", &b, &d, &f, &end) == 3;
}

// Each port's device must be one EAL will create: a vdev listed in
// eal.vdevs (or passed in eal.extra), or a PCI address EAL may probe.
void check_devices(yaml::Reader& r, const DataplaneConfig& c, const std::vector<SourceLocation>& device_at) {
  std::set<std::string> vdev_names;
  for (const auto& v : c.vdevs) vdev_names.insert(v.substr(0, v.find(',')));
  std::string extra;
  for (const auto& e : c.eal_extra) extra += e + ' ';
  for (std::size_t i = 0; i < c.ports.size(); ++i) {
    const PortConfig& pc = c.ports[i];
    if (pc.device.empty()) continue;
    const std::string device = text::quote(pc.device);
    if (is_pci_address(pc.device)) {
      if (c.no_pci)
        r.error(device_at[i], "device " + device + " is a PCI address but eal.no_pci is true");
      else if (!c.allow.empty() && std::find(c.allow.begin(), c.allow.end(), pc.device) == c.allow.end())
        r.error(device_at[i], "device " + device + " is not in eal.allow (EAL probes only those)");
    } else if (!vdev_names.count(pc.device) && extra.find(pc.device) == std::string::npos) {
      r.error(device_at[i], "device " + device + " is neither a PCI address nor a vdev in eal.vdevs");
    }
  }
}

void read_config(yaml::Reader& r, const YAML::Node& root, DataplaneConfig& c) {
  Map top(r, root, r.top(), "the configuration", kTopKeys);
  if (!top.ok()) return;
  read_settings(r, top, c);
  std::vector<SourceLocation> device_at;
  if (const Entry* e = top.find("ports"))
    read_ports(r, *e, c, device_at);
  else
    r.error(top.at(), "ports: is required");
  if (const Entry* e = top.find("pairs"))
    read_pairs(r, *e, c);
  else
    r.error(top.at(), "pairs: is required (which port forwards to which)");
  if (auto cpu = top.map("cpu", kCpuKeys)) read_cpu(r, top, *cpu, c);
  if (c.worker_lcores.empty()) c.worker_lcores.push_back(c.main_lcore + 1);
  check_workers(r, top, c);
  if (!top.find("cpu")) check_lcores(r, top, c);
  check_devices(r, c, device_at);
  if (c.ports.size() > kMaxPorts) r.error(place(r, top, "ports"), "at most " + std::to_string(kMaxPorts) + " ports");
  if (c.worker_lcores.size() > kMaxWorkers)
    r.error(top.find("cpu") ? place(r, top, "cpu") : place(r, top, "workers"),
            "at most " + std::to_string(kMaxWorkers) + " workers");
}

}  // namespace

std::optional<std::vector<unsigned>> parse_core_list(const std::string& text, std::string& why) {
  std::vector<unsigned> out;
  std::set<unsigned> seen;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto number = [&](unsigned& v) {
    skip_space();
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    v = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      v = v * 10 + static_cast<unsigned>(text[i] - '0');
      if (v > 1023) return false;
      ++i;
    }
    skip_space();
    return true;
  };
  if (text.find_first_not_of(" \t") == std::string::npos) {
    why = "empty core list";
    return std::nullopt;
  }
  while (i < text.size()) {
    unsigned lo = 0, hi = 0;
    if (!number(lo)) {
      why = text::quote(text) + " is not a core list such as \"2-5,8\" (cores 0 to 1023)";
      return std::nullopt;
    }
    hi = lo;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(hi)) {
        why = text::quote(text) + " is not a core list such as \"2-5,8\" (cores 0 to 1023)";
        return std::nullopt;
      }
      if (hi < lo) {
        why = "range " + std::to_string(lo) + "-" + std::to_string(hi) + " goes down";
        return std::nullopt;
      }
    }
    for (unsigned v = lo; v <= hi; ++v) {
      if (!seen.insert(v).second) {
        why = "core " + std::to_string(v) + " listed twice";
        return std::nullopt;
      }
      out.push_back(v);
    }
    if (i < text.size()) {
      if (text[i] != ',') {
        why = text::quote(text) + " is not a core list such as \"2-5,8\" (unexpected " +
              text::quote(text.substr(i, 1)) + ")";
        return std::nullopt;
      }
      ++i;
      if (i >= text.size()) {
        why = text::quote(text) + " ends with ','";
        return std::nullopt;
      }
    }
  }
  return out;
}

std::optional<DataplaneConfig> load_config(const std::string& path, std::vector<std::string>& errors) {
  // A regular file of bounded size (not a FIFO that blocks start-up), no
  // alias cycles or bombs for the walk (rules/yaml/reader.h), every error
  // of the file at its place.
  yaml::Reader r(path);
  DataplaneConfig c;
  c.source_file = path;
  if (const auto root = r.read_file(path, io::kConfigFile)) read_config(r, *root, c);
  if (r.error_count() == 0) return c;
  for (std::string& m : r.messages()) errors.push_back(std::move(m));
  return std::nullopt;
}

std::vector<std::string> eal_arguments(const DataplaneConfig& c, const std::string& prog) {
  // A plain core list goes to -l; lcore@cpu / (set)@cpu mappings (several
  // lcores on one CPU, e.g. three lcores on a two-CPU VM) only to --lcores,
  // which -l would refuse.
  const bool mapped = c.eal_lcores.find_first_of("@()") != std::string::npos;
  std::vector<std::string> a{prog, mapped ? "--lcores" : "-l", c.eal_lcores, "--main-lcore",
                             std::to_string(c.main_lcore)};
  if (c.no_huge) a.insert(a.end(), {"--no-huge", "-m", std::to_string(c.memory_mb)});
  if (c.no_pci) a.push_back("--no-pci");
  for (const auto& v : c.vdevs) a.insert(a.end(), {"--vdev", v});
  for (const auto& p : c.allow) a.insert(a.end(), {"-a", p});
  if (!c.file_prefix.empty()) a.insert(a.end(), {"--file-prefix", c.file_prefix});
  a.insert(a.end(), c.eal_extra.begin(), c.eal_extra.end());
  return a;
}

namespace {
std::uint64_t mbuf_need(const DataplaneConfig& c, unsigned burst) {
  // Same budget as setup_dataplane: every RX/TX ring of every port and
  // worker, in-flight bursts, replies and reassembly per worker, held TCP
  // segments on top (holding must never starve RX), and slack.
  const auto workers = static_cast<std::uint64_t>(c.worker_lcores.size());
  std::uint64_t need = c.ports.size() * workers * (std::uint64_t{c.rx_ring_size} + c.tx_ring_size) +
                       workers * (std::uint64_t{burst} * 4 + 512 + c.tcp_reassembly_mbufs) + 4096;
  return need;
}
}  // namespace

std::uint32_t mbuf_pool_size(const DataplaneConfig& c, unsigned burst) {
  return static_cast<std::uint32_t>(std::max<std::uint64_t>(c.mbufs, mbuf_need(c, burst)));
}

std::string describe_plan(const DataplaneConfig& c, unsigned burst) {
  std::ostringstream o;
  auto join = [](const auto& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
    return s.empty() ? std::string("-") : s;
  };
  const std::size_t workers = c.worker_lcores.size();

  o << "cores:\n";
  o << "  main lcore     " << c.main_lcore << "  (control socket, stats, reloads, trace drain; never forwards)\n";
  o << "  worker lcores  " << join(c.worker_lcores) << "  (" << workers << " worker" << (workers == 1 ? "" : "s")
    << ", busy-polling at 100 %)\n";
  o << "  EAL lcores     " << c.eal_lcores << "\n";

  o << "memory:\n";
  if (c.no_huge)
    o << "  " << c.memory_mb << " MB of ordinary memory (--no-huge): lab/test only\n";
  else
    o << "  hugepages (reserve them before start: /etc/dpdk/dpdk.conf NR_2M_PAGES/NR_1G_PAGES, dpdk.service)\n";
  const std::uint32_t pool = mbuf_pool_size(c, burst);
  // An mbuf of the default data room (2048 + 128 headroom) plus its header
  // and mempool object overhead: ~2.5 KiB.
  // The jumbo pool: 64 KiB data room plus the same overhead, per worker.
  // The watch pool (docs/export.md): default-size mbufs with a 16-byte private area.
  // A port on af_packet with frames over 2 KB: its own RX pool (setup.cpp).
  std::uint64_t rx_pools = 0;
  std::string rx_pool_lines;
  for (std::size_t i = 0; i < c.ports.size(); ++i) {
    auto ring = port_af_packet_ring(c, i);
    if (!ring || af_packet_rx_data_room(*ring) <= 2048 + 128) continue;
    const std::uint64_t n = std::uint64_t{kAfPacketRxMbufsPerWorker} * workers - 1;
    const std::uint64_t bytes = n * (af_packet_rx_data_room(*ring) + 512);
    rx_pools += bytes;
    rx_pool_lines += "  rx pool        " + c.ports[i].name + ": " + std::to_string(n) + " mbufs of " +
                     std::to_string(af_packet_rx_data_room(*ring)) +
                     " bytes for af_packet framesz=" + std::to_string(ring->framesz) + ", ~" +
                     std::to_string(bytes >> 20) + " MB\n";
  }
  const std::uint64_t pool_mb =
      (std::uint64_t{pool} * 2560 + 8191 * 256 + std::uint64_t{kJumboMbufsPerWorker} * workers * (65536 + 512) +
       rx_pools + std::uint64_t{c.watch_mbufs} * 2576) >>
      20;
  o << "  mbuf pool      " << pool << " mbufs (workers.mbufs " << c.mbufs << ", needed " << mbuf_need(c, burst)
    << "), ~" << pool_mb << " MB with the indirect, jumbo, watch and port RX pools\n"
    << rx_pool_lines;
  if (c.no_huge && pool_mb + 64 > c.memory_mb)
    o << "  WARNING: the pools need ~" << pool_mb << " MB but eal.memory_mb is " << c.memory_mb
      << "; start will fail with 'cannot create the mbuf pool': raise eal.memory_mb\n";

  o << "ports:\n";
  for (std::size_t i = 0; i < c.ports.size(); ++i) {
    const PortConfig& p = c.ports[i];
    std::string peer = "-";
    for (auto [a, b] : c.pairs) {
      if (a == i) peer = c.ports[b].name;
      if (b == i) peer = c.ports[a].name;
    }
    o << "  " << p.name << "  device " << p.device << "  role " << (p.role == PortRole::trunk ? "trunk" : "core")
      << "  mtu " << p.mtu << "  pair " << peer << "\n";
    if (peer == "-") o << "  WARNING: port " << p.name << " is in no pair: what it receives is dropped\n";
  }
  for (const std::string& w : af_packet_warnings(c)) o << "  WARNING: " << w << "\n";
  for (std::size_t k = 0; k < c.pairs.size(); ++k) {
    const bool follow = k < c.pair_link_follow.size() && c.pair_link_follow[k];
    o << "  link_follow    " << c.ports[c.pairs[k].first].name << " <-> " << c.ports[c.pairs[k].second].name << ": "
      << (follow ? "on (a port that loses link takes its partner down, if its driver can)" : "off") << "\n";
  }
  o << "queues (every port):\n";
  o << "  " << workers << " RX + " << workers << " TX queue" << (workers == 1 ? "" : "s")
    << " per port; worker k polls RX queue k of every port and sends on TX queue k\n";
  o << "  ring sizes     rx " << c.rx_ring_size << ", tx " << c.tx_ring_size
    << " descriptors (the driver may round them at start)\n";
  for (std::size_t k = 0; k < workers; ++k) {
    o << "  worker " << k << " (lcore " << c.worker_lcores[k] << "):";
    for (const PortConfig& p : c.ports) o << " " << p.name << " rxq " << k << "/txq " << k << ";";
    o << "\n";
  }
  o << "offloads requested:\n";
  if (workers > 1)
    o << "  RSS            ip, udp, tcp with a symmetric Toeplitz key (both directions of a flow on one worker),\n"
         "                 masked by what each device supports (a device without RSS is logged at start)\n";
  else
    o << "  RSS            none (one queue per port)\n";
  if (c.offload_steering || c.offload_deny)
    o << "  rte_flow       "
      << (c.offload_steering && c.offload_deny ? "SIP steering and source-prefix deny are"
          : c.offload_steering                 ? "SIP steering is"
                                               : "source-prefix deny is")
      << " probed per device at start with rte_flow_validate (see `sipwallctl status`)\n";
  if (!c.offload_steering || !c.offload_deny)
    o << "  rte_flow off   "
      << (!c.offload_steering && !c.offload_deny ? "steering and deny"
          : !c.offload_steering                  ? "steering"
                                                 : "deny")
      << " (offload: in the config): those rules stay in software\n";
  o << "SIP:\n";
  o << "  udp ports      " << join(c.sip_udp_ports) << "\n";
  o << "  tcp ports      " << join(c.sip_tcp_ports) << "\n";
  o << "  malformed      " << (c.fail_closed ? "fail_closed" : "fail_open") << " until a rule set says otherwise\n";
  o << "rule set:\n";
  o << "  artifact       " << (c.artifact.empty() ? "(none)" : c.artifact) << "; else " << c.state_dir
    << "/last-good.swr; else none (every INVITE forwarded)\n";
  o << "control socket:\n";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(c.control_socket_mode));
  o << "  " << c.control_socket << "  mode " << mode << "  group "
    << (c.control_socket_group.empty() ? "(process group)" : c.control_socket_group) << "\n";
  o << "per worker:\n";
  o << "  ip fragments   " << c.frag_max_flows << " datagrams, " << c.frag_timeout_ms << " ms\n";
  o << "  tcp            " << c.tcp_max_flows << " flows; reassembly " << c.tcp_reassembly_flows << " flows x "
    << c.tcp_reassembly_bytes << " B, " << c.tcp_reassembly_mbufs << " mbufs, " << c.tcp_reassembly_timeout_ms
    << " ms\n";
  o << "  detection      " << c.detection_capacity << " keys per detector (unless the rule set says), "
    << c.detection_calls << " calls; merge every " << c.detection_merge_ms << " ms, " << c.detection_max_keys
    << " keys merged, reported from " << c.detection_report_percent << " % of a threshold\n";
  o << "  trace ring     " << c.trace_ring_size << " records (main-lcore buffer " << c.trace_buffer << ")\n";
  o << "  watch          " << c.watch_calls << " watched calls and a ring of " << c.watch_ring_size
    << " copies per worker; pool of " << c.watch_mbufs << " mbufs (docs/export.md)\n";
  if (!c.hep_collector.empty())
    o << "  HEP export     to " << c.hep_collector << " over " << (c.hep_tcp ? "TCP" : "UDP")
      << ", calls: " << c.hep_match << (c.hep_value.empty() ? "" : " " + c.hep_value) << ", agent id " << c.hep_agent_id
      << "\n";
  if (c.records_enabled)
    o << "  call records   ring " << c.records_ring_size << " records; sent to " << c.records_socket << "\n";
  else
    o << "  call records   off (records.enabled: false)\n";
  return o.str();
}

}  // namespace sipwall::dataplane
