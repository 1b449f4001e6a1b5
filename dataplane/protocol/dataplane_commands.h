// The data plane's commands and their fields (docs/control-protocol.md), as a
// table parse_request() checks requests against. Here, not in app/, so the
// fuzz build (no DPDK) parses exactly what sipwall-dataplane parses.
#pragma once

#include "dataplane/protocol/request.h"

namespace sipwall::protocol {

// status, stats, load {artifact: text, required}, trace-drain {max: count}.
const ProtocolSpec& dataplane_protocol();

}  // namespace sipwall::protocol
