// The Redis keys of a fleet, all under one prefix (fleet.prefix, default
// "sipwall:"), so several fleets (or a test) can share one Redis. The layout
// is documented in docs/fleet.md ("What is in Redis").
#pragma once

#include <cstdint>
#include <string>

namespace sipwall::fleet {

struct FleetKeys {
  std::string prefix = "sipwall:";

  std::string ruleset_seq() const { return prefix + "ruleset:seq"; }          // INCR: the next fleet version
  std::string ruleset_current() const { return prefix + "ruleset:current"; }  // the fleet version to run
  std::string ruleset(std::uint64_t seq) const {                              // hash: manifest, file:0 ...
    return prefix + "ruleset:" + std::to_string(seq);
  }
  std::string blocks() const { return prefix + "blocks"; }          // hash: detector<TAB>key -> JSON
  std::string blocks_gen() const { return prefix + "blocks:gen"; }  // INCR at every change of blocks
  std::string lifts() const { return prefix + "lifts"; }            // hash: id -> lift note JSON (fleet_lifts.h)
  std::string lifts_seq() const { return prefix + "lifts:seq"; }    // INCR: the next lift note's id
  std::string appliances() const { return prefix + "appliances"; }  // sorted set: id -> last seen (ms)
  std::string appliance(const std::string& id) const { return prefix + "appliance:" + id; }  // hash, with a TTL
  // The fleet view (fleet_view.h): one hash per (detector, key), field "detector\tkey":
  // appliance id -> "<count> <ms>", expiring a detector's window after the last push.
  std::string view(const std::string& field) const { return prefix + "view:" + field; }
};

// What an appliance id may be: 1 to 64 of [A-Za-z0-9._-] (it is part of a key
// and printed by `fleet status`). The reason it is not, or empty.
std::string appliance_id_problem(const std::string& id);

}  // namespace sipwall::fleet
