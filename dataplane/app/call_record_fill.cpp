#include "dataplane/app/call_record_fill.h"

#include <cstring>

#include "dataplane/detect/key_hash.h"

namespace sipwall::dataplane {

namespace {

std::uint32_t ms_between(std::uint64_t from, std::uint64_t to) noexcept {
  if (to <= from) return 0;
  const std::uint64_t d = to - from;
  return d > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(d);
}

std::string_view e164_text(const number::Number& n) noexcept {
  return n.kind == number::NumberKind::e164 ? n.text() : std::string_view();
}

}  // namespace

detect::InviteKeys record_keys(const classify::Verdict& v, const sip::Message& msg,
                               const net::DecodedPacket& d) noexcept {
  detect::InviteKeys k{};
  k.caller = v.caller.kind == number::NumberKind::e164 ? v.caller.key : 0;
  k.callee = v.callee.kind == number::NumberKind::e164 ? v.callee.key : 0;
  k.source = detect::source_key(d.src);
  k.trunk = v.trunk == classify::kNoTrunk ? detect::kNoTrunk : v.trunk;
  k.call_id_hash = detect::call_id_hash(msg.call_id);
  k.cseq = msg.cseq.number;
  return k;
}

std::string_view caller_as_written(const sip::Message& msg) noexcept {
  if (msg.pai_count != 0 && !msg.pai[0].uri.user.empty()) return msg.pai[0].uri.user;
  return msg.from.uri.user;
}

std::string_view callee_as_written(const sip::Message& msg) noexcept {
  if (!msg.request_uri.user.empty()) return msg.request_uri.user;
  return msg.to.uri.user;
}

void fill_invite_record(protocol::CallRecordWire& r, const classify::Verdict& v, const rules::CompiledRuleSet& set,
                        const sip::Message& msg, const net::DecodedPacket& d, std::uint16_t in_port, unsigned worker,
                        const detect::CallRecord& call, std::uint64_t time_ns) noexcept {
  // Cleared once, then filled (put_text leaves the padding as cleared): the
  // record may be the ring's slot itself, holding an older record's bytes.
  std::memset(&r, 0, sizeof r);
  r.call_hash = call.keys.call_id_hash;
  r.start_ms = call.invite_ms;
  r.time_ns = time_ns;
  r.kind = static_cast<std::uint8_t>(protocol::CallRecordKind::invite);
  r.worker = static_cast<std::uint8_t>(worker);
  r.in_port = static_cast<std::uint8_t>(in_port);
  r.ip_version = d.ip_version;
  r.transport = d.l4_proto;
  r.action = static_cast<std::uint8_t>(v.action);
  if (v.detector != classify::kNoDetector) {
    r.detector_level = static_cast<std::uint8_t>(v.detector_level);
    protocol::put_text(r.detector, set.detector_name(v.detector));
  }
  r.src_port = d.src_port;
  if (v.action == rules::ActionKind::reject) r.reject_code = v.reject_code;
  std::memcpy(r.src, d.src.data(), sizeof r.src);
  if (v.trunk != classify::kNoTrunk) protocol::put_text(r.trunk, set.trunk_name(v.trunk));
  std::string_view rule = v.rule_id;
  if (rule.empty() && v.decided_by == classify::DecidedBy::default_action) rule = "(default)";
  if (rule.empty() && v.decided_by != classify::DecidedBy::rule) rule = classify::to_string(v.decided_by);
  protocol::put_text(r.rule, rule);
  protocol::put_text(r.ruleset_version, set.version());
  protocol::put_text(r.caller, e164_text(v.caller));
  protocol::put_text(r.callee, e164_text(v.callee));
  protocol::put_text(r.caller_raw, caller_as_written(msg));
  protocol::put_text(r.callee_raw, callee_as_written(msg));
  protocol::put_text(r.call_id, msg.call_id);
}

void fill_outcome_record(protocol::CallRecordWire& r, const detect::CallRecord& call, protocol::CallEnd end,
                         unsigned worker, std::uint64_t time_ns) noexcept {
  std::memset(&r, 0, sizeof r);
  r.call_hash = call.keys.call_id_hash;
  r.start_ms = call.invite_ms;
  r.time_ns = time_ns;
  r.kind = static_cast<std::uint8_t>(protocol::CallRecordKind::outcome);
  r.worker = static_cast<std::uint8_t>(worker);
  r.end = static_cast<std::uint8_t>(end);
  r.final_code = call.final_code;
  r.seen = call.seen & protocol::CallRecordWire::kSeenMask;
  if (call.has(detect::CallRecord::kRinging)) r.ring_ms = ms_between(call.invite_ms, call.ring_ms);
  if (call.has(detect::CallRecord::kAnswered)) {
    r.answer_ms = ms_between(call.invite_ms, call.answer_ms);
    if (call.has(detect::CallRecord::kBye)) r.talk_ms = ms_between(call.answer_ms, call.bye_ms);
  }
  // The end of the call as seen: the BYE of an answered call, else the
  // final response or the CANCEL, whichever came first.
  std::uint64_t ended = UINT64_MAX;
  if (call.has(detect::CallRecord::kAnswered) && call.has(detect::CallRecord::kBye)) {
    ended = call.bye_ms;
  } else {
    if (call.has(detect::CallRecord::kFinal)) ended = call.final_ms;
    if (call.has(detect::CallRecord::kCancelled) && call.cancel_ms < ended) ended = call.cancel_ms;
  }
  if (ended != UINT64_MAX) r.duration_ms = ms_between(call.invite_ms, ended);
}

}  // namespace sipwall::dataplane
