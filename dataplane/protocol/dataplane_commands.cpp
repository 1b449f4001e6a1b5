#include "dataplane/protocol/dataplane_commands.h"

namespace sipwall::protocol {

const ProtocolSpec& dataplane_protocol() {
  static const ProtocolSpec spec{
      "this data plane",
      {
          {"status", {}},
          {"stats", {}},
          {"load", {{"artifact", FieldType::text, true}}},
          {"trace-drain", {{"max", FieldType::count, false}}},
          // Behavioural detection (docs/detection.md): the penalty
          // box (all=1: also keys hot but not held) and early release.
          {"detections", {{"all", FieldType::count, false}}},
          {"detections-lift", {{"key", FieldType::text, true}, {"detector", FieldType::text, false}}},
          // A block decided outside this data plane (an operator, the
          // fleet: docs/fleet.md), held in a detector for for_ms.
          {"detections-hold",
           {{"key", FieldType::text, true}, {"detector", FieldType::text, true}, {"for_ms", FieldType::count, true}}},
      }};
  return spec;
}

}  // namespace sipwall::protocol
