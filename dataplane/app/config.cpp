#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace sipwall::dataplane {
namespace {

// Collects errors with positions while walking the YAML tree, so one pass
// reports every mistake in the file.
class Reader {
 public:
  Reader(std::string file, std::vector<std::string>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& n, const std::string& msg) {
    YAML::Mark m = n.Mark();
    errors_.push_back(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                      ": " + msg);
  }
  void error_at(const YAML::Mark& m, const std::string& msg) {
    errors_.push_back(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                      ": " + msg);
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
      if (!e.IsScalar()) error(e, std::string(key) + " entries must be strings");
      else out.push_back(e.Scalar());
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
        error(e, std::string(key) + " entries must be integers from " + std::to_string(lo) + " to " + std::to_string(hi));
      else
        out.push_back(static_cast<T>(v));
    }
  }

 private:
  std::string file_;
  std::vector<std::string>& errors_;
};

void read_eal(Reader& r, const YAML::Node& n, DataplaneConfig& c) {
  if (!r.mapping(n, "eal", {"lcores", "main_lcore", "memory_mb", "no_huge", "no_pci", "vdevs", "allow",
                            "file_prefix", "extra"}))
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
    if (role == "trunk") pc.role = PortRole::trunk;
    else if (role == "core") pc.role = PortRole::core;
    else r.error(p["role"], "role must be trunk or core, not '" + role + "'");
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

}  // namespace

std::optional<DataplaneConfig> load_config(const std::string& path, std::vector<std::string>& errors) {
  Reader r(path, errors);
  std::size_t first_error = errors.size();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    errors.push_back(path + ":0:0: cannot read the file");
    return std::nullopt;
  } catch (const YAML::ParserException& e) {
    r.error_at(e.mark, e.msg);
    return std::nullopt;
  }
  DataplaneConfig c;
  c.source_file = path;
  if (!r.mapping(root, "the configuration",
                 {"eal", "ports", "pairs", "workers", "sip", "ruleset", "control", "fragments", "tcp",
                  "trace", "run"}))
    return std::nullopt;
  if (root["eal"]) read_eal(r, root["eal"], c);
  if (root["ports"]) read_ports(r, root["ports"], c);
  else r.error(root, "ports: is required");
  if (root["pairs"]) read_pairs(r, root["pairs"], c);
  else r.error(root, "pairs: is required (which port forwards to which)");
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
      if (m == "fail_closed") c.fail_closed = true;
      else if (m != "fail_open") r.error(s["malformed"], "malformed must be fail_open or fail_closed");
    }
  }
  if (YAML::Node s = root["ruleset"]) {
    if (r.mapping(s, "ruleset", {"artifact", "state_dir"})) {
      r.scalar(s, "artifact", c.artifact, "a path");
      r.scalar(s, "state_dir", c.state_dir, "a path");
    }
  }
  if (YAML::Node s = root["control"]) {
    if (r.mapping(s, "control", {"socket", "mode", "group"})) {
      r.scalar(s, "socket", c.control_socket, "a path");
      std::string mode;
      r.scalar(s, "mode", mode, "an octal mode such as \"0660\"");
      if (!mode.empty()) {
        char* end = nullptr;
        unsigned long v = std::strtoul(mode.c_str(), &end, 8);
        if (*end || v > 0777) r.error(s["mode"], "mode must be octal such as \"0660\"");
        else c.control_socket_mode = static_cast<std::uint32_t>(v);
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
    if (r.mapping(s, "tcp", {"max_flows", "reassembly_flows", "reassembly_bytes", "reassembly_segments",
                             "reassembly_mbufs", "reassembly_timeout_ms"})) {
      r.unsigned_in(s, "max_flows", c.tcp_max_flows, 16, 1u << 24);
      r.unsigned_in(s, "reassembly_flows", c.tcp_reassembly_flows, 16, 1u << 20);
      // At least one whole SIP message of the parser's maximum size (64 KiB).
      r.unsigned_in(s, "reassembly_bytes", c.tcp_reassembly_bytes, 65536, 1u << 20);
      r.unsigned_in(s, "reassembly_segments", c.tcp_reassembly_segments, 2, 1024);
      r.unsigned_in(s, "reassembly_mbufs", c.tcp_reassembly_mbufs, 16, 1u << 20);
      r.unsigned_in(s, "reassembly_timeout_ms", c.tcp_reassembly_timeout_ms, 10, 60000);
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
  if (c.worker_lcores.empty()) c.worker_lcores.push_back(c.main_lcore + 1);
  for (unsigned l : c.worker_lcores)
    if (l == c.main_lcore)
      r.error(root["workers"] ? root["workers"] : root, "worker lcore " + std::to_string(l) + " is the main lcore");
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

}  // namespace sipwall::dataplane
