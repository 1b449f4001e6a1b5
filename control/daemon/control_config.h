// sipwall-control's own configuration (deploy/examples/control.yaml; every
// key is in docs/control.md). Errors are "file:line:col: message", one per
// mistake, like the rule sets and the data plane's config; unknown keys are
// errors. Relative paths are relative to the working directory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/fleet/fleet_options.h"

namespace sipwall::control {

struct ControlConfig {
  std::string source_file;

  // rules:
  std::string rules_file;           // the YAML rule set (required)
  std::uint32_t debounce_ms = 300;  // quiet time after the last change before reloading

  // store:
  std::string store_dir = "/var/lib/sipwall/store";
  std::uint32_t keep = 10;           // artifacts kept in the store
  std::uint32_t history_max = 1000;  // lines kept in history.jsonl
  std::string current_link;          // optional: symlink updated to the loaded artifact

  // compile:
  bool compile_isolated = true;  // compile in a child process
  std::uint32_t compile_timeout_s = 600;
  // RLIMIT_AS for the child; 0 = none. On by default: a rule file is
  // outside input, and a YAML alias bomb or a pathological regex must end
  // in a failed reload, not in the OOM killer choosing a victim.
  std::uint32_t compile_memory_mb = 4096;

  // dataplane:
  std::string dataplane_socket = "/run/sipwall/dataplane.sock";
  std::uint32_t poll_interval_ms = 1000;
  std::uint32_t request_timeout_ms = 5000;  // status, stats, trace-drain
  std::uint32_t load_timeout_ms = 120000;   // load (big sets: artifact read + Hyperscan scratch)

  // control: (sipwall-control's own socket, for sipwallctl)
  std::string control_socket = "/run/sipwall/control.sock";
  std::uint32_t control_socket_mode = 0660;
  std::string control_socket_group;

  // metrics: a Unix socket by default (who may scrape = who may open it);
  // TCP ("host:port") for a Prometheus server, best with web_config.
  std::string metrics_listen = "unix:/run/sipwall/metrics.sock";  // "" disables /metrics
  std::string metrics_unix = "/run/sipwall/metrics.sock";         // parsed: the path of "unix:PATH"
  std::string metrics_host;                                       // parsed from "host:port"
  std::uint16_t metrics_port = 0;
  std::uint32_t metrics_mode = 0660;                 // Unix socket only
  std::string metrics_group;                         // Unix socket only; empty: the process's group
  std::string metrics_web_config;                    // basic_auth_users (web_config.h); empty: none
  std::map<std::string, std::string> metrics_users;  // loaded from metrics_web_config
  std::string metrics_tls_cert, metrics_tls_key;     // web_config's tls_server_config: HTTPS

  // trace:
  std::string trace_dir = "/var/log/sipwall";
  std::uint64_t trace_max_bytes = 100ull << 20;
  std::uint32_t trace_keep = 10;
  std::uint32_t trace_drain_max = 5000;  // records per trace-drain request

  // log:
  std::string log_level = "info";  // trace debug info warn error critical off

  // fleet: (docs/fleet.md) absent: this appliance runs its local rule files alone
  fleet::FleetOptions fleet;
  // records: call records from the data plane (docs/records.md)
  bool records_enabled = false;
  std::string records_socket = "/run/sipwall/records.sock";  // the data plane's records.socket
  std::string records_database = "/var/lib/sipwall/calls.db";
  std::uint32_t records_retention_days = 30;
  std::uint64_t records_max_mb = 20480;   // pages in use; the oldest records go first
  std::string records_group = "sipwall";  // group of the database and JSON-lines files (0640); "" = the process's
  std::string records_jsonl;              // optional JSON-lines file for a SIEM, reopened on SIGHUP
};

// Loads `path`. On errors returns nullopt and appends every error to `errors`.
std::optional<ControlConfig> load_control_config(const std::string& path, std::vector<std::string>& errors);
std::optional<ControlConfig> load_control_config_from_string(const std::string& yaml, const std::string& name,
                                                             std::vector<std::string>& errors);

// "127.0.0.1:9464", "[::1]:9464", "localhost:9464" -> host and port. False with *why on error.
bool parse_listen_address(const std::string& text, std::string& host, std::uint16_t& port, std::string* why);
// Where to scrape: "http://127.0.0.1:9464/metrics", or for a Unix socket
// "unix:/run/sipwall/metrics.sock (curl --unix-socket PATH http://localhost/metrics)".
std::string metrics_url(const ControlConfig& c);
// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

}  // namespace sipwall::control
