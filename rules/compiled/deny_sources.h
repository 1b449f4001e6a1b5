// Compiled deny_sources (docs/rules.md "Denied sources"): one flat entry per
// rule-set entry, plus a TrunkTable whose "trunk" ids are entry indexes, so
// the data plane's first stage finds the most specific denied prefix of a
// frame with the same branch-free interval search as trunk lookup. Entries
// are kept in file order; their index is stable within one compiled set and
// the id is what counters are keyed by across reloads.
#pragma once

#include <cstdint>

#include "rules/compiled/program.h"
#include "rules/compiled/trunk_table.h"

namespace sipwall::rules {

struct DenyEntry {
  std::uint8_t addr[16] = {};   // network order; IPv4 mapped (::ffff:a.b.c.d)
  std::uint8_t prefix_len = 0;  // 0..128 in the IPv6 space (IPv4: 96 + len)
  std::uint8_t is_ipv4 = 0;
  std::uint8_t pad[2] = {};
  std::int32_t vlan = kAnyQualifier;  // outer VLAN id, or any
  std::int32_t port = kAnyQualifier;  // local (destination) UDP/TCP port, or any
  StrRef id;
  StrRef text;   // the prefix as written
  StrRef where;  // "file:line:col"
  StrRef description;
};

inline constexpr std::uint32_t kNoDeny = kNoTrunk;

}  // namespace sipwall::rules
