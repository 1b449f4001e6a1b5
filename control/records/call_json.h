// Call records as JSON (docs/records.md): a stored call (CallRow) for
// `sipwallctl calls`, and one received record for the JSON-lines file a SIEM
// reads. Strings hold bytes from outside: serialise with text::dump_json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "control/records/call_store.h"
#include "dataplane/protocol/call_record.h"

namespace sipwall::control {

// "answered, talk 42.0 s", "rejected 608 by sipwall", "cancelled after ringing",
// "failed 486", "in progress", ...: one phrase for a person.
std::string outcome_text(const CallRow& r);

nlohmann::json call_row_json(const CallRow& r);

// One record as received (kind "invite" or "outcome").
nlohmann::json record_json(const protocol::CallRecordWire& r);

}  // namespace sipwall::control
