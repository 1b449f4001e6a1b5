// Whole-pipeline benchmark: the product's worker (worker_main, unmodified)
// fed from memory through net_ring ports; see harness.h for the plumbing and
// docs/performance.md for the figures and how to read them.
//
//   sudo build/bin/bench_pipeline [--artifact SET.swr --label NAME] [--hits DIR]
//        [--phases io,saturation,latency] [--seconds 3] [--latency-load 0.5]
//        [--workers 1] [--json FILE|-]
//
// Phases:
//   io          harness baseline: a bare rx_burst->tx_burst loop on the worker
//               lcore instead of the pipeline (what generator + sink can carry)
//   saturation  the generator keeps the RX rings full: INVITEs/s, cycles and ns
//               per INVITE, and proof that the worker was the bottleneck
//   latency     paced at a fraction of the saturation rate: RX->TX p50/p99/p99.9
//   harness-latency  the latency phase's pacing through the bare io loop: the
//               latency the generator, rings, sink and machine add on their
//               own, the floor to read the latency phase against
//   reload      paced at each of --reload-loads x the saturation rate, --swaps
//               artifact swaps between --reload-artifacts during it; then every
//               INVITE sent is accounted for: lost, duplicated, misclassified
//               (expected verdicts of the full set of gen_ruleset.py, the same
//               in every artifact swapped in), swap latency
//
// Mix knobs (growth runs): --caller-hit/--prefix-hit/--agent-hit/--name-hit
// shares, --sip-bytes size aim.
#include <hs/hs.h>
#include <rte_version.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dataplane/watch/watch_filter.h"
#include "perf/pipeline/harness.h"

namespace {

using namespace sipwall;
using namespace sipwall::perf;
using nlohmann::json;

std::string first_line_of(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) {
      auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", c + 1));
    }
  }
  return "";
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  f >> a >> b >> c;
  char s[64];
  std::snprintf(s, sizeof s, "%.2f %.2f %.2f", a, b, c);
  return s;
}
double loadavg1() {
  std::ifstream f("/proc/loadavg");
  double a = 0;
  f >> a;
  return a;
}

bool write_pcap(const std::string& path, const std::vector<InviteTemplate>& templates) {
  std::ofstream f(path, std::ios::binary);
  const std::uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};  // v2.4, Ethernet
  f.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
  std::uint32_t i = 0;
  for (const auto& t : templates) {
    const auto len = static_cast<std::uint32_t>(t.frame.size());
    const std::uint32_t rec[4] = {1700000000U + i / 1000, (i % 1000) * 1000, len, len};
    f.write(reinterpret_cast<const char*>(rec), sizeof rec);
    f.write(reinterpret_cast<const char*>(t.frame.data()), len);
    ++i;
  }
  return static_cast<bool>(f);
}

struct Options {
  std::string artifact, label, hits, json_out, phases = "saturation,latency", eal, lcores, write_pcap;
  unsigned workers = 1, templates = 2048, ring_size = 4096, memory_mb = 512;
  double seconds = 3, warmup = 0.5, latency_load = 0.5, latency_rate = 0;
  std::uint64_t seed = 1;
  double caller_hit = 0.10, prefix_hit = 0.03, agent_hit = 0.01, name_hit = 0.01;
  unsigned sip_bytes = 0;
  std::string reload_artifacts, reload_loads = "0.5,0.9";
  unsigned swaps = 100;
  bool fresh_call_ids = false;
  std::string watch = "off";  // saturation phases run once per item (docs/export.md, docs/performance.md)
  bool records = false;
  double records_alternate_ms = 0;
  std::string alternate_artifact;
  double alternate_ms = 100;
};

// "off" or "KIND:VALUE" (a watch filter, dataplane/watch/watch_filter.h) as
// a one-filter WatchSet; null for "off". Exits on a bad item.
std::unique_ptr<watch::WatchSet> watch_set_of(const std::string& item) {
  if (item == "off") return nullptr;
  const std::size_t colon = item.find(':');
  std::string why;
  auto f =
      watch::parse_watch_filter(item.substr(0, colon), colon == std::string::npos ? "" : item.substr(colon + 1), why);
  if (!f) {
    std::fprintf(stderr, "bench_pipeline: --watch %s: %s\n", item.c_str(), why.c_str());
    std::exit(2);
  }
  auto s = std::make_unique<watch::WatchSet>();
  s->generation = 1;
  s->used = 1;
  s->filters[0] = *f;
  s->since[0] = 1;
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string p;
  while (std::getline(ss, p, sep))
    if (!p.empty()) out.push_back(p);
  return out;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// An alternating phase (--records-alternate, --alternate-artifact): each
// side's cycles per INVITE over all its slices, the rise of `with` over
// `without`, and the median of the rises of neighbouring slices (slice k of
// one side against slice k of the other, ~one slice apart: what the machine
// did in between cancels out).
json alternate_json(double slice_ms, const char* with_name, const AlternateSide& with, const char* without_name,
                    const AlternateSide& without) {
  auto side = [](const AlternateSide& a) {
    return json{{"cycles_per_invite",
                 a.busy_packets ? static_cast<double>(a.busy_cycles) / static_cast<double>(a.busy_packets) : 0},
                {"packets", a.busy_packets},
                {"slices", a.slice_cycles_per_packet.size()}};
  };
  json j = {{"slice_ms", slice_ms}, {with_name, side(with)}, {without_name, side(without)}};
  const double on = j[with_name]["cycles_per_invite"].get<double>();
  const double off = j[without_name]["cycles_per_invite"].get<double>();
  j["rise"] = off > 0 ? on / off - 1 : 0;
  std::vector<double> pairs;
  const auto& a = with.slice_cycles_per_packet;
  const auto& b = without.slice_cycles_per_packet;
  for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k)
    if (b[k] > 0) pairs.push_back(a[k] / b[k] - 1);
  j["rise_median_of_pairs"] = median(pairs);
  return j;
}

json records_alternate_json(const PhaseResult& r) {
  return alternate_json(r.spec.records_alternate_ms, "on", r.records_on, "paused", r.records_paused);
}

// The alternate artifact against the first (--alternate-artifact: e.g. the
// base set plus detectors against the base set).
json artifact_alternate_json(const PhaseResult& r) {
  return alternate_json(r.spec.artifact_alternate_ms, "alternate", r.artifact_second, "artifact", r.artifact_first);
}

json phase_json(const PhaseResult& r, std::uint64_t tsc_hz) {
  const double hz = static_cast<double>(tsc_hz);
  const double cpu = sum(r.worker_cpu_s);
  const bool io = r.spec.mode == PhaseMode::io;
  const double units = static_cast<double>(io ? r.packets : r.invites);
  const double cyc = r.busy_packets ? static_cast<double>(r.busy_cycles) / static_cast<double>(r.busy_packets) : 0;
  const double loop_cycles = static_cast<double>(r.busy_cycles + r.idle_cycles + r.preempted_cycles);
  const double run_cycles = static_cast<double>(r.busy_cycles + r.idle_cycles);  // not preempted
  json j = {
      {"phase", r.spec.name},
      {"mode", io ? "io" : "pipeline"},
      {"workers", r.worker_cpu_s.size()},
      {"seconds", r.wall_s},
      {"offered_pps_target", r.spec.rate_pps},
      {"offered_pps", static_cast<double>(r.offered) / r.wall_s},
      {"packets", r.packets},
      {"invites", r.invites},
      {"mpps_wall", units / r.wall_s / 1e6},
      {"cycles_per_invite", cyc},
      {"watch_copied", r.watch_copied},
      {"watch_lost", r.watch_lost},
      {"ns_per_invite", cyc / hz * 1e9},
      {"mpps_per_core", cyc > 0 ? hz / cyc / 1e6 : 0},
      {"worker_loops",
       {{"busy", r.busy_loops},
        {"busy_packets", r.busy_packets},
        {"busy_cycles", r.busy_cycles},
        {"packets_per_busy_loop",
         r.busy_loops ? static_cast<double>(r.busy_packets) / static_cast<double>(r.busy_loops) : 0},
        {"idle", r.idle_loops},
        {"idle_cycles", r.idle_cycles},
        {"idle_share", run_cycles > 0 ? static_cast<double>(r.idle_cycles) / run_cycles : 0},
        {"preempted", r.preempted_loops},
        {"preempted_packets", r.preempted_packets},
        {"preempted_cycles", r.preempted_cycles},
        {"preempted_share", loop_cycles > 0 ? static_cast<double>(r.preempted_cycles) / loop_cycles : 0}}},
      {"cpu_time",
       {{"worker_cpu_s", r.worker_cpu_s},
        {"mpps_per_cpu_second", cpu > 0 ? units / cpu / 1e6 : 0},
        {"ns_per_invite", units > 0 ? cpu * 1e9 / units : 0},
        {"tsc_cycles_wall_per_invite",
         units > 0 ? static_cast<double>(r.tsc_cycles) * static_cast<double>(r.worker_cpu_s.size()) / units : 0},
        {"involuntary_context_switches", r.invol_ctx_switches}}},
      {"worker_packets", r.worker_packets},
      {"latency_us",
       {{"samples", r.latency.count()},
        {"p50", r.latency.percentile_us(0.50)},
        {"p99", r.latency.percentile_us(0.99)},
        {"p99_9", r.latency.percentile_us(0.999)},
        {"max", r.latency.max_us()}}},
      {"rx_ring_seen_by_generator",
       {{"samples", r.depth_samples},
        {"empty", r.depth_empty},
        {"below_one_burst", r.depth_below_burst},
        {"min_depth", r.depth_min}}},
      {"worker_counters",
       {{"forwarded", r.forwarded},
        {"dropped", r.dropped},
        {"rejected", r.rejected},
        {"tagged", r.tagged},
        {"malformed", r.malformed},
        {"no_ruleset", r.no_ruleset},
        {"replies_sent", r.replies_sent},
        {"tx_dropped", r.tx_dropped},
        {"traced", r.traced},
        {"trace_ring_full", r.trace_ring_full},
        {"verdicts",
         {{"pass", r.verdicts[0]},
          {"drop", r.verdicts[1]},
          {"reject", r.verdicts[2]},
          {"tag", r.verdicts[3]},
          {"trace", r.verdicts[4]}}}}},
      {"sink",
       {{"forwarded", r.sink_forwarded},
        {"replies_603", r.sink_603},
        {"replies_608", r.sink_608},
        {"other", r.sink_other}}},
      {"generator", {{"ring_full", r.gen_ring_full}, {"alloc_failed", r.gen_alloc_failed}}},
  };
  if (r.latency.count()) {  // CDF points for plots: [latency us, fraction below]
    json cdf = json::array();
    std::vector<double> qs = {0.001, 0.005};
    for (int k = 1; k < 100; ++k) qs.push_back(k / 100.0);
    for (double q : {0.995, 0.998, 0.999, 0.9995, 0.9999, 1.0}) qs.push_back(q);
    for (double q : qs) cdf.push_back({r.latency.percentile_us(q), q});
    j["latency_us"]["cdf"] = cdf;
  }
  for (unsigned k = 0; k < kMixKinds; ++k) {
    j["offered_kind"][to_string(static_cast<MixKind>(k))] = r.offered_kind[k];
    j["sink"]["forwarded_kind"][to_string(static_cast<MixKind>(k))] = r.sink_forwarded_kind[k];
  }
  if (r.spec.records_alternate_ms > 0) j["records_alternate"] = records_alternate_json(r);
  if (r.spec.artifact_alternate_ms > 0 && !r.artifact_second.slice_cycles_per_packet.empty())
    j["artifact_alternate"] = artifact_alternate_json(r);
  if (!r.spec.reload_artifacts.empty()) {
    // Expected verdicts of the full set (gen_ruleset.py) by kind.
    const std::uint64_t* o = r.offered_kind;
    const std::uint64_t exp[4] = {o[0], o[2] + o[3], o[1], o[4]};  // pass, drop, reject, tag
    std::uint64_t got_total = r.malformed, diff = 0;
    for (unsigned v = 0; v < 4; ++v) {
      got_total += r.verdicts[v];
      diff += r.verdicts[v] > exp[v] ? r.verdicts[v] - exp[v] : exp[v] - r.verdicts[v];
    }
    const std::uint64_t fwd_expected =
        r.verdicts[0] + r.verdicts[3] - std::min(r.tx_dropped, r.verdicts[0] + r.verdicts[3]);
    const std::uint64_t fwd_wrong = r.sink_forwarded_kind[1] + r.sink_forwarded_kind[2] + r.sink_forwarded_kind[3];
    auto pos = [](std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; };
    const std::uint64_t lost =
        pos(r.offered, got_total) + pos(fwd_expected, r.sink_forwarded) + pos(r.verdicts[2], r.sink_608);
    const std::uint64_t dup =
        pos(got_total, r.offered) + pos(r.sink_forwarded, fwd_expected) + pos(r.sink_608, r.verdicts[2]);
    j["reload"] = {
        {"swaps", r.swap_grace_ms.size()},
        {"swaps_asked", r.spec.swaps},
        {"swaps_failed", r.swaps_failed},
        {"artifacts", r.spec.reload_artifacts},
        {"drained", r.drained},
        {"not_sent_rx_ring_full", r.gen_ring_full},
        {"lost", lost},
        {"duplicated", dup},
        {"misclassified", std::max<std::uint64_t>(diff / 2, fwd_wrong)},
        {"forwarded_wrong_kind", fwd_wrong},
        {"expected", {{"pass", exp[0]}, {"drop", exp[1]}, {"reject", exp[2]}, {"tag", exp[3]}}},
        {"swap_load_ms", {{"p50", percentile(r.swap_load_ms, 0.5)}, {"max", percentile(r.swap_load_ms, 1.0)}}},
        {"swap_grace_ms", {{"p50", percentile(r.swap_grace_ms, 0.5)}, {"max", percentile(r.swap_grace_ms, 1.0)}}},
        {"swap_total_ms_p50", percentile(r.swap_load_ms, 0.5) + percentile(r.swap_grace_ms, 0.5)}};
  }
  return j;
}

std::string pct(std::uint64_t part, std::uint64_t whole) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return s;
}

#define SIPWALL_ROW_FORMAT "%-10s %-12s %2s %8s %6s %7s %6s %6s %7s %7s %7s %6s %6s  %s\n"

void print_header() {
  std::printf(SIPWALL_ROW_FORMAT, "ruleset", "phase", "W", "INVITEs", "Mpps", "cyc/INV", "ns/INV", "Mpps/c", "p50us",
              "p99us", "p99.9us", "idle", "preem", "verdicts");
}

void print_row(const std::string& label, const PhaseResult& r, std::uint64_t tsc_hz) {
  json j = phase_json(r, tsc_hz);
  const bool paced = r.spec.rate_pps > 0;
  const bool io = r.spec.mode == PhaseMode::io;
  char c[14][48];
  std::snprintf(c[0], 48, "%.2fM", static_cast<double>(io ? r.packets : r.invites) / 1e6);
  std::snprintf(c[1], 48, "%.3f", j["mpps_wall"].get<double>());
  std::snprintf(c[2], 48, "%.0f", j["cycles_per_invite"].get<double>());
  std::snprintf(c[3], 48, "%.0f", j["ns_per_invite"].get<double>());
  std::snprintf(c[4], 48, "%.2f", j["mpps_per_core"].get<double>());
  if (paced) {
    std::snprintf(c[5], 48, "%.1f", j["latency_us"]["p50"].get<double>());
    std::snprintf(c[6], 48, "%.1f", j["latency_us"]["p99"].get<double>());
    std::snprintf(c[7], 48, "%.1f", j["latency_us"]["p99_9"].get<double>());
    // Paced: the worker waits for packets by design; its busy loops are small bursts.
    std::snprintf(c[8], 48, "-");
  } else {
    std::snprintf(c[5], 48, "-");
    std::snprintf(c[6], 48, "-");
    std::snprintf(c[7], 48, "-");
    std::snprintf(c[8], 48, "%.1f%%", 100 * j["worker_loops"]["idle_share"].get<double>());
  }
  std::snprintf(c[9], 48, "%.1f%%", 100 * j["worker_loops"]["preempted_share"].get<double>());
  std::string verdicts = io ? "(bare rx->tx loop, not the pipeline)"
                            : "pass " + pct(r.verdicts[0], r.invites) + " drop " + pct(r.verdicts[1], r.invites) +
                                  " reject " + pct(r.verdicts[2], r.invites) + " tag " + pct(r.verdicts[3], r.invites);
  if (!io && r.no_ruleset) verdicts = "no rule set: " + pct(r.no_ruleset, r.invites) + " forwarded unclassified";
  std::printf(SIPWALL_ROW_FORMAT, label.c_str(), r.spec.name.c_str(), std::to_string(r.worker_cpu_s.size()).c_str(),
              c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], verdicts.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sipwall whole-pipeline benchmark (net_ring ports, the product's worker_main)"};
  Options o;
  app.add_option("--artifact", o.artifact, "Rule-set artifact to load (none: run without a rule set)");
  app.add_option("--label", o.label, "Name of the rule set in the table (default: file name, or 'none')");
  app.add_option("--hits", o.hits, "Directory with hit-callers.txt, hit-callees.txt, hit-agents.txt, hit-names.txt");
  app.add_option("--phases", o.phases, "Comma-separated: io, saturation, latency")->capture_default_str();
  app.add_option("--seconds", o.seconds, "Measured seconds per phase")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Warm-up seconds before each phase")->capture_default_str();
  app.add_option("--latency-load", o.latency_load, "Latency phase offered load, fraction of the saturation rate")
      ->capture_default_str();
  app.add_option("--latency-rate", o.latency_rate,
                 "Latency phase offered load in INVITEs/s (overrides --latency-load)");
  app.add_option("--workers", o.workers, "Worker lcores (each gets its own ring pair per port)")->capture_default_str();
  app.add_option("--lcores", o.lcores, "EAL --lcores map (default: main on CPU 0, worker k on CPU k mod CPUs)");
  app.add_option("--templates", o.templates, "Distinct INVITE templates in the mix")->capture_default_str();
  app.add_flag("--records", o.records,
               "Call records on (records.enabled): a record per new call into each worker's ring, drained and "
               "discarded");
  app.add_option("--records-alternate", o.records_alternate_ms,
                 "With --records: saturation phases pause and resume the records every this many ms and report "
                 "each side's cycles per INVITE (records_alternate in the JSON): their cost in one process")
      ->check(CLI::Range(1.0, 10000.0));
  app.add_option("--alternate-artifact", o.alternate_artifact,
                 "A second compiled set: saturation phases make it and --artifact current in turn every "
                 "--alternate-ms (both loaded first: no reload cost) and report each side's cycles per INVITE "
                 "(artifact_alternate in the JSON)");
  app.add_option("--alternate-ms", o.alternate_ms, "Slice of --alternate-artifact")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 10000.0));
  app.add_flag("--fresh-call-ids", o.fresh_call_ids,
               "A new Call-ID in every INVITE (behavioural detection counts only new calls)");
  app.add_option("--ring-size", o.ring_size, "Entries per RX/TX ring")->capture_default_str();
  app.add_option("--memory-mb", o.memory_mb, "EAL -m (no hugepages)")->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the INVITE mix")->capture_default_str();
  app.add_option("--caller-hit", o.caller_hit, "Share of INVITEs whose caller is on the list")->capture_default_str();
  app.add_option("--prefix-hit", o.prefix_hit, "Share whose callee is in a premium prefix")->capture_default_str();
  app.add_option("--agent-hit", o.agent_hit, "Share whose User-Agent matches a pattern")->capture_default_str();
  app.add_option("--name-hit", o.name_hit, "Share whose display name matches a pattern")->capture_default_str();
  app.add_option("--sip-bytes", o.sip_bytes, "SIP message size aim in bytes (0: natural ~1 KB)")->capture_default_str();
  app.add_option("--reload-artifacts", o.reload_artifacts, "reload phase: comma-separated artifacts to swap between");
  app.add_option("--reload-loads", o.reload_loads, "reload phase: offered loads, fractions of the saturation rate")
      ->capture_default_str();
  app.add_option("--swaps", o.swaps, "reload phase: artifact swaps per load")->capture_default_str();
  app.add_option("--watch", o.watch,
                 "Comma-separated watch filters, each 'off' or KIND:VALUE (rule:complaints, caller:+86...): every "
                 "saturation phase runs once per item, in order, named 'saturation watch=ITEM'")
      ->capture_default_str();
  app.add_option("--eal", o.eal, "Extra EAL arguments (space-separated)");
  app.add_option("--json", o.json_out,
                 "Also write the results as JSON to this file ('-' = stdout, instead of the table)");
  app.add_option("--write-pcap", o.write_pcap,
                 "Write the INVITE mix as a pcap (one frame per template, as the generator sends it) and exit; "
                 "look at it with tshark or 'sipwallctl rules explain'");
  CLI11_PARSE(app, argc, argv);

  if (o.write_pcap.empty() && geteuid() != 0) {
    std::fprintf(stderr, "bench_pipeline: DPDK's EAL needs root here (even with --no-huge); run it with sudo\n");
    return 1;
  }
  if (o.label.empty()) {
    o.label = o.artifact.empty() ? "none" : o.artifact.substr(o.artifact.find_last_of('/') + 1);
    if (auto dot = o.label.rfind('.'); dot != std::string::npos && dot > 0) o.label.resize(dot);
  }
  std::vector<std::string> phases;
  {
    std::stringstream ss(o.phases);
    std::string p;
    while (std::getline(ss, p, ','))
      if (!p.empty()) phases.push_back(p);
  }

  // The mix.
  MixSpec ms;
  ms.templates = o.templates;
  ms.seed = o.seed;
  ms.caller_hit = o.caller_hit;
  ms.prefix_hit = o.prefix_hit;
  ms.agent_hit = o.agent_hit;
  ms.name_hit = o.name_hit;
  ms.sip_bytes = o.sip_bytes;
  std::vector<National> hit_callers;
  if (!o.hits.empty()) {
    if (!load_hits(o.hits, ms, hit_callers))
      std::fprintf(stderr,
                   "bench_pipeline: warning: some hit files in %s are missing or empty; those INVITEs hit nothing\n",
                   o.hits.c_str());
  }
  MixSummary summary;
  std::vector<InviteTemplate> templates = build_mix(ms, summary);
  // The Call-ID digits the generator rewrites must be where it thinks.
  for (const InviteTemplate& t : templates) {
    for (int i = 0; i < 24; ++i) {
      const std::size_t at = t.call_id_offset + static_cast<std::size_t>(i);
      if (at >= t.frame.size() || !std::isxdigit(t.frame[at])) {
        std::fprintf(stderr, "bench_pipeline: a template's Call-ID is not where the mix says\n");
        return 1;
      }
    }
  }
  if (!o.write_pcap.empty()) {
    std::size_t hit = 0;
    for (auto& t : templates)  // as the generator would send them
      if (t.kind == MixKind::caller_hit && !hit_callers.empty()) {
        put_number(t.frame.data(), t.caller_digits, hit_callers[hit++ % hit_callers.size()]);
        if (t.ipv6) fix_ipv6_udp_checksum(t.frame.data(), t.l3_offset);
      }
    if (!write_pcap(o.write_pcap, templates)) {
      std::fprintf(stderr, "bench_pipeline: cannot write %s\n", o.write_pcap.c_str());
      return 1;
    }
    std::printf("wrote %zu frames to %s\n", templates.size(), o.write_pcap.c_str());
    return 0;
  }

  const std::string load_start = loadavg();
  const double load1_start = loadavg1();
  Harness h;
  HarnessConfig hc;
  hc.workers = o.workers;
  hc.ring_size = o.ring_size;
  hc.memory_mb = o.memory_mb;
  hc.lcores = o.lcores;
  hc.artifact = o.artifact;
  hc.fresh_call_ids = o.fresh_call_ids;
  hc.records = o.records;
  hc.alternate_artifact = o.alternate_artifact;
  if (!o.alternate_artifact.empty() && o.records_alternate_ms > 0) {
    std::fprintf(stderr, "bench_pipeline: --alternate-artifact and --records-alternate: one at a time\n");
    return 2;
  }
  if (o.records_alternate_ms > 0 && !o.records) {
    std::fprintf(stderr, "bench_pipeline: --records-alternate needs --records\n");
    return 2;
  }
  {
    std::stringstream ss(o.eal);
    std::string a;
    while (ss >> a) hc.eal_extra.push_back(a);
  }
  std::string err;
  if (!h.init(hc, argv[0], err)) {
    std::fprintf(stderr, "bench_pipeline: %s\n", err.c_str());
    h.shutdown();
    return 1;
  }
  h.set_mix(std::move(templates), std::move(hit_callers));

  // Run the phases.
  std::vector<PhaseResult> results;
  double saturation_pps = 0;
  for (const std::string& p : phases) {
    PhaseSpec s;
    s.name = p;
    s.seconds = o.seconds;
    s.warmup = o.warmup;
    if (p == "io") {
      s.mode = PhaseMode::io;
    } else if (p == "saturation") {
      s.records_alternate_ms = o.records_alternate_ms;
      if (!o.alternate_artifact.empty()) s.artifact_alternate_ms = o.alternate_ms;
      // Once per watch item: the packet path with and without watches in one run.
      const std::vector<std::string> items = split(o.watch, ',');
      for (const std::string& item : items) {
        std::unique_ptr<watch::WatchSet> ws = watch_set_of(item);
        h.set_watch(ws.get());
        PhaseSpec ss = s;
        if (items.size() > 1 || item != "off") ss.name = "saturation watch=" + item;
        results.push_back(h.run(ss));
        h.set_watch(nullptr);
        const PhaseResult& r = results.back();
        if (item == items.front() && r.busy_packets)
          saturation_pps = static_cast<double>(h.tsc_hz()) * static_cast<double>(r.busy_packets) /
                           static_cast<double>(r.busy_cycles) * static_cast<double>(o.workers);
      }
      continue;
    } else if (p == "latency") {
      s.rate_pps = o.latency_rate > 0 ? o.latency_rate : o.latency_load * saturation_pps;
      if (s.rate_pps <= 0) {
        std::fprintf(stderr, "bench_pipeline: latency phase needs a saturation phase before it or --latency-rate\n");
        continue;
      }
      s.name = "latency@" + std::to_string(static_cast<int>(s.rate_pps / 1000)) + "k";
    } else if (p == "harness-latency") {
      s.mode = PhaseMode::io;
      s.rate_pps = o.latency_rate > 0 ? o.latency_rate : o.latency_load * saturation_pps;
      if (s.rate_pps <= 0) {
        std::fprintf(stderr,
                     "bench_pipeline: harness-latency phase needs a saturation phase before it or --latency-rate\n");
        continue;
      }
      s.name = "harness-latency@" + std::to_string(static_cast<int>(s.rate_pps / 1000)) + "k";
    } else if (p == "reload") {
      if (saturation_pps <= 0 || o.reload_artifacts.empty()) {
        std::fprintf(stderr,
                     "bench_pipeline: reload phase needs a saturation phase before it and --reload-artifacts\n");
        continue;
      }
      for (const std::string& l : split(o.reload_loads, ',')) {
        PhaseSpec rs = s;
        rs.rate_pps = std::stod(l) * saturation_pps;
        rs.reload_artifacts = split(o.reload_artifacts, ',');
        rs.swaps = o.swaps;
        rs.name = "reload@" + std::to_string(static_cast<int>(std::stod(l) * 100 + 0.5)) + "%";
        results.push_back(h.run(rs));
      }
      continue;
    } else {
      std::fprintf(stderr, "bench_pipeline: unknown phase '%s'\n", p.c_str());
      h.shutdown();
      return 2;
    }
    results.push_back(h.run(s));
    const PhaseResult& r = results.back();
    // The latency phase is paced at a fraction of what one worker core does
    // (from its cycles per INVITE), not of the wall rate, which other load
    // on the machine depresses.
    if (p == "saturation" && r.busy_packets)
      saturation_pps = static_cast<double>(h.tsc_hz()) * static_cast<double>(r.busy_packets) /
                       static_cast<double>(r.busy_cycles) * static_cast<double>(o.workers);
  }
  const std::string load_end = loadavg();

  // Report.
  const auto& dp = h.dataplane();
  const dataplane::RuntimeSet* rs = dp.current.load();
  json set = {{"label", o.label}, {"artifact", o.artifact.empty() ? json(nullptr) : json(o.artifact)}};
  if (rs) {
    set["version"] = std::string(rs->set().version());
    set["rules"] = rs->set().rule_count();
    set["lists"] = rs->set().named_list_count();
    set["patterns"] = rs->set().patterns().size();
    set["trunks"] = rs->set().trunk_count();
    set["memory_bytes"] = rs->set().memory_bytes();
    set["load_ms"] = h.ruleset_load_ms();
  }
  json mix = {{"templates", summary.frames},
              {"frame_bytes", {{"avg", summary.avg_len}, {"min", summary.min_len}, {"max", summary.max_len}}},
              {"sip_bytes_avg", summary.avg_sip},
              {"ipv6", summary.ipv6},
              {"vlan", summary.vlan},
              {"pai", summary.pai},
              {"compact", summary.compact},
              {"ruri_tel", summary.ruri_tel}};
  for (unsigned k = 0; k < kMixKinds; ++k) mix["kinds"][to_string(static_cast<MixKind>(k))] = summary.by_kind[k];
  for (unsigned f = 0; f < 7; ++f) mix["caller_formats"][kCallerFormatNames[f]] = summary.caller_formats[f];
  json machine = {
      {"cpu", first_line_of("/proc/cpuinfo", "model name")},
      {"cpus", sysconf(_SC_NPROCESSORS_ONLN)},
      {"tsc_hz", h.tsc_hz()},
      {"dpdk", rte_version()},
      {"hyperscan", hs_version()},
      {"eal", "--no-huge -m " + std::to_string(o.memory_mb) + " --no-pci --no-shconf --lcores " + h.lcores()},
      {"loadavg_start", load_start},
      {"loadavg_end", load_end},
      {"under_load", load1_start > 1.0 || loadavg1() > 1.0}};
  json out = {{"machine", machine}, {"ruleset", set}, {"mix", mix}, {"phases", json::array()}};
  for (const auto& r : results) out["phases"].push_back(phase_json(r, h.tsc_hz()));

  if (o.json_out != "-") {
    std::printf("machine: %s, %ld CPUs, TSC %.0f MHz, %s, Hyperscan %s; EAL %s\n",
                machine["cpu"].get<std::string>().c_str(), sysconf(_SC_NPROCESSORS_ONLN),
                static_cast<double>(h.tsc_hz()) / 1e6, rte_version(), hs_version(),
                machine["eal"].get<std::string>().c_str());
    std::printf("load average: %s at start, %s at end%s\n", load_start.c_str(), load_end.c_str(),
                machine["under_load"].get<bool>() ? "  ** UNDER LOAD: other work shared these CPUs **" : "");
    if (rs)
      std::printf("rule set %s: %zu rules, %zu lists, %zu patterns, %zu trunks, %.1f MB in memory, loaded in %.0f ms\n",
                  o.label.c_str(), rs->set().rule_count(), rs->set().named_list_count(), rs->set().patterns().size(),
                  rs->set().trunk_count(), static_cast<double>(rs->set().memory_bytes()) / 1e6, h.ruleset_load_ms());
    else
      std::printf("rule set %s: none loaded (INVITEs are parsed, counted as no_ruleset and forwarded)\n",
                  o.label.c_str());
    std::printf("mix: %zu INVITE frames, %.0f B average (%zu..%zu), SIP %.0f B; ", summary.frames, summary.avg_len,
                summary.min_len, summary.max_len, summary.avg_sip);
    for (unsigned k = 0; k < kMixKinds; ++k)
      std::printf("%s %s, ", to_string(static_cast<MixKind>(k)), pct(summary.by_kind[k], summary.frames).c_str());
    std::printf("IPv6 %s, VLAN %s, PAI %s, compact %s, tel: R-URI %s\n", pct(summary.ipv6, summary.frames).c_str(),
                pct(summary.vlan, summary.frames).c_str(), pct(summary.pai, summary.frames).c_str(),
                pct(summary.compact, summary.frames).c_str(), pct(summary.ruri_tel, summary.frames).c_str());
    std::printf("caller formats:");
    for (unsigned f = 0; f < 7; ++f) std::printf(" %s %zu,", kCallerFormatNames[f], summary.caller_formats[f]);
    std::printf(
        " anonymous From (caller in PAI) %zu\n\n", summary.frames - [&] {
          std::size_t s = 0;
          for (auto c : summary.caller_formats) s += c;
          return s;
        }());
    print_header();
    for (const auto& r : results) print_row(o.label, r, h.tsc_hz());
    for (const auto& r : results) {
      if (r.spec.artifact_alternate_ms <= 0 || r.artifact_second.slice_cycles_per_packet.empty()) continue;
      const json a = artifact_alternate_json(r);
      std::printf(
          "\n%s: alternate set %.0f cycles/INVITE, first set %.0f (slices of %.0f ms: %zu each way): "
          "%+.1f%% (median of neighbouring slices %+.1f%%)\n",
          r.spec.name.c_str(), a["alternate"]["cycles_per_invite"].get<double>(),
          a["artifact"]["cycles_per_invite"].get<double>(), r.spec.artifact_alternate_ms,
          r.artifact_second.slice_cycles_per_packet.size(), 100 * a["rise"].get<double>(),
          100 * a["rise_median_of_pairs"].get<double>());
    }
    for (const auto& r : results) {
      if (r.spec.records_alternate_ms <= 0) continue;
      const json a = records_alternate_json(r);
      std::printf(
          "\n%s: call records on %.0f cycles/INVITE, paused %.0f (slices of %.0f ms: %zu on, %zu paused): "
          "%+.1f%% (median of neighbouring slices %+.1f%%)\n",
          r.spec.name.c_str(), a["on"]["cycles_per_invite"].get<double>(),
          a["paused"]["cycles_per_invite"].get<double>(), r.spec.records_alternate_ms,
          r.records_on.slice_cycles_per_packet.size(), r.records_paused.slice_cycles_per_packet.size(),
          100 * a["rise"].get<double>(), 100 * a["rise_median_of_pairs"].get<double>());
    }
    std::printf(
        "\nMpps = INVITEs through the workers per wall second (all workers).\n"
        "cyc/INV, ns/INV = worker TSC cycles per INVITE over the loops that got packets (full worker_main\n"
        "  loop: RX, decode, parse, classify, act, TX flush, RCU report); Mpps/c = what one core does at that cost.\n"
        "idle = share of the worker's (not preempted) time in loops that found the trunk RX ring empty (saturation: "
        "must be ~0, else the\n"
        "  generator, not the worker, set the pace); preem = time in loops over 1 ms (the worker thread was\n"
        "  preempted; left out of cyc/INV). Latency = RX ring enqueue -> core TX ring dequeue, forwarded INVITEs.\n");
    for (const auto& r : results) {
      if (r.malformed)
        std::printf("WARNING: %s: %lu INVITEs did not parse\n", r.spec.name.c_str(),
                    static_cast<unsigned long>(r.malformed));
      if (r.tx_dropped)
        std::printf("WARNING: %s: %lu TX drops\n", r.spec.name.c_str(), static_cast<unsigned long>(r.tx_dropped));
      if (r.gen_ring_full)
        std::printf("note: %s: %lu paced INVITEs found the RX ring full\n", r.spec.name.c_str(),
                    static_cast<unsigned long>(r.gen_ring_full));
      if (r.spec.mode == PhaseMode::pipeline && r.spec.rate_pps == 0 &&
          r.idle_cycles * 100 > r.busy_cycles + r.idle_cycles)
        std::printf(
            "WARNING: %s: the worker found its RX ring empty %s of its time: the wall rate is partly the generator's "
            "(cyc/INV is not affected)\n",
            r.spec.name.c_str(), pct(r.idle_cycles, r.busy_cycles + r.idle_cycles).c_str());
      if (r.spec.mode == PhaseMode::io)
        std::printf(
            "io: the bare loop waits for the generator (idle %s): its Mpps is what the generator and sink deliver\n",
            pct(r.idle_cycles, r.busy_cycles + r.idle_cycles).c_str());
      if (r.spec.rate_pps > 0)
        std::printf("%s: offered %.0f INVITEs/s of %.0f asked\n", r.spec.name.c_str(),
                    static_cast<double>(r.offered) / r.wall_s, r.spec.rate_pps);
      if (!r.spec.reload_artifacts.empty()) {
        const json rj = phase_json(r, h.tsc_hz())["reload"];
        std::printf(
            "%s: %s swaps (%u failed), lost %s, duplicated %s, misclassified %s%s; swap load p50 %.1f ms max %.1f ms, "
            "publish->grace p50 %.3f ms max %.3f ms\n",
            r.spec.name.c_str(), rj["swaps"].dump().c_str(), r.swaps_failed, rj["lost"].dump().c_str(),
            rj["duplicated"].dump().c_str(), rj["misclassified"].dump().c_str(),
            r.drained ? "" : " (NOT drained within 2 s)", rj["swap_load_ms"]["p50"].get<double>(),
            rj["swap_load_ms"]["max"].get<double>(), rj["swap_grace_ms"]["p50"].get<double>(),
            rj["swap_grace_ms"]["max"].get<double>());
      }
      if (r.spec.mode == PhaseMode::pipeline)
        std::printf("%s: replies seen 603=%lu 608=%lu, forwarded seen %lu, worker involuntary context switches %lu\n",
                    r.spec.name.c_str(), static_cast<unsigned long>(r.sink_603), static_cast<unsigned long>(r.sink_608),
                    static_cast<unsigned long>(r.sink_forwarded), static_cast<unsigned long>(r.invol_ctx_switches));
    }
  }
  if (!o.json_out.empty()) {
    if (o.json_out == "-") {
      std::cout << out.dump(2) << "\n";
    } else {
      std::ofstream f(o.json_out);
      f << out.dump(2) << "\n";
    }
  }
  h.shutdown();
  return 0;
}
