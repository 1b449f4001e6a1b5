// `sipwallctl detections lift KEY` for the whole fleet (docs/fleet.md,
// "Lifts"): the appliance that received the lift lifts KEY in its own data
// plane, then writes a lift note into one Redis hash (field: a number from
// INCR lifts:seq, value a small JSON object), removes the fleet blocks and
// global detections of KEY from the blocks hash (and the fleet view's shares
// of those, so stale shares do not bring a global detection back) and bumps
// the blocks' generation. Every other agent, at its next turn, sends each
// unexpired note it has not applied yet to its data plane's
// `detections-lift`, once. Notes expire after kLiftNoteMs: an appliance cut
// off from Redis longer than that does not get the lift.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/fleet/fleet_keys.h"
#include "control/fleet/redis_link.h"

namespace sipwall::fleet {

inline constexpr std::int64_t kLiftNoteMs = 60'000;
inline constexpr std::size_t kMaxLiftNotes = 10000;

struct LiftNote {
  std::uint64_t id = 0;  // from INCR lifts:seq: each appliance applies a note once
  std::string key;       // as the data plane's `detections-lift` takes it
  std::string detector;  // empty: every detector
  std::int64_t until_ms = 0;
  std::string by, at;  // who, when (ISO 8601)
  std::string from;    // the appliance that received the lift
};

// The lift note a lifts-hash value holds, read as outside input: nullopt
// if it is not one.
std::optional<LiftNote> parse_note(std::uint64_t id, const std::string& text);

// Does the fleet entry `entry_key` (a key or a pair "A -> B") fall under a
// lift of `key`? The data plane's lift of a number also ends the pairs it is
// part of.
bool lift_covers(const std::string& key, const std::string& entry_key);

struct LiftWritten {
  std::uint64_t id = 0;
  std::size_t blocks_removed = 0;  // fleet blocks and global detections of the key
};

// Writes `note` (its id is given here), removes the entries of the blocks
// hash it covers, drops expired notes, bumps the blocks' generation. False
// with `error` (a connection error leaves r disconnected).
bool write_lift(RedisLink& r, const FleetKeys& k, LiftNote note, std::int64_t now_ms, LiftWritten& out,
                std::string& error);
// Every note stored, checked as outside input (others skipped and counted in `bad`).
bool read_lifts(RedisLink& r, const FleetKeys& k, std::vector<LiftNote>& out, std::size_t& bad, std::string& error);

}  // namespace sipwall::fleet
