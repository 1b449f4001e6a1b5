#include "dataplane/app/trace_json.h"

#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include "dataplane/net/packet_decode.h"
#include "rules/detect/detector_spec.h"
#include "rules/model/rule_model.h"

namespace sipwall::dataplane {

using nlohmann::json;

namespace {

std::string_view action_name(std::uint8_t a) {
  return a < rules::kActionKindCount ? rules::kActionNames[a] : std::string_view("?");
}

}  // namespace

json trace_json(const TraceRecord& r) {
  char src[64], dst[64];
  std::array<std::uint8_t, 16> a{}, b{};
  std::memcpy(a.data(), r.src, 16);
  std::memcpy(b.data(), r.dst, 16);
  net::format_address(a, src, sizeof src);
  net::format_address(b, dst, sizeof dst);
  json j{{"time_ns", r.time_ns},
         {"action", action_name(r.action)},
         {"in_port", r.in_port},
         {"transport", r.transport == 6 ? "tcp" : "udp"},
         {"src_ip", src},
         {"src_port", r.src_port},
         {"dst_ip", dst},
         {"dst_port", r.dst_port},
         {"trunk", r.trunk[0] ? json(std::string(r.trunk)) : json(nullptr)},
         {"rule_id", std::string(r.rule_id)},
         {"ruleset_version", std::string(r.ruleset_version)},
         {"call_id", std::string(r.call_id)},
         {"caller", r.caller[0] ? json(std::string(r.caller)) : json(nullptr)},
         {"callee", r.callee[0] ? json(std::string(r.callee)) : json(nullptr)}};
  if (r.reject_code) j["reject_code"] = r.reject_code;
  if (r.vlan != 0xFFFF) j["vlan"] = r.vlan;
  if (r.detector[0]) {
    json det{{"name", std::string(r.detector)},
             {"count", r.detector_count},
             {"level", detect::to_string(static_cast<detect::Level>(r.detector_level <= 2 ? r.detector_level : 0))},
             {"report", r.detector_report != 0}};
    if (r.detector_report) det["would"] = action_name(r.report_action);
    j["detector"] = det;
  }
  return j;
}

}  // namespace sipwall::dataplane
