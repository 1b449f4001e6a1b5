// Spec and key builders shared by the detect unit tests.
#pragma once

#include <cstdint>

#include "rules/detect/detector_spec.h"

namespace sipwall::detect::testing {

inline DetectorSpec make_spec(std::uint64_t hash, DetectKey key, DetectCount count, std::uint32_t window_ms,
                              std::uint32_t warn, std::uint32_t block, std::uint32_t capacity = 1024) {
  DetectorSpec s{};
  s.definition_hash = hash;
  s.key = key;
  s.count = count;
  s.report_only = false;
  s.window_ms = window_ms;
  s.warn = warn;
  s.block = block;
  s.within_ms = 0;
  s.min_attempts = 0;
  s.block_for_ms = 0;
  s.capacity = capacity;
  return s;
}

// The example set (rules/examples/behaviour.yaml) plus an asr one.
inline DetectorSpec call_bombing() {  // same caller to the same callee > 10 calls in 60 s, held 10 min
  DetectorSpec s = make_spec(0xB0B, DetectKey::caller_callee, DetectCount::invites, 60'000, 0, 10);
  s.block_for_ms = 600'000;
  return s;
}
inline DetectorSpec mass_calling() {  // one caller to > 100 distinct callees in 60 s, held 10 min
  DetectorSpec s = make_spec(0x3A55, DetectKey::caller, DetectCount::distinct_callees, 60'000, 0, 100);
  s.block_for_ms = 600'000;
  return s;
}
inline DetectorSpec one_ring() {  // > 20 calls cancelled within 3 s of a 18x in 300 s, held 1 h
  DetectorSpec s = make_spec(0x0121, DetectKey::caller, DetectCount::one_ring, 300'000, 0, 20);
  s.within_ms = 3'000;
  s.block_for_ms = 3'600'000;
  return s;
}
inline DetectorSpec low_asr() {  // answer-seizure ratio < 10 % (warn < 30 %) once 20 attempts in 1 h
  DetectorSpec s = make_spec(0xA5A, DetectKey::caller, DetectCount::asr, 3'600'000, 300, 100);
  s.min_attempts = 20;
  return s;
}

// An E.164-looking key for number n (any non-zero value works: tables hash it).
inline std::uint64_t number(std::uint64_t n) {
  return (std::uint64_t{11} << 50) | (8613800000000ULL + n);
}

inline InviteKeys invite(std::uint64_t caller, std::uint64_t callee, std::uint64_t call_id, std::uint32_t cseq = 1) {
  InviteKeys k{};
  k.caller = caller;
  k.callee = callee;
  k.source = 0x5150;
  k.trunk = 7;
  k.call_id_hash = call_id;
  k.cseq = cseq;
  return k;
}

}  // namespace sipwall::detect::testing
