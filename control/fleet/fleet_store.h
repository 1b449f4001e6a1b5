// The fleet's Redis operations, shared by the publisher (`sipwallctl fleet
// publish`), the appliances' agents (sipwall-control) and `sipwallctl fleet
// status`. Each function is a few pipelined commands on a RedisLink; what
// Redis returns is checked as outside input (bundle.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/fleet/bundle.h"
#include "control/fleet/fleet_keys.h"
#include "control/fleet/redis_link.h"

namespace sipwall::fleet {

inline constexpr unsigned kBundlesKept = 10;  // older bundles are deleted at publication

// Stores the bundle under the next fleet version, then makes it current.
// Sets m.seq. False with `error`.
bool publish_bundle(RedisLink& r, const FleetKeys& k, Manifest& m, const std::vector<std::string>& contents,
                    std::string& error);

// The current fleet version: 0 when none was ever published. nullopt on a
// connection error or a value that is not a version (error says which).
std::optional<std::uint64_t> read_current(RedisLink& r, const FleetKeys& k, std::string& error);

// The manifest of fleet version `seq`, checked (parse_manifest), and with its
// seq equal to `seq`.
std::optional<Manifest> fetch_manifest(RedisLink& r, const FleetKeys& k, std::uint64_t seq,
                                       std::uint64_t max_total_bytes, std::string& error);
// Its files, each verified against the manifest.
bool fetch_contents(RedisLink& r, const FleetKeys& k, const Manifest& m, std::vector<std::string>& contents,
                    std::string& error);

// One appliance's heartbeat: its report (field -> value) in its hash, with a
// TTL, and its last-seen time in the sorted set of appliances.
bool write_heartbeat(RedisLink& r, const FleetKeys& k, const std::string& id,
                     const std::map<std::string, std::string>& fields, std::int64_t now_ms, std::int64_t ttl_ms,
                     std::string& error);

struct ApplianceRow {
  std::string id;
  std::int64_t last_seen_ms = 0;
  bool expired = false;  // in the set, but its heartbeat hash expired: not heard from for a TTL
  std::map<std::string, std::string> fields;
};
// Every appliance that ever reported (at most 10000), oldest id order.
bool read_appliances(RedisLink& r, const FleetKeys& k, std::vector<ApplianceRow>& rows, std::string& error);

}  // namespace sipwall::fleet
