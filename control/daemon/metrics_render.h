// What /metrics shows: the data plane's counters from its last `stats` and
// `status` replies, plus sipwall-control's own (reloads, polls, trace log).
// The metric list is in docs/control.md. Phone numbers never become labels:
// the only label values are port, action, rule id, trunk, reason, result,
// stage, component and the rule-set name/version/checksum.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "control/fleet/fleet_agent.h"

namespace sipwall::control {

struct ControlMetrics {
  std::string version;           // sipwall-control's
  double start_time_s = 0;       // Unix time sipwall-control started
  std::uint64_t reloads_ok = 0;  // reload/rollback operations that left the wanted set running
  std::uint64_t reloads_failed = 0;
  std::map<std::string, std::uint64_t> failures_by_stage;  // compile, store, dataplane
  bool have_reload = false;                                // at least one attempt finished
  bool last_reload_ok = false;
  double last_reload_seconds = 0;  // whole operation: compile + store + data-plane load
  double last_compile_seconds = 0;
  double last_reload_time_s = 0;  // Unix time it finished
  std::uint64_t polls_ok = 0;
  std::uint64_t polls_failed = 0;
  std::uint64_t trace_records = 0;  // lines written to the trace log
  std::uint64_t trace_write_errors = 0;
  std::uint64_t trace_rotations = 0;
  std::uint64_t internal_errors = 0;  // exceptions caught at the top of the main loop
  bool fleet_configured = false;      // a fleet: section: the sipwall_fleet_* metrics are shown
  fleet::FleetCounters fleet;
  // Call records (records.enabled; docs/records.md).
  bool records_enabled = false;
  std::uint64_t records_stored = 0;        // rows written to the call store
  std::uint64_t records_bad_frames = 0;    // frames from the data plane refused by the checks
  std::uint64_t records_store_errors = 0;  // batches the store refused (their records lost)
  std::uint64_t records_deleted = 0;       // rows deleted by retention and the size cap
  std::uint64_t records_bytes = 0;         // database pages in use, in bytes
  std::uint64_t records_waiting = 0;       // received, not stored yet (CallRecorder::waiting)
};

struct DataplaneSnapshot {
  bool up = false;
  nlohmann::json status;  // the last `status` reply (valid when up)
  nlohmann::json stats;   // the last `stats` reply (valid when up)
};

std::string render_metrics(const ControlMetrics& c, const DataplaneSnapshot& dp);

}  // namespace sipwall::control
