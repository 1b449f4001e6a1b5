#include "control/daemon/control_requests.h"

namespace sipwall::control {

const protocol::ProtocolSpec& control_protocol() {
  using protocol::FieldType;
  static const protocol::ProtocolSpec spec{"sipwall-control",
                                           {
                                               {"status", {}},
                                               {"reload", {}},
                                               {"rollback", {{"target", FieldType::text, false}}},
                                               {"history", {{"limit", FieldType::count, false}}},
                                           }};
  return spec;
}

}  // namespace sipwall::control
