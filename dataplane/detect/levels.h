// Levels: what WorkerDetect says about one INVITE, per detector, in the
// order of the specs it was built with. Fixed size: filled per INVITE on
// the worker's stack, no allocation.
#pragma once

#include <cstdint>

#include "dataplane/detect/call_table.h"
#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

struct DetectorLevel {
  std::uint64_t key = 0;      // key_hash(); 0: the INVITE lacks a part of the key, not evaluated
  std::uint32_t local = 0;    // this worker's count in the window (asr: attempts)
  std::uint32_t count = 0;    // estimate over all workers: local + (merged - this worker's at merge)
  std::uint32_t local2 = 0;   // asr: answered (this worker)
  std::uint32_t count2 = 0;   // asr: answered (estimate)
  Level level = Level::none;  // max(level of the estimate, held)
  Level held = Level::none;   // penalty-box level from the merged set (while not expired)
  bool rose = false;          // the estimate's level rose at this INVITE (the INVITE that fires)
  bool report_only = false;   // the spec's report mode: the classifier passes the call
};

struct Levels {
  InviteKind call = InviteKind::new_call;  // retransmissions and re-INVITEs count nothing
  std::uint32_t n = 0;                     // detectors filled in d
  DetectorLevel d[kMaxDetectors];

  // The highest level among detectors not in report mode (report mode
  // counts and traces, the call passes).
  Level enforced_level() const noexcept {
    Level m = Level::none;
    for (std::uint32_t i = 0; i < n; ++i)
      if (!d[i].report_only) m = detect::max_level(m, d[i].level);
    return m;
  }
};

}  // namespace sipwall::detect
