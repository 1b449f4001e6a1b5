#include "control/daemon/control_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <span>

#include "dataplane/protocol/socket_path.h"
#include "rules/io/file_input.h"
#include "rules/loader/suggest.h"
#include "rules/loader/yaml_guard.h"

namespace sipwall::control {
namespace {

// Collects every error with its position while walking the YAML tree.
class Reader {
 public:
  Reader(std::string file, std::vector<std::string>& errors) : file_(std::move(file)), errors_(errors) {}

  void error_at(const YAML::Mark& m, const std::string& msg) {
    int line = m.line < 0 ? 0 : m.line + 1;
    int col = m.column < 0 ? 0 : m.column + 1;
    errors_.push_back(file_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
  }
  void error(const YAML::Node& n, const std::string& msg) { error_at(n.Mark(), msg); }

  bool mapping(const YAML::Node& n, const std::string& what, std::span<const std::string_view> allowed) {
    if (!n.IsMap()) {
      error(n, what + " must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.Scalar();
      if (!seen.insert(key).second) error(it->first, "key '" + key + "' appears twice in " + what);
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string hint = rules::loader::closest(key, allowed);
      error(it->first, "unknown key '" + key + "' in " + what + (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
                           " (allowed: " + rules::loader::join_names(allowed) + ")");
    }
    return true;
  }

  void string(const YAML::Node& parent, const char* key, std::string& out, bool non_empty = true) {
    YAML::Node n = parent[key];
    if (!n) return;
    if (!n.IsScalar()) {
      error(n, std::string(key) + " must be a string");
      return;
    }
    if (non_empty && n.Scalar().empty()) {
      error(n, std::string(key) + " must not be empty");
      return;
    }
    out = n.Scalar();
  }

  // A Unix socket path that bind()/connect() take (sun_path is 108 bytes).
  void socket_path(const YAML::Node& parent, const char* key, std::string& out) {
    std::size_t before = errors_.size();
    string(parent, key, out);
    if (errors_.size() != before || !parent[key]) return;
    if (auto why = protocol::socket_path_problem(out)) error(parent[key], std::string(key) + ": " + *why);
  }

  void boolean(const YAML::Node& parent, const char* key, bool& out) {
    YAML::Node n = parent[key];
    if (!n) return;
    bool ok = n.IsScalar();
    if (ok) {
      try {
        out = n.as<bool>();
      } catch (const YAML::Exception&) {
        ok = false;
      }
    }
    if (!ok) error(n, std::string(key) + " must be true or false");
  }

  template <typename T>
  void number(const YAML::Node& parent, const char* key, T& out, std::uint64_t lo, std::uint64_t hi) {
    YAML::Node n = parent[key];
    if (!n) return;
    std::uint64_t v = 0;
    bool ok = n.IsScalar() && !n.Scalar().empty() && n.Scalar()[0] != '-';
    if (ok) {
      try {
        v = n.as<std::uint64_t>();
      } catch (const YAML::Exception&) {
        ok = false;
      }
    }
    if (!ok || v < lo || v > hi) {
      error(n, std::string(key) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                   (n.IsScalar() ? ", not '" + n.Scalar() + "'" : ""));
      return;
    }
    out = static_cast<T>(v);
  }

 private:
  std::string file_;
  std::vector<std::string>& errors_;
};

template <std::size_t N>
std::span<const std::string_view> keys(const std::string_view (&a)[N]) {
  return {a, N};
}

std::optional<ControlConfig> parse(const YAML::Node& root, const std::string& name, Reader& r,
                                   std::vector<std::string>& errors, std::size_t first_error) {
  ControlConfig c;
  c.source_file = name;
  static constexpr std::string_view kTop[] = {"rules",   "store",   "compile", "dataplane",
                                              "control", "metrics", "trace",   "log"};
  if (!r.mapping(root, "the configuration", keys(kTop))) return std::nullopt;

  if (YAML::Node n = root["rules"]) {
    static constexpr std::string_view k[] = {"file", "debounce_ms"};
    if (r.mapping(n, "rules", keys(k))) {
      r.string(n, "file", c.rules_file);
      r.number(n, "debounce_ms", c.debounce_ms, 0, 60000);
      if (!n["file"]) r.error(n, "rules: needs file: (the YAML rule set to watch and load)");
    }
  } else {
    r.error(root, "rules: is required (rules: {file: /etc/sipwall/rules.yaml})");
  }
  if (YAML::Node n = root["store"]) {
    static constexpr std::string_view k[] = {"dir", "keep", "history_max", "current_link"};
    if (r.mapping(n, "store", keys(k))) {
      r.string(n, "dir", c.store_dir);
      r.number(n, "keep", c.keep, 1, 10000);
      r.number(n, "history_max", c.history_max, 10, 1000000);
      r.string(n, "current_link", c.current_link, false);
    }
  }
  if (YAML::Node n = root["compile"]) {
    static constexpr std::string_view k[] = {"isolate", "timeout_s", "memory_limit_mb"};
    if (r.mapping(n, "compile", keys(k))) {
      r.boolean(n, "isolate", c.compile_isolated);
      r.number(n, "timeout_s", c.compile_timeout_s, 1, 86400);
      r.number(n, "memory_limit_mb", c.compile_memory_mb, 0, 1u << 22);
      if (!c.compile_isolated) {
        if (n["memory_limit_mb"] && c.compile_memory_mb)
          r.error(n["memory_limit_mb"],
                  "memory_limit_mb needs isolate: true (the limit applies to the compiler child)");
        c.compile_memory_mb = 0;  // compiling in this process: nothing to limit apart from the daemon itself
      }
    }
  }
  if (YAML::Node n = root["dataplane"]) {
    static constexpr std::string_view k[] = {"socket", "poll_interval_ms", "request_timeout_ms", "load_timeout_ms"};
    if (r.mapping(n, "dataplane", keys(k))) {
      r.socket_path(n, "socket", c.dataplane_socket);
      r.number(n, "poll_interval_ms", c.poll_interval_ms, 50, 3600000);
      r.number(n, "request_timeout_ms", c.request_timeout_ms, 100, 600000);
      r.number(n, "load_timeout_ms", c.load_timeout_ms, 100, 3600000);
    }
  }
  if (YAML::Node n = root["control"]) {
    static constexpr std::string_view k[] = {"socket", "mode", "group"};
    if (r.mapping(n, "control", keys(k))) {
      r.socket_path(n, "socket", c.control_socket);
      std::string mode;
      r.string(n, "mode", mode);
      if (!mode.empty()) {
        char* end = nullptr;
        unsigned long v = std::strtoul(mode.c_str(), &end, 8);
        if (*end || v > 0777)
          r.error(n["mode"], "mode must be octal such as \"0660\", not '" + mode + "'");
        else
          c.control_socket_mode = static_cast<std::uint32_t>(v);
      }
      r.string(n, "group", c.control_socket_group, false);
    }
  }
  if (YAML::Node n = root["metrics"]) {
    static constexpr std::string_view k[] = {"listen"};
    if (r.mapping(n, "metrics", keys(k))) r.string(n, "listen", c.metrics_listen, false);
  }
  if (!c.metrics_listen.empty()) {
    std::string why;
    if (!parse_listen_address(c.metrics_listen, c.metrics_host, c.metrics_port, &why))
      r.error(root["metrics"] && root["metrics"]["listen"] ? root["metrics"]["listen"] : root, "listen: " + why);
  }
  if (YAML::Node n = root["trace"]) {
    static constexpr std::string_view k[] = {"dir", "max_bytes", "keep", "drain_max"};
    if (r.mapping(n, "trace", keys(k))) {
      r.string(n, "dir", c.trace_dir);
      r.number(n, "max_bytes", c.trace_max_bytes, 4096, 1ull << 40);
      r.number(n, "keep", c.trace_keep, 0, 1000);
      r.number(n, "drain_max", c.trace_drain_max, 1, 1000000);
    }
  }
  if (YAML::Node n = root["log"]) {
    static constexpr std::string_view k[] = {"level"};
    if (r.mapping(n, "log", keys(k))) {
      r.string(n, "level", c.log_level);
      static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (n["level"] && !levels.count(c.log_level))
        r.error(n["level"], "level must be one of trace, debug, info, warn, error, critical, off");
    }
  }
  if (errors.size() > first_error) return std::nullopt;
  return c;
}

std::optional<ControlConfig> load(const std::string& name, std::vector<std::string>& errors, const std::string* text) {
  Reader r(name, errors);
  std::size_t first_error = errors.size();
  YAML::Node root;
  // A regular file of bounded size, and no alias cycles or bombs for the
  // walk below (rules/loader/yaml_guard.h).
  std::string content;
  if (text == nullptr) {
    std::string why;
    if (!io::read_whole_file(name, io::kConfigFile, content, why)) {
      errors.push_back(why);
      return std::nullopt;
    }
    text = &content;
  }
  if (const auto p = rules::check_yaml_limits(*text)) {
    errors.push_back(name + ":" + std::to_string(p->line) + ":" + std::to_string(p->column) + ": " + p->message);
    return std::nullopt;
  }
  try {
    root = YAML::Load(*text);
  } catch (const YAML::ParserException& e) {
    r.error_at(e.mark, e.msg);
    return std::nullopt;
  }
  return parse(root, name, r, errors, first_error);
}

}  // namespace

std::optional<ControlConfig> load_control_config(const std::string& path, std::vector<std::string>& errors) {
  return load(path, errors, nullptr);
}

std::optional<ControlConfig> load_control_config_from_string(const std::string& yaml, const std::string& name,
                                                             std::vector<std::string>& errors) {
  return load(name, errors, &yaml);
}

bool parse_listen_address(const std::string& text, std::string& host, std::uint16_t& port, std::string* why) {
  auto fail = [why](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  std::string h, p;
  if (!text.empty() && text[0] == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fail("'" + text + "' is not [IPv6]:port");
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return fail("'" + text + "' is not host:port");
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (h.empty()) return fail("'" + text + "' has no host (use 127.0.0.1 for loopback, 0.0.0.0 for every address)");
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return fail("'" + text + "': port must be a number");
  unsigned long v = std::stoul(p);
  if (v == 0 || v > 65535) return fail("'" + text + "': port must be 1 to 65535");
  host = h;
  port = static_cast<std::uint16_t>(v);
  return true;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace sipwall::control
