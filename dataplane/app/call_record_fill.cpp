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

// The head of a record at `record`, cleared whole (the batch holds an older
// record's bytes; the texts' units are read only as far as their lengths
// say), with what every record carries.
PackedRecordHead* start_head(std::uint8_t* record, const detect::CallRecord& call, protocol::CallRecordKind kind,
                             unsigned units, unsigned worker, std::uint64_t tsc) noexcept {
  auto* h = reinterpret_cast<PackedRecordHead*>(record);
  std::memset(h, 0, kRecordUnit);
  h->call_hash = call.keys.call_id_hash;
  h->start_ms = call.invite_ms;
  h->tsc = tsc;
  h->kind = static_cast<std::uint8_t>(kind);
  h->units = static_cast<std::uint8_t>(units);
  h->worker = static_cast<std::uint8_t>(worker);
  return h;
}

}  // namespace

detect::InviteKeys record_keys(const classify::Verdict& v, const sip::Message& msg, const net::DecodedPacket& d,
                               std::uint64_t call_id_hash) noexcept {
  detect::InviteKeys k{};
  k.caller = v.caller.kind == number::NumberKind::e164 ? v.caller.key : 0;
  k.callee = v.callee.kind == number::NumberKind::e164 ? v.callee.key : 0;
  k.source = detect::source_key(d.src);
  k.trunk = v.trunk == classify::kNoTrunk ? detect::kNoTrunk : v.trunk;
  k.call_id_hash = call_id_hash != 0 ? call_id_hash : detect::call_id_hash(msg.call_id);
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

InviteTexts invite_texts(const classify::Verdict& v, const VerdictNames& names, const sip::Message& msg) noexcept {
  InviteTexts t;
  t.set(kTrunk, names.trunk);
  std::string_view rule = v.rule_id;
  if (rule.empty() && v.decided_by == classify::DecidedBy::default_action) rule = "(default)";
  if (rule.empty() && v.decided_by != classify::DecidedBy::rule) rule = classify::to_string(v.decided_by);
  t.set(kRule, rule);
  t.set(kDetector, names.detector);
  t.set(kRulesetVersion, names.ruleset_version);
  t.set(kCaller, e164_text(v.caller));
  t.set(kCallee, e164_text(v.callee));
  t.set(kCallerRaw, caller_as_written(msg));
  t.set(kCalleeRaw, callee_as_written(msg));
  t.set(kCallId, msg.call_id);
  return t;
}

void pack_invite_record(std::uint8_t* record, const InviteTexts& t, const classify::Verdict& v,
                        const net::DecodedPacket& d, std::uint16_t in_port, unsigned worker,
                        const detect::CallRecord& call, std::uint64_t tsc) noexcept {
  PackedRecordHead* h = start_head(record, call, protocol::CallRecordKind::invite, t.units(), worker, tsc);
  PackedInviteFacts& f = h->invite;
  f.in_port = static_cast<std::uint8_t>(in_port);
  f.ip_version = d.ip_version;
  f.transport = d.l4_proto;
  f.action = static_cast<std::uint8_t>(v.action);
  if (v.detector != classify::kNoDetector) f.detector_level = static_cast<std::uint8_t>(v.detector_level);
  f.src_port = d.src_port;
  if (v.action == rules::ActionKind::reject) f.reject_code = v.reject_code;
  std::memcpy(f.src, d.src.data(), sizeof f.src);
  pack_texts(record, t);
}

void pack_outcome_record(std::uint8_t* record, const detect::CallRecord& call, protocol::CallEnd end, unsigned worker,
                         std::uint64_t tsc) noexcept {
  PackedRecordHead* h = start_head(record, call, protocol::CallRecordKind::outcome, 1, worker, tsc);
  PackedOutcomeFacts& f = h->outcome;
  f.end = static_cast<std::uint8_t>(end);
  f.final_code = call.final_code;
  f.seen = call.seen & protocol::CallRecordWire::kSeenMask;
  if (call.has(detect::CallRecord::kRinging)) f.ring_ms = ms_between(call.invite_ms, call.ring_ms);
  if (call.has(detect::CallRecord::kAnswered)) {
    f.answer_ms = ms_between(call.invite_ms, call.answer_ms);
    if (call.has(detect::CallRecord::kBye)) f.talk_ms = ms_between(call.answer_ms, call.bye_ms);
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
  if (ended != UINT64_MAX) f.duration_ms = ms_between(call.invite_ms, ended);
}

}  // namespace sipwall::dataplane
