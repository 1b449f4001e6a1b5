// sipwall-control's log: stderr, with levels. Under systemd (JOURNAL_STREAM
// set) each line starts with the sd-daemon priority prefix "<3>" ... "<7>",
// so journald records the level and the line carries no second timestamp;
// elsewhere lines carry an ISO 8601 time and the level name.
#pragma once

#include <string>

namespace sipwall::control {

// `level`: trace debug info warn error critical off. False if unknown.
bool setup_logging(const std::string& level);

}  // namespace sipwall::control
