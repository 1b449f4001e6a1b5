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
nlohmann::json detections_json(MainState& st, bool all);

// Lifts KEY ("+8613800000001", an address, a trunk name) in every detector
// or in the one named `detector`. An error reply for an unknown key form or
// detector name (both quoted escaped).
nlohmann::json lift_json(MainState& st, const std::string& key, const std::optional<std::string>& detector);

// Holds KEY in the single-part detector named `detector` at block for
// `for_ms` (1 ms to 30 days), whatever its counts: the rules' `detector:`
// conditions act on it on every worker within one merge. An error reply for
// an unknown key form or detector, a pair detector, or a key of another kind
// (a number for a source detector).
nlohmann::json hold_json(MainState& st, const std::string& key, const std::string& detector, std::uint64_t for_ms);

// The `detection` object of the stats reply (null when no set has ever had
// detectors).
nlohmann::json detection_stats_json(MainState& st);

}  // namespace sipwall::dataplane
