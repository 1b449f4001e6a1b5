// Per-lcore counters: one cache-aligned block per worker, written only by that
// worker with plain increments, summed by readers on the main lcore (a torn
// read is impossible for aligned 64-bit words on x86-64; a reader may see a
// value one burst old, which is fine for statistics).
//
// The scalar counters are declared once in an X-list
// (dataplane/protocol/counter_list.h, shared with sipwall-control) that
// generates the struct, the names used in the stats reply and the help text
// (docs/operations.md lists them).
#pragma once

#include <cstdint>

#include "dataplane/net/packet_decode.h"
#include "dataplane/protocol/counter_list.h"
#include "dataplane/sip/sip_errors.h"
#include "rules/model/rule_model.h"

namespace sipwall::dataplane {

inline constexpr unsigned kMaxPorts = 8;
inline constexpr unsigned kMaxWorkers = 32;
// RX polls by burst size: bucket 0 = an empty poll, bucket b >= 1 = bursts of
// 2^(b-1) .. 2^b - 1 packets (1, 2-3, 4-7, 8-15, 16-31, 32 = kBurst).
inline constexpr unsigned kBurstSizeBuckets = 7;
inline constexpr unsigned burst_size_bucket(unsigned n) noexcept {
  return n == 0 ? 0U : static_cast<unsigned>(32 - __builtin_clz(n));
}
// Verdict counters, one per rules::ActionKind (rules/model/rule_model.h).
inline constexpr unsigned kActionCount = rules::kActionKindCount;

// The scalar counters: SIPWALL_DATAPLANE_COUNTERS (dataplane/protocol/counter_list.h).
struct alignas(64) WorkerCounters {
#define SIPWALL_X(name, help) std::uint64_t name;
  SIPWALL_DATAPLANE_COUNTERS(SIPWALL_X)
#undef SIPWALL_X
  std::uint64_t rx_packets[kMaxPorts];
  std::uint64_t rx_bytes[kMaxPorts];
  std::uint64_t tx_packets[kMaxPorts];
  std::uint64_t tx_bytes[kMaxPorts];
  std::uint64_t verdicts[kActionCount];  // by rules::ActionKind, INVITEs only
  std::uint64_t parse_errors[static_cast<unsigned>(sip::ParseError::count_)];
  std::uint64_t decode_errors[static_cast<unsigned>(net::DecodeResult::count_)];
  // The worker's own load, reported per worker (stats "worker_load"): TSC
  // cycles of loop turns that received at least one packet (busy) and of
  // turns that received none (idle), and its RX polls by burst size.
  std::uint64_t busy_cycles;
  std::uint64_t idle_cycles;
  std::uint64_t rx_polls_by_burst[kBurstSizeBuckets];
};

// Sum of all workers (the main lcore builds one for every stats request).
void sum_counters(const WorkerCounters* per_worker, unsigned workers, WorkerCounters& out) noexcept;

}  // namespace sipwall::dataplane
