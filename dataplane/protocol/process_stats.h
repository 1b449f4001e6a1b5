// The process_* figures Prometheus client libraries export (CPU time,
// memory, descriptors, start time), read from /proc/self. The data plane puts
// them in its `stats` reply ("process"); sipwall-control reads its own and
// serves both as process_*{component=...} (docs/control.md "Metrics").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

namespace sipwall::protocol {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;      // RLIMIT_NOFILE, soft
  double start_time_seconds = 0;  // Unix time
};

// Nullopt if /proc/self cannot be read (then nothing is exported).
std::optional<ProcessStats> read_process_stats();
nlohmann::json to_json(const ProcessStats& p);
// From the JSON of to_json (a reply from another process); nullopt if malformed.
std::optional<ProcessStats> process_stats_from_json(const nlohmann::json& j);

}  // namespace sipwall::protocol
