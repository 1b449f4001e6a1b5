// Cost of behavioural detection per INVITE on one worker, with the issue's
// four example detectors (call bombing, mass calling, one-ring, low ASR), for
// 256 (all tables in L2), 1k, 100k and 10M distinct callers. Prints ns and TSC cycles per INVITE
// and the worker's memory. docs/detection.md records the numbers and the command:
//
//   build/bin/bench_detect --benchmark_min_time=1
//
// Instructions per INVITE (stable on a shared machine), e.g.:
//   SIPWALL_BENCH_WARMUP=20000 valgrind --tool=callgrind --callgrind-out-file=cg.out
//     build/bin/bench_detect --benchmark_filter='BM_OnInvite4/256$' --benchmark_min_time=0.05
//   callgrind_annotate --inclusive=yes cg.out | grep -E 'on_invite|Ir'
//
// Callers are drawn uniformly from N, each calling one of 4 callees of its
// own (so the caller-keyed tables see N keys, the caller+callee ones 4N); a
// new Call-ID per call; 1 M INVITEs a second of simulated time.
// "cycles/INVITE" is the thread's CPU time (not wall time: the machine may be
// shared) times the TSC rate, i.e. TSC cycles while running, as perf/run
// counts them.
//
// Each benchmark first runs 2 M INVITEs so the tables are full (evicting) when
// timing starts. Table sizes follow the key count: for 256 callers 1024 keys
// per detector and a 1024-call table (~0.6 MB in all: the L2-resident case);
// for 1k callers 4096 keys per detector; 256 Ki for 100k and 10M (100k
// callers fit, their 400k caller+callee pairs and 10M callers rotate). Above
// 256 callers the call table holds 64 Ki calls (INVITE-only runs never
// complete a call: every new call evicts one).
#include <benchmark/benchmark.h>
#include <time.h>
#include <x86intrin.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/window_counter.h"
#include "dataplane/detect/worker_detect.h"
#include "rules/detect/detector_spec.h"

namespace {

using namespace sipwall::detect;

// SIPWALL_BENCH_WARMUP overrides (e.g. 20000 under callgrind).
const std::uint64_t kWarmup = [] {
  const char* v = std::getenv("SIPWALL_BENCH_WARMUP");
  return v != nullptr ? std::strtoull(v, nullptr, 10) : 2'000'000ULL;
}();
std::uint32_t capacity_for(std::int64_t keys) {
  return keys <= 256 ? 1024 : keys <= 1'000 ? 4096 : 1u << 18;
}
std::uint32_t calls_for(std::int64_t keys) {
  return keys <= 256 ? 1024 : 1u << 16;
}

DetectorSpec spec(std::uint64_t hash, DetectKey key, DetectCount count, std::uint32_t window_ms, std::uint32_t block,
                  std::uint32_t capacity) {
  DetectorSpec s{};
  s.definition_hash = hash;
  s.key = key;
  s.count = count;
  s.window_ms = window_ms;
  s.block = block;
  s.capacity = capacity;
  return s;
}

std::vector<DetectorSpec> example_specs(std::uint32_t cap) {
  DetectorSpec bombing = spec(1, DetectKey::caller_callee, DetectCount::invites, 60'000, 10, cap);
  bombing.block_for_ms = 600'000;
  DetectorSpec mass = spec(2, DetectKey::caller, DetectCount::distinct_callees, 60'000, 100, cap);
  mass.block_for_ms = 600'000;
  DetectorSpec ring = spec(3, DetectKey::caller, DetectCount::one_ring, 300'000, 20, cap);
  ring.within_ms = 3'000;
  ring.block_for_ms = 3'600'000;
  DetectorSpec asr = spec(4, DetectKey::caller, DetectCount::asr, 3'600'000, 100, cap);
  asr.warn = 300;
  asr.min_attempts = 20;
  return {bombing, mass, ring, asr};
}

// xorshift64*: a cheap, decent stream of callers and callees.
struct Rng {
  std::uint64_t s = 0x9E3779B97F4A7C15ULL;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

constexpr std::uint64_t kE164 = std::uint64_t{11} << 50;

struct Traffic {
  std::uint64_t callers;
  Rng rng;
  std::uint64_t call_id = 1;
  std::uint64_t n = 0;
  InviteKeys next() {
    InviteKeys k{};
    const std::uint64_t r = rng.next();
    const std::uint64_t caller = ((r >> 32) * callers) >> 32;  // no division: it would cost more than a lookup
    k.caller = kE164 | (8613000000000ULL + caller);
    k.callee = kE164 | (8615000000000ULL + (caller * 4 + (r & 3)) % 100'000'000);
    k.source = 0xA1B2C3D4;
    k.trunk = 3;
    k.call_id_hash = mix64(call_id++);
    k.cseq = 1;
    return k;
  }
  std::uint64_t now() { return 1'700'000'000'000ULL + n++ / 1000; }
};

void drain(WorkerDetect& w) {
  HotKeyReport r;
  while (w.reports().try_pop(r)) {
  }
}

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// TSC ticks per ns, measured once over 100 ms.
double tsc_per_ns() {
  static const double rate = [] {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t c0 = __rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100)) {
    }
    const std::uint64_t c1 = __rdtsc();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(c1 - c0) / ns;
  }();
  return rate;
}

// Timing window: CPU time of this thread between start and stop.
struct CpuClock {
  double start = thread_cpu_ns();
  double elapsed_ns() const { return thread_cpu_ns() - start; }
};

void report(benchmark::State& state, const CpuClock& clock, double per_iteration, std::size_t memory) {
  const double invites = static_cast<double>(state.iterations()) * per_iteration;
  const double ns = clock.elapsed_ns() / invites;
  state.counters["ns/INVITE"] = ns;
  state.counters["cycles/INVITE"] = ns * tsc_per_ns();
  state.counters["worker_MB"] = static_cast<double>(memory) / 1e6;
}

// One INVITE through the four detectors (and the call table), no responses.
void BM_OnInvite4(benchmark::State& state) {
  const std::vector<DetectorSpec> specs = example_specs(capacity_for(state.range(0)));
  WorkerOptions o;
  o.calls.capacity = calls_for(state.range(0));
  auto w = std::make_unique<WorkerDetect>(specs, o);
  Traffic t{static_cast<std::uint64_t>(state.range(0)), {}};
  Levels out;
  for (std::uint64_t i = 0; i < kWarmup; ++i) {
    const InviteKeys k = t.next();
    w->on_invite(k, t.now(), out);
    if ((i & 1023) == 0) drain(*w);
  }
  std::uint64_t i = 0;
  const CpuClock clock;
  for (auto _ : state) {
    const InviteKeys k = t.next();
    w->on_invite(k, t.now(), out);
    benchmark::DoNotOptimize(out.d[0].level);
    if ((++i & 1023) == 0) drain(*w);
  }
  report(state, clock, 1, w->memory_bytes());
}
BENCHMARK(BM_OnInvite4)->Arg(256)->Arg(1'000)->Arg(100'000)->Arg(10'000'000);

// As a DPDK worker could run it: a burst of INVITEs, prefetch() for each,
// then on_invite() for each, so the cache misses of the burst overlap.
#ifndef BENCH_BURST
#define BENCH_BURST 8
#endif
constexpr std::uint64_t kBurst = BENCH_BURST;
void burst(benchmark::State& state, std::span<const DetectorSpec> specs) {
  WorkerOptions o;
  o.calls.capacity = calls_for(state.range(0));
  auto w = std::make_unique<WorkerDetect>(specs, o);
  Traffic t{static_cast<std::uint64_t>(state.range(0)), {}};
  Levels out;
  InviteKeys b[kBurst];
  auto one_burst = [&] {
    for (InviteKeys& k : b) {
      k = t.next();
      w->prefetch(k);
    }
    const std::uint64_t now = t.now();
    for (const InviteKeys& k : b) {
      w->on_invite(k, now, out);
      benchmark::DoNotOptimize(out.d[0].level);
    }
    t.n += kBurst - 1;
    drain(*w);
  };
  for (std::uint64_t i = 0; i < kWarmup / 32; ++i) one_burst();
  const CpuClock clock;
  for (auto _ : state) one_burst();
  report(state, clock, kBurst, w->memory_bytes());
}
void BM_Burst_4(benchmark::State& state) {
  burst(state, example_specs(capacity_for(state.range(0))));
}
BENCHMARK(BM_Burst_4)->Arg(256)->Arg(1'000)->Arg(100'000)->Arg(10'000'000);
void BM_Burst_0(benchmark::State& state) {
  burst(state, {});
}
BENCHMARK(BM_Burst_0)->Arg(256)->Arg(1'000)->Arg(100'000)->Arg(10'000'000);

// The same with no detector: the call table alone, to subtract.
void BM_OnInvite0(benchmark::State& state) {
  WorkerOptions o;
  o.calls.capacity = calls_for(state.range(0));
  auto w = std::make_unique<WorkerDetect>(std::span<const DetectorSpec>{}, o);
  Traffic t{static_cast<std::uint64_t>(state.range(0)), {}};
  Levels out;
  for (std::uint64_t i = 0; i < kWarmup; ++i) {
    const InviteKeys k = t.next();
    w->on_invite(k, t.now(), out);
  }
  const CpuClock clock;
  for (auto _ : state) {
    const InviteKeys k = t.next();
    w->on_invite(k, t.now(), out);
    benchmark::DoNotOptimize(out.call);
  }
  report(state, clock, 1, w->memory_bytes());
}
BENCHMARK(BM_OnInvite0)->Arg(256)->Arg(1'000)->Arg(100'000)->Arg(10'000'000);

// Whole calls: INVITE, 180, then 50 % answered (200, ACK, BYE), 30 %
// cancelled after ringing, 20 % busy; the call table swept every 32 calls.
// Per iteration: one call (one INVITE and its 3-4 other messages).
void BM_CallFlow4(benchmark::State& state) {
  const std::vector<DetectorSpec> specs = example_specs(capacity_for(state.range(0)));
  WorkerOptions o;
  o.calls.capacity = calls_for(state.range(0));
  auto w = std::make_unique<WorkerDetect>(specs, o);
  Traffic t{static_cast<std::uint64_t>(state.range(0)), {}};
  Levels out;
  auto one_call = [&](std::uint64_t i) {
    const InviteKeys k = t.next();
    const std::uint64_t now = t.now();
    w->on_invite(k, now, out);
    w->on_response(k.call_id_hash, 180, true, now);
    const unsigned kind = static_cast<unsigned>(k.call_id_hash % 10);
    if (kind < 5) {
      w->on_response(k.call_id_hash, 200, true, now);
      w->on_ack(k.call_id_hash, now);
      w->on_bye(k.call_id_hash, now);
    } else if (kind < 8) {
      w->on_cancel(k.call_id_hash, now);
    } else {
      w->on_response(k.call_id_hash, 486, true, now);
    }
    if ((i & 31) == 0) w->expire(now, 64);
    if ((i & 1023) == 0) drain(*w);
  };
  for (std::uint64_t i = 0; i < kWarmup; ++i) one_call(i);
  std::uint64_t i = 0;
  const CpuClock clock;
  for (auto _ : state) {
    one_call(++i);
    benchmark::DoNotOptimize(out.d[0].level);
  }
  report(state, clock, 1, w->memory_bytes());
}
BENCHMARK(BM_CallFlow4)->Arg(256)->Arg(1'000)->Arg(100'000)->Arg(10'000'000);

// One WindowCounter (the invites detector's table) on its own.
void BM_WindowCounter(benchmark::State& state) {
  WindowCounter c(capacity_for(state.range(0)), 60'000);
  const std::uint64_t keys = static_cast<std::uint64_t>(state.range(0));
  Rng rng;
  std::uint64_t n = 0;
  for (std::uint64_t i = 0; i < kWarmup; ++i) c.increment(mix64(rng.next() % keys + 1), n++ / 1000);
  const CpuClock clock;
  for (auto _ : state) {
    const std::uint32_t v = c.increment(mix64(rng.next() % keys + 1), n++ / 1000);
    benchmark::DoNotOptimize(v);
  }
  report(state, clock, 1, c.memory_bytes());
}
BENCHMARK(BM_WindowCounter)->Arg(256)->Arg(1'000)->Arg(100'000)->Arg(10'000'000);

}  // namespace

BENCHMARK_MAIN();
