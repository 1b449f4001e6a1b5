// What the main lcore keeps besides the shared Dataplane: reload history,
// the counters of retired rule sets, and verdict trace records drained from
// the workers until sipwall-control collects them.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "dataplane/app/dataplane.h"
#include "dataplane/app/detect_runtime.h"
#include "dataplane/app/ruleset_runtime.h"
#include "dataplane/app/trace_record.h"
#include "dataplane/app/tsc_clock.h"
#include "dataplane/app/watch_runtime.h"

namespace sipwall::protocol {
class LineServer;
}

namespace sipwall::dataplane {

class RecordExporter;

struct MainState {
  explicit MainState(Dataplane& d) : dp(d), detect(d), watch(d), trace_clock(d.tsc_hz) {}
  Dataplane& dp;
  // Behavioural detection's merge, publish and lifts (docs/detection.md).
  DetectRuntime detect;
  // Watched calls: HEP export and captures (docs/export.md).
  WatchRuntime watch;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::system_clock::time_point started_wall = std::chrono::system_clock::now();

  RetiredCounters retired;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::string last_reload_error;
  double last_reload_ms = 0;
  std::string previous_artifact;  // for status: what was loaded before the current one

  // The control socket, for its counters in `status`; bad_requests counts
  // requests answered with an error before any command ran.
  const protocol::LineServer* control_server = nullptr;
  std::uint64_t bad_requests = 0;

  // Call records' sender (records.enabled), for its counters in `stats`.
  const RecordExporter* records = nullptr;

  // Trace records drained from the workers' rings, time_ns set from their
  // TSC stamps by trace_clock (drain_trace_rings).
  std::deque<TraceRecord> traces;
  TscClock trace_clock;
  std::uint64_t traces_overflow = 0;  // records dropped because nobody drained them

  std::string last_good_path() const { return dp.cfg.state_dir + "/last-good.swr"; }

  // A set becomes last-good.swr only once it has run (docs/operations.md
  // "Last good rule set"): load_ruleset() records it here, and
  // promote_last_good() copies its artifact once the workers have classified
  // an INVITE with it and it has been current for ruleset.last_good_after_ms.
  struct PendingLastGood {
    bool active = false;
    const RuntimeSet* set = nullptr;  // must still be the current set
    std::string artifact;             // the file it was loaded from
    std::uint64_t content_checksum = 0;
    std::chrono::steady_clock::time_point since;
  } pending_last_good;

  // A set that was on trial (loaded, not yet last-good) when the previous
  // data-plane process ended without a clean stop: it may be what killed it.
  // Refused by `load` and skipped at start for this process's life (0: none).
  // See on_trial_path() and last_good.cpp.
  std::uint64_t quarantined = 0;
  std::string on_trial_path() const { return dp.cfg.state_dir + "/on-trial"; }
};

// Loads `path`, publishes it with an RCU grace period, retires the old set.
// Returns "" on success, else the error (the running set stays).
std::string load_ruleset(MainState& st, const std::string& path);

// Called from the main lcore loop: makes the pending set last-good.swr when
// it has run (see MainState::PendingLastGood). Cheap when nothing is pending.
void promote_last_good(MainState& st);

// The on-trial marker (<state_dir>/on-trial, "<16 hex digits> <path>"): a set
// is on trial from its load until it becomes last-good or the process stops
// cleanly. A marker found at start names a set that was on trial when the
// process died: read_on_trial() returns its checksum (0: none).
void mark_on_trial(MainState& st, std::uint64_t checksum, const std::string& artifact);
void clear_on_trial(MainState& st, std::uint64_t checksum);
std::uint64_t read_on_trial(const MainState& st);

// Moves records from the workers' rings into st.traces (bounded).
void drain_trace_rings(MainState& st);

// Answers one control-socket request line (JSON, or "cmd arg" text) with one
// reply line. Any line gives a reply; a bad one an error reply.
std::string handle_request(MainState& st, std::string_view line);

// JSON of all counters (also written to run.stats_json at exit).
std::string stats_json(MainState& st);
// A readable table of the counters that are not zero.
std::string stats_text(MainState& st);

}  // namespace sipwall::dataplane
