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
          {"detections", {{"all", FieldType::count, false}, {"min_percent", FieldType::count, false}}},
          {"detections-lift", {{"key", FieldType::text, true}, {"detector", FieldType::text, false}}},
          // Watched calls (docs/export.md): a capture of the calls one
          // filter matches, read in turns until done, or stopped.
          {"watch-start",
           {{"match", FieldType::text, true},
            {"value", FieldType::text, false},
            {"for_ms", FieldType::count, false},
            {"max_packets", FieldType::count, false},
            {"max_bytes", FieldType::count, false}}},
          {"watch-read", {{"id", FieldType::count, true}, {"max", FieldType::count, false}}},
          {"watch-stop", {{"id", FieldType::count, true}}},
          {"watch-status", {}},
          // A block decided outside this data plane (an operator, the
          // fleet: docs/fleet.md), held in a detector for for_ms.
          {"detections-hold",
           {{"key", FieldType::text, true},
            {"detector", FieldType::text, true},
            {"for_ms", FieldType::count, true},
            {"level", FieldType::text, false},
            {"by", FieldType::text, false}}},
      }};
  return spec;
}

}  // namespace sipwall::protocol
