// The operator's view of behavioural detection on the control socket
// (docs/control-protocol.md): `detections` lists what the last merge holds,
// `detections-lift` releases a key early, and the `detection` part of
// `stats` (per-detector fires, active keys, evictions, report-mode hits;
// the call tables) that sipwall-control turns into Prometheus metrics.
// Main lcore only.
#pragma once

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

// The `detection` object of the stats reply (null when no set has ever had
// detectors).
nlohmann::json detection_stats_json(MainState& st);

}  // namespace sipwall::dataplane
