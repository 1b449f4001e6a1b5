// The operator's view of behavioural detection on the control socket
// (docs/control-protocol.md): `detections` lists what the last merge holds,
// `detections-lift` releases a key early, and the `detection` part of
// `stats` (per-detector fires, active keys, evictions, report-mode hits;
// the call tables) that sipwall-control turns into Prometheus metrics.
// Main lcore only.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sipwall::dataplane {

struct MainState;

// Every key held in the penalty box (all: also keys hot but not held).
// min_percent (with all): keys not held are listed only from this
// percentage of their detector's lowest threshold (0: every one).
nlohmann::json detections_json(MainState& st, bool all, std::uint64_t min_percent = 0);

// Lifts KEY ("+8613800000001", an address, a trunk name) in every detector
// or in the one named `detector`. An error reply for an unknown key form or
// detector name (both quoted escaped).
nlohmann::json lift_json(MainState& st, const std::string& key, const std::optional<std::string>& detector);

// Holds KEY in the detector named `detector` at `level` (warn or block;
// empty: block) for `for_ms` (1 ms to 30 days), whatever its counts: the
// rules' `detector:` conditions act on it on every worker within one merge.
// KEY is a number, an address or a trunk name for a single-part detector,
// "A -> B" (as `detections` shows it) for a pair detector. `by` (at most
// kMaxHoldNote bytes, may be empty) is shown by `detections` with the entry.
// An error reply for an unknown key form, detector or level, or a key of
// another kind (a number for a source detector).
inline constexpr std::size_t kMaxHoldNote = 512;
struct HoldRequest {
  std::string key, detector;
  std::uint64_t for_ms = 0;
  std::string level, by;
};
nlohmann::json hold_json(MainState& st, const HoldRequest& h);

// The `detection` object of the stats reply (null when no set has ever had
// detectors).
nlohmann::json detection_stats_json(MainState& st);

}  // namespace sipwall::dataplane
