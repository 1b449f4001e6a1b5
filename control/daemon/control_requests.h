// sipwall-control's socket commands and their fields (docs/control.md,
// "sipwall-control's socket"), as a table protocol::parse_request() checks
// requests against. Plain C++: the fuzz build parses with it too.
#pragma once

#include "dataplane/protocol/request.h"

namespace sipwall::control {

// status, reload, rollback {target: text}, history {limit: count},
// calls {by, value: text; since_ms, until_ms, limit: count},
// detections-lift {key: text; detector, by: text}.
const protocol::ProtocolSpec& control_protocol();

}  // namespace sipwall::control
