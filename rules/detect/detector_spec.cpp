#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

const char* validate(const DetectorSpec& s) noexcept {
  if (static_cast<unsigned>(s.key) > static_cast<unsigned>(DetectKey::trunk)) return "unknown key kind";
  if (static_cast<unsigned>(s.count) > static_cast<unsigned>(DetectCount::asr)) return "unknown count kind";
  if (s.window_ms < kMinWindowMs || s.window_ms > kMaxWindowMs) return "window must be 1 s .. 24 h";
  // 0: not written in the rule set; the data plane fills in its detection.capacity.
  if (s.capacity != 0 && (s.capacity < kMinCapacity || s.capacity > kMaxCapacity))
    return "capacity must be 0 or 4 .. 2^26 keys";
  if ((s.count == DetectCount::one_ring || s.count == DetectCount::short_calls) && s.within_ms == 0)
    return "one_ring and short_calls need within_ms > 0";
  if (s.count == DetectCount::asr) {
    if (s.min_attempts == 0) return "asr needs min_attempts >= 1";
    if (s.warn > 1000 || s.block > 1000) return "asr thresholds are permille (0..1000)";
  }
  return nullptr;
}

std::uint32_t lowest_threshold(const DetectorSpec& s) noexcept {
  if (s.warn == 0 && s.block == 0) return 0;
  if (s.count == DetectCount::asr) return s.min_attempts;
  if (s.warn == 0) return s.block;
  if (s.block == 0) return s.warn;
  return s.warn < s.block ? s.warn : s.block;
}

const char* to_string(DetectKey k) noexcept {
  switch (k) {
    case DetectKey::caller:
      return "caller";
    case DetectKey::callee:
      return "callee";
    case DetectKey::caller_callee:
      return "caller_callee";
    case DetectKey::source:
      return "source";
    case DetectKey::source_callee:
      return "source_callee";
    case DetectKey::trunk:
      return "trunk";
  }
  return "?";
}

const char* to_string(DetectCount c) noexcept {
  switch (c) {
    case DetectCount::invites:
      return "invites";
    case DetectCount::distinct_callees:
      return "distinct_callees";
    case DetectCount::distinct_callers:
      return "distinct_callers";
    case DetectCount::one_ring:
      return "one_ring";
    case DetectCount::short_calls:
      return "short_calls";
    case DetectCount::unanswered:
      return "unanswered";
    case DetectCount::asr:
      return "asr";
  }
  return "?";
}

const char* to_string(Level l) noexcept {
  switch (l) {
    case Level::none:
      return "none";
    case Level::warn:
      return "warn";
    case Level::block:
      return "block";
  }
  return "?";
}

}  // namespace sipwall::detect
