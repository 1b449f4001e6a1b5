// Reload, rollback and resync: the operations that change the rule set the
// data plane runs (docs/control.md, "The reload workflow"), run one at a
// time from a queue. A change arriving while a compile runs queues one more
// reload (coalesced with any reload already waiting), so the last saved state
// always gets loaded and nothing is loaded twice for one save. A reload
// compiles the rule files into the store's staging area, refuses a set that
// looks like a save in progress (incomplete_guard.h), commits it to the store
// and has the data plane load it; a rollback or a resync loads an artifact
// the store already has. Every attempt ends in the history and the metrics,
// and its reply goes to the control-socket clients waiting for it.
//
// What it acts on comes in through two small interfaces, so it runs (and is
// unit tested) without a data plane, without root and without child
// processes: DataplaneLink ("what runs now", "load this artifact") and
// RuleCompiler ("compile the rules into this path"). sipwall-control's event
// loop (daemon.cpp) implements both and drives the queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/daemon/artifact_store.h"
#include "control/daemon/compile_job.h"
#include "control/daemon/metrics_render.h"

namespace sipwall::control {

// The data plane, as the queue needs it.
class DataplaneLink {
 public:
  // What the data plane said about itself in its last status reply.
  struct State {
    bool up = false;                          // it answered
    std::string version, checksum, artifact;  // of the rule set it runs (empty: none)
    std::string started_at;                   // of the process: a new value is a new instance
    double uptime_s = 0;
  };
  enum class LoadResult { loaded, refused, unreachable, no_answer };
  struct LoadAnswer {
    LoadResult result = LoadResult::unreachable;
    std::string error;   // refused: the data plane's words; unreachable / no answer: the client's
    double load_ms = 0;  // answered: how long the load took
  };

  virtual ~DataplaneLink() = default;
  // Asks the data plane now (a status request).
  virtual State poll() = 0;
  // Has it load `artifact` and waits for its answer.
  virtual LoadAnswer load(const std::filesystem::path& artifact) = 0;
};

// The rule compiler, as the queue needs it.
class RuleCompiler {
 public:
  virtual ~RuleCompiler() = default;
  // Compiles the rule files into `artifact`. The result now, or nullopt: it
  // comes later, through ReloadQueue::compile_finished().
  virtual std::optional<CompileOutput> start_compile(const std::filesystem::path& artifact) = 0;
};

struct ReloadSettings {
  std::string rules_file;
  unsigned keep = 10;                  // artifacts kept in the store
  std::filesystem::path current_link;  // symlink to the running artifact; empty: none
};

class ReloadQueue {
 public:
  using Waiter = std::uint64_t;  // a control-socket client waiting for the answer
  enum class OpKind { reload, rollback, resync };

  // The set the data plane should run: the last one loaded (or pending).
  struct Wanted {
    std::filesystem::path artifact;
    std::string name, version, checksum;
    nlohmann::json meta;  // the store's meta file
  };

  // How the queue tells its owner what happened.
  struct Hooks {
    std::function<void(OpKind)> started;
    // An operation ended: `reply` goes to each waiter, in the order they asked.
    std::function<void(const nlohmann::json& reply, const std::vector<Waiter>& waiters)> finished;
    // The files a compile read (the rule file and its list files): watch them.
    std::function<void(const std::vector<std::string>& files)> watch;
  };

  ReloadQueue(ReloadSettings settings, ArtifactStore& store, History& history, ControlMetrics& metrics,
              DataplaneLink& dataplane, RuleCompiler& compiler, Hooks hooks);

  // At start: what ran before this process, the newest good entry of the
  // history whose artifact is still in the store.
  void restore_from_history();

  // Queues a reload, or adds `waiter` to the reload already waiting.
  void enqueue_reload(const std::string& trigger, std::optional<Waiter> waiter);
  // Queues a rollback to `target` (as `sipwallctl rules rollback` takes it;
  // empty: the set that ran before the current one). The reason it cannot,
  // or nullopt.
  std::optional<std::string> enqueue_rollback(const std::string& target, Waiter waiter);
  // Starts the next operation if none runs (the event loop calls it every turn).
  void start_next();
  // The result of a compile start_compile() left running.
  void compile_finished(CompileOutput out);
  // After every poll of the data plane: remembers what it runs, and queues a
  // resync when a new instance (or one reachable again after a failed load)
  // does not run the wanted set.
  void observe(const DataplaneLink::State& s);
  // At stop: the waiters of every operation not finished (the running one's
  // first); its staging file is removed.
  std::vector<Waiter> stop();

  const std::optional<Wanted>& wanted() const noexcept { return wanted_; }
  // The operation running, or nullopt.
  std::optional<OpKind> busy() const;
  std::size_t queued() const noexcept { return queue_.size(); }
  // The history entry of the last finished operation (+ diagnostics); null before.
  const nlohmann::json& last_result() const noexcept { return last_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Op {
    OpKind kind = OpKind::reload;
    std::string trigger;           // startup, watch, sighup, request, dataplane-start, dataplane-retry
    std::filesystem::path target;  // rollback / resync: the artifact
    std::vector<Waiter> waiters;
  };

  nlohmann::json op_entry(const Op& op) const;
  void compile_failed(nlohmann::json entry, const CompileOutput& out);
  nlohmann::json meta_of(const CompileOutput& out, double compile_ms) const;
  void publish(const std::filesystem::path& artifact, const nlohmann::json& meta, nlohmann::json entry);
  void succeed(nlohmann::json entry, const Wanted& w, const std::string& result);
  void fail(nlohmann::json entry, const std::string& stage, const std::string& message,
            const std::vector<std::string>& diagnostics);
  void count(bool ok, double total_ms, const std::string& stage);
  void end_op(const nlohmann::json& reply);
  void remove_staging();
  std::optional<Wanted> wanted_from_artifact(const std::filesystem::path& artifact) const;
  std::optional<std::filesystem::path> previous_artifact(std::string* why) const;
  void update_current_link(const std::filesystem::path& artifact);
  bool reload_or_resync_pending() const;

  ReloadSettings settings_;
  ArtifactStore& store_;
  History& history_;
  ControlMetrics& m_;
  DataplaneLink& dataplane_;
  RuleCompiler& compiler_;
  Hooks hooks_;

  std::deque<Op> queue_;
  std::optional<Op> current_;
  std::filesystem::path staging_;
  Clock::time_point op_started_{};
  std::optional<Wanted> wanted_;
  // The last load of wanted_ never reached the data plane (unreachable, busy,
  // no answer): the next poll that reaches it tries again.
  bool retry_load_ = false;
  nlohmann::json last_;
  std::vector<std::string> watched_;  // what the last compile read

  DataplaneLink::State seen_;  // the data plane as last polled
  std::string started_at_;     // of the instance last seen up
  double uptime_s_ = 0;
};

const char* to_string(ReloadQueue::OpKind k) noexcept;

}  // namespace sipwall::control
