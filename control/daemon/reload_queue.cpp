#include "control/daemon/reload_queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "control/client/time_util.h"
#include "control/daemon/incomplete_guard.h"
#include "control/daemon/json_fields.h"
#include "dataplane/protocol/reply.h"

namespace sipwall::control {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxDiagnosticsKept = 100;  // in status and replies; the log gets them all

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

bool good_result(const json& entry) {
  const std::string r = json_str(entry, "result");
  return r == "ok" || r == "unchanged";
}

}  // namespace

const char* to_string(ReloadQueue::OpKind k) noexcept {
  switch (k) {
    case ReloadQueue::OpKind::reload:
      return "reload";
    case ReloadQueue::OpKind::rollback:
      return "rollback";
    case ReloadQueue::OpKind::resync:
      return "resync";
  }
  return "reload";
}

ReloadQueue::ReloadQueue(ReloadSettings settings, ArtifactStore& store, History& history, ControlMetrics& metrics,
                         DataplaneLink& dataplane, RuleCompiler& compiler, Hooks hooks)
    : settings_(std::move(settings)),
      store_(store),
      history_(history),
      m_(metrics),
      dataplane_(dataplane),
      compiler_(compiler),
      hooks_(std::move(hooks)) {}

void ReloadQueue::restore_from_history() {
  std::vector<json> h = history_.read();
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    if (!good_result(*it)) continue;
    std::error_code ec;
    const fs::path a = json_str(*it, "artifact");
    if (a.empty() || !fs::exists(a, ec)) continue;
    wanted_ = wanted_from_artifact(a);
    if (wanted_) return;
  }
}

// ---------------------------------------------------------------------------
// The queue

void ReloadQueue::enqueue_reload(const std::string& trigger, std::optional<Waiter> waiter) {
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

std::optional<std::string> ReloadQueue::enqueue_rollback(const std::string& target, Waiter waiter) {
  std::string why;
  std::optional<fs::path> artifact;
  if (target.empty()) {
    artifact = previous_artifact(&why);
  } else if (auto a = store_.find(target, &why)) {
    artifact = a->path;
  }
  if (!artifact) return why;
  Op op;
  op.kind = OpKind::rollback;
  op.trigger = "request";
  op.target = *artifact;
  op.waiters.push_back(waiter);
  queue_.push_back(std::move(op));
  return std::nullopt;
}

std::optional<ReloadQueue::OpKind> ReloadQueue::busy() const {
  if (!current_) return std::nullopt;
  return current_->kind;
}

json ReloadQueue::op_entry(const Op& op) const {
  json e;
  e["time"] = iso8601_ms(now_ns());
  e["op"] = to_string(op.kind);
  e["trigger"] = op.trigger;
  return e;
}

void ReloadQueue::start_next() {
  if (current_ || queue_.empty()) return;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  op_started_ = Clock::now();
  if (hooks_.started) hooks_.started(current_->kind);
  if (current_->kind == OpKind::reload) {
    staging_ = store_.staging_path();
    if (std::optional<CompileOutput> out = compiler_.start_compile(staging_)) compile_finished(std::move(*out));
    return;  // else compile_finished() runs when the compiler is done
  }
  // rollback / resync: the artifact exists already.
  json entry = op_entry(*current_);
  const fs::path target = current_->target;
  std::error_code ec;
  const std::optional<json> meta = store_.meta(target);
  if (!fs::exists(target, ec) || !meta) {
    fail(entry, "store", target.string() + ": no longer in the store", {});
    return;
  }
  publish(target, *meta, entry);
}

std::vector<ReloadQueue::Waiter> ReloadQueue::stop() {
  std::vector<Waiter> all;
  if (current_) all = std::move(current_->waiters);
  for (Op& op : queue_) all.insert(all.end(), op.waiters.begin(), op.waiters.end());
  current_.reset();
  queue_.clear();
  remove_staging();
  return all;
}

void ReloadQueue::remove_staging() {
  if (staging_.empty()) return;
  std::error_code ec;
  fs::remove(staging_, ec);
  staging_.clear();
}

// ---------------------------------------------------------------------------
// A reload: compile -> incomplete-save guard -> store -> publish

void ReloadQueue::compile_finished(CompileOutput out) {
  if (!current_ || current_->kind != OpKind::reload) return;  // nothing waits for it (stopped)
  json entry = op_entry(*current_);
  const double compile_ms = ms_since(op_started_);
  entry["compile_ms"] = compile_ms;
  m_.last_compile_seconds = compile_ms / 1000.0;
  if (!out.ok) {
    compile_failed(std::move(entry), out);
    return;
  }
  watched_ = out.files;
  if (hooks_.watch) hooks_.watch(watched_);
  for (const auto& d : out.diagnostics) spdlog::warn("{}", d);
  if (wanted_) {
    if (std::optional<std::string> why = incomplete_save(out, wanted_->meta)) {
      remove_staging();
      fail(entry, "incomplete", *why, {});
      return;
    }
  }
  entry["version"] = out.version;
  entry["checksum"] = out.checksum;
  const json meta = meta_of(out, compile_ms);
  fs::path final_path;
  std::string err;
  if (!store_.commit(staging_, out.version, out.checksum, meta, final_path, err)) {
    remove_staging();
    fail(entry, "store", "cannot store the artifact: " + err, {});
    return;
  }
  staging_.clear();
  publish(final_path, meta, entry);
}

void ReloadQueue::compile_failed(json entry, const CompileOutput& out) {
  remove_staging();
  // Keep watching what the last good set read, plus what this attempt read:
  // fixing a file is what triggers the next attempt.
  for (const std::string& f : out.files)
    if (std::find(watched_.begin(), watched_.end(), f) == watched_.end()) watched_.push_back(f);
  if (hooks_.watch) hooks_.watch(watched_);
  std::vector<std::string> errors_only;
  for (const auto& d : out.diagnostics)
    if (d.find(": warning: ") == std::string::npos) errors_only.push_back(d);
  fail(std::move(entry), out.stage.empty() ? "compile" : out.stage, out.failure, errors_only);
}

// What the store keeps beside the artifact (status, history and rollback
// read it without loading the artifact).
json ReloadQueue::meta_of(const CompileOutput& out, double compile_ms) const {
  return json{{"name", out.name},
              {"version", out.version},
              {"checksum", out.checksum},
              {"compiled_at", iso8601_ms(now_ns())},
              {"compile_ms", compile_ms},
              {"rules_file", settings_.rules_file},
              {"files", out.files},
              {"rules", out.rules},
              {"lists", out.lists},
              {"bytes", out.bytes},
              {"warnings", out.warnings},
              {"dial_plan", out.dial_plan},
              {"list_entries", out.list_entries},
              {"stats", out.stats_text}};
}

// Tells the data plane to load `artifact` and waits for its answer.
void ReloadQueue::publish(const fs::path& artifact, const json& meta, json entry) {
  Wanted w;
  w.artifact = artifact;
  w.name = json_str(meta, "name");
  w.version = json_str(meta, "version");
  w.checksum = json_str(meta, "checksum");
  w.meta = meta;
  entry["version"] = w.version;
  entry["checksum"] = w.checksum;
  entry["artifact"] = artifact.string();

  observe(dataplane_.poll());  // what runs now (fresh: the last poll may be a second old)
  entry["previous_version"] = seen_.up && !seen_.version.empty() ? json(seen_.version) : json(nullptr);
  if (seen_.up && seen_.checksum == w.checksum && current_->kind == OpKind::reload) {
    succeed(entry, w, "unchanged");
    return;
  }
  const DataplaneLink::LoadAnswer a = dataplane_.load(artifact);
  if (a.result == DataplaneLink::LoadResult::unreachable || a.result == DataplaneLink::LoadResult::no_answer) {
    // Busy, gone or still loading: the next poll that reaches the data plane
    // loads it if it does not run it by then (observe()).
    wanted_ = w;
    retry_load_ = true;
    fail(entry, "dataplane",
         a.result == DataplaneLink::LoadResult::unreachable
             ? "data plane unreachable (" + a.error + "); " + artifact.string() + " will be loaded when it is back"
             : "no answer to load: " + a.error + "; " + artifact.string() +
                   " will be loaded when the data plane answers",
         {});
    return;
  }
  retry_load_ = false;  // it answered: loaded or refused, either way not retried
  entry["load_ms"] = a.load_ms;
  if (a.result == DataplaneLink::LoadResult::refused) {
    fail(entry, "dataplane", "the data plane refused the artifact: " + a.error, {});
    return;
  }
  succeed(entry, w, "ok");
}

// ---------------------------------------------------------------------------
// How an operation ends

void ReloadQueue::succeed(json entry, const Wanted& w, const std::string& result) {
  const double total_ms = ms_since(op_started_);
  entry["result"] = result;
  entry["duration_ms"] = total_ms;
  wanted_ = w;
  store_.touch(w.artifact);
  update_current_link(w.artifact);
  std::set<fs::path> protect{w.artifact};
  if (seen_.up && !seen_.artifact.empty()) protect.insert(fs::path(seen_.artifact));
  for (const fs::path& p : store_.prune(settings_.keep, protect)) spdlog::info("store: pruned {}", p.string());
  std::string err;
  if (!history_.append(entry, err)) spdlog::error("history: {}", err);
  count(true, total_ms, "");
  last_ = entry;
  if (result == "unchanged")
    spdlog::info("{} ({}): rule set {} {} is already running", json_str(entry, "op"), json_str(entry, "trigger"),
                 w.version, w.checksum);
  else
    spdlog::info("{} ({}): rule set {} {} loaded in {:.1f} ms (data plane {:.1f} ms), was {}", json_str(entry, "op"),
                 json_str(entry, "trigger"), w.version, w.checksum, total_ms, json_num(entry, "load_ms"),
                 entry["previous_version"].is_string() ? entry["previous_version"].get<std::string>() : "none");
  json reply = entry;
  reply["ok"] = true;
  reply["v"] = protocol::kVersion;
  if (w.meta.contains("warnings")) reply["warnings"] = w.meta["warnings"];
  observe(dataplane_.poll());  // metrics and status show the new version at once
  end_op(reply);
}

void ReloadQueue::fail(json entry, const std::string& stage, const std::string& message,
                       const std::vector<std::string>& diagnostics) {
  const double total_ms = ms_since(op_started_);
  entry["result"] = "failed";
  entry["stage"] = stage;
  entry["error"] = message;
  entry["duration_ms"] = total_ms;
  std::string err;
  if (!history_.append(entry, err)) spdlog::error("history: {}", err);
  count(false, total_ms, stage);
  spdlog::error("{} ({}) failed, the running rule set stays: {}", json_str(entry, "op"), json_str(entry, "trigger"),
                message);
  for (const auto& d : diagnostics) spdlog::error("  {}", d);
  json kept = json::array();
  for (std::size_t i = 0; i < diagnostics.size() && i < kMaxDiagnosticsKept; ++i) kept.push_back(diagnostics[i]);
  entry["diagnostics"] = kept;
  if (diagnostics.size() > kMaxDiagnosticsKept) entry["diagnostics_omitted"] = diagnostics.size() - kMaxDiagnosticsKept;
  last_ = entry;
  json reply = entry;
  reply["ok"] = false;
  reply["v"] = protocol::kVersion;
  reply["running_version"] = seen_.up ? json(seen_.version) : json(nullptr);
  end_op(reply);
}

void ReloadQueue::count(bool ok, double total_ms, const std::string& stage) {
  if (ok) {
    m_.reloads_ok++;
  } else {
    m_.reloads_failed++;
    m_.failures_by_stage[stage]++;
  }
  m_.have_reload = true;
  m_.last_reload_ok = ok;
  m_.last_reload_seconds = total_ms / 1000.0;
  m_.last_reload_time_s = static_cast<double>(now_ns()) / 1e9;
}

void ReloadQueue::end_op(const json& reply) {
  const std::vector<Waiter> waiters = std::move(current_->waiters);
  current_.reset();
  if (hooks_.finished) hooks_.finished(reply, waiters);
}

// ---------------------------------------------------------------------------
// The data plane as last seen: resync

bool ReloadQueue::reload_or_resync_pending() const {
  bool pending = current_ && current_->kind != OpKind::rollback;
  for (const Op& op : queue_) pending = pending || op.kind != OpKind::rollback;
  return pending;
}

void ReloadQueue::observe(const DataplaneLink::State& s) {
  seen_ = s;
  if (!s.up) return;
  // A data plane that (re)started runs whatever it found on disk; if that is
  // not what was published last (e.g. it was down during a reload), load it.
  // Not while a reload is queued or running: that one loads the newest set.
  const bool new_instance = s.started_at != started_at_ || s.uptime_s < uptime_s_;
  started_at_ = s.started_at;
  uptime_s_ = s.uptime_s;
  // Likewise when the last load never reached it (busy socket, no answer).
  if (retry_load_ && wanted_ && s.checksum == wanted_->checksum) retry_load_ = false;
  if (!(new_instance || retry_load_) || !wanted_ || s.checksum == wanted_->checksum) return;
  if (reload_or_resync_pending()) return;
  spdlog::info("the data plane ({} {}) runs {}, but {} {} was published last: loading it",
               new_instance ? "started" : "reachable again, started", s.started_at,
               s.checksum.empty() ? "no rule set" : s.checksum, wanted_->version, wanted_->checksum);
  Op op;
  op.kind = OpKind::resync;
  op.trigger = new_instance ? "dataplane-start" : "dataplane-retry";
  op.target = wanted_->artifact;
  queue_.push_back(std::move(op));
  retry_load_ = false;  // set again if this attempt cannot reach it either
}

// ---------------------------------------------------------------------------
// The store

std::optional<ReloadQueue::Wanted> ReloadQueue::wanted_from_artifact(const fs::path& artifact) const {
  std::optional<json> meta = store_.meta(artifact);
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
std::optional<fs::path> ReloadQueue::previous_artifact(std::string* why) const {
  const std::string current = seen_.up ? seen_.checksum : (wanted_ ? wanted_->checksum : "");
  std::vector<json> h = history_.read();
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    if (!good_result(*it)) continue;
    if (json_str(*it, "checksum") == current) continue;
    const fs::path a = json_str(*it, "artifact");
    std::error_code ec;
    if (!a.empty() && fs::exists(a, ec) && store_.meta(a)) return a;
  }
  if (why) *why = "no earlier rule set in the history is still in the store (" + store_.dir().string() + ")";
  return std::nullopt;
}

void ReloadQueue::update_current_link(const fs::path& artifact) {
  if (settings_.current_link.empty()) return;
  // Atomic swap: a new symlink renamed over the old one.
  const fs::path& link = settings_.current_link;
  const fs::path tmp = link.string() + ".new";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(fs::absolute(artifact), tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) spdlog::error("cannot point {} at {}: {}", link.string(), artifact.string(), ec.message());
}

}  // namespace sipwall::control
