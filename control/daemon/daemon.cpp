#include "control/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "control/client/time_util.h"
#include "control/client/unix_client.h"
#include "control/daemon/control_requests.h"
#include "control/daemon/incomplete_guard.h"
#include "control/daemon/json_fields.h"
#include "dataplane/protocol/echo.h"

namespace sipwall::control {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxDiagnosticsKept = 100;  // in status and replies; the log gets them all
constexpr int kTraceDrainRounds = 50;             // per poll: bounded even if records pour in

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

const char* op_name(int kind) {
  static const char* names[] = {"reload", "rollback", "resync"};
  return names[kind];
}

}  // namespace

Daemon::Daemon(ControlConfig cfg, std::string self_exe)
    : cfg_(std::move(cfg)),
      self_exe_(std::move(self_exe)),
      store_(cfg_.store_dir),
      history_(fs::path(cfg_.store_dir) / "history.jsonl", cfg_.history_max),
      trace_(TraceLogOptions{cfg_.trace_dir, cfg_.trace_max_bytes, cfg_.trace_keep}) {
  m_.version = SIPWALL_VERSION;
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
  if (!trace_.open(error)) return false;
  if (!watcher_.init(error)) return false;
  if (!server_.open(
          cfg_.control_socket, cfg_.control_socket_mode, cfg_.control_socket_group,
          [this](LineServer::ClientId id, std::string_view line) { return handle_request(id, line); }, error))
    return false;
  if (!cfg_.metrics_listen.empty()) {
    if (!metrics_.start(cfg_.metrics_host, cfg_.metrics_port, error)) return false;
    if (!is_loopback_host(cfg_.metrics_host))
      spdlog::warn("/metrics listens on {} (not loopback): anyone who can reach it sees the counters",
                   cfg_.metrics_listen);
  }
  // What ran before this process started: the newest good entry of the history.
  for (const json& e : [&] {
         auto h = history_.read();
         std::reverse(h.begin(), h.end());
         return h;
       }()) {
    std::string r = json_str(e, "result");
    if (r != "ok" && r != "unchanged") continue;
    std::error_code ec;
    fs::path a = json_str(e, "artifact");
    if (a.empty() || !fs::exists(a, ec)) continue;
    wanted_ = wanted_from_artifact(a);
    if (wanted_) break;
  }
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
               cfg_.metrics_listen.empty() ? "off" : "http://" + cfg_.metrics_listen + "/metrics",
               trace_.path().string());
  // The start-up load is queued before the first poll, so that poll does not
  // also queue a resync to what ran before.
  enqueue_reload("startup", std::nullopt);
  poll_dataplane(true);
  next_poll_ = Clock::now() + std::chrono::milliseconds(cfg_.poll_interval_ms);
  loop();

  systemd::notify("STOPPING=1");
  spdlog::info("stopping");
  if (child_.running()) child_.kill_timed_out();
  if (current_) {
    for (auto id : current_->waiters) server_.reply(id, protocol::error_line("sipwall-control is stopping"));
  }
  for (const Op& op : queue_)
    for (auto id : op.waiters) server_.reply(id, protocol::error_line("sipwall-control is stopping"));
  if (!staging_.empty()) {
    std::error_code ec;
    fs::remove(staging_, ec);
  }
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
    start_next_op();
    auto now = Clock::now();
    auto wake = std::min(next_poll_, now + std::chrono::seconds(1));
    if (debounce_deadline_) wake = std::min(wake, *debounce_deadline_);
    if (child_.running()) wake = std::min(wake, child_.deadline());
    wake = std::min(wake, watchdog_.due());
    if (auto w = server_.wake_at()) wake = std::min(wake, *w);
    int timeout = static_cast<int>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1));

    std::vector<pollfd> fds;
    fds.push_back({sigfd_, POLLIN, 0});
    fds.push_back({watcher_.fd(), POLLIN, 0});
    int child_fd = child_.running() ? child_.fd() : -1;
    fds.push_back({child_fd, POLLIN, 0});  // fd -1 is ignored by poll
    server_.add_pollfds(fds);
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
        finish_compile(child_.finish());
    }
    server_.process(fds);  // also without events: its idle and slow-client timeouts
    now = Clock::now();
    if (child_.running() && now >= child_.deadline()) finish_compile(child_.kill_timed_out());
    if (debounce_deadline_ && now >= *debounce_deadline_) {
      debounce_deadline_.reset();
      std::set<std::string> uniq(changed_.begin(), changed_.end());
      changed_.clear();
      std::string what;
      for (const auto& c : uniq) what += (what.empty() ? "" : ", ") + c;
      spdlog::info("rule files changed ({}): reloading", what);
      enqueue_reload("watch", std::nullopt);
    }
    if (now >= next_poll_) {
      poll_dataplane(true);
      next_poll_ = Clock::now() + std::chrono::milliseconds(cfg_.poll_interval_ms);
    }
    watchdog_.poll(now);
  }
}

void Daemon::handle_signals() {
  signalfd_siginfo si;
  while (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP) {
      spdlog::info("SIGHUP: reloading the rule files");
      enqueue_reload("sighup", std::nullopt);
    } else {
      spdlog::info("{}: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
      quit_ = true;
    }
  }
}

// ---------------------------------------------------------------------------
// Operations

void Daemon::enqueue_reload(const std::string& trigger, std::optional<LineServer::ClientId> waiter) {
  for (Op& op : queue_) {
    if (op.kind == OpKind::reload) {  // not started yet: it will read the newest files anyway
      if (waiter) op.waiters.push_back(*waiter);
      return;
    }
  }
  Op op;
  op.kind = OpKind::reload;
  op.trigger = trigger;
  if (waiter) op.waiters.push_back(*waiter);
  queue_.push_back(std::move(op));
}

json Daemon::op_entry(const Op& op) const {
  json e;
  e["time"] = iso8601_ms(now_ns());
  e["op"] = op_name(static_cast<int>(op.kind));
  e["trigger"] = op.trigger;
  return e;
}

void Daemon::start_next_op() {
  if (current_ || queue_.empty()) return;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  op_started_ = Clock::now();
  systemd::notify("STATUS=" + std::string(op_name(static_cast<int>(current_->kind))) + " in progress");
  if (current_->kind == OpKind::reload) {
    staging_ = store_.staging_path();
    if (cfg_.compile_isolated) {
      std::string err;
      if (!child_.start(self_exe_, cfg_.rules_file, staging_.string(), cfg_.compile_memory_mb,
                        std::chrono::seconds(cfg_.compile_timeout_s), err)) {
        CompileOutput o;
        o.failure = err;
        finish_compile(std::move(o));
      }
      return;  // finish_compile() runs when the child is done
    }
    CompileOutput o;
    try {
      o = compile_rules(cfg_.rules_file, staging_.string());
    } catch (const std::exception& e) {
      o = CompileOutput{};
      o.failure = std::string("compiler error: ") + e.what();
    }
    finish_compile(std::move(o));
    return;
  }
  // rollback / resync: the artifact exists already.
  json entry = op_entry(*current_);
  fs::path target = current_->target;
  std::error_code ec;
  auto meta = store_.meta(target);
  if (!fs::exists(target, ec) || !meta) {
    fail(entry, "store", target.string() + ": no longer in the store", {});
    return;
  }
  publish(target, *meta, entry);
}

void Daemon::rewatch(const std::vector<std::string>& files) {
  std::vector<fs::path> paths{cfg_.rules_file};
  for (const auto& f : files) paths.emplace_back(f);
  std::vector<std::string> problems;
  watcher_.watch(paths, problems);
  for (const auto& p : problems) spdlog::warn("{}", p);
}

void Daemon::finish_compile(CompileOutput out) {
  json entry = op_entry(*current_);
  double compile_ms = ms_since(op_started_);
  entry["compile_ms"] = compile_ms;
  m_.last_compile_seconds = compile_ms / 1000.0;
  std::error_code ec;
  if (!out.ok) {
    fs::remove(staging_, ec);
    staging_.clear();
    // Keep watching what the last good set read, plus the rule file: fixing
    // the file is what triggers the next attempt.
    std::vector<std::string> keep;
    for (const auto& f : watcher_.files()) keep.push_back(f.string());
    for (const auto& f : out.files) keep.push_back(f);
    rewatch(keep);
    std::vector<std::string> errors_only;
    for (const auto& d : out.diagnostics)
      if (d.find(": warning: ") == std::string::npos) errors_only.push_back(d);
    fail(entry, out.stage.empty() ? "compile" : out.stage, out.failure, errors_only);
    return;
  }
  rewatch(out.files);
  for (const auto& d : out.diagnostics) spdlog::warn("{}", d);
  if (wanted_) {
    if (std::optional<std::string> why = incomplete_save(out, wanted_->meta)) {
      fs::remove(staging_, ec);
      staging_.clear();
      fail(entry, "incomplete", *why, {});
      return;
    }
  }
  entry["version"] = out.version;
  entry["checksum"] = out.checksum;
  json meta{{"name", out.name},
            {"version", out.version},
            {"checksum", out.checksum},
            {"compiled_at", iso8601_ms(now_ns())},
            {"compile_ms", compile_ms},
            {"rules_file", cfg_.rules_file},
            {"files", out.files},
            {"rules", out.rules},
            {"lists", out.lists},
            {"bytes", out.bytes},
            {"warnings", out.warnings},
            {"dial_plan", out.dial_plan},
            {"list_entries", out.list_entries},
            {"stats", out.stats_text}};
  fs::path final_path;
  std::string err;
  if (!store_.commit(staging_, out.version, out.checksum, meta, final_path, err)) {
    fs::remove(staging_, ec);
    staging_.clear();
    fail(entry, "store", "cannot store the artifact: " + err, {});
    return;
  }
  staging_.clear();
  publish(final_path, meta, entry);
}

// Tells the data plane to load `artifact` and waits for its answer.
void Daemon::publish(const fs::path& artifact, const json& meta, json entry) {
  Wanted w;
  w.artifact = artifact;
  w.name = json_str(meta, "name");
  w.version = json_str(meta, "version");
  w.checksum = json_str(meta, "checksum");
  w.meta = meta;
  entry["version"] = w.version;
  entry["checksum"] = w.checksum;
  entry["artifact"] = artifact.string();

  // What runs now (fresh: the last poll may be a second old).
  poll_dataplane(false);
  std::string previous = dp_.up ? json_str(json_object(dp_.status, "ruleset"), "version") : "";
  entry["previous_version"] = previous.empty() ? json(nullptr) : json(previous);
  if (dp_.up && running_checksum() == w.checksum && current_->kind == OpKind::reload) {
    succeed(entry, w, "unchanged");
    return;
  }
  UnixJsonClient c;
  if (!c.connect(cfg_.dataplane_socket, static_cast<int>(cfg_.request_timeout_ms))) {
    // It will be loaded when the data plane is back (see poll_dataplane).
    wanted_ = w;
    retry_load_ = true;
    fail(entry, "dataplane",
         "data plane unreachable (" + c.error() + "); " + artifact.string() + " will be loaded when it is back", {});
    return;
  }
  json reply;
  auto t0 = Clock::now();
  if (!c.request(json{{"v", 1}, {"cmd", "load"}, {"artifact", fs::absolute(artifact).string()}}, reply,
                 static_cast<int>(cfg_.load_timeout_ms))) {
    // Busy, gone or still loading: the next poll that reaches the data plane
    // loads it if it does not run it by then (see poll_dataplane).
    wanted_ = w;
    retry_load_ = true;
    fail(entry, "dataplane",
         "no answer to load: " + c.error() + "; " + artifact.string() + " will be loaded when the data plane answers",
         {});
    return;
  }
  retry_load_ = false;  // it answered: loaded or refused, either way not retried
  entry["load_ms"] =
      reply.contains("load_ms") && reply["load_ms"].is_number() ? reply["load_ms"].get<double>() : ms_since(t0);
  if (!json_bool(reply, "ok")) {
    fail(entry, "dataplane", "the data plane refused the artifact: " + json_str(reply, "error"), {});
    return;
  }
  succeed(entry, w, "ok");
}

void Daemon::succeed(json entry, const Wanted& w, const std::string& result) {
  double total_ms = ms_since(op_started_);
  entry["result"] = result;
  entry["duration_ms"] = total_ms;
  wanted_ = w;
  store_.touch(w.artifact);
  update_current_link(w.artifact);
  std::set<fs::path> protect{w.artifact};
  if (dp_.up) {
    std::string running = json_str(json_object(dp_.status, "ruleset"), "artifact");
    if (!running.empty()) protect.insert(fs::path(running));
  }
  for (const fs::path& p : store_.prune(cfg_.keep, protect)) spdlog::info("store: pruned {}", p.string());
  std::string err;
  if (!history_.append(entry, err)) spdlog::error("history: {}", err);
  m_.reloads_ok++;
  m_.have_reload = true;
  m_.last_reload_ok = true;
  m_.last_reload_seconds = total_ms / 1000.0;
  m_.last_reload_time_s = static_cast<double>(now_ns()) / 1e9;
  last_reload_ = entry;
  if (result == "unchanged")
    spdlog::info("{} ({}): rule set {} {} is already running", json_str(entry, "op"), json_str(entry, "trigger"),
                 w.version, w.checksum);
  else
    spdlog::info("{} ({}): rule set {} {} loaded in {:.1f} ms (data plane {:.1f} ms), was {}", json_str(entry, "op"),
                 json_str(entry, "trigger"), w.version, w.checksum, total_ms, json_num(entry, "load_ms"),
                 entry["previous_version"].is_string() ? entry["previous_version"].get<std::string>() : "none");
  json reply = entry;
  reply["ok"] = true;
  reply["v"] = kControlProtocolVersion;
  if (w.meta.contains("warnings")) reply["warnings"] = w.meta["warnings"];
  poll_dataplane(false);  // metrics and status show the new version at once
  end_op(reply);
}

void Daemon::fail(json entry, const std::string& stage, const std::string& message,
                  const std::vector<std::string>& diagnostics) {
  double total_ms = ms_since(op_started_);
  entry["result"] = "failed";
  entry["stage"] = stage;
  entry["error"] = message;
  entry["duration_ms"] = total_ms;
  std::string err;
  if (!history_.append(entry, err)) spdlog::error("history: {}", err);
  m_.reloads_failed++;
  m_.failures_by_stage[stage]++;
  m_.have_reload = true;
  m_.last_reload_ok = false;
  m_.last_reload_seconds = total_ms / 1000.0;
  m_.last_reload_time_s = static_cast<double>(now_ns()) / 1e9;
  spdlog::error("{} ({}) failed, the running rule set stays: {}", json_str(entry, "op"), json_str(entry, "trigger"),
                message);
  for (const auto& d : diagnostics) spdlog::error("  {}", d);
  json kept = json::array();
  for (std::size_t i = 0; i < diagnostics.size() && i < kMaxDiagnosticsKept; ++i) kept.push_back(diagnostics[i]);
  entry["diagnostics"] = kept;
  if (diagnostics.size() > kMaxDiagnosticsKept) entry["diagnostics_omitted"] = diagnostics.size() - kMaxDiagnosticsKept;
  last_reload_ = entry;
  json reply = entry;
  reply["ok"] = false;
  reply["v"] = kControlProtocolVersion;
  reply["running_version"] = dp_.up ? json(json_str(json_object(dp_.status, "ruleset"), "version")) : json(nullptr);
  end_op(reply);
}

void Daemon::end_op(const json& reply) {
  std::vector<LineServer::ClientId> waiters = std::move(current_->waiters);
  current_.reset();
  std::string line = reply.dump(-1, ' ', false, json::error_handler_t::replace);
  for (auto id : waiters) server_.reply(id, line);
  render_metrics_now();
  update_systemd_status();
  if (!ready_sent_) {  // the first load attempt is over, whatever its result
    ready_sent_ = true;
    systemd::notify("READY=1");
  }
}

std::optional<Daemon::Wanted> Daemon::wanted_from_artifact(const fs::path& artifact) const {
  auto meta = store_.meta(artifact);
  if (!meta) return std::nullopt;
  Wanted w;
  w.artifact = artifact;
  w.meta = *meta;
  w.name = json_str(*meta, "name");
  w.version = json_str(*meta, "version");
  w.checksum = json_str(*meta, "checksum");
  return w;
}

// The default rollback target: the newest artifact in the history that was
// running before the current one and is still in the store.
std::optional<fs::path> Daemon::previous_artifact(std::string* why) const {
  std::string current = dp_.up ? running_checksum() : (wanted_ ? wanted_->checksum : "");
  auto h = history_.read();
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    std::string r = json_str(*it, "result");
    if (r != "ok" && r != "unchanged") continue;
    if (json_str(*it, "checksum") == current) continue;
    fs::path a = json_str(*it, "artifact");
    std::error_code ec;
    if (!a.empty() && fs::exists(a, ec) && store_.meta(a)) return a;
  }
  if (why) *why = "no earlier rule set in the history is still in the store (" + store_.dir().string() + ")";
  return std::nullopt;
}

void Daemon::update_current_link(const fs::path& artifact) {
  if (cfg_.current_link.empty()) return;
  // Atomic swap: a new symlink renamed over the old one.
  fs::path link = cfg_.current_link;
  fs::path tmp = link.string() + ".new";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(fs::absolute(artifact), tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) spdlog::error("cannot point {} at {}: {}", link.string(), artifact.string(), ec.message());
}

// ---------------------------------------------------------------------------
// The data plane: status, stats, trace records.

std::string Daemon::running_checksum() const {
  if (!dp_.up) return "";
  auto rs = dp_.status.find("ruleset");
  if (rs == dp_.status.end() || !rs->is_object()) return "";
  return json_str(*rs, "checksum");
}

bool Daemon::poll_dataplane(bool drain_trace) {
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
    update_systemd_status();  // READY=1 then follows the start-up load attempt (end_op)
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

  if (drain_trace) {
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

  // A data plane that (re)started runs whatever it found on disk; if that is
  // not what was published last (e.g. it was down during a reload), load it.
  // Not while a reload is queued or running: that one loads the newest set.
  std::string started = json_str(dp_.status, "started_at");
  double uptime = json_num(dp_.status, "uptime_s");
  bool new_instance = started != dp_started_at_ || uptime < dp_uptime_s_;
  dp_started_at_ = started;
  dp_uptime_s_ = uptime;
  // Likewise when the last load never reached it (busy socket, no answer).
  if (retry_load_ && wanted_ && running_checksum() == wanted_->checksum) retry_load_ = false;
  if ((new_instance || retry_load_) && wanted_ && running_checksum() != wanted_->checksum) {
    bool busy = current_ && current_->kind != OpKind::rollback;
    for (const Op& op : queue_) busy = busy || op.kind != OpKind::rollback;
    if (!busy) {
      spdlog::info("the data plane ({} {}) runs {}, but {} {} was published last: loading it",
                   new_instance ? "started" : "reachable again, started", started,
                   running_checksum().empty() ? "no rule set" : running_checksum(), wanted_->version,
                   wanted_->checksum);
      Op op;
      op.kind = OpKind::resync;
      op.trigger = new_instance ? "dataplane-start" : "dataplane-retry";
      op.target = wanted_->artifact;
      queue_.push_back(std::move(op));
      retry_load_ = false;  // set again if this attempt cannot reach it either
    }
  }
  render_metrics_now();
  update_systemd_status();
  if (!ready_sent_) {
    ready_sent_ = true;
    systemd::notify("READY=1");
  }
  return true;
}

void Daemon::render_metrics_now() {
  if (cfg_.metrics_listen.empty()) return;
  metrics_.publish(render_metrics(m_, dp_));
}

void Daemon::update_systemd_status() {
  std::string s;
  if (wanted_)
    s = "rule set " + wanted_->name + " " + wanted_->version + " (" + wanted_->checksum.substr(0, 8) + ")";
  else
    s = "no rule set published";
  s += dp_.up ? "; data plane up" : "; data plane DOWN";
  s += "; reloads ok " + std::to_string(m_.reloads_ok) + ", failed " + std::to_string(m_.reloads_failed);
  if (m_.have_reload && !m_.last_reload_ok) s += "; last reload FAILED";
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
  json ruleset = nullptr;
  if (wanted_) {
    ruleset = wanted_->meta;
    ruleset["artifact"] = wanted_->artifact.string();
    ruleset.erase("stats");
  }
  // pending: published but not running (the data plane was down or refused it).
  if (wanted_ && dp_.up) ruleset["pending"] = running_checksum() != wanted_->checksum;
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
  return json{{"ok", true},
              {"v", kControlProtocolVersion},
              {"version", SIPWALL_VERSION},
              {"pid", ::getpid()},
              {"started_at", iso8601_ms(started_ns_)},
              {"uptime_s", static_cast<double>(now_ns() - started_ns_) / 1e9},
              {"config", cfg_.source_file},
              {"rules_file", cfg_.rules_file},
              {"store", cfg_.store_dir},
              {"trace_dir", cfg_.trace_dir},
              {"trace_file", trace_.path().string()},
              {"trace_records_written", trace_.lines_written()},
              {"metrics", cfg_.metrics_listen},
              {"watching", watching},
              {"busy", current_ ? json(op_name(static_cast<int>(current_->kind))) : json(nullptr)},
              {"queued", queue_.size()},
              {"ruleset", ruleset},
              {"last_reload", last_reload_.is_null() ? json(nullptr) : last_reload_},
              {"reloads", json{{"ok", m_.reloads_ok}, {"failed", m_.reloads_failed}}},
              {"dataplane", dp},
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
    enqueue_reload("request", id);
    return std::nullopt;
  }
  if (req.cmd == "rollback") {
    std::string target = req.text("target").value_or("");
    std::string why;
    std::optional<fs::path> artifact;
    if (target.empty()) {
      artifact = previous_artifact(&why);
    } else if (auto a = store_.find(target, &why)) {
      artifact = a->path;
    }
    // `why` may quote the target the client sent: escaped and capped.
    if (!artifact) return protocol::error_line(protocol::printable(why, protocol::kMessageMax));
    Op op;
    op.kind = OpKind::rollback;
    op.trigger = "request";
    op.target = *artifact;
    op.waiters.push_back(id);
    queue_.push_back(std::move(op));
    return std::nullopt;
  }
  // The command table and this function name the same commands.
  bad_requests_++;
  return protocol::error_line("command '" + protocol::printable(req.cmd) + "' is not implemented");
}

}  // namespace sipwall::control
