#include "perf/pipeline/harness.h"

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

#include "dataplane/app/record_export.h"
#include "dataplane/app/ruleset_runtime.h"
#include "dataplane/app/setup.h"
#include "dataplane/net/packet_decode.h"

namespace sipwall::perf {

using dataplane::kBurst;
using dataplane::WorkerCounters;

namespace {

// The I/O-only forwarder for the harness baseline: what a worker that does
// nothing but move frames from the trunk to the core port costs, fed by the
// same generator and drained by the same sink. Not the product's code path.
struct alignas(64) IoWorker {
  std::uint16_t rx_port = 0, tx_port = 0, queue = 0;
  std::atomic<std::uint64_t> packets{0};  // single writer: this worker
};
IoWorker g_io[dataplane::kMaxWorkers];

int io_forward(void* arg) {
  IoWorker& w = *static_cast<IoWorker*>(arg);
  const auto& quit = dataplane::g_dataplane->quit;
  rte_mbuf* pkts[kBurst];
  while (!quit.load(std::memory_order_relaxed)) {
    std::uint16_t n = rte_eth_rx_burst(w.rx_port, w.queue, pkts, kBurst);
    if (n == 0) continue;
    std::uint16_t sent = rte_eth_tx_burst(w.tx_port, w.queue, pkts, n);
    if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    w.packets.store(w.packets.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  return 0;
}

// Per-worker loop accounting, done in an RX callback on the worker's trunk
// queue (rte_eth_add_rx_callback): it runs inside rte_eth_rx_burst on the
// worker's own thread, so worker_main stays the product's code. Costs one
// rdtsc and a few adds per poll (~30 cycles, i.e. ~1 cycle per INVITE at
// full bursts). Single writer (the worker); the main lcore reads relaxed.
struct alignas(64) LoopProbe {
  std::uint64_t last_tsc = 0;
  std::uint16_t last_n = 0;
  std::uint64_t threshold = 0;  // a loop longer than this was preempted
  std::atomic<std::uint64_t> busy_loops{0}, busy_packets{0}, busy_cycles{0};
  std::atomic<std::uint64_t> idle_loops{0}, idle_cycles{0};
  std::atomic<std::uint64_t> preempted_loops{0}, preempted_packets{0}, preempted_cycles{0};
};
inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t v) {
  a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
std::uint16_t loop_probe(std::uint16_t, std::uint16_t, rte_mbuf**, std::uint16_t n, std::uint16_t, void* arg) {
  auto& p = *static_cast<LoopProbe*>(arg);
  const std::uint64_t now = rte_rdtsc();
  if (p.last_tsc != 0) {
    const std::uint64_t d = now - p.last_tsc;
    if (d > p.threshold) {
      bump(p.preempted_loops, 1);
      bump(p.preempted_packets, p.last_n);
      bump(p.preempted_cycles, d);
    } else if (p.last_n) {
      bump(p.busy_loops, 1);
      bump(p.busy_packets, p.last_n);
      bump(p.busy_cycles, d);
    } else {
      bump(p.idle_loops, 1);
      bump(p.idle_cycles, d);
    }
  }
  p.last_tsc = now;
  p.last_n = n;
  return n;
}

struct ThreadProbe {
  pthread_t thread;
  int tid;
};
int probe_thread(void* arg) {
  auto* p = static_cast<ThreadProbe*>(arg);
  p->thread = pthread_self();
  p->tid = static_cast<int>(gettid());
  return 0;
}

double thread_cpu_s(pthread_t t) {
  clockid_t cid;
  timespec ts{};
  if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::uint64_t involuntary_switches(int tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) return std::strtoull(line.c_str() + 27, nullptr, 10);
  return 0;
}

double wall_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Main lcore on CPU 0, worker k on CPU k, wrapping onto the CPUs there are
// (on this 2-CPU machine the second worker shares CPU 0 with the generator).
std::string default_lcores(unsigned workers) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) cpus = 1;
  std::string s = "0@0";
  for (unsigned k = 1; k <= workers; ++k)
    s += "," + std::to_string(k) + "@" + std::to_string(k % static_cast<unsigned>(cpus));
  return s;
}

}  // namespace

struct Harness::Snapshot {
  std::uint64_t tsc = 0;
  double wall = 0;
  std::vector<WorkerCounters> counters;
  std::vector<double> cpu;
  std::vector<std::uint64_t> io;
  std::uint64_t invol = 0;
  std::uint64_t loops[8] = {};  // LoopProbe sums, in declaration order
};

bool Harness::init(const HarnessConfig& cfg, const char* argv0, std::string& error) {
  cfg_ = cfg;
  lcores_ = cfg.lcores.empty() ? default_lcores(cfg.workers) : cfg.lcores;
  std::vector<std::string> args = {argv0,
                                   "--no-huge",
                                   "-m",
                                   std::to_string(cfg.memory_mb),
                                   "--no-pci",
                                   "--no-shconf",
                                   "--file-prefix",
                                   "sipwall-bench-" + std::to_string(getpid()),
                                   "--lcores",
                                   lcores_,
                                   "--log-level",
                                   "lib.eal:warning"};
  args.insert(args.end(), cfg.eal_extra.begin(), cfg.eal_extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    error = std::string("EAL init failed: ") + rte_strerror(rte_errno) + " (root is required)";
    return false;
  }
  eal_up_ = true;
  tsc_hz_ = rte_get_tsc_hz();
  record_clock_ = dataplane::TscClock(tsc_hz_);
  ns_per_cycle_ = 1e9 / static_cast<double>(tsc_hz_);

  const unsigned w = cfg.workers;
  if (rte_lcore_count() < w + 1) {
    error = "need " + std::to_string(w + 1) + " lcores (main + workers), EAL has " + std::to_string(rte_lcore_count());
    return false;
  }
  const int socket = static_cast<int>(rte_socket_id());
  auto ring = [&](const char* what, unsigned q) {
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "bench_%s_%u", what, q);
    return rte_ring_create(name, cfg.ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  };
  for (unsigned q = 0; q < w; ++q) {
    trunk_rx_.push_back(ring("trx", q));
    trunk_tx_.push_back(ring("ttx", q));
    core_rx_.push_back(ring("crx", q));
    core_tx_.push_back(ring("ctx", q));
    if (!trunk_rx_.back() || !trunk_tx_.back() || !core_rx_.back() || !core_tx_.back()) {
      error = std::string("cannot create rings: ") + rte_strerror(rte_errno);
      return false;
    }
  }
  // The ethdev names are "net_ring_<name>"; the product finds ports by them.
  int trunk = rte_eth_from_rings("trunk", trunk_rx_.data(), w, trunk_tx_.data(), w, static_cast<unsigned>(socket));
  int core = rte_eth_from_rings("core", core_rx_.data(), w, core_tx_.data(), w, static_cast<unsigned>(socket));
  if (trunk < 0 || core < 0) {
    error = "rte_eth_from_rings failed";
    return false;
  }
  char trunk_name[RTE_ETH_NAME_MAX_LEN], core_name[RTE_ETH_NAME_MAX_LEN];
  rte_eth_dev_get_name_by_port(static_cast<std::uint16_t>(trunk), trunk_name);
  rte_eth_dev_get_name_by_port(static_cast<std::uint16_t>(core), core_name);

  dataplane::DataplaneConfig c;
  c.eal_lcores = lcores_;
  c.ports = {{"trunk", trunk_name, dataplane::PortRole::trunk, 1500},
             {"core", core_name, dataplane::PortRole::core, 1500}};
  c.pairs = {{0, 1}};
  unsigned l;
  RTE_LCORE_FOREACH_WORKER(l) {
    if (c.worker_lcores.size() < w) c.worker_lcores.push_back(l);
  }
  c.rx_ring_size = c.tx_ring_size = static_cast<std::uint16_t>(cfg.ring_size);
  c.mbufs = std::max(16383U, w * 3 * cfg.ring_size + 8192);
  c.records_enabled = cfg.records;
  dp_.cfg = c;
  dataplane::g_dataplane = &dp_;
  if (!dataplane::setup_dataplane(dp_, error)) return false;

  static const rte_mbuf_dynfield stamp_desc = {"sipwall_bench_rx_tsc", sizeof(std::uint64_t), alignof(std::uint64_t),
                                               0};
  stamp_offset_ = rte_mbuf_dynfield_register(&stamp_desc);
  if (stamp_offset_ < 0) {
    error = "cannot register the mbuf timestamp field";
    return false;
  }
  static const rte_mbuf_dynfield kind_desc = {"sipwall_bench_kind", sizeof(std::uint8_t), alignof(std::uint8_t), 0};
  kind_offset_ = rte_mbuf_dynfield_register(&kind_desc);
  if (kind_offset_ < 0) {
    error = "cannot register the mbuf kind field";
    return false;
  }

  if (!cfg.artifact.empty()) {
    auto rs = dataplane::RuntimeSet::load(cfg.artifact, w, error, dataplane::detect_options(dp_));
    if (!rs) return false;
    load_ms_ = rs->load_ms();
    first_set_ = rs.get();
    dp_.current.store(rs.release());
    if (!cfg.alternate_artifact.empty()) {
      auto alt = dataplane::RuntimeSet::load(cfg.alternate_artifact, w, error, dataplane::detect_options(dp_));
      if (!alt) return false;
      alternate_set_ = alt.release();
    }
  }

  for (unsigned i = 0; i < w; ++i) {
    ThreadProbe tp{};
    rte_eal_remote_launch(probe_thread, &tp, dp_.workers[i]->lcore);
    rte_eal_wait_lcore(dp_.workers[i]->lcore);
    worker_threads_.push_back(tp.thread);
    worker_tids_.push_back(tp.tid);
    g_io[i].rx_port = dp_.ports[0].port_id;
    g_io[i].tx_port = dp_.ports[1].port_id;
    g_io[i].queue = static_cast<std::uint16_t>(i);
    auto* p = new LoopProbe();
    p->threshold = tsc_hz_ / 1000;  // 1 ms: ~30x a full burst of 1 KB INVITEs
    probes_.push_back(p);
    if (!rte_eth_add_rx_callback(dp_.ports[0].port_id, static_cast<std::uint16_t>(i), loop_probe, p)) {
      error = "cannot add the RX callback (DPDK built without RTE_ETHDEV_RXTX_CALLBACKS?)";
      return false;
    }
  }
  return true;
}

void Harness::set_mix(std::vector<InviteTemplate> templates, std::vector<National> hit_callers) {
  templates_ = std::move(templates);
  hit_callers_ = std::move(hit_callers);
  const unsigned w = cfg_.workers;
  queue_templates_.assign(w, {});
  for (std::uint32_t i = 0; i < templates_.size(); ++i) queue_templates_[templates_[i].flow_hash % w].push_back(i);
  for (auto& q : queue_templates_)
    if (q.empty())
      for (std::uint32_t i = 0; i < templates_.size(); ++i) q.push_back(i);
  cursor_.assign(w, 0);
}

inline void Harness::fill(rte_mbuf* m, unsigned queue, std::uint64_t stamp) {
  const auto& qt = queue_templates_[queue];
  std::size_t& c = cursor_[queue];
  const InviteTemplate& t = templates_[qt[c]];
  if (++c == qt.size()) c = 0;
  auto* d = rte_pktmbuf_mtod(m, std::uint8_t*);
  const auto len = static_cast<std::uint16_t>(t.frame.size());
  std::memcpy(d, t.frame.data(), len);
  m->data_len = len;
  m->pkt_len = len;
  const National caller = t.kind == MixKind::caller_hit && !hit_callers_.empty()
                              ? hit_callers_[xorshift(rng_) % hit_callers_.size()]
                              : random_mobile(rng_);
  put_number(d, t.caller_digits, caller);
  if (!t.callee_digits.empty()) put_number(d, t.callee_digits, random_mobile(rng_));
  if (cfg_.fresh_call_ids) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::uint64_t n = ++calls_;
    for (int i = 0; i < 16; ++i) d[t.call_id_offset + i] = static_cast<std::uint8_t>(kHex[(n >> (60 - 4 * i)) & 0xF]);
  }
  if (t.ipv6) fix_ipv6_udp_checksum(d, t.l3_offset);
  *RTE_MBUF_DYNFIELD(m, stamp_offset_, std::uint64_t*) = stamp;
  *RTE_MBUF_DYNFIELD(m, kind_offset_, std::uint8_t*) = static_cast<std::uint8_t>(t.kind);
}

void Harness::generate_saturated(PhaseResult& r, bool record) {
  rte_mbuf* ms[128];
  for (unsigned q = 0; q < cfg_.workers; ++q) {
    rte_ring* ring = trunk_rx_[q];
    const unsigned free = rte_ring_free_count(ring);
    const unsigned depth = rte_ring_get_capacity(ring) - free;
    if (record) {
      // The ring only shrinks between refills, so a depth of at least one
      // burst here means the worker found a full burst every time since the
      // last refill: the worker, not the generator, set the pace.
      r.depth_samples++;
      r.depth_empty += depth == 0;
      r.depth_below_burst += depth < kBurst;
      r.depth_min = std::min(r.depth_min, depth);
    }
    if (free < kBurst) continue;
    const unsigned n = std::min(free, 128U);
    if (rte_pktmbuf_alloc_bulk(dp_.pool, ms, n) != 0) {
      r.gen_alloc_failed += record;
      continue;
    }
    const std::uint64_t stamp = rte_rdtsc();
    for (unsigned i = 0; i < n; ++i) fill(ms[i], q, stamp);
    const unsigned done = rte_ring_sp_enqueue_burst(ring, reinterpret_cast<void**>(ms), n, nullptr);
    if (record) {
      r.offered += done;
      for (unsigned i = 0; i < done; ++i)
        r.offered_kind[*RTE_MBUF_DYNFIELD(ms[i], kind_offset_, std::uint8_t*) % kMixKinds]++;
    }
    if (done < n) rte_pktmbuf_free_bulk(ms + done, n - done);
  }
}

void Harness::generate_paced(PhaseResult& r, std::uint64_t now, bool record) {
  const auto due = static_cast<std::uint64_t>(static_cast<double>(now - pace_start_) * pace_per_cycle_);
  if (due <= pace_sent_) return;
  std::uint64_t behind = due - pace_sent_;
  // More than 200 us behind (the main lcore was preempted): drop the backlog
  // rather than send it as one burst the worker never asked for.
  if (static_cast<double>(behind) > pace_per_cycle_ * static_cast<double>(tsc_hz_) * 200e-6 + kBurst) {
    pace_sent_ = due - 1;
    behind = 1;
  }
  const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(behind, kBurst));
  rte_mbuf* ms[kBurst];
  if (rte_pktmbuf_alloc_bulk(dp_.pool, ms, n) != 0) {
    r.gen_alloc_failed += record;
    return;
  }
  for (unsigned i = 0; i < n; ++i) {
    const unsigned q = pace_queue_++ % cfg_.workers;
    fill(ms[i], q, now);
    if (rte_ring_sp_enqueue(trunk_rx_[q], ms[i]) != 0) {
      rte_pktmbuf_free(ms[i]);
      r.gen_ring_full += record;
    } else if (record) {
      r.offered++;
      r.offered_kind[*RTE_MBUF_DYNFIELD(ms[i], kind_offset_, std::uint8_t*) % kMixKinds]++;
    }
  }
  pace_sent_ += n;
}

void Harness::sink(PhaseResult& r, bool record) {
  rte_mbuf* b[256];
  for (unsigned q = 0; q < cfg_.workers; ++q) {
    unsigned n = rte_ring_sc_dequeue_burst(core_tx_[q], reinterpret_cast<void**>(b), 256, nullptr);
    if (n) {
      if (record) {
        const std::uint64_t now = rte_rdtsc();
        for (unsigned i = 0; i < n; ++i) {
          const std::uint64_t s = *RTE_MBUF_DYNFIELD(b[i], stamp_offset_, std::uint64_t*);
          if (s && s < now) r.latency.add(static_cast<std::uint64_t>(static_cast<double>(now - s) * ns_per_cycle_));
          r.sink_forwarded_kind[*RTE_MBUF_DYNFIELD(b[i], kind_offset_, std::uint8_t*) % kMixKinds]++;
        }
        r.sink_forwarded += n;
      }
      rte_pktmbuf_free_bulk(b, n);
    }
    n = rte_ring_sc_dequeue_burst(trunk_tx_[q], reinterpret_cast<void**>(b), 256, nullptr);
    if (n) {
      if (record) {
        for (unsigned i = 0; i < n; ++i) {
          const auto* f = rte_pktmbuf_mtod(b[i], const std::uint8_t*);
          net::DecodedPacket d;
          std::string_view p;
          if (net::decode_frame(f, rte_pktmbuf_data_len(b[i]), d) == net::DecodeResult::ok) p = d.payload(f);
          if (p.rfind("SIP/2.0 608 ", 0) == 0)
            r.sink_608++;
          else if (p.rfind("SIP/2.0 603 ", 0) == 0)
            r.sink_603++;
          else
            r.sink_other++;
        }
      }
      rte_pktmbuf_free_bulk(b, n);
    }
  }
  // Verdict trace records, watch copies and call records: the product's main lcore drains them too.
  dataplane::TraceRecord tr[32];
  rte_mbuf* copies[32];
  protocol::CallRecordWire cr[32];
  std::uint64_t unreadable = 0;
  for (auto& w : dp_.workers) {
    rte_ring_sc_dequeue_burst_elem(w->trace_ring, tr, sizeof(dataplane::TraceRecord), 32, nullptr);
    const unsigned n = rte_ring_sc_dequeue_burst(w->watch_ring, reinterpret_cast<void**>(copies), 32, nullptr);
    if (n) rte_pktmbuf_free_bulk(copies, n);
    while (w->record_ring != nullptr &&
           dataplane::drain_record_ring(w->record_ring, record_clock_, reinterpret_cast<std::uint8_t*>(cr), 32,
                                        unreadable) == 32) {
    }
  }
}

void Harness::pump(PhaseResult& r, std::uint64_t until, bool record) {
  for (;;) {
    const std::uint64_t now = rte_rdtsc();
    if (now >= until) return;
    if (r.spec.rate_pps > 0)
      generate_paced(r, now, record);
    else
      generate_saturated(r, record);
    sink(r, record);
  }
}

void Harness::drain_all() {
  rte_mbuf* b[256];
  for (auto* set : {&trunk_rx_, &trunk_tx_, &core_rx_, &core_tx_})
    for (rte_ring* ring : *set) {
      unsigned n;
      while ((n = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(b), 256, nullptr)) > 0)
        rte_pktmbuf_free_bulk(b, n);
    }
  dataplane::TraceRecord tr[32];
  protocol::CallRecordWire cr[32];
  std::uint64_t unreadable = 0;
  for (auto& w : dp_.workers) {
    while (rte_ring_sc_dequeue_burst_elem(w->trace_ring, tr, sizeof(dataplane::TraceRecord), 32, nullptr) > 0) {
    }
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(w->watch_ring, reinterpret_cast<void**>(b), 256, nullptr)) > 0)
      rte_pktmbuf_free_bulk(b, n);
    while (w->record_ring != nullptr &&
           dataplane::drain_record_ring(w->record_ring, record_clock_, reinterpret_cast<std::uint8_t*>(cr), 32,
                                        unreadable) > 0) {
    }
  }
}

Harness::Snapshot Harness::snapshot() {
  Snapshot s;
  s.tsc = rte_rdtsc();
  s.wall = wall_now();
  for (unsigned i = 0; i < cfg_.workers; ++i) {
    s.counters.push_back(dp_.counters[i]);
    s.cpu.push_back(thread_cpu_s(worker_threads_[i]));
    s.io.push_back(g_io[i].packets.load(std::memory_order_relaxed));
    s.invol += involuntary_switches(worker_tids_[i]);
    const auto& p = *static_cast<const LoopProbe*>(probes_[i]);
    const std::atomic<std::uint64_t>* f[8] = {&p.busy_loops,        &p.busy_packets,    &p.busy_cycles,
                                              &p.idle_loops,        &p.idle_cycles,     &p.preempted_loops,
                                              &p.preempted_packets, &p.preempted_cycles};
    for (unsigned k = 0; k < 8; ++k) s.loops[k] += f[k]->load(std::memory_order_relaxed);
  }
  return s;
}

template <class Flip>
void Harness::alternate(PhaseResult& r, std::uint64_t until, double ms, AlternateSide& first, AlternateSide& second,
                        Flip&& flip) {
  // Only the probes' sums are read between slices (no system calls), so the
  // generator keeps the rings full across the switch. The worker reads what
  // flip() changed once per loop: the loop running at a switch counts for
  // the new side (one loop of ~32 packets in a slice of tens of thousands).
  auto busy = [this] {
    std::pair<std::uint64_t, std::uint64_t> s{0, 0};
    for (unsigned i = 0; i < cfg_.workers; ++i) {
      const auto& p = *static_cast<const LoopProbe*>(probes_[i]);
      s.first += p.busy_cycles.load(std::memory_order_relaxed);
      s.second += p.busy_packets.load(std::memory_order_relaxed);
    }
    return s;
  };
  const auto slice = static_cast<std::uint64_t>(ms * static_cast<double>(tsc_hz_) / 1000.0);
  bool on_second = false;
  flip(false);
  auto before = busy();
  for (std::uint64_t now = rte_rdtsc(); now < until; now = rte_rdtsc()) {
    pump(r, std::min(now + slice, until), true);
    const auto after = busy();
    AlternateSide& side = on_second ? second : first;
    const std::uint64_t cycles = after.first - before.first, packets = after.second - before.second;
    side.busy_cycles += cycles;
    side.busy_packets += packets;
    if (packets != 0)
      side.slice_cycles_per_packet.push_back(static_cast<double>(cycles) / static_cast<double>(packets));
    before = after;
    on_second = !on_second;
    flip(on_second);
  }
  flip(false);
}

PhaseResult Harness::run(const PhaseSpec& spec) {
  PhaseResult r;
  r.spec = spec;
  r.depth_min = cfg_.ring_size;
  dp_.quit.store(false);
  pace_start_ = rte_rdtsc();
  pace_sent_ = 0;
  pace_per_cycle_ = spec.rate_pps / static_cast<double>(tsc_hz_);
  for (unsigned i = 0; i < cfg_.workers; ++i) {
    auto& w = *dp_.workers[i];
    if (spec.mode == PhaseMode::pipeline)
      rte_eal_remote_launch(dataplane::worker_main, &w, w.lcore);
    else
      rte_eal_remote_launch(io_forward, &g_io[i], w.lcore);
  }
  const bool reload = !spec.reload_artifacts.empty() && spec.swaps > 0 && spec.rate_pps > 0;
  Snapshot a, b;
  if (!reload) {
    pump(r, rte_rdtsc() + static_cast<std::uint64_t>(spec.warmup * static_cast<double>(tsc_hz_)), false);
    a = snapshot();
    const std::uint64_t until = a.tsc + static_cast<std::uint64_t>(spec.seconds * static_cast<double>(tsc_hz_));
    if (spec.records_alternate_ms > 0) {
      alternate(r, until, spec.records_alternate_ms, r.records_on, r.records_paused,
                [this](bool second) { dp_.records_paused.store(second); });
    } else if (spec.artifact_alternate_ms > 0 && alternate_set_ != nullptr && dp_.current.load() == first_set_) {
      // Neither set is freed while the workers run, so a plain store is
      // enough (no grace period to wait for).
      alternate(r, until, spec.artifact_alternate_ms, r.artifact_first, r.artifact_second,
                [this](bool second) { dp_.current.store(second ? alternate_set_ : first_set_); });
    } else {
      pump(r, until, true);
    }
    b = snapshot();
  } else {
    // No warm-up: the rings are empty, so everything sent after this
    // snapshot is counted, and everything counted was sent after it.
    a = snapshot();
    std::atomic<bool> swapping{true}, swaps_done{false};
    std::thread swapper([&] {
      const auto gap = std::chrono::duration<double>(spec.seconds / spec.swaps);
      auto next = std::chrono::steady_clock::now();
      for (unsigned k = 0; k < spec.swaps && swapping.load(); ++k) {
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(gap);
        std::this_thread::sleep_until(next);
        const auto t0 = std::chrono::steady_clock::now();
        std::string err;
        auto fresh = dataplane::RuntimeSet::load(spec.reload_artifacts[k % spec.reload_artifacts.size()], cfg_.workers,
                                                 err, dataplane::detect_options(dp_));
        if (!fresh) {
          r.swaps_failed++;
          continue;
        }
        const auto t1 = std::chrono::steady_clock::now();
        dataplane::RuntimeSet* old = dp_.current.exchange(fresh.release(), std::memory_order_acq_rel);
        rte_rcu_qsbr_synchronize(dp_.qsbr, RTE_QSBR_THRID_INVALID);
        const auto t2 = std::chrono::steady_clock::now();
        delete old;
        r.swap_load_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        r.swap_grace_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
      swaps_done.store(true);
    });
    // At least `seconds`, and until every swap is done (loads slower than the
    // gap run back to back); bounded at 4x + 30 s.
    const auto hz = static_cast<double>(tsc_hz_);
    const std::uint64_t end_min = a.tsc + static_cast<std::uint64_t>(spec.seconds * hz);
    const std::uint64_t end_max = a.tsc + static_cast<std::uint64_t>((spec.seconds * 4 + 30) * hz);
    for (;;) {
      pump(r, std::min(rte_rdtsc() + tsc_hz_ / 100, end_max), true);
      const std::uint64_t now = rte_rdtsc();
      if ((now >= end_min && swaps_done.load()) || now >= end_max) break;
    }
    swapping.store(false);
    // Stop sending; sink until the workers have taken everything and their
    // counters stand still (bounded: 2 s).
    const std::uint64_t limit = rte_rdtsc() + 2 * tsc_hz_;
    std::uint64_t last = ~0ULL;
    unsigned still = 0;
    r.drained = false;
    while (rte_rdtsc() < limit) {
      sink(r, true);
      bool empty = true;
      for (unsigned q = 0; q < cfg_.workers; ++q) empty &= rte_ring_count(trunk_rx_[q]) == 0;
      std::uint64_t seen = 0;
      for (unsigned i = 0; i < cfg_.workers; ++i) seen += dp_.counters[i].invites + dp_.counters[i].malformed;
      seen += r.sink_forwarded + r.sink_603 + r.sink_608 + r.sink_other;
      still = (empty && seen == last) ? still + 1 : 0;
      last = seen;
      if (still > 1000) {
        r.drained = true;
        break;
      }
      rte_delay_us_block(10);
    }
    swapper.join();
    b = snapshot();
  }
  dp_.quit.store(true);
  rte_eal_mp_wait_lcore();
  drain_all();
  for (void* p : probes_) static_cast<LoopProbe*>(p)->last_tsc = 0;  // next phase starts a fresh loop

  std::uint64_t* loop_fields[8] = {&r.busy_loops,  &r.busy_packets,    &r.busy_cycles,       &r.idle_loops,
                                   &r.idle_cycles, &r.preempted_loops, &r.preempted_packets, &r.preempted_cycles};
  for (unsigned k = 0; k < 8; ++k) *loop_fields[k] = b.loops[k] - a.loops[k];

  r.wall_s = b.wall - a.wall;
  r.tsc_cycles = b.tsc - a.tsc;
  r.invol_ctx_switches = b.invol - a.invol;
  for (unsigned i = 0; i < cfg_.workers; ++i) {
    const WorkerCounters& x = a.counters[i];
    const WorkerCounters& y = b.counters[i];
    std::uint64_t pk = spec.mode == PhaseMode::io ? b.io[i] - a.io[i] : y.rx_packets[0] - x.rx_packets[0];
    r.worker_packets.push_back(pk);
    r.worker_cpu_s.push_back(b.cpu[i] - a.cpu[i]);
    r.packets += pk;
    r.invites += y.invites - x.invites;
    r.forwarded += y.forwarded - x.forwarded;
    r.dropped += y.dropped - x.dropped;
    r.rejected += y.rejected - x.rejected;
    r.tagged += y.tagged - x.tagged;
    r.malformed += y.malformed - x.malformed;
    r.no_ruleset += y.no_ruleset - x.no_ruleset;
    r.tx_dropped += y.tx_dropped - x.tx_dropped;
    r.traced += y.traced - x.traced;
    r.trace_ring_full += y.trace_ring_full - x.trace_ring_full;
    r.replies_sent += y.replies_sent - x.replies_sent;
    r.watch_copied += y.watch_copied - x.watch_copied;
    r.watch_lost += (y.watch_ring_full - x.watch_ring_full) + (y.watch_no_mbuf - x.watch_no_mbuf);
    for (unsigned v = 0; v < 5; ++v) r.verdicts[v] += y.verdicts[v] - x.verdicts[v];
  }
  return r;
}

void Harness::shutdown() {
  if (!eal_up_) return;
  if (!dp_.ports.empty()) dataplane::teardown_dataplane(dp_);
  // The workers have stopped; teardown freed the current set, which is
  // never the alternate (every phase ends on the first set).
  delete alternate_set_;
  alternate_set_ = nullptr;
  for (void* p : probes_) delete static_cast<LoopProbe*>(p);
  probes_.clear();
  rte_eal_cleanup();
  eal_up_ = false;
}

}  // namespace sipwall::perf
