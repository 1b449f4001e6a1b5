#include "control/records/call_json.h"

#include <cstdio>

#include "control/client/time_util.h"
#include "rules/model/rule_model.h"

namespace sipwall::control {

namespace {

using nlohmann::json;
using W = protocol::CallRecordWire;

std::string action_name(std::uint32_t a) {
  return a < rules::kActionKindCount ? std::string(rules::kActionNames[a]) : "unknown";
}

std::string seconds(std::uint32_t ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f s", ms / 1000.0);
  return b;
}

const char* end_name(std::uint32_t e) {
  switch (static_cast<protocol::CallEnd>(e)) {
    case protocol::CallEnd::expired:
      return "expired";
    case protocol::CallEnd::replaced:
      return "replaced";
    case protocol::CallEnd::evicted:
      return "evicted";
    case protocol::CallEnd::none:
      break;
  }
  return "none";
}

std::string transport_name(std::uint32_t t) {
  return t == 6 ? "tcp" : t == 17 ? "udp" : std::to_string(t);
}

}  // namespace

std::string outcome_text(const CallRow& r) {
  // The data plane's own verdict ends the call, whatever followed.
  if (r.action == static_cast<std::uint32_t>(rules::ActionKind::drop)) return "dropped by sipwall";
  if (r.action == static_cast<std::uint32_t>(rules::ActionKind::reject))
    return "rejected " + std::to_string(r.reject_code) + " by sipwall";
  if (!r.has_outcome) return "in progress";
  std::string s;
  if (r.seen & W::kAnswered) {
    s = (r.seen & W::kBye) ? "answered, talk " + seconds(r.talk_ms) : "answered (no BYE seen)";
  } else if (r.seen & W::kCancelled) {
    s = (r.seen & W::kRinging) ? "cancelled after ringing" : "cancelled";
  } else if (r.final_code != 0) {
    s = "failed " + std::to_string(r.final_code);
  } else {
    s = "unanswered (no final response)";
  }
  if (r.end == static_cast<std::uint32_t>(protocol::CallEnd::evicted)) s += " (evicted: outcome so far)";
  return s;
}

json call_row_json(const CallRow& r) {
  json o{{"time", iso8601_ms(r.time_ms * 1'000'000)},
         {"trunk", r.trunk},
         {"source", r.source},
         {"source_port", r.src_port},
         {"transport", transport_name(r.transport)},
         {"in_port", r.in_port},
         {"caller", r.caller},
         {"callee", r.callee},
         {"caller_as_written", r.caller_raw},
         {"callee_as_written", r.callee_raw},
         {"call_id", r.call_id},
         {"action", action_name(r.action)},
         {"rule", r.rule},
         {"detector", r.detector},
         {"ruleset_version", r.ruleset_version},
         {"outcome", outcome_text(r)}};
  if (r.reject_code != 0) o["reject_code"] = r.reject_code;
  if (!r.detector.empty()) o["detector_level"] = r.detector_level;
  if (r.has_outcome) {
    o["ended"] = iso8601_ms(r.ended_ms * 1'000'000);
    o["end"] = end_name(r.end);
    o["final_code"] = r.final_code;
    o["ringing"] = (r.seen & W::kRinging) != 0;
    o["answered"] = (r.seen & W::kAnswered) != 0;
    o["cancelled"] = (r.seen & W::kCancelled) != 0;
    if (r.seen & W::kRinging) o["ring_ms"] = r.ring_ms;
    if (r.seen & W::kAnswered) o["answer_ms"] = r.answer_ms;
    if ((r.seen & W::kAnswered) && (r.seen & W::kBye)) o["talk_ms"] = r.talk_ms;
  }
  return o;
}

json record_json(const protocol::CallRecordWire& r) {
  const auto t = [](auto& f) { return std::string(protocol::get_text(f)); };
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.call_hash));
  json o{{"time", iso8601_ms(static_cast<std::int64_t>(r.time_ns))}, {"worker", r.worker}, {"call_hash", hash}};
  if (r.kind == static_cast<std::uint8_t>(protocol::CallRecordKind::invite)) {
    o["kind"] = "invite";
    o["trunk"] = t(r.trunk);
    o["source"] = address_text(r.src);
    o["source_port"] = r.src_port;
    o["transport"] = transport_name(r.transport);
    o["in_port"] = r.in_port;
    o["caller"] = t(r.caller);
    o["callee"] = t(r.callee);
    o["caller_as_written"] = t(r.caller_raw);
    o["callee_as_written"] = t(r.callee_raw);
    o["call_id"] = t(r.call_id);
    o["action"] = action_name(r.action);
    if (r.reject_code != 0) o["reject_code"] = r.reject_code;
    o["rule"] = t(r.rule);
    o["detector"] = t(r.detector);
    o["ruleset_version"] = t(r.ruleset_version);
  } else {
    o["kind"] = "outcome";
    o["end"] = end_name(r.end);
    o["final_code"] = r.final_code;
    o["ringing"] = (r.seen & W::kRinging) != 0;
    o["answered"] = (r.seen & W::kAnswered) != 0;
    o["cancelled"] = (r.seen & W::kCancelled) != 0;
    o["bye"] = (r.seen & W::kBye) != 0;
    if (r.seen & W::kRinging) o["ring_ms"] = r.ring_ms;
    if (r.seen & W::kAnswered) o["answer_ms"] = r.answer_ms;
    if ((r.seen & W::kAnswered) && (r.seen & W::kBye)) o["talk_ms"] = r.talk_ms;
    o["duration_ms"] = r.duration_ms;
  }
  return o;
}

}  // namespace sipwall::control
