// sipwall-dataplane: the DPDK primary process. Reads its YAML config, brings
// up EAL, ports and workers, loads the rule-set artifact (or the last good
// one), then serves the control socket on the main lcore until SIGINT/SIGTERM.
//
//   sipwall-dataplane -c deploy/examples/sipwall.yaml [--artifact FILE]
//   sipwall-dataplane --check /etc/sipwall/sipwall.yaml   (validate, print the plan, no EAL)
#include <rte_eal.h>
#include <rte_lcore.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "dataplane/app/af_packet_ring.h"
#include "dataplane/app/config.h"
#include "dataplane/app/dpdk_log.h"
#include "dataplane/app/link_watch.h"
#include "dataplane/app/main_state.h"
#include "dataplane/app/record_export.h"
#include "dataplane/app/setup.h"
#include "dataplane/log/log.h"
#include "dataplane/protocol/line_server.h"
#include "dataplane/protocol/socket_path.h"
#include "dataplane/systemd/notify.h"
#include "rules/text/safe_text.h"

namespace {

using namespace sipwall::dataplane;

void on_signal(int) {
  if (g_dataplane) g_dataplane->quit.store(true);
}

void log(const std::string& msg) {
  sipwall::dplog::info(msg);
}

// The trace records nobody collected, as a table (pcap runs, the demo).
void print_traces(MainState& st) {
  drain_trace_rings(st);
  if (st.traces.empty()) return;
  std::printf("verdict trace (%zu records):\n", st.traces.size());
  std::printf("  %-7s %-5s %-28s %-16s %-16s %-10s %-16s %s\n", "action", "code", "call-id", "caller", "callee",
              "trunk", "rule", "detector");
  for (const TraceRecord& r : st.traces) {
    const std::string action(r.action < kActionCount ? sipwall::rules::kActionNames[r.action] : "?");
    // Bytes from packets and the rule set: shown escaped.
    std::string det = "-";
    if (r.detector[0]) {
      det =
          sipwall::text::printable(r.detector) + " count " + std::to_string(r.detector_count) + " " +
          sipwall::detect::to_string(static_cast<sipwall::detect::Level>(r.detector_level <= 2 ? r.detector_level : 0));
      if (r.detector_report) det += " (report mode)";
    }
    std::printf("  %-7s %-5s %-28s %-16s %-16s %-10s %-16s %s\n", action.c_str(),
                r.reject_code ? std::to_string(r.reject_code).c_str() : "-",
                sipwall::text::printable(r.call_id).c_str(),
                r.caller[0] ? sipwall::text::printable(r.caller).c_str() : "-",
                r.callee[0] ? sipwall::text::printable(r.callee).c_str() : "-",
                r.trunk[0] ? sipwall::text::printable(r.trunk).c_str() : "-",
                sipwall::text::printable(r.rule_id).c_str(), det.c_str());
  }
}

// Start-up rule set: the configured artifact, else the last good one.
void load_initial(MainState& st, const std::string& artifact) {
  std::string last = st.last_good_path();
  st.quarantined = read_on_trial(st);
  if (st.quarantined != 0)
    sipwall::dplog::warning("the previous run ended while a rule set was on trial (" + st.on_trial_path() +
                            "): that set is skipped at start and refused by load until a clean restart");
  std::error_code ec;
  if (!artifact.empty() && !std::filesystem::exists(artifact, ec)) {
    // A fresh install: sipwall-control writes the store's current set after
    // its first compile. Not a failed load (reloads.failed stays 0).
    log("no rule set at " + artifact + " yet; trying the last good rule set");
  } else if (!artifact.empty()) {
    std::string err = load_ruleset(st, artifact);
    if (err.empty()) return;  // load_ruleset logged it
    sipwall::dplog::warning("cannot load " + err + "; trying the last good rule set");
  }
  if (std::filesystem::exists(last, ec)) {
    std::string err = load_ruleset(st, last);
    if (err.empty()) return;  // load_ruleset logged it (from last-good.swr)
    sipwall::dplog::err("cannot load the last good rule set: " + err);
  }
  sipwall::dplog::warning("running without a rule set: every INVITE is forwarded (counted as no_ruleset)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sipwall-dataplane - DPDK SIP INVITE filter (bump in the wire)"};
  std::string config_path, artifact, stats_file, socket_path;
  std::uint32_t idle_ms = 0;
  bool print_trace = false, check_only = false;
  // Required, but checked after parsing: CLI11 checks required options
  // before unknown ones, so `--bogus` would only hear "--config is required".
  app.add_option("config,-c,--config", config_path, "YAML configuration (see deploy/examples/sipwall.yaml); required");
  app.add_option("--artifact", artifact, "Rule-set artifact to load at start (overrides ruleset.artifact)");
  app.add_option("--control-socket", socket_path, "Control socket path (overrides control.socket)");
  app.add_option("--stop-when-idle-ms", idle_ms, "Exit when no packet arrived for this long (pcap runs)");
  app.add_option("--stats-json", stats_file, "Write the final counters as JSON to this file on exit");
  app.add_flag("--print-trace", print_trace, "On exit, print the verdict trace records nobody collected");
  app.add_flag("--check,--check-config", check_only,
               "Validate the configuration and print what it would do (EAL arguments, cores, ports, queues, "
               "pool, offloads) without starting EAL or touching a NIC; exit 0 if valid, 2 if not");
  app.set_version_flag("--version", std::string("sipwall-dataplane ") + SIPWALL_VERSION);
  CLI11_PARSE(app, argc, argv);
  if (config_path.empty()) {
    std::fprintf(stderr, "sipwall-dataplane: --config is required\nRun with --help for more information.\n");
    return 2;
  }

  std::vector<std::string> errors;
  auto cfg = load_config(config_path, errors);
  if (!cfg) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 2;
  }
  if (!artifact.empty()) cfg->artifact = artifact;
  if (!socket_path.empty()) {
    if (auto why = sipwall::protocol::socket_path_problem(socket_path)) {
      std::fprintf(stderr, "sipwall-dataplane: --control-socket: %s\n", why->c_str());
      return 2;
    }
    cfg->control_socket = socket_path;
  }
  if (idle_ms) cfg->stop_when_idle_ms = idle_ms;
  if (!stats_file.empty()) cfg->stats_json = stats_file;

  std::vector<std::string> eal = eal_arguments(*cfg, argv[0]);
  if (!check_only)  // --check prints them in its plan
    for (const std::string& w : af_packet_warnings(*cfg)) sipwall::dplog::warning(w);
  if (check_only) {
    std::printf("%s: OK\nEAL:", config_path.c_str());
    for (const auto& a : eal) std::printf(" %s", a.c_str());
    std::printf("\n%s", describe_plan(*cfg, kBurst).c_str());
    return 0;
  }
  std::vector<char*> eal_argv;
  for (auto& a : eal) eal_argv.push_back(a.data());
  if (!route_dpdk_log()) sipwall::dplog::warning("cannot route DPDK's log through ours; it writes to stderr as is");
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    sipwall::dplog::err(std::string("EAL init failed: ") + rte_strerror(rte_errno));
    sipwall::dplog::logger().flush();
    return 1;
  }

  static Dataplane dp;
  dp.cfg = *cfg;
  g_dataplane = &dp;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::string err;
  if (!setup_dataplane(dp, err)) {
    sipwall::dplog::err(err);
    sipwall::dplog::logger().flush();
    rte_eal_cleanup();
    return 1;
  }
  MainState st(dp);
  // Served from this (main lcore) loop, no threads; limits in line_server.h.
  sipwall::protocol::LineServer server;
  auto handler = [&st](sipwall::protocol::LineServer::ClientId, std::string_view line) -> std::optional<std::string> {
    return handle_request(st, line);
  };
  if (!server.open(dp.cfg.control_socket, dp.cfg.control_socket_mode, dp.cfg.control_socket_group, handler, err)) {
    sipwall::dplog::err(err);
    sipwall::dplog::logger().flush();
    teardown_dataplane(dp);
    rte_eal_cleanup();
    return 1;
  }
  st.control_server = &server;
  if (!st.watch.start(err)) {
    std::fprintf(stderr, "sipwall-dataplane: %s\n", err.c_str());
    server.close();
    teardown_dataplane(dp);
    rte_eal_cleanup();
    return 1;
  }
  // Call records leave through their own socket (docs/records.md).
  RecordExporter records;
  if (dp.cfg.records_enabled) {
    if (!records.open(dp.cfg.records_socket, dp.cfg.control_socket_mode, dp.cfg.control_socket_group, err)) {
      std::fprintf(stderr, "sipwall-dataplane: %s\n", err.c_str());
      server.close();
      teardown_dataplane(dp);
      rte_eal_cleanup();
      return 1;
    }
    st.records = &records;
  }
  load_initial(st, dp.cfg.artifact);

  for (auto& w : dp.workers) rte_eal_remote_launch(worker_main, w.get(), w->lcore);
  log(std::to_string(dp.workers.size()) + " workers on " + std::to_string(dp.ports.size()) + " ports; control socket " +
      dp.cfg.control_socket);
  sipwall::systemd::notify("READY=1");
  // WatchdogSec= in the unit: the main lcore loop proves it still turns.
  sipwall::systemd::Watchdog watchdog;
  LinkWatch links(dp);  // link_follow (docs/deploy.md)

  // Main lcore: control socket, trace draining, idle stop. Never on the packet path.
  std::uint64_t last_rx = 0;
  auto last_change = std::chrono::steady_clock::now();
  while (!dp.quit.load()) {
    // 5 ms at most between turns: the detection merge runs every
    // detection.merge_ms (<= 100 ms) from here.
    server.poll(5);
    st.detect.tick();
    drain_trace_rings(st);
    st.watch.tick();
    records.poll(dp, st.trace_clock);  // anchored by drain_trace_rings
    promote_last_good(st);
    watchdog.poll();
    sipwall::dplog::logger().tick();  // summaries of collapsed repeats
    links.poll();
    if (dp.cfg.stop_when_idle_ms) {
      WorkerCounters sum;
      sum_counters(dp.counters, static_cast<unsigned>(dp.workers.size()), sum);
      std::uint64_t rx = 0;
      for (unsigned p = 0; p < kMaxPorts; ++p) rx += sum.rx_packets[p];
      auto now = std::chrono::steady_clock::now();
      if (rx != last_rx) {
        last_rx = rx;
        last_change = now;
      } else if (now - last_change > std::chrono::milliseconds(dp.cfg.stop_when_idle_ms)) {
        log("idle for " + std::to_string(dp.cfg.stop_when_idle_ms) + " ms, stopping");
        dp.quit.store(true);
      }
    }
  }
  sipwall::systemd::notify("STOPPING=1");
  rte_eal_mp_wait_lcore();
  // The copies the workers made before they stopped still go out (HEP).
  for (int i = 0; i < 64; ++i) st.watch.tick();
  links.restore();
  // A clean stop: the set that ran did not take the process down.
  if (const RuntimeSet* rs = dp.current.load()) clear_on_trial(st, rs->set().checksum());
  if (print_trace) print_traces(st);
  std::printf("%s", stats_text(st).c_str());
  if (!dp.cfg.stats_json.empty()) {
    std::ofstream out(dp.cfg.stats_json);
    out << stats_json(st) << "\n";
  }
  std::fflush(stdout);
  records.close();
  server.close();
  teardown_dataplane(dp);
  rte_eal_cleanup();
  sipwall::dplog::logger().flush();
  return 0;
}
