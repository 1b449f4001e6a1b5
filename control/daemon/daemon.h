// sipwall-control's event loop: one thread that watches the rule files,
// compiles them (in a child process), publishes artifacts to the data plane,
// polls its counters and drains its trace records, and answers sipwallctl on
// the control socket. /metrics is served by MetricsServer's own threads from
// the text this loop renders. docs/control.md is the operator's view.
//
// Reload, rollback and resync are operations run one at a time from a queue:
// a change arriving while a compile runs queues one more reload (coalesced
// with any reload already waiting), so the last saved state always gets
// loaded and nothing is loaded twice for one save.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
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
#include "dataplane/protocol/line_server.h"
#include "dataplane/protocol/reply.h"
#include "dataplane/systemd/notify.h"

namespace sipwall::control {

inline constexpr int kControlProtocolVersion = protocol::kVersion;
using LineServer = protocol::LineServer;

class Daemon {
 public:
  Daemon(ControlConfig cfg, std::string self_exe);
  ~Daemon();
  // Opens everything, then loops until SIGTERM/SIGINT. Returns the exit status.
  int run();

 private:
  using Clock = std::chrono::steady_clock;
  enum class OpKind { reload, rollback, resync };
  struct Op {
    OpKind kind = OpKind::reload;
    std::string trigger;           // startup, watch, sighup, request, dataplane-restart
    std::filesystem::path target;  // rollback / resync: the artifact
    std::vector<LineServer::ClientId> waiters;
  };
  struct Wanted {  // the set the data plane should run: last loaded (or pending) artifact
    std::filesystem::path artifact;
    std::string name, version, checksum;
    nlohmann::json meta;
  };

  bool open_all(std::string& error);
  void loop();
  void loop_once();
  void handle_signals();
  std::optional<std::string> handle_request(LineServer::ClientId id, std::string_view line);

  void enqueue_reload(const std::string& trigger, std::optional<LineServer::ClientId> waiter);
  void start_next_op();
  void finish_compile(CompileOutput out);
  void publish(const std::filesystem::path& artifact, const nlohmann::json& meta, nlohmann::json entry);
  void succeed(nlohmann::json entry, const Wanted& w, const std::string& result);
  void fail(nlohmann::json entry, const std::string& stage, const std::string& message,
            const std::vector<std::string>& diagnostics);
  void end_op(const nlohmann::json& reply);
  nlohmann::json op_entry(const Op& op) const;

  std::optional<Wanted> wanted_from_artifact(const std::filesystem::path& artifact) const;
  std::optional<std::filesystem::path> previous_artifact(std::string* why) const;
  void update_current_link(const std::filesystem::path& artifact);
  void rewatch(const std::vector<std::string>& files);

  bool poll_dataplane(bool drain_trace);
  void render_metrics_now();
  void update_systemd_status();
  nlohmann::json status_json() const;
  nlohmann::json socket_json() const;
  std::string running_checksum() const;

  ControlConfig cfg_;
  std::string self_exe_;
  ArtifactStore store_;
  History history_;
  FileWatcher watcher_;
  LineServer server_;
  MetricsServer metrics_;
  TraceWriter trace_;
  CompileChild child_;
  int sigfd_ = -1;
  bool quit_ = false;
  std::int64_t started_ns_ = 0;

  // The data plane as last seen.
  DataplaneSnapshot dp_;
  std::string dp_error_;
  std::string dp_started_at_;
  double dp_uptime_s_ = 0;
  std::int64_t last_poll_ns_ = 0;
  std::vector<std::string> port_names_;
  bool dp_ever_polled_ = false;

  std::optional<Wanted> wanted_;
  // The last load of wanted_ never reached the data plane (unreachable, busy,
  // no answer): the next poll that reaches it tries again.
  bool retry_load_ = false;
  std::uint64_t bad_requests_ = 0;  // control-socket requests answered with an error before running
  nlohmann::json last_reload_;      // history entry of the last finished operation (+ diagnostics)
  ControlMetrics m_;

  std::deque<Op> queue_;
  std::optional<Op> current_;
  std::filesystem::path staging_;
  Clock::time_point op_started_{};

  std::optional<Clock::time_point> debounce_deadline_;
  std::vector<std::string> changed_;
  Clock::time_point next_poll_{};
  bool ready_sent_ = false;
  systemd::Watchdog watchdog_;  // WatchdogSec= of the unit, if any
};

}  // namespace sipwall::control
