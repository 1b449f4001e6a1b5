// Blocks decided for the whole fleet (docs/fleet.md, "Global blocks"): an
// operator's `sipwallctl fleet block KEY --detector NAME --for DURATION`
// stored in one Redis hash, field "detector<TAB>key", value a small JSON
// object, and a generation counter every change increments. Each appliance's
// agent reads the hash when the generation moves (or its data plane or rule
// set changed) and holds each block in its data plane's detector
// (`detections-hold`), and lifts the ones removed. Expired entries are
// ignored by the appliances and pruned at the next `fleet block`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/fleet/fleet_keys.h"
#include "control/fleet/redis_link.h"

namespace sipwall::fleet {

inline constexpr std::size_t kMaxBlocks = 100000;

struct Block {
  std::string key;       // "+8613800138000", an IP address, a trunk name; "A -> B" for a pair detector
  std::string detector;  // a detector of the rule set
  std::int64_t until_ms = 0;
  std::string by, at;  // who, when (ISO 8601)
  // Empty: an operator's block (`fleet block`). "view": a global detection
  // the fleet view decided (fleet_view.h): `by` says which appliances counted what.
  std::string source;
  std::string level = "block";  // the level it is held at: warn or block

  bool from_view() const { return source == "view"; }

  std::string field() const { return detector + "\t" + key; }
};

// Stores `b` (replacing a block of the same key and detector), drops expired
// ones, bumps the generation. False with `error`.
bool write_block(RedisLink& r, const FleetKeys& k, const Block& b, std::int64_t now_ms, std::string& error);
// The JSON value stored for `b`.
std::string block_value(const Block& b);
// The block a blocks-hash value holds (what block_value wrote), read as
// outside input: nullopt if it is not one.
std::optional<Block> parse_block(const std::string& text);
// Stores the global detections `bs` and removes the expired `stale` fields in
// one pipeline, bumps the generation once (the appliances' agents: nothing
// is read first, the caller knows the hash from its last sync).
bool write_view_blocks(RedisLink& r, const FleetKeys& k, const std::vector<Block>& bs,
                       const std::vector<std::string>& stale, std::string& error);
// Removes the blocks of `key` (in `detector` only, if given); `removed` says how many.
bool remove_blocks(RedisLink& r, const FleetKeys& k, const std::string& key, const std::optional<std::string>& detector,
                   std::size_t& removed, std::string& error);
// Every block stored (checked: fields of the right types and sizes; others skipped and counted in `bad`).
bool read_blocks(RedisLink& r, const FleetKeys& k, std::vector<Block>& out, std::size_t& bad, std::string& error);

// One round trip: the current fleet version (0: none) and the blocks'
// generation (0: none). False on a connection error; a value that is not a
// number is an error too.
bool read_heads(RedisLink& r, const FleetKeys& k, std::uint64_t& current, std::uint64_t& blocks_gen,
                std::string& error);

}  // namespace sipwall::fleet
