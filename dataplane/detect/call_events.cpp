#include "dataplane/detect/call_events.h"

#include "dataplane/detect/worker_detect.h"

namespace sipwall::detect {

CallEvent call_event(const sip::Message& msg) noexcept {
  CallEvent e;
  if (msg.call_id.empty()) return e;
  if (!msg.is_request) {
    if (msg.status_code < 100 || msg.status_code > 699) return e;
    e.kind = CallEventKind::response;
    e.code = msg.status_code;
    // Method names are case-sensitive (RFC 3261 §7.1): "invite" is another
    // method, as the parser also reads the request line.
    e.to_invite = msg.cseq.present && msg.cseq.method == "INVITE";
  } else {
    switch (msg.method) {
      case sip::Method::cancel:
        e.kind = CallEventKind::cancel;
        break;
      case sip::Method::ack:
        e.kind = CallEventKind::ack;
        break;
      case sip::Method::bye:
        e.kind = CallEventKind::bye;
        break;
      default:
        return e;
    }
  }
  e.call_id_hash = call_id_hash(msg.call_id);
  return e;
}

EventResult feed_call_event(WorkerDetect& w, const CallEvent& e, std::uint64_t now_ms) noexcept {
  switch (e.kind) {
    case CallEventKind::response:
      return w.on_response(e.call_id_hash, e.code, e.to_invite, now_ms);
    case CallEventKind::cancel:
      return w.on_cancel(e.call_id_hash, now_ms);
    case CallEventKind::ack:
      return w.on_ack(e.call_id_hash, now_ms);
    case CallEventKind::bye:
      return w.on_bye(e.call_id_hash, now_ms);
    case CallEventKind::none:
      break;
  }
  return {};
}

EventResult feed_call_event(CallTable& t, const CallEvent& e, std::uint64_t now_ms) noexcept {
  switch (e.kind) {
    case CallEventKind::response:
      return t.on_response(e.call_id_hash, e.code, e.to_invite, now_ms);
    case CallEventKind::cancel:
      return t.on_cancel(e.call_id_hash, now_ms);
    case CallEventKind::ack:
      return t.on_ack(e.call_id_hash, now_ms);
    case CallEventKind::bye:
      return t.on_bye(e.call_id_hash, now_ms);
    case CallEventKind::none:
      break;
  }
  return {};
}

}  // namespace sipwall::detect
