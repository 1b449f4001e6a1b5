// systemd notifications (Type=notify): READY=1, STATUS=..., WATCHDOG=1,
// STOPPING=1. No-ops when built without libsystemd or not run by systemd.
#pragma once

#include <cstdint>
#include <string>

namespace sipwall::control {

void notify(const std::string& state);
// The watchdog interval systemd asked for (WatchdogSec=), 0 if none.
std::uint64_t watchdog_usec();

}  // namespace sipwall::control
