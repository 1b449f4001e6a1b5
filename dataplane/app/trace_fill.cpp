#include "dataplane/app/trace_fill.h"

#include <cstring>

namespace sipwall::dataplane {

void fill_trace_record(TraceRecord& r, const classify::Verdict& v, const VerdictNames& names, std::string_view call_id,
                       const net::DecodedPacket& d, std::uint16_t in_port, std::uint64_t tsc) noexcept {
  using rules::ActionKind;
  r.tsc = tsc;
  const bool only_traced = v.action == ActionKind::pass;
  r.action = static_cast<std::uint8_t>(only_traced ? ActionKind::trace : v.action);
  r.in_port = static_cast<std::uint8_t>(in_port);
  r.transport = d.l4_proto;
  r.src_port = d.src_port;
  r.dst_port = d.dst_port;
  r.reject_code = v.action == ActionKind::reject ? v.reject_code : 0;
  r.vlan = d.vlan_count ? d.outer_vlan : 0xFFFF;
  std::memcpy(r.src, d.src.data(), 16);
  std::memcpy(r.dst, d.dst.data(), 16);
  copy_field(r.trunk, v.trunk != classify::kNoTrunk ? names.trunk : std::string_view());
  std::string_view rule = only_traced ? v.trace_rule_id : v.rule_id;
  if (rule.empty()) rule = v.decided_by == classify::DecidedBy::default_action ? "(default)" : "";
  copy_field(r.rule_id, rule);
  copy_field(r.ruleset_version, names.ruleset_version);
  copy_field(r.call_id, call_id);
  copy_field(r.caller, v.caller.kind == number::NumberKind::absent ? std::string_view() : v.caller.text());
  copy_field(r.callee, v.callee.kind == number::NumberKind::absent ? std::string_view() : v.callee.text());
  // The figures are read only when the name is set (trace_json).
  if (v.detector != classify::kNoDetector) {
    copy_field(r.detector, names.detector);
    r.detector_count = v.detector_count;
    r.detector_level = static_cast<std::uint8_t>(v.detector_level);
    r.detector_report = v.report_only ? 1 : 0;
    r.report_action = static_cast<std::uint8_t>(v.report_action);
  } else {
    r.detector[0] = '\0';
  }
}

}  // namespace sipwall::dataplane
