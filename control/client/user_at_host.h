// Who runs a sipwallctl command, as "user@host": recorded with fleet
// publications, blocks and lifts (docs/fleet.md).
#pragma once

#include <string>

namespace sipwall::control {

std::string user_at_host();

}  // namespace sipwall::control
