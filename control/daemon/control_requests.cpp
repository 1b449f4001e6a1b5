#include "control/daemon/control_requests.h"

namespace sipwall::control {

const protocol::ProtocolSpec& control_protocol() {
  using protocol::FieldType;
  static const protocol::ProtocolSpec spec{
      "sipwall-control",
      {
          {"status", {}},
          {"reload", {}},
          {"rollback", {{"target", FieldType::text, false}}},
          {"history", {{"limit", FieldType::count, false}}},
          {"calls",
           {{"by", FieldType::text, true},
            {"value", FieldType::text, true},
            {"since_ms", FieldType::count, false},
            {"until_ms", FieldType::count, false},
            {"limit", FieldType::count, false}}},
          {"detections-lift",
           {{"key", FieldType::text, true}, {"detector", FieldType::text, false}, {"by", FieldType::text, false}}},
      }};
  return spec;
}

}  // namespace sipwall::control
