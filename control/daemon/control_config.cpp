#include "control/daemon/control_config.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "control/daemon/web_config.h"
#include "control/fleet/fleet_store.h"
#include "control/fleet/redis_link.h"
#include "dataplane/protocol/socket_path.h"
#include "rules/io/file_input.h"
#include "rules/text/safe_text.h"
#include "rules/yaml/reader.h"

namespace sipwall::control {
namespace {

using yaml::Map;

constexpr std::array<std::string_view, 10> kTopKeys = {"rules",   "store", "compile", "dataplane", "control",
                                                       "metrics", "trace", "log",     "fleet",     "records"};
constexpr std::array<std::string_view, 7> kRecordsKeys = {"enabled", "socket", "database", "retention_days",
                                                          "max_mb",  "group",  "jsonl"};
constexpr std::array<std::string_view, 2> kRulesKeys = {"file", "debounce_ms"};
constexpr std::array<std::string_view, 4> kStoreKeys = {"dir", "keep", "history_max", "current_link"};
constexpr std::array<std::string_view, 3> kCompileKeys = {"isolate", "timeout_s", "memory_limit_mb"};
constexpr std::array<std::string_view, 4> kDataplaneKeys = {"socket", "poll_interval_ms", "request_timeout_ms",
                                                            "load_timeout_ms"};
constexpr std::array<std::string_view, 3> kControlKeys = {"socket", "mode", "group"};
constexpr std::array<std::string_view, 4> kMetricsKeys = {"listen", "mode", "group", "web_config"};
constexpr std::array<std::string_view, 4> kTraceKeys = {"dir", "max_bytes", "keep", "drain_max"};
constexpr std::array<std::string_view, 1> kLogKeys = {"level"};
constexpr std::array<std::string_view, 13> kFleetKeys = {
    "redis",         "user",         "password_file",   "appliance",  "prefix",
    "interval_ms",   "heartbeat_ms", "heartbeat_ttl_s", "timeout_ms", "retry_max_ms",
    "max_bundle_mb", "view_percent", "view_interval_ms"};
constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// A Unix socket path that bind()/connect() take (sun_path is 108 bytes).
void socket_path(yaml::Reader& r, Map& m, std::string& out) {
  if (m.text("socket", out, "a socket path")) {
    if (auto why = protocol::socket_path_problem(out)) r.error(m.at("socket"), "socket: " + *why);
  }
}

void read_compile(yaml::Reader& r, Map& m, ControlConfig& c) {
  m.flag("isolate", c.compile_isolated);
  m.integer("timeout_s", c.compile_timeout_s, 1, 86400);
  const bool limit_given = m.integer("memory_limit_mb", c.compile_memory_mb, 0, 1 << 22);
  if (!c.compile_isolated) {
    if (limit_given && c.compile_memory_mb != 0)
      r.error(m.at("memory_limit_mb"), "memory_limit_mb needs isolate: true (the limit applies to the compiler child)");
    c.compile_memory_mb = 0;  // compiling in this process: nothing to limit apart from the daemon itself
  }
}

void read_fleet(yaml::Reader& r, Map& m, fleet::FleetOptions& f) {
  f.enabled = true;
  if (m.text("redis", f.redis, "host:port of the fleet's Redis")) {
    fleet::RedisAddress a;
    std::string why;
    if (!fleet::parse_redis_address(f.redis, a, &why)) r.error(m.at("redis"), "redis: " + why);
  }
  m.text("user", f.user, "a Redis ACL user name", Map::Empty::allowed);
  m.text("password_file", f.password_file, "a file holding the Redis password", Map::Empty::allowed);
  if (m.require("appliance") && m.text("appliance", f.appliance, "this appliance's id")) {
    if (std::string why = fleet::appliance_id_problem(f.appliance); !why.empty())
      r.error(m.at("appliance"), "appliance: " + why + ", got " + text::quote(f.appliance));
  }
  if (m.text("prefix", f.prefix, "a key prefix") && f.prefix.size() > 64)
    r.error(m.at("prefix"), "prefix: at most 64 bytes");
  m.integer("interval_ms", f.interval_ms, 50, 60000);
  m.integer("heartbeat_ms", f.heartbeat_ms, 100, 60000);
  m.integer("heartbeat_ttl_s", f.heartbeat_ttl_s, 1, 86400);
  m.integer("timeout_ms", f.timeout_ms, 10, 10000);
  m.integer("retry_max_ms", f.retry_max_ms, 100, 600000);
  m.integer("max_bundle_mb", f.max_bundle_mb, 1, 4096);
  m.integer("view_percent", f.view_percent, 0, 100);
  m.integer("view_interval_ms", f.view_interval_ms, 100, 1000);
  if (f.heartbeat_ttl_s * 1000ull <= f.heartbeat_ms)
    r.error(m.at("heartbeat_ttl_s"), "heartbeat_ttl_s must be longer than heartbeat_ms");
}

ControlConfig read_config(yaml::Reader& r, const YAML::Node& root) {
  ControlConfig c;
  c.source_file = r.file();
  Map top(r, root, r.top(), "the configuration", kTopKeys);
  if (!top.ok()) return c;

  if (auto m = top.map("rules", kRulesKeys)) {
    if (m->require("file")) m->text("file", c.rules_file, "the rule file to watch and load");
    m->integer("debounce_ms", c.debounce_ms, 0, 60000);
  } else if (!top.find("rules")) {
    r.error(top.at(), "rules: is required (rules: {file: /etc/sipwall/rules.yaml})");
  }
  if (auto m = top.map("store", kStoreKeys)) {
    m->text("dir", c.store_dir, "a directory");
    m->integer("keep", c.keep, 1, 10000);
    m->integer("history_max", c.history_max, 10, 1000000);
    m->text("current_link", c.current_link, "a path", Map::Empty::allowed);
  }
  if (auto m = top.map("compile", kCompileKeys)) read_compile(r, *m, c);
  if (auto m = top.map("dataplane", kDataplaneKeys)) {
    socket_path(r, *m, c.dataplane_socket);
    m->integer("poll_interval_ms", c.poll_interval_ms, 50, 3600000);
    m->integer("request_timeout_ms", c.request_timeout_ms, 100, 600000);
    m->integer("load_timeout_ms", c.load_timeout_ms, 100, 3600000);
  }
  if (auto m = top.map("control", kControlKeys)) {
    socket_path(r, *m, c.control_socket);
    m->mode("mode", c.control_socket_mode);
    m->text("group", c.control_socket_group, "a group name", Map::Empty::allowed);
  }
  if (auto m = top.map("metrics", kMetricsKeys)) {
    if (m->text("listen", c.metrics_listen, "unix:PATH, host:port, or \"\" for no /metrics", Map::Empty::allowed)) {
      c.metrics_unix.clear();
      std::string why;
      if (c.metrics_listen.rfind("unix:", 0) == 0) {
        c.metrics_unix = c.metrics_listen.substr(5);
        if (auto problem = protocol::socket_path_problem(c.metrics_unix))
          r.error(m->at("listen"), "listen: " + *problem);
      } else if (!c.metrics_listen.empty() &&
                 !parse_listen_address(c.metrics_listen, c.metrics_host, c.metrics_port, &why)) {
        r.error(m->at("listen"), "listen: " + why + " (or unix:PATH for a Unix socket)");
      }
    }
    const bool on_unix = !c.metrics_unix.empty();
    if (m->mode("mode", c.metrics_mode) && !on_unix)
      r.error(m->at("mode"), "mode applies to a Unix socket (listen: unix:PATH) only");
    if (m->text("group", c.metrics_group, "a group name", Map::Empty::allowed) && !on_unix && !c.metrics_group.empty())
      r.error(m->at("group"), "group applies to a Unix socket (listen: unix:PATH) only");
    if (m->text("web_config", c.metrics_web_config, "a web configuration file (basic_auth_users)",
                Map::Empty::allowed) &&
        !c.metrics_web_config.empty()) {
      WebConfig web;
      std::vector<std::string> errors;
      if (load_web_config(c.metrics_web_config, web, errors)) {
        c.metrics_users = std::move(web.users);
        c.metrics_tls_cert = std::move(web.tls_cert_file);
        c.metrics_tls_key = std::move(web.tls_key_file);
      } else
        for (const std::string& e : errors) r.error(m->at("web_config"), "web_config: " + e);
    }
  }
  if (auto m = top.map("trace", kTraceKeys)) {
    m->text("dir", c.trace_dir, "a directory");
    m->integer("max_bytes", c.trace_max_bytes, 4096, std::int64_t{1} << 40);
    m->integer("keep", c.trace_keep, 0, 1000);
    m->integer("drain_max", c.trace_drain_max, 1, 1000000);
  }
  if (auto m = top.map("log", kLogKeys)) m->word("level", kLogLevels, c.log_level);
  if (auto m = top.map("fleet", kFleetKeys)) read_fleet(r, *m, c.fleet);
  if (auto m = top.map("records", kRecordsKeys)) {
    m->flag("enabled", c.records_enabled);
    socket_path(r, *m, c.records_socket);
    m->text("database", c.records_database, "a file path");
    m->integer("retention_days", c.records_retention_days, 1, 3650);
    m->integer("max_mb", c.records_max_mb, 16, std::int64_t{1} << 24);
    m->text("group", c.records_group, "a group name", Map::Empty::allowed);
    m->text("jsonl", c.records_jsonl, "a file path, or \"\" for none", Map::Empty::allowed);
  }
  return c;
}

std::optional<ControlConfig> finish(yaml::Reader& r, const std::optional<YAML::Node>& root,
                                    std::vector<std::string>& errors) {
  ControlConfig c;
  if (root) c = read_config(r, *root);
  if (r.error_count() == 0) return c;
  for (std::string& m : r.messages()) errors.push_back(std::move(m));
  return std::nullopt;
}

}  // namespace

std::optional<ControlConfig> load_control_config(const std::string& path, std::vector<std::string>& errors) {
  yaml::Reader r(path);
  return finish(r, r.read_file(path, io::kConfigFile), errors);
}

std::optional<ControlConfig> load_control_config_from_string(const std::string& yaml, const std::string& name,
                                                             std::vector<std::string>& errors) {
  yaml::Reader r(name);
  return finish(r, r.parse(yaml), errors);
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
      return fail(text::quote(text) + " is not [IPv6]:port");
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return fail(text::quote(text) + " is not host:port");
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (h.empty())
    return fail(text::quote(text) + " has no host (use 127.0.0.1 for loopback, 0.0.0.0 for every address)");
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return fail(text::quote(text) + ": port must be a number");
  unsigned long v = std::stoul(p);
  if (v == 0 || v > 65535) return fail(text::quote(text) + ": port must be 1 to 65535");
  host = h;
  port = static_cast<std::uint16_t>(v);
  return true;
}

std::string metrics_url(const ControlConfig& c) {
  if (!c.metrics_unix.empty())
    return "unix:" + c.metrics_unix + " (curl --unix-socket " + c.metrics_unix + " http://localhost/metrics)";
  const bool v6 = c.metrics_host.find(':') != std::string::npos;
  return (c.metrics_tls_cert.empty() ? "http://" : "https://") + (v6 ? "[" + c.metrics_host + "]" : c.metrics_host) +
         ":" + std::to_string(c.metrics_port) + "/metrics";
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace sipwall::control
