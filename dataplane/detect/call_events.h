// The call-event glue: what one parsed, non-INVITE SIP message means for the
// call-outcome table, and feeding it to a worker's detection. Used by the
// data plane's workers (messages of both directions, UDP and TCP) and by
// `sipwallctl rules explain`'s replay, so both follow calls the same way.
//
// Only these messages are call events:
//   * a response (100..699) with its CSeq method: only responses whose CSeq
//     method is INVITE are outcomes (18x ring, 2xx answer, >= 300 failure);
//     a 200 to a BYE or a 487 to a CANCEL is not (CallTable ignores them);
//   * a CANCEL, an ACK, a BYE request.
// INVITEs are the classifier's (it counts them); every other request
// (OPTIONS, REGISTER, PRACK, UPDATE, ...) is no call event.
//
// Packet path: no allocation, no exceptions, one pass over the Call-ID.
#pragma once

#include <cstdint>

#include "dataplane/detect/call_table.h"
#include "dataplane/detect/key_hash.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::detect {

class WorkerDetect;

enum class CallEventKind : std::uint8_t { none, response, cancel, ack, bye };

struct CallEvent {
  CallEventKind kind = CallEventKind::none;
  std::uint64_t call_id_hash = 0;  // call_id_hash(msg.call_id); 0 with kind none
  std::uint16_t code = 0;          // responses: the status code
  bool to_invite = false;          // responses: the CSeq method is INVITE
};

// What `msg` (parsed without error) is for the call table. kind none: not a
// call event (an INVITE, another request, a message without a Call-ID).
CallEvent call_event(const sip::Message& msg) noexcept;

// Feeds `e` to `w` at `now_ms` (the worker's clock; the capture's in a
// replay). Nothing for kind none. Returns what the table said.
EventResult feed_call_event(WorkerDetect& w, const CallEvent& e, std::uint64_t now_ms) noexcept;

// The same into a bare call table (no detectors: the outcomes complete the
// call, nothing counts them).
EventResult feed_call_event(CallTable& t, const CallEvent& e, std::uint64_t now_ms) noexcept;

// call_event() then feed_call_event(): the one call the worker makes.
inline EventResult feed_call_event(WorkerDetect& w, const sip::Message& msg, std::uint64_t now_ms) noexcept {
  return feed_call_event(w, call_event(msg), now_ms);
}

}  // namespace sipwall::detect
