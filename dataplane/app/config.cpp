#include "dataplane/app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

#include "dataplane/app/counters.h"  // kMaxPorts, kMaxWorkers (plain C++)
#include "dataplane/protocol/socket_path.h"
#include "rules/io/file_input.h"
#include "rules/loader/yaml_guard.h"

namespace sipwall::dataplane {
namespace {

// Collects errors with positions while walking the YAML tree, so one pass
// reports every mistake in the file.
class Reader {
 public:
  Reader(std::string file, std::vector<std::string>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& n, const std::string& msg) {
    YAML::Mark m = n.Mark();
    errors_.push_back(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + msg);
  }
  void error_at(const YAML::Mark& m, const std::string& msg) {
    errors_.push_back(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + msg);
  }

  // A mapping whose keys must all be in `allowed`.
  bool mapping(const YAML::Node& n, const std::string& what, std::initializer_list<const char*> allowed) {
    if (!n.IsMap()) {
      error(n, what + " must be a mapping");
      return false;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list;
        for (const char* a : allowed) list += list.empty() ? a : std::string(", ") + a;
        error(it->first, "unknown key '" + key + "' in " + what + " (allowed: " + list + ")");
      }
    }
    return true;
  }

  template <typename T>
  void scalar(const YAML::Node& parent, const char* key, T& out, const char* type) {
    YAML::Node n = parent[key];
    if (!n) return;
    if (!n.IsScalar()) {
      error(n, std::string(key) + " must be " + type);
      return;
    }
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      error(n, std::string(key) + " must be " + type + ", not '" + n.Scalar() + "'");
    }
  }

  template <typename T>
  void unsigned_in(const YAML::Node& parent, const char* key, T& out, std::uint64_t lo, std::uint64_t hi) {
    YAML::Node n = parent[key];
    if (!n) return;
    std::uint64_t v = 0;
    bool ok = n.IsScalar();
    if (ok) {
      try {
        v = n.as<std::uint64_t>();
      } catch (const YAML::Exception&) {
        ok = false;
      }
    }
    if (!ok || v < lo || v > hi) {
      error(n, std::string(key) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return;
    }
    out = static_cast<T>(v);
  }

  void strings(const YAML::Node& parent, const char* key, std::vector<std::string>& out) {
    YAML::Node n = parent[key];
    if (!n) return;
    if (!n.IsSequence()) {
      error(n, std::string(key) + " must be a list of strings");
      return;
    }
    out.clear();
    for (const auto& e : n) {
      if (!e.IsScalar())
        error(e, std::string(key) + " entries must be strings");
      else
        out.push_back(e.Scalar());
    }
  }

  template <typename T>
  void numbers(const YAML::Node& parent, const char* key, std::vector<T>& out, std::uint64_t lo, std::uint64_t hi) {
    YAML::Node n = parent[key];
    if (!n) return;
    if (!n.IsSequence()) {
      error(n, std::string(key) + " must be a list of integers");
      return;
    }
    out.clear();
    for (const auto& e : n) {
      std::uint64_t v = 0;
      bool ok = e.IsScalar();
      if (ok) {
        try {
          v = e.as<std::uint64_t>();
        } catch (const YAML::Exception&) {
          ok = false;
        }
      }
      if (!ok || v < lo || v > hi)
        error(e,
              std::string(key) + " entries must be integers from " + std::to_string(lo) + " to " + std::to_string(hi));
      else
        out.push_back(static_cast<T>(v));
    }
  }

 private:
  std::string file_;
  std::vector<std::string>& errors_;
};

void read_eal(Reader& r, const YAML::Node& n, DataplaneConfig& c) {
  if (!r.mapping(n, "eal",
                 {"lcores", "main_lcore", "memory_mb", "no_huge", "no_pci", "vdevs", "allow", "file_prefix", "extra"}))
    return;
  r.scalar(n, "lcores", c.eal_lcores, "a core list such as \"0-1\"");
  r.unsigned_in(n, "main_lcore", c.main_lcore, 0, 1023);
  r.unsigned_in(n, "memory_mb", c.memory_mb, 64, 1u << 20);
  r.scalar(n, "no_huge", c.no_huge, "true or false");
  r.scalar(n, "no_pci", c.no_pci, "true or false");
  r.strings(n, "vdevs", c.vdevs);
  r.strings(n, "allow", c.allow);
  r.scalar(n, "file_prefix", c.file_prefix, "a string");
  r.strings(n, "extra", c.eal_extra);
}

void read_ports(Reader& r, const YAML::Node& n, DataplaneConfig& c) {
  if (!n.IsSequence()) {
    r.error(n, "ports must be a list of {name, device, role}");
    return;
  }
  std::set<std::string> names, devices;
  for (const auto& p : n) {
    if (!r.mapping(p, "a port", {"name", "device", "role", "mtu"})) continue;
    PortConfig pc;
    r.scalar(p, "name", pc.name, "a string");
    r.scalar(p, "device", pc.device, "a DPDK device name");
    std::string role = "trunk";
    r.scalar(p, "role", role, "trunk or core");
    r.unsigned_in(p, "mtu", pc.mtu, 576, 9000);
    if (pc.name.empty()) r.error(p, "port needs a name");
    if (pc.device.empty()) r.error(p, "port needs a device (vdev name or PCI address)");
    if (role == "trunk")
      pc.role = PortRole::trunk;
    else if (role == "core")
      pc.role = PortRole::core;
    else
      r.error(p["role"], "role must be trunk or core, not '" + role + "'");
    if (!pc.name.empty() && !names.insert(pc.name).second) r.error(p["name"], "port name '" + pc.name + "' used twice");
    if (!pc.device.empty() && !devices.insert(pc.device).second)
      r.error(p["device"], "device '" + pc.device + "' used by two ports");
    c.ports.push_back(pc);
  }
}

void read_pairs(Reader& r, const YAML::Node& n, DataplaneConfig& c) {
  if (!n.IsSequence()) {
    r.error(n, "pairs must be a list of [port, port]");
    return;
  }
  std::set<std::uint16_t> used;
  auto index_of = [&](const YAML::Node& e) -> int {
    for (std::size_t i = 0; i < c.ports.size(); ++i)
      if (c.ports[i].name == e.Scalar()) return static_cast<int>(i);
    r.error(e, "unknown port '" + e.Scalar() + "'");
    return -1;
  };
  for (const auto& p : n) {
    if (!p.IsSequence() || p.size() != 2 || !p[0].IsScalar() || !p[1].IsScalar()) {
      r.error(p, "a pair is [port, port]");
      continue;
    }
    int a = index_of(p[0]), b = index_of(p[1]);
    if (a < 0 || b < 0) continue;
    if (a == b) {
      r.error(p, "a port cannot be paired with itself");
      continue;
    }
    for (int x : {a, b})
      if (!used.insert(static_cast<std::uint16_t>(x)).second)
        r.error(p, "port '" + c.ports[static_cast<std::size_t>(x)].name + "' is in two pairs");
    c.pairs.emplace_back(static_cast<std::uint16_t>(a), static_cast<std::uint16_t>(b));
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
void read_cpu(Reader& r, const YAML::Node& root, DataplaneConfig& c) {
  const YAML::Node n = root["cpu"];
  if (!r.mapping(n, "cpu", {"main_core", "corelist_workers"})) return;
  bool conflict = false;
  auto clash = [&](const YAML::Node& other, const char* key) {
    if (!other) return;
    r.error(other, std::string(key) +
                       " and cpu: both give the cores; keep one (cpu: sets eal.lcores, "
                       "eal.main_lcore and workers.lcores)");
    conflict = true;
  };
  if (const YAML::Node e = root["eal"]; e && e.IsMap()) {
    clash(e["lcores"], "eal.lcores");
    clash(e["main_lcore"], "eal.main_lcore");
  }
  if (const YAML::Node w = root["workers"]; w && w.IsMap()) clash(w["lcores"], "workers.lcores");
  if (conflict) r.error(n, "cpu: given together with eal/workers core settings (see the other errors)");

  unsigned main_core = 0;
  r.unsigned_in(n, "main_core", main_core, 0, 1023);
  const YAML::Node list = n["corelist_workers"];
  if (!list) {
    r.error(n, "cpu needs corelist_workers (the worker cores, e.g. \"2-5\")");
    return;
  }
  if (!list.IsScalar()) {
    r.error(list, "corelist_workers must be a core list such as \"2-5,8\"");
    return;
  }
  std::string why;
  auto cores = parse_core_list(list.Scalar(), why);
  if (!cores) {
    r.error(list, "corelist_workers: " + why);
    return;
  }
  if (std::find(cores->begin(), cores->end(), main_core) != cores->end()) {
    r.error(list, "corelist_workers contains core " + std::to_string(main_core) + ", the main_core");
    return;
  }
  if (conflict) return;
  c.main_lcore = main_core;
  c.worker_lcores = *cores;
  std::vector<unsigned> all = *cores;
  all.push_back(main_core);
  c.eal_lcores = core_list_text(all);
}

// Without cpu:, eal.lcores must contain the main lcore and every worker
// lcore, or EAL refuses to start (or the worker is never launched). Only
// plain lists are checked; DPDK's lcore@cpu / (set)@cpu mappings are left
// to EAL.
void check_lcores(Reader& r, const YAML::Node& root, const DataplaneConfig& c) {
  std::string why;
  auto enabled = parse_core_list(c.eal_lcores, why);
  if (!enabled) {
    if (c.eal_lcores.find_first_of("@()") != std::string::npos) return;
    const YAML::Node e = root["eal"];
    r.error(e && e.IsMap() && e["lcores"] ? e["lcores"] : root, "lcores: " + why);
    return;
  }
  auto in = [&](unsigned l) { return std::find(enabled->begin(), enabled->end(), l) != enabled->end(); };
  const YAML::Node e = root["eal"];
  if (!in(c.main_lcore))
    r.error(e && e.IsMap() && e["main_lcore"] ? e["main_lcore"] : (e ? e : root),
            "main lcore " + std::to_string(c.main_lcore) + " is not in eal.lcores \"" + c.eal_lcores + "\"");
  const YAML::Node w = root["workers"];
  for (unsigned l : c.worker_lcores)
    if (l != c.main_lcore && !in(l))
      r.error(w && w.IsMap() && w["lcores"] ? w["lcores"] : (w ? w : root),
              "worker lcore " + std::to_string(l) + " is not in eal.lcores \"" + c.eal_lcores + "\"");
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
void check_devices(Reader& r, const YAML::Node& root, const DataplaneConfig& c) {
  const YAML::Node ports = root["ports"];
  if (!ports || !ports.IsSequence()) return;
  std::set<std::string> vdev_names;
  for (const auto& v : c.vdevs) vdev_names.insert(v.substr(0, v.find(',')));
  std::string extra;
  for (const auto& e : c.eal_extra) extra += e + ' ';
  std::size_t i = 0;
  for (const auto& p : ports) {
    if (i >= c.ports.size()) break;
    const PortConfig& pc = c.ports[i++];
    if (pc.device.empty() || !p.IsMap() || !p["device"]) continue;
    if (is_pci_address(pc.device)) {
      if (c.no_pci)
        r.error(p["device"], "device " + pc.device + " is a PCI address but eal.no_pci is true");
      else if (!c.allow.empty() && std::find(c.allow.begin(), c.allow.end(), pc.device) == c.allow.end())
        r.error(p["device"], "device " + pc.device + " is not in eal.allow (EAL probes only those)");
    } else if (!vdev_names.count(pc.device) && extra.find(pc.device) == std::string::npos) {
      r.error(p["device"], "device '" + pc.device + "' is neither a PCI address nor a vdev in eal.vdevs");
    }
  }
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
      why = "'" + text + "' is not a core list such as \"2-5,8\" (cores 0 to 1023)";
      return std::nullopt;
    }
    hi = lo;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(hi)) {
        why = "'" + text + "' is not a core list such as \"2-5,8\" (cores 0 to 1023)";
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
        why = "'" + text + "' is not a core list such as \"2-5,8\" (unexpected '" + text.substr(i, 1) + "')";
        return std::nullopt;
      }
      ++i;
      if (i >= text.size()) {
        why = "'" + text + "' ends with ','";
        return std::nullopt;
      }
    }
  }
  return out;
}

std::optional<DataplaneConfig> load_config(const std::string& path, std::vector<std::string>& errors) {
  Reader r(path, errors);
  std::size_t first_error = errors.size();
  YAML::Node root;
  // A regular file of bounded size (not a FIFO that blocks start-up), and no
  // alias cycles or bombs for the walk below (rules/loader/yaml_guard.h).
  std::string text, why;
  if (!io::read_whole_file(path, io::kConfigFile, text, why)) {
    errors.push_back(why);
    return std::nullopt;
  }
  if (const auto p = rules::check_yaml_limits(text)) {
    errors.push_back(path + ":" + std::to_string(p->line) + ":" + std::to_string(p->column) + ": " + p->message);
    return std::nullopt;
  }
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    r.error_at(e.mark, e.msg);
    return std::nullopt;
  }
  DataplaneConfig c;
  c.source_file = path;
  if (!r.mapping(root, "the configuration",
                 {"eal", "cpu", "ports", "pairs", "workers", "sip", "ruleset", "control", "fragments", "tcp", "trace",
                  "run", "offload", "detection"}))
    return std::nullopt;
  if (root["eal"]) read_eal(r, root["eal"], c);
  if (root["ports"])
    read_ports(r, root["ports"], c);
  else
    r.error(root, "ports: is required");
  if (root["pairs"])
    read_pairs(r, root["pairs"], c);
  else
    r.error(root, "pairs: is required (which port forwards to which)");
  if (YAML::Node w = root["workers"]) {
    if (r.mapping(w, "workers", {"lcores", "rx_ring_size", "tx_ring_size", "mbufs"})) {
      r.numbers(w, "lcores", c.worker_lcores, 0, 1023);
      r.unsigned_in(w, "rx_ring_size", c.rx_ring_size, 64, 16384);
      r.unsigned_in(w, "tx_ring_size", c.tx_ring_size, 64, 16384);
      r.unsigned_in(w, "mbufs", c.mbufs, 1023, 16u << 20);
    }
  }
  if (YAML::Node s = root["sip"]) {
    if (r.mapping(s, "sip", {"udp_ports", "tcp_ports", "malformed"})) {
      r.numbers(s, "udp_ports", c.sip_udp_ports, 1, 65535);
      r.numbers(s, "tcp_ports", c.sip_tcp_ports, 1, 65535);
      std::string m = "fail_open";
      r.scalar(s, "malformed", m, "fail_open or fail_closed");
      if (m == "fail_closed")
        c.fail_closed = true;
      else if (m != "fail_open")
        r.error(s["malformed"], "malformed must be fail_open or fail_closed");
    }
  }
  if (YAML::Node s = root["ruleset"]) {
    if (r.mapping(s, "ruleset", {"artifact", "state_dir", "last_good_after_ms"})) {
      r.scalar(s, "artifact", c.artifact, "a path");
      r.scalar(s, "state_dir", c.state_dir, "a path");
      r.unsigned_in(s, "last_good_after_ms", c.last_good_after_ms, 0, 3600000);
    }
  }
  if (YAML::Node s = root["control"]) {
    if (r.mapping(s, "control", {"socket", "mode", "group"})) {
      r.scalar(s, "socket", c.control_socket, "a path");
      // Checked here, so --check fails on a path bind() would refuse at start.
      if (auto bad = protocol::socket_path_problem(c.control_socket); bad && s["socket"])
        r.error(s["socket"], "socket: " + *bad);
      std::string mode;
      r.scalar(s, "mode", mode, "an octal mode such as \"0660\"");
      if (!mode.empty()) {
        char* end = nullptr;
        unsigned long v = std::strtoul(mode.c_str(), &end, 8);
        if (*end || v > 0777)
          r.error(s["mode"], "mode must be octal such as \"0660\"");
        else
          c.control_socket_mode = static_cast<std::uint32_t>(v);
      }
      r.scalar(s, "group", c.control_socket_group, "a group name");
    }
  }
  if (YAML::Node s = root["fragments"]) {
    if (r.mapping(s, "fragments", {"max_flows", "timeout_ms"})) {
      r.unsigned_in(s, "max_flows", c.frag_max_flows, 16, 1u << 20);
      r.unsigned_in(s, "timeout_ms", c.frag_timeout_ms, 10, 60000);
    }
  }
  if (YAML::Node s = root["tcp"]) {
    if (r.mapping(s, "tcp",
                  {"max_flows", "reassembly_flows", "reassembly_bytes", "reassembly_segments", "reassembly_mbufs",
                   "reassembly_timeout_ms"})) {
      r.unsigned_in(s, "max_flows", c.tcp_max_flows, 16, 1u << 24);
      r.unsigned_in(s, "reassembly_flows", c.tcp_reassembly_flows, 16, 1u << 20);
      // At least one whole SIP message of the parser's maximum size (64 KiB).
      r.unsigned_in(s, "reassembly_bytes", c.tcp_reassembly_bytes, 65536, 1u << 20);
      r.unsigned_in(s, "reassembly_segments", c.tcp_reassembly_segments, 2, 1024);
      r.unsigned_in(s, "reassembly_mbufs", c.tcp_reassembly_mbufs, 16, 1u << 20);
      r.unsigned_in(s, "reassembly_timeout_ms", c.tcp_reassembly_timeout_ms, 10, 60000);
    }
  }
  if (YAML::Node s = root["offload"]) {
    if (r.mapping(s, "offload", {"steering", "deny"})) {
      r.scalar(s, "steering", c.offload_steering, "true or false");
      r.scalar(s, "deny", c.offload_deny, "true or false");
    }
  }
  if (YAML::Node s = root["detection"]) {
    if (r.mapping(s, "detection",
                  {"capacity", "calls", "report_queue", "merge_ms", "max_keys", "expire_visits", "ringing_timeout_ms",
                   "answered_timeout_ms"})) {
      r.unsigned_in(s, "capacity", c.detection_capacity, 4, 1u << 26);
      r.unsigned_in(s, "calls", c.detection_calls, 8, 1u << 26);
      r.unsigned_in(s, "report_queue", c.detection_report_queue, 64, 1u << 24);
      // The bound: every worker acts on a crossing within 200 ms.
      r.unsigned_in(s, "merge_ms", c.detection_merge_ms, 1, 100);
      r.unsigned_in(s, "max_keys", c.detection_max_keys, 64, 1u << 24);
      r.unsigned_in(s, "expire_visits", c.detection_expire_visits, 1, 1u << 16);
      r.unsigned_in(s, "ringing_timeout_ms", c.detection_ringing_timeout_ms, 1000, 3600000);
      r.unsigned_in(s, "answered_timeout_ms", c.detection_answered_timeout_ms, 60000, 86400000);
    }
  }
  if (YAML::Node s = root["trace"]) {
    if (r.mapping(s, "trace", {"ring_size", "buffer"})) {
      r.unsigned_in(s, "ring_size", c.trace_ring_size, 64, 1u << 22);
      r.unsigned_in(s, "buffer", c.trace_buffer, 64, 1u << 24);
    }
  }
  if (YAML::Node s = root["run"]) {
    if (r.mapping(s, "run", {"stop_when_idle_ms", "stats_json"})) {
      r.unsigned_in(s, "stop_when_idle_ms", c.stop_when_idle_ms, 0, 86400000);
      r.scalar(s, "stats_json", c.stats_json, "a path");
    }
  }
  if (root["cpu"]) read_cpu(r, root, c);
  if (c.worker_lcores.empty()) c.worker_lcores.push_back(c.main_lcore + 1);
  for (unsigned l : c.worker_lcores)
    if (l == c.main_lcore)
      r.error(root["workers"] ? root["workers"] : root, "worker lcore " + std::to_string(l) + " is the main lcore");
  {
    std::set<unsigned> seen;
    for (unsigned l : c.worker_lcores)
      if (!seen.insert(l).second)
        r.error(root["workers"] ? root["workers"] : root, "worker lcore " + std::to_string(l) + " listed twice");
  }
  if (!root["cpu"]) check_lcores(r, root, c);
  check_devices(r, root, c);
  if (c.ports.size() > kMaxPorts) r.error(root["ports"], "at most " + std::to_string(kMaxPorts) + " ports");
  if (c.worker_lcores.size() > kMaxWorkers)
    r.error(root["cpu"] ? root["cpu"] : (root["workers"] ? root["workers"] : root),
            "at most " + std::to_string(kMaxWorkers) + " workers");
  if (errors.size() > first_error) return std::nullopt;
  return c;
}

std::vector<std::string> eal_arguments(const DataplaneConfig& c, const std::string& prog) {
  std::vector<std::string> a{prog, "-l", c.eal_lcores, "--main-lcore", std::to_string(c.main_lcore)};
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
  const std::uint64_t pool_mb =
      (std::uint64_t{pool} * 2560 + 8191 * 256 + std::uint64_t{kJumboMbufsPerWorker} * workers * (65536 + 512)) >> 20;
  o << "  mbuf pool      " << pool << " mbufs (workers.mbufs " << c.mbufs << ", needed " << mbuf_need(c, burst)
    << "), ~" << pool_mb << " MB with the indirect and jumbo pools\n";
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
    << " keys merged\n";
  o << "  trace ring     " << c.trace_ring_size << " records (main-lcore buffer " << c.trace_buffer << ")\n";
  return o.str();
}

}  // namespace sipwall::dataplane
