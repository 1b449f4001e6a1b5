#include "control/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "control/client/time_util.h"
#include "control/client/unix_client.h"
#include "control/daemon/control_requests.h"
#include "control/daemon/json_fields.h"
#include "control/records/call_json.h"
#include "dataplane/protocol/echo.h"

namespace sipwall::control {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kTraceDrainRounds = 50;
constexpr std::uint64_t kCallsMaxLimit = 10000;  // rows per `calls` reply  // per poll: bounded even if records pour in

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Daemon::Daemon(ControlConfig cfg, std::string self_exe)
    : cfg_(std::move(cfg)),
      self_exe_(std::move(self_exe)),
      store_(cfg_.store_dir),
      history_(fs::path(cfg_.store_dir) / "history.jsonl", cfg_.history_max),
      trace_(TraceLogOptions{cfg_.trace_dir, cfg_.trace_max_bytes, cfg_.trace_keep}),
      reloads_(ReloadSettings{cfg_.rules_file, cfg_.keep, cfg_.current_link}, store_, history_, m_, *this, *this,
               reload_hooks()) {
  m_.version = SIPWALL_VERSION;
  if (cfg_.fleet.enabled)
    fleet_ = std::make_unique<fleet::FleetAgent>(cfg_.fleet, cfg_.rules_file, cfg_.store_dir, fleet_hooks());
}

// What the fleet agent needs from this loop: the set published to the data
// plane, a reload through the queue, and what its heartbeat reports.
fleet::FleetAgent::Hooks Daemon::fleet_hooks() {
  fleet::FleetAgent::Hooks h;
  h.running_checksum = [this] { return reloads_.wanted() ? reloads_.wanted()->checksum : std::string(); };
  h.reload = [this] { reloads_.enqueue_reload("fleet", kFleetWaiter); };
  h.report = [this] {
    std::map<std::string, std::string> f;
    if (const auto& w = reloads_.wanted()) {
      f["name"] = w->name;
      f["version"] = w->version;
      f["checksum"] = w->checksum;
    }
    f["dataplane"] = dp_.up ? "up" : "down";
    f["dataplane_checksum"] = dp_.up ? dataplane_state().checksum : "";
    f["sipwall_version"] = SIPWALL_VERSION;
    return f;
  };
  h.dataplane_request = [this](const json& req) -> std::optional<json> {
    UnixJsonClient c;
    json reply;
    const int timeout = static_cast<int>(cfg_.request_timeout_ms);
    if (!c.connect(cfg_.dataplane_socket, timeout) || !c.request(req, reply, timeout)) return std::nullopt;
    return reply;
  };
  h.dataplane_identity = [this] {
    if (!dp_.up) return std::string();
    const State s = dataplane_state();
    return s.started_at + "/" + s.checksum;
  };
  return h;
}

Daemon::~Daemon() {
  if (sigfd_ >= 0) ::close(sigfd_);
}

bool Daemon::open_all(std::string& error) {
  // Signals are taken through a signalfd by this loop; block them before any
  // thread exists (the HTTP threads inherit the mask) and ignore SIGPIPE.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    error = "cannot block signals";
    return false;
  }
  ::signal(SIGPIPE, SIG_IGN);
  sigfd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd_ < 0) {
    error = std::string("signalfd: ") + std::strerror(errno);
    return false;
  }
  if (!store_.init(error)) return false;
  if (fleet_ && !fleet_->open(error)) return false;
  if (!trace_.open(error)) return false;
  if (!watcher_.init(error)) return false;
  if (!server_.open(
          cfg_.control_socket, cfg_.control_socket_mode, cfg_.control_socket_group,
          [this](LineServer::ClientId id, std::string_view line) { return handle_request(id, line); }, error))
    return false;
  if (!cfg_.metrics_listen.empty()) {
    metrics_.set_users(cfg_.metrics_users);
    if (!cfg_.metrics_tls_cert.empty() && !metrics_.set_tls(cfg_.metrics_tls_cert, cfg_.metrics_tls_key, error))
      return false;
    if (!cfg_.metrics_unix.empty()) {
      if (!metrics_.start_unix(cfg_.metrics_unix, cfg_.metrics_mode, cfg_.metrics_group, error)) return false;
    } else {
      if (!metrics_.start(cfg_.metrics_host, cfg_.metrics_port, error)) return false;
      if (cfg_.metrics_users.empty())
        spdlog::warn(
            "/metrics listens on {} without a password (metrics.web_config): {} can read the counters; "
            "see docs/operations.md \"Who may scrape\"",
            cfg_.metrics_listen, is_loopback_host(cfg_.metrics_host) ? "every local user" : "anyone who can reach it");
    }
  }
  if (cfg_.records_enabled) {
    CallRecorderOptions o;
    o.socket = cfg_.records_socket;
    o.store.path = cfg_.records_database;
    o.store.retention_days = cfg_.records_retention_days;
    o.store.max_bytes = cfg_.records_max_mb << 20;
    o.group = cfg_.records_group;
    o.jsonl = cfg_.records_jsonl;
    records_ = std::make_unique<CallRecorder>(std::move(o));
    if (!records_->open(error)) return false;
  }
  reloads_.restore_from_history();  // what ran before this process started
  std::vector<std::string> problems;
  watcher_.watch({cfg_.rules_file}, problems);
  for (const auto& p : problems) spdlog::warn("{}", p);
  return true;
}

int Daemon::run() {
  started_ns_ = now_ns();
  m_.start_time_s = static_cast<double>(started_ns_) / 1e9;
  std::string error;
  if (!open_all(error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  spdlog::info("sipwall-control {} started: rules {}, store {}, data plane {}, control socket {}, metrics {}, trace {}",
               SIPWALL_VERSION, cfg_.rules_file, cfg_.store_dir, cfg_.dataplane_socket, cfg_.control_socket,
               cfg_.metrics_listen.empty() ? std::string("off") : metrics_url(cfg_), trace_.path().string());
  // The start-up load is queued before the first poll, so that poll does not
  // also queue a resync to what ran before.
  reloads_.enqueue_reload("startup", std::nullopt);
  poll_and_observe();
  next_poll_ = Clock::now() + std::chrono::milliseconds(cfg_.poll_interval_ms);
  loop();

  systemd::notify("STOPPING=1");
  spdlog::info("stopping");
  if (child_.running()) child_.kill_timed_out();
  for (auto id : reloads_.stop()) server_.reply(id, protocol::error_line("sipwall-control is stopping"));
  server_.close();
  metrics_.stop();
  return 0;
}

void Daemon::loop() {
  while (!quit_) {
    // Nothing from outside may end this loop: an exception that escaped a
    // handler (a bug, or input nobody foresaw) is logged and counted, and the
    // daemon goes on with its next turn.
    try {
      loop_once();
    } catch (const std::exception& e) {
      m_.internal_errors++;
      spdlog::error("internal error, carrying on: {}", e.what());
    }
  }
}

void Daemon::loop_once() {
  {
    reloads_.start_next();
    auto now = Clock::now();
    auto wake = std::min(next_poll_, now + std::chrono::seconds(1));
    if (debounce_deadline_) wake = std::min(wake, *debounce_deadline_);
    if (child_.running()) wake = std::min(wake, child_.deadline());
    wake = std::min(wake, watchdog_.due());
    if (auto w = server_.wake_at()) wake = std::min(wake, *w);
    if (fleet_) wake = std::min(wake, fleet_->due());
    if (records_) wake = std::min(wake, records_->wake_at(now));
    int timeout = static_cast<int>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1));

    std::vector<pollfd> fds;
    fds.push_back({sigfd_, POLLIN, 0});
    fds.push_back({watcher_.fd(), POLLIN, 0});
    int child_fd = child_.running() ? child_.fd() : -1;
    fds.push_back({child_fd, POLLIN, 0});  // fd -1 is ignored by poll
    server_.add_pollfds(fds);
    if (records_) records_->add_pollfd(fds);  // last: the server's entries keep their places
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::critical("poll: {}", std::strerror(errno));
      quit_ = true;
      return;
    }
    if (n > 0) {
      if (fds[0].revents & POLLIN) handle_signals();
      if (fds[1].revents & POLLIN) {
        if (watcher_.read_events(changed_)) {
          debounce_deadline_ = Clock::now() + std::chrono::milliseconds(cfg_.debounce_ms);
        }
      }
      if (child_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) && child_.on_readable())
        reloads_.compile_finished(child_.finish());
    }
    server_.process(fds);  // also without events: its idle and slow-client timeouts
    now = Clock::now();
    if (records_) records_->process(now);
    if (child_.running() && now >= child_.deadline()) reloads_.compile_finished(child_.kill_timed_out());
    if (debounce_deadline_ && now >= *debounce_deadline_) {
      debounce_deadline_.reset();
      std::set<std::string> uniq(changed_.begin(), changed_.end());
      changed_.clear();
      std::string what;
      for (const auto& c : uniq) what += (what.empty() ? "" : ", ") + c;
      spdlog::info("rule files changed ({}): reloading", what);
      reloads_.enqueue_reload("watch", std::nullopt);
    }
    if (now >= next_poll_) {
      poll_and_observe();
      next_poll_ = Clock::now() + std::chrono::milliseconds(cfg_.poll_interval_ms);
    }
    if (fleet_ && Clock::now() >= fleet_->due()) {
      fleet_->tick();  // every Redis call is bounded by fleet.timeout_ms
      fleet_metrics();
    }
    watchdog_.poll(now);
  }
}

void Daemon::handle_signals() {
  signalfd_siginfo si;
  while (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP) {
      spdlog::info("SIGHUP: reloading the rule files");
      reloads_.enqueue_reload("sighup", std::nullopt);
      if (records_) records_->reopen_jsonl();  // logrotate moved it
    } else {
      spdlog::info("{}: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
      quit_ = true;
    }
  }
}

// ---------------------------------------------------------------------------
// The reload queue's side: its data-plane link, its compiler, its hooks.

ReloadQueue::Hooks Daemon::reload_hooks() {
  ReloadQueue::Hooks h;
  h.started = [](ReloadQueue::OpKind k) { systemd::notify("STATUS=" + std::string(to_string(k)) + " in progress"); };
  h.finished = [this](const json& reply, const std::vector<ReloadQueue::Waiter>& waiters) {
    op_finished(reply, waiters);
  };
  h.watch = [this](const std::vector<std::string>& files) { rewatch(files); };
  return h;
}

void Daemon::op_finished(const json& reply, const std::vector<ReloadQueue::Waiter>& waiters) {
  const std::string line = reply.dump(-1, ' ', false, json::error_handler_t::replace);
  bool fleet_waits = false;
  for (auto id : waiters) {
    if (id == kFleetWaiter)
      fleet_waits = true;
    else
      server_.reply(id, line);
  }
  if (fleet_waits && fleet_) {
    fleet_->reload_finished(reply);
    fleet_metrics();
  }
  render_metrics_now();
  update_systemd_status();
  send_ready_once();  // the first load attempt is over, whatever its result
}

void Daemon::rewatch(const std::vector<std::string>& files) {
  std::vector<fs::path> paths{cfg_.rules_file};
  for (const auto& f : files) paths.emplace_back(f);
  std::vector<std::string> problems;
  watcher_.watch(paths, problems);
  for (const auto& p : problems) spdlog::warn("{}", p);
}

// The periodic poll: the queue queues a resync if the data plane does not
// run what was published last.
void Daemon::poll_and_observe() {
  poll_dataplane(true);
  reloads_.observe(dataplane_state());
}

// For the queue (which observes the answer itself): what runs now.
DataplaneLink::State Daemon::poll() {
  poll_dataplane(false);
  return dataplane_state();
}

DataplaneLink::State Daemon::dataplane_state() const {
  State s;
  s.up = dp_.up;
  if (!dp_.up) return s;
  const json& rs = json_object(dp_.status, "ruleset");
  s.version = json_str(rs, "version");
  s.checksum = json_str(rs, "checksum");
  s.artifact = json_str(rs, "artifact");
  s.started_at = json_str(dp_.status, "started_at");
  s.uptime_s = json_num(dp_.status, "uptime_s");
  return s;
}

DataplaneLink::LoadAnswer Daemon::load(const fs::path& artifact) {
  LoadAnswer a;
  UnixJsonClient c;
  if (!c.connect(cfg_.dataplane_socket, static_cast<int>(cfg_.request_timeout_ms))) {
    a.result = LoadResult::unreachable;
    a.error = c.error();
    return a;
  }
  json reply;
  const auto t0 = Clock::now();
  if (!c.request(json{{"v", 1}, {"cmd", "load"}, {"artifact", fs::absolute(artifact).string()}}, reply,
                 static_cast<int>(cfg_.load_timeout_ms))) {
    a.result = LoadResult::no_answer;
    a.error = c.error();
    return a;
  }
  a.load_ms = reply.contains("load_ms") && reply["load_ms"].is_number() ? reply["load_ms"].get<double>() : ms_since(t0);
  a.result = json_bool(reply, "ok") ? LoadResult::loaded : LoadResult::refused;
  a.error = json_str(reply, "error");
  return a;
}

std::optional<CompileOutput> Daemon::start_compile(const fs::path& artifact) {
  if (cfg_.compile_isolated) {
    std::string err;
    if (child_.start(self_exe_, cfg_.rules_file, artifact.string(), cfg_.compile_memory_mb,
                     std::chrono::seconds(cfg_.compile_timeout_s), err))
      return std::nullopt;  // the event loop hands its result to the queue
    CompileOutput o;
    o.failure = err;
    return o;
  }
  try {
    return compile_rules(cfg_.rules_file, artifact.string());
  } catch (const std::exception& e) {
    CompileOutput o;
    o.failure = std::string("compiler error: ") + e.what();
    return o;
  }
}

// ---------------------------------------------------------------------------
// The data plane: status, stats, trace records.

// Status and stats (and with `drain`, the trace records) from the data
// plane, for /metrics, `status` and the reload queue (dataplane_state()).
bool Daemon::poll_dataplane(bool drain) {
  UnixJsonClient c;
  int timeout = static_cast<int>(cfg_.request_timeout_ms);
  json status, stats;
  bool ok = false;
  // A connection the data plane closed under us (its socket evicts the
  // longest-idle client when full) gets one more try on a fresh one.
  for (int attempt = 0; attempt < 2 && !ok && (attempt == 0 || c.closed_by_peer()); ++attempt) {
    status = stats = json();
    ok = c.connect(cfg_.dataplane_socket, timeout) && c.request(json{{"v", 1}, {"cmd", "status"}}, status, timeout) &&
         json_bool(status, "ok") && c.request(json{{"v", 1}, {"cmd", "stats"}}, stats, timeout) &&
         json_bool(stats, "ok");
  }
  last_poll_ns_ = now_ns();
  bool was_up = dp_.up;
  if (!ok) {
    m_.polls_failed++;
    std::string why = !c.error().empty()         ? c.error()
                      : !json_bool(status, "ok") ? "status: " + json_str(status, "error")
                                                 : "stats: " + json_str(stats, "error");
    if (was_up || !dp_ever_polled_ || why != dp_error_) spdlog::warn("data plane not reachable: {}", why);
    dp_error_ = why;
    dp_.up = false;
    dp_ever_polled_ = true;
    render_metrics_now();
    update_systemd_status();  // READY=1 then follows the start-up load attempt (op_finished)
    return false;
  }
  m_.polls_ok++;
  dp_error_.clear();
  dp_.up = true;
  dp_.status = std::move(status);
  dp_.stats = std::move(stats);
  dp_ever_polled_ = true;
  if (!was_up) spdlog::info("data plane up: {} (version {})", cfg_.dataplane_socket, json_str(dp_.status, "version"));
  port_names_.clear();
  if (auto p = dp_.status.find("ports"); p != dp_.status.end() && p->is_array())
    for (const json& port : *p) port_names_.push_back(json_str(port, "name"));
  if (drain) drain_trace(c);
  render_metrics_now();
  update_systemd_status();
  send_ready_once();
  return true;
}

// The data plane's trace records into the trace log, in bounded rounds.
void Daemon::drain_trace(UnixJsonClient& c) {
  const int timeout = static_cast<int>(cfg_.request_timeout_ms);
  for (int round = 0; round < kTraceDrainRounds; ++round) {
    json reply;
    if (!c.request(json{{"v", 1}, {"cmd", "trace-drain"}, {"max", cfg_.trace_drain_max}}, reply, timeout) ||
        !json_bool(reply, "ok")) {
      spdlog::warn("trace-drain: {}", c.error().empty() ? json_str(reply, "error") : c.error());
      break;
    }
    const json& recs = json_array(reply, "records");
    if (!recs.empty()) {
      std::vector<std::string> lines;
      lines.reserve(recs.size());
      for (const json& r : recs) lines.push_back(trace_line(r, port_names_));
      std::string err;
      std::uint64_t rot0 = trace_.rotations();
      if (!trace_.write(lines, err)) {
        m_.trace_write_errors++;
        spdlog::error("trace log: {}", err);
      }
      m_.trace_rotations += trace_.rotations() - rot0;
      m_.trace_records = trace_.lines_written();
    }
    if (json_u64(reply, "remaining") == 0) break;
  }
}

void Daemon::send_ready_once() {
  if (ready_sent_) return;
  ready_sent_ = true;
  systemd::notify("READY=1");
}

void Daemon::fleet_metrics() {
  if (!fleet_) return;
  const bool was_up = m_.fleet.redis_up;
  m_.fleet = fleet_->counters();
  m_.fleet_configured = true;
  if (was_up != m_.fleet.redis_up) {
    render_metrics_now();
    update_systemd_status();
  }
}

void Daemon::render_metrics_now() {
  if (cfg_.metrics_listen.empty()) return;
  if (records_) {
    const CallRecorderCounters& r = records_->counters();
    m_.records_enabled = true;
    m_.records_stored = r.stored;
    m_.records_bad_frames = r.bad_frames;
    m_.records_store_errors = r.store_errors;
    m_.records_deleted = r.deleted;
    m_.records_bytes = records_->bytes_in_use();
    m_.records_waiting = records_->waiting();
  }
  metrics_.publish(render_metrics(m_, dp_));
}

void Daemon::update_systemd_status() {
  std::string s;
  if (const auto& wanted = reloads_.wanted())
    s = "rule set " + wanted->name + " " + wanted->version + " (" + wanted->checksum.substr(0, 8) + ")";
  else
    s = "no rule set published";
  s += dp_.up ? "; data plane up" : "; data plane DOWN";
  s += "; reloads ok " + std::to_string(m_.reloads_ok) + ", failed " + std::to_string(m_.reloads_failed);
  if (m_.have_reload && !m_.last_reload_ok) s += "; last reload FAILED";
  if (fleet_) s += m_.fleet.redis_up ? "; fleet version " + std::to_string(m_.fleet.running_seq) : "; fleet Redis DOWN";
  systemd::notify("STATUS=" + s);
}

// ---------------------------------------------------------------------------
// The control socket (docs/control.md, "Control socket").

// What the control socket's limits did (docs/control-protocol.md, "Limits").
json Daemon::socket_json() const {
  const protocol::LineServerCounters& c = server_.counters();
  return json{{"clients", server_.clients()},
              {"accepted", c.accepted},
              {"requests", c.requests},
              {"bad_requests", bad_requests_},
              {"evicted", c.evicted},
              {"idle_timeouts", c.idle_timeouts},
              {"line_timeouts", c.line_timeouts},
              {"send_timeouts", c.send_timeouts},
              {"oversized_lines", c.oversized_lines},
              {"handler_errors", c.handler_errors}};
}

json Daemon::status_json() const {
  const std::optional<ReloadQueue::Wanted>& wanted = reloads_.wanted();
  json ruleset = nullptr;
  if (wanted) {
    ruleset = wanted->meta;
    ruleset["artifact"] = wanted->artifact.string();
    ruleset.erase("stats");
  }
  // pending: published but not running (the data plane was down or refused it).
  if (wanted && dp_.up) ruleset["pending"] = dataplane_state().checksum != wanted->checksum;
  json dp{{"socket", cfg_.dataplane_socket}, {"up", dp_.up}, {"last_poll", iso8601_ms(last_poll_ns_)}};
  if (dp_.up) {
    dp["version"] = json_str(dp_.status, "version");
    auto rs = dp_.status.find("ruleset");
    dp["ruleset_version"] = rs != dp_.status.end() && rs->is_object() ? json(json_str(*rs, "version")) : json(nullptr);
    dp["ruleset_checksum"] =
        rs != dp_.status.end() && rs->is_object() ? json(json_str(*rs, "checksum")) : json(nullptr);
  } else {
    dp["error"] = dp_error_;
  }
  json watching = json::array();
  for (const auto& f : watcher_.files()) watching.push_back(f.string());
  // A client in another working directory (sipwallctl rules diff --running)
  // needs the rule file as an absolute path, and the folder its relative
  // list files resolve against.
  std::error_code ec;
  std::filesystem::path rules_abs = std::filesystem::absolute(cfg_.rules_file, ec);
  if (ec) rules_abs = cfg_.rules_file;
  rules_abs = rules_abs.lexically_normal();
  return json{{"ok", true},
              {"v", kControlProtocolVersion},
              {"version", SIPWALL_VERSION},
              {"pid", ::getpid()},
              {"started_at", iso8601_ms(started_ns_)},
              {"uptime_s", static_cast<double>(now_ns() - started_ns_) / 1e9},
              {"config", cfg_.source_file},
              {"rules_file", cfg_.rules_file},
              {"rules_file_path", rules_abs.string()},
              {"lists_dir", rules_abs.parent_path().string()},
              {"store", cfg_.store_dir},
              {"trace_dir", cfg_.trace_dir},
              {"trace_file", trace_.path().string()},
              {"trace_records_written", trace_.lines_written()},
              {"metrics", cfg_.metrics_listen},
              {"metrics_url", cfg_.metrics_listen.empty() ? json(nullptr) : json(metrics_url(cfg_))},
              {"metrics_auth", !cfg_.metrics_users.empty()},
              {"watching", watching},
              {"busy", reloads_.busy() ? json(to_string(*reloads_.busy())) : json(nullptr)},
              {"queued", reloads_.queued()},
              {"ruleset", ruleset},
              {"last_reload", reloads_.last_result().is_null() ? json(nullptr) : reloads_.last_result()},
              {"reloads", json{{"ok", m_.reloads_ok}, {"failed", m_.reloads_failed}}},
              {"dataplane", dp},
              {"fleet", fleet_ ? fleet_->status_json() : json(nullptr)},
              {"records", records_ ? records_->status_json() : json{{"enabled", false}}},
              {"control_socket", socket_json()}};
}

std::optional<std::string> Daemon::handle_request(LineServer::ClientId id, std::string_view line) {
  // Every field is checked against the command table (control_requests.cpp)
  // before anything runs; replies never throw whatever bytes they carry.
  protocol::ParsedRequest parsed = protocol::parse_request(line, control_protocol());
  if (!parsed.request) {
    bad_requests_++;
    return protocol::error_line(parsed.error);
  }
  const protocol::Request& req = *parsed.request;
  if (req.cmd == "status") return protocol::dump_line(status_json());
  if (req.cmd == "history") {
    // Absent: the newest 20; 0: all of them.
    std::size_t limit = static_cast<std::size_t>(req.count("limit").value_or(20));
    json entries = json::array();
    for (auto& e : history_.read(limit)) entries.push_back(std::move(e));
    return protocol::dump_line(json{{"ok", true}, {"v", kControlProtocolVersion}, {"entries", entries}});
  }
  if (req.cmd == "reload") {
    reloads_.enqueue_reload("request", id);
    return std::nullopt;
  }
  if (req.cmd == "rollback") {
    // The reason may quote the target the client sent: escaped and capped.
    if (std::optional<std::string> why = reloads_.enqueue_rollback(req.text("target").value_or(""), id))
      return protocol::error_line(protocol::printable(*why, protocol::kMessageMax));
    return std::nullopt;
  }
  if (req.cmd == "calls") return handle_calls(req);
  if (req.cmd == "detections-lift") return handle_lift(req);
  // The command table and this function name the same commands.
  bad_requests_++;
  return protocol::error_line("command '" + protocol::printable(req.cmd) + "' is not implemented");
}

// `detections-lift`: lifted in this appliance's data plane first (its reply,
// as `sipwallctl detections lift` shows it); with a fleet, then published so
// that every appliance lifts the key (docs/fleet.md, "Lifts"). A lift the
// data plane refused (no such detector, not a key) is not published.
std::string Daemon::handle_lift(const protocol::Request& req) {
  const std::string key = req.text("key").value_or("");
  const std::optional<std::string> detector = req.text("detector");
  json dreq{{"v", 1}, {"cmd", "detections-lift"}, {"key", key}};
  if (detector) dreq["detector"] = *detector;
  UnixJsonClient c;
  json reply;
  const int timeout = static_cast<int>(cfg_.request_timeout_ms);
  if (!c.connect(cfg_.dataplane_socket, timeout) || !c.request(dreq, reply, timeout) || !reply.is_object())
    return protocol::error_line("the data plane (" + protocol::printable(cfg_.dataplane_socket) +
                                ") did not answer: nothing lifted");
  const auto ok = reply.find("ok");
  if (ok == reply.end() || !ok->is_boolean() || !ok->get<bool>() || !fleet_) return protocol::dump_line(reply);
  const std::string by = protocol::printable(req.text("by").value_or("?"), 200);
  reply["fleet"] = fleet_->publish_lift(key, detector.value_or(""), by);
  return protocol::dump_line(reply);
}

// `calls`: the stored call records matching one key (docs/records.md). The
// numbers come normalised by sipwallctl (dial plan); a value that is not
// E.164 is matched against the number as written.
std::string Daemon::handle_calls(const protocol::Request& req) {
  if (!records_) return protocol::error_line("call records are off (records.enabled: false in the control config)");
  CallQuery q;
  const std::string by = req.text("by").value_or("");
  if (by == "caller")
    q.by = CallQuery::By::caller;
  else if (by == "callee")
    q.by = CallQuery::By::callee;
  else if (by == "trunk")
    q.by = CallQuery::By::trunk;
  else if (by == "source")
    q.by = CallQuery::By::source;
  else
    return protocol::error_line("by must be caller, callee, trunk or source, not " + protocol::printable(by, 64));
  q.value = req.text("value").value_or("");
  if (q.by == CallQuery::By::source) {
    std::optional<std::string> a = normalise_address(q.value);
    if (!a) return protocol::error_line(protocol::printable(q.value, 64) + " is not an IPv4 or IPv6 address");
    q.value = *a;
  }
  const auto clamp64 = [](std::uint64_t v) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(v, static_cast<std::uint64_t>(INT64_MAX)));
  };
  q.since_ms = clamp64(req.count("since_ms").value_or(0));
  q.until_ms = clamp64(req.count("until_ms").value_or(static_cast<std::uint64_t>(INT64_MAX)));
  q.limit = static_cast<std::uint32_t>(std::min<std::uint64_t>(req.count("limit").value_or(100), kCallsMaxLimit));
  if (q.limit == 0) q.limit = 1;
  std::vector<CallRow> rows;
  std::string err;
  if (!records_->query(q, rows, err)) return protocol::error_line("call store: " + protocol::printable(err, 200));
  json calls = json::array();
  for (const CallRow& r : rows) calls.push_back(call_row_json(r));
  return protocol::dump_line(json{{"ok", true},
                                  {"v", kControlProtocolVersion},
                                  {"by", by},
                                  {"value", q.value},
                                  {"limit", q.limit},
                                  {"calls", std::move(calls)}});
}

}  // namespace sipwall::control
