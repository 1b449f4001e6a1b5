// The whole-pipeline harness: the product's Dataplane (setup_dataplane) on
// two net_ring ports made with rte_eth_from_rings(), the product's
// worker_main() on the worker lcores, and on the main lcore a generator that
// fills the trunk port's RX rings from INVITE templates and a sink that
// drains both ports' TX rings (RX->TX latency from a TSC stamp in an mbuf
// dynamic field, replies checked for 603/608).
//
//   trunk port  RX ring[q] <- generator          TX ring[q] -> sink (603/608 replies)
//   core port   RX ring[q]    (stays empty)      TX ring[q] -> sink (forwarded INVITEs)
//
// One ring pair per worker and port: net_ring has no RSS, so the generator
// plays RSS and picks the queue by a hash of the source address and port.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/app/dataplane.h"
#include "dataplane/app/tsc_clock.h"
#include "perf/pipeline/invite_mix.h"
#include "perf/pipeline/latency_histogram.h"

namespace sipwall::perf {

struct HarnessConfig {
  unsigned workers = 1;
  unsigned ring_size = 4096;  // entries per RX/TX ring (like NIC descriptors)
  unsigned memory_mb = 512;
  std::string lcores;  // EAL --lcores; default: main on CPU 0, workers on 1, then shared
  std::vector<std::string> eal_extra;
  std::string artifact;  // empty: no rule set loaded
  // A new Call-ID in every INVITE sent (its first 16 hex digits a counter).
  // Without it the templates repeat their Call-IDs, which behavioural
  // detection's call table takes for retransmissions and counts nothing:
  // the detection section of perf/run needs every INVITE to be a new call.
  bool fresh_call_ids = false;
  // Call records (records.enabled): every new call writes a record into its
  // worker's ring, which the harness's main lcore drains and discards (the
  // product's main lcore sends them to sipwall-control). With
  // fresh_call_ids: one record per INVITE.
  bool records = false;
  // A second rule set, loaded beside `artifact` and never freed while the
  // workers run, for PhaseSpec::artifact_alternate_ms.
  std::string alternate_artifact;
};

enum class PhaseMode { pipeline, io };

struct PhaseSpec {
  std::string name;
  PhaseMode mode = PhaseMode::pipeline;
  double seconds = 3;
  double warmup = 0.5;
  double rate_pps = 0;  // 0: saturate (keep the RX rings full)
  // Reload under load (paced phases only): swap between these artifacts
  // `swaps` times, evenly over the measured seconds, from a thread beside the
  // main lcore (load, publish, RCU grace period, free: what the product's
  // load_ruleset does). Then stop sending and wait until every INVITE sent is
  // accounted for, so lost / duplicated / misclassified can be counted exactly.
  std::vector<std::string> reload_artifacts;
  unsigned swaps = 0;
  // Saturation with call records on: pause and resume them
  // (Dataplane::records_paused) every this many ms of the measured seconds,
  // and count the workers' busy cycles and packets of each side apart
  // (PhaseResult::records_alternate). 0: records stay as configured.
  double records_alternate_ms = 0;
  // Saturation: `artifact` and `alternate_artifact` current in turn
  // (Dataplane::current switched, both loaded before: no reload cost) every
  // this many ms; each side's busy cycles and packets apart
  // (PhaseResult::artifact_first / artifact_second). 0: no switching.
  double artifact_alternate_ms = 0;
};

// One side of a records-alternate phase: what the workers' busy loops took
// while records were on (or paused), and each slice's cycles per packet.
struct AlternateSide {
  std::uint64_t busy_cycles = 0, busy_packets = 0;
  std::vector<double> slice_cycles_per_packet;
};

struct PhaseResult {
  PhaseSpec spec;
  double wall_s = 0;
  std::uint64_t tsc_cycles = 0;  // TSC ticks of the measured interval
  std::uint64_t packets = 0;     // frames the workers took from the trunk RX rings
  std::uint64_t invites = 0;     // INVITEs the pipeline classified (or counted as no_ruleset)
  std::vector<std::uint64_t> worker_packets;
  std::vector<double> worker_cpu_s;  // CPU time the worker threads actually got
  // Verdicts and outputs (worker counters, differences over the interval).
  std::uint64_t forwarded = 0, dropped = 0, rejected = 0, tagged = 0, malformed = 0, no_ruleset = 0;
  std::uint64_t tx_dropped = 0, traced = 0, trace_ring_full = 0, replies_sent = 0;
  std::uint64_t watch_copied = 0, watch_lost = 0;  // copies of watched calls made / lost (ring, pool)
  std::uint64_t verdicts[5] = {};
  // What the sink saw.
  std::uint64_t sink_forwarded = 0, sink_603 = 0, sink_608 = 0, sink_other = 0;
  std::uint64_t offered = 0;        // packets the generator enqueued in the interval
  std::uint64_t gen_ring_full = 0;  // paced packets not sent: RX ring full
  std::uint64_t gen_alloc_failed = 0;
  // Was the generator keeping up? Sampled before every refill.
  std::uint64_t depth_samples = 0, depth_empty = 0, depth_below_burst = 0;
  unsigned depth_min = 0;
  LatencyHistogram latency;
  std::uint64_t invol_ctx_switches = 0;  // of the worker threads during the interval
  // The workers' own view, from an RX callback on their trunk queues (see
  // LoopProbe in harness.cpp): one "loop" is the time from one trunk RX poll
  // to the next, so a busy loop holds the processing of the burst it got plus
  // the rest of worker_main's loop (core-port poll, TX flush, RCU report).
  std::uint64_t busy_loops = 0, busy_packets = 0, busy_cycles = 0;
  std::uint64_t idle_loops = 0, idle_cycles = 0;  // the poll found the trunk RX ring empty
  std::uint64_t preempted_loops = 0, preempted_packets = 0, preempted_cycles = 0;  // loops > 1 ms, left out
  // PhaseSpec::records_alternate_ms: the slices with records on and paused.
  AlternateSide records_on, records_paused;
  // PhaseSpec::artifact_alternate_ms: the slices with `artifact` current and
  // with `alternate_artifact` current.
  AlternateSide artifact_first, artifact_second;
  // Per packet kind (MixKind): what the generator sent, and what came out of
  // the core port (forwarded INVITEs carry their kind in an mbuf field).
  std::uint64_t offered_kind[kMixKinds] = {};
  std::uint64_t sink_forwarded_kind[kMixKinds] = {};
  // Reload phases: per swap, load (read + verify + scratch) and publish ->
  // end of grace period, in ms; swaps that failed to load.
  std::vector<double> swap_load_ms, swap_grace_ms;
  unsigned swaps_failed = 0;
  bool drained = true;  // reload phases: every offered INVITE accounted for
};

class Harness {
 public:
  // EAL, rings, ports, setup_dataplane(), the rule set. argv0 names the process.
  bool init(const HarnessConfig& cfg, const char* argv0, std::string& error);
  void set_mix(std::vector<InviteTemplate> templates, std::vector<National> hit_callers);
  PhaseResult run(const PhaseSpec& spec);
  void shutdown();

  const dataplane::Dataplane& dataplane() const { return dp_; }
  // The watch filters the workers see from the next phase on (null: none;
  // docs/export.md). The caller keeps the set alive; the sink frees the copies.
  void set_watch(const watch::WatchSet* s) { dp_.watch_set.store(s); }
  std::uint64_t tsc_hz() const { return tsc_hz_; }
  double ruleset_load_ms() const { return load_ms_; }
  std::string lcores() const { return lcores_; }

 private:
  struct Snapshot;
  void pump(PhaseResult& r, std::uint64_t until, bool record);
  void generate_saturated(PhaseResult& r, bool record);
  void generate_paced(PhaseResult& r, std::uint64_t now, bool record);
  void fill(rte_mbuf* m, unsigned queue, std::uint64_t stamp);
  void sink(PhaseResult& r, bool record);
  void drain_all();
  Snapshot snapshot();
  // The measured seconds in slices of `ms`, flip(second) called between
  // them, the first slice with flip(false); busy cycles and packets of the
  // two sides summed apart.
  template <class Flip>
  void alternate(PhaseResult& r, std::uint64_t until, double ms, AlternateSide& first, AlternateSide& second,
                 Flip&& flip);

  HarnessConfig cfg_;
  dataplane::Dataplane dp_;
  std::vector<rte_ring*> trunk_rx_, trunk_tx_, core_rx_, core_tx_;
  std::vector<InviteTemplate> templates_;
  std::vector<std::vector<std::uint32_t>> queue_templates_;  // per queue, indexes into templates_
  std::vector<std::size_t> cursor_;
  std::vector<National> hit_callers_;
  std::vector<pthread_t> worker_threads_;
  std::vector<void*> probes_;  // LoopProbe per worker
  std::vector<int> worker_tids_;
  std::uint64_t rng_ = 0x2545F4914F6CDD1DULL;
  std::uint64_t calls_ = 0;  // fresh_call_ids: INVITEs numbered so far
  int stamp_offset_ = -1;
  int kind_offset_ = -1;
  std::uint64_t tsc_hz_ = 0;
  double ns_per_cycle_ = 0;
  double load_ms_ = 0;
  std::string lcores_;
  // Paced mode.
  std::uint64_t pace_start_ = 0, pace_sent_ = 0;
  double pace_per_cycle_ = 0;
  unsigned pace_queue_ = 0;
  bool eal_up_ = false;
  dataplane::RuntimeSet* first_set_ = nullptr;      // `artifact`, as loaded
  dataplane::RuntimeSet* alternate_set_ = nullptr;  // `alternate_artifact` (owned; freed at shutdown)
  // Call records' TSC stamps to wall time, as the main lcore turns them
  // (never anchored here: the times are thrown away, the work is the same).
  dataplane::TscClock record_clock_{1};  // the TSC's rate once init() knows it
};

}  // namespace sipwall::perf
