// HotKeyReport: what a worker tells the merger about one key of one
// detector: its local count now. Pushed through the worker's SpscQueue when
// the count is at least the detector's report minimum and has changed enough
// since the last report (WorkerDetect), or when its level changed.
#pragma once

#include <cstdint>

#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

struct HotKeyReport {
  std::uint64_t detector;  // DetectorSpec::definition_hash
  std::uint64_t key;       // key_hash()
  std::uint64_t a, b;      // KeyParts: the numbers / source / trunk, for display
  std::uint64_t time_ms;   // the worker's now_ms when counted
  std::uint32_t count;     // local count in the window (asr: attempts)
  std::uint32_t count2;    // asr: answered; else 0
  std::uint64_t lift_seq;  // last lift the worker had applied: older reports of a lifted key are ignored
  Level level;             // the level the worker's estimate stood at (not counting the penalty box)
};

}  // namespace sipwall::detect
