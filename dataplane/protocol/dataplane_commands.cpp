#include "dataplane/protocol/dataplane_commands.h"

namespace sipwall::protocol {

const ProtocolSpec& dataplane_protocol() {
  static const ProtocolSpec spec{"this data plane",
                                 {
                                     {"status", {}},
                                     {"stats", {}},
                                     {"load", {{"artifact", FieldType::text, true}}},
                                     {"trace-drain", {{"max", FieldType::count, false}}},
                                 }};
  return spec;
}

}  // namespace sipwall::protocol
