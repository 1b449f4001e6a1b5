// A verdict trace record as the JSON object of `trace-drain`
// (docs/control-protocol.md). Reads each text field up to its NUL and the
// detector figures only when a detector is named: what fill_trace_record()
// writes (trace_record.h). Bytes from packets and rule sets are put in as
// they are; the caller serialises with text::dump_json, which replaces
// whatever is not UTF-8.
#pragma once

#include <nlohmann/json.hpp>

#include "dataplane/app/trace_record.h"

namespace sipwall::dataplane {

nlohmann::json trace_json(const TraceRecord& r);

}  // namespace sipwall::dataplane
