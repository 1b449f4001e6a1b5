// One view of every caller (docs/fleet.md, "One view of every caller"):
// each appliance's agent reads its data plane's hot keys (`detections` with
// "all":1), pushes the counts of keys at or above fleet.view_percent of
// their detector's lowest threshold to Redis, and reads back every
// appliance's count of those keys. A key whose fleet total is over a
// threshold becomes a global detection: an entry of the blocks hash with
// source "view", which every appliance holds like an operator's block.
//
// In Redis, per (detector, key): the hash <prefix>view:<detector>\t<key>,
// field = appliance id, value "<count> <ms since the epoch>", expiring a
// detector's window after the last push. The fleet total is the sum of the
// appliances' latest counts not older than the window. A key this appliance
// no longer pushes (its count fell below the fraction) has its field removed.
//
// The parsing and the arithmetic here are pure (unit-tested); push_and_read()
// is the one pipeline per turn.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/fleet/fleet_keys.h"
#include "control/fleet/redis_link.h"

namespace sipwall::fleet {

inline constexpr std::size_t kMaxViewKeys = 1000;  // keys one appliance pushes per turn, at most

// A detector as the data plane's `detections` reply describes it.
struct ViewDetector {
  std::string name, key_kind, count;  // count: invites, distinct_callees, ..., asr
  std::uint32_t window_ms = 0, warn = 0, block = 0, block_for_ms = 0;
  bool report_only = false;

  // The smaller non-zero threshold; 0: the detector has no level. asr (a
  // ratio, not a count) is never summed: 0.
  std::uint32_t lowest() const;
  // The level a fleet total stands at: "" (none), "warn" or "block".
  std::string level_of(std::uint64_t total) const;
};

struct HotKey {
  std::string detector, key;
  std::uint32_t count = 0;

  std::string field() const { return detector + "\t" + key; }
};

struct DataplaneView {
  std::map<std::string, ViewDetector> detectors;  // by name
  std::vector<HotKey> keys;                       // every key the merge tracks (held or not)
  std::uint32_t report_percent = 50;              // the data plane's detection.report_percent
};

// The data plane's `detections` reply (with "all":1), checked as outside
// input: entries of the wrong shape are skipped. nullopt if it is not such a
// reply at all (`error` says why).
std::optional<DataplaneView> parse_dataplane_view(const nlohmann::json& reply, std::string& error);

// The keys to push: count >= ceil(lowest threshold * percent / 100) (at
// least 1), in a detector that has a threshold and is not asr; at most
// kMaxViewKeys, the highest counts first.
std::vector<HotKey> keys_to_push(const DataplaneView& v, std::uint32_t percent);

// One appliance's share of a key, as stored: "<count> <ms>".
std::string share_value(std::uint32_t count, std::int64_t now_ms);

struct FleetTotal {
  std::uint64_t total = 0;
  std::vector<std::pair<std::string, std::uint32_t>> shares;  // appliance -> count, the counted ones
};
// The total of a key from its hash (field -> value): shares older than
// window_ms, or unreadable, are not counted.
FleetTotal fleet_total(const std::map<std::string, std::string>& fields, std::int64_t now_ms, std::uint32_t window_ms);

// "a1 4 + a2 4 + a3 4 = 12": what `by` of a global detection says.
std::string shares_text(const FleetTotal& t);

// One pipeline: for each pushed key HSET its share, PEXPIRE the hash to
// the detector's window and HGETALL it; HDEL this appliance's share of each
// key in `withdrawn` (fields "detector\tkey"). `totals` gets one entry per
// pushed key, in order. False on a connection error (`error`).
bool push_and_read(RedisLink& r, const FleetKeys& k, const std::string& appliance, const std::vector<HotKey>& pushed,
                   const std::vector<std::uint32_t>& window_ms, const std::vector<std::string>& withdrawn,
                   std::int64_t now_ms, std::vector<std::map<std::string, std::string>>& totals, std::string& error);

}  // namespace sipwall::fleet
