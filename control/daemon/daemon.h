// sipwall-control's event loop: one thread that watches the rule files,
// runs the reload queue (reload_queue.h: compile in a child process, publish
// to the data plane, rollback, resync), polls the data plane's counters and
// drains its trace records, and answers sipwallctl on the control socket.
// /metrics is served by MetricsServer's own threads from the text this loop
// renders. docs/control.md is the operator's view.
#pragma once

#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/client/trace_log.h"
#include "control/daemon/artifact_store.h"
#include "control/daemon/compile_job.h"
#include "control/daemon/control_config.h"
#include "control/daemon/file_watcher.h"
#include "control/daemon/metrics_render.h"
#include "control/daemon/metrics_server.h"
#include "control/daemon/reload_queue.h"
#include "control/fleet/fleet_agent.h"
#include "control/records/call_recorder.h"
#include "dataplane/protocol/line_server.h"
#include "dataplane/protocol/reply.h"
#include "dataplane/protocol/request.h"
#include "dataplane/systemd/notify.h"

namespace sipwall::control {

inline constexpr int kControlProtocolVersion = protocol::kVersion;
class UnixJsonClient;
using LineServer = protocol::LineServer;

// The event loop is the reload queue's data-plane link (a status poll, a
// load request on the data plane's socket) and its compiler (the compile
// child, or in process).
class Daemon : private DataplaneLink, private RuleCompiler {
 public:
  Daemon(ControlConfig cfg, std::string self_exe);
  ~Daemon() override;
  // Opens everything, then loops until SIGTERM/SIGINT. Returns the exit status.
  int run();

 private:
  using Clock = std::chrono::steady_clock;

  bool open_all(std::string& error);
  void loop();
  void loop_once();
  void handle_signals();
  std::optional<std::string> handle_request(LineServer::ClientId id, std::string_view line);
  std::string handle_calls(const protocol::Request& req);
  std::string handle_lift(const protocol::Request& req);

  // DataplaneLink, RuleCompiler
  State poll() override;
  LoadAnswer load(const std::filesystem::path& artifact) override;
  std::optional<CompileOutput> start_compile(const std::filesystem::path& artifact) override;

  ReloadQueue::Hooks reload_hooks();
  void op_finished(const nlohmann::json& reply, const std::vector<ReloadQueue::Waiter>& waiters);
  void rewatch(const std::vector<std::string>& files);
  fleet::FleetAgent::Hooks fleet_hooks();
  void fleet_metrics();

  void poll_and_observe();
  bool poll_dataplane(bool drain);
  void drain_trace(UnixJsonClient& c);
  State dataplane_state() const;
  void render_metrics_now();
  void update_systemd_status();
  void send_ready_once();
  nlohmann::json status_json() const;
  nlohmann::json socket_json() const;

  ControlConfig cfg_;
  std::string self_exe_;
  ArtifactStore store_;
  History history_;
  FileWatcher watcher_;
  LineServer server_;
  MetricsServer metrics_;
  TraceWriter trace_;
  CompileChild child_;
  ControlMetrics m_;
  ReloadQueue reloads_;
  // The reload queue's waiter id for reloads the fleet agent asked for (no
  // socket client has it: the line server counts ids up from 1).
  static constexpr ReloadQueue::Waiter kFleetWaiter = std::numeric_limits<ReloadQueue::Waiter>::max();
  std::unique_ptr<fleet::FleetAgent> fleet_;  // null without a fleet: section
  int sigfd_ = -1;
  bool quit_ = false;
  std::int64_t started_ns_ = 0;

  // The data plane as last seen.
  DataplaneSnapshot dp_;
  std::string dp_error_;
  std::int64_t last_poll_ns_ = 0;
  std::vector<std::string> port_names_;
  bool dp_ever_polled_ = false;

  std::uint64_t bad_requests_ = 0;  // control-socket requests answered with an error before running

  std::optional<Clock::time_point> debounce_deadline_;
  std::vector<std::string> changed_;
  Clock::time_point next_poll_{};
  bool ready_sent_ = false;
  systemd::Watchdog watchdog_;             // WatchdogSec= of the unit, if any
  std::unique_ptr<CallRecorder> records_;  // records.enabled (docs/records.md)
};

}  // namespace sipwall::control
