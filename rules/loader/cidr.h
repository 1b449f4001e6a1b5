// Trunk source prefixes: parsing "198.51.100.0/24" / "2001:db8:a::/48" into
// the model's IPv6-space form, and the overlap test behind the "two trunks
// claim the same packets" error.
#pragma once

#include <string>
#include <string_view>

#include "rules/model/rule_model.h"

namespace sipwall::rules::loader {

struct CidrText {
  bool ok = false;
  TrunkSource source;  // addr, prefix_len, is_ipv4, text
  std::string error;
};

// "a.b.c.d/len", "a.b.c.d" (a host, /32), IPv6 likewise. Host bits must be zero.
CidrText parse_cidr(std::string_view text);

// Do the address prefixes share any address?
bool prefixes_overlap(const TrunkSource& a, const TrunkSource& b) noexcept;

// Could one packet (address, VLAN, port) match both sources? An unset VLAN or
// port qualifier matches any value.
bool may_match_same_packet(const TrunkSource& a, const TrunkSource& b) noexcept;

}  // namespace sipwall::rules::loader
