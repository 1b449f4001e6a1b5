// Parse + normalise cost per INVITE, next to a baseline measured in the same
// run: memchr for every LF over the same bytes (the least any line-based
// parser must do). Input: the INVITEs of a pcap (default: the bundled
// sample, ~900-byte INVITEs with SDP in a dozen number formats; the
// whole-pipeline mix is `bench_pipeline --write-pcap FILE`, 2048 INVITEs).
// Ratios use CPU time, which other work on the machine inflates less than
// wall time.
//
//   build/bin/bench_parse [--pcap FILE] [--benchmark_* flags]
// (default: 5 repetitions, medians; --benchmark_repetitions=N overrides)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "control/common/sip_input.h"
#include "dataplane/sip/sip_message.h"
#include "rules/number/normalize.h"

namespace {

std::vector<std::string> g_messages;  // INVITE payloads
std::size_t g_total_bytes = 0;
const sipwall::number::DialPlan g_plan = sipwall::number::DialPlan::china();

void load_invites(const std::string& pcap) {
  sipwall::control::InputStats stats;
  std::string err;
  sipwall::control::read_sip_input(
      pcap, {}, stats,
      [&](const sipwall::control::SipPayload& p) {
        if (p.not_inspected == sipwall::control::NotInspected::no && p.bytes.rfind("INVITE ", 0) == 0)
          g_messages.push_back(p.bytes);
      },
      err);
  if (!err.empty() || g_messages.empty()) {
    std::fprintf(stderr, "bench_parse: no INVITEs in %s %s\n", pcap.c_str(), err.c_str());
    std::exit(2);
  }
  for (auto& m : g_messages) g_total_bytes += m.size();
}

void set_counters(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_messages.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_total_bytes));
  state.counters["ns_per_msg"] =
      benchmark::Counter(static_cast<double>(state.iterations() * g_messages.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

// Baseline: find every line end with memchr.
void BM_MemchrLF(benchmark::State& state) {
  for (auto _ : state) {
    std::size_t lines = 0;
    for (const std::string& m : g_messages) {
      const char* p = m.data();
      const char* end = p + m.size();
      while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
        ++lines;
        ++p;
      }
    }
    benchmark::DoNotOptimize(lines);
  }
  set_counters(state);
}

void BM_Parse(benchmark::State& state) {
  static sipwall::sip::Message msg;
  for (auto _ : state) {
    for (const std::string& m : g_messages) {
      auto e = sipwall::sip::parse_message(m, msg);
      benchmark::DoNotOptimize(e);
      benchmark::DoNotOptimize(msg.call_id.data());
    }
  }
  set_counters(state);
}

std::uint64_t normalise(const sipwall::sip::Uri& u) {
  auto n = sipwall::number::normalize(u.number_text(), u.phone_context(), g_plan);
  return n.key;
}

// Everything the classifier needs from a message: parse, then normalise
// From, To, Request-URI, every P-Asserted-Identity, Remote-Party-ID and
// Diversion value.
void BM_ParseNormalize(benchmark::State& state) {
  static sipwall::sip::Message msg;
  for (auto _ : state) {
    for (const std::string& m : g_messages) {
      if (sipwall::sip::parse_message(m, msg) != sipwall::sip::ParseError::none) continue;
      std::uint64_t acc = normalise(msg.from.uri) ^ normalise(msg.to.uri) ^ normalise(msg.request_uri);
      for (std::size_t i = 0; i < msg.pai_count; ++i) acc ^= normalise(msg.pai[i].uri);
      if (msg.remote_party_id.present) acc ^= normalise(msg.remote_party_id.uri);
      for (std::size_t i = 0; i < msg.diversion_count; ++i) acc ^= normalise(msg.diversion[i].uri);
      benchmark::DoNotOptimize(acc);
    }
  }
  set_counters(state);
}

BENCHMARK(BM_MemchrLF);
BENCHMARK(BM_Parse);
BENCHMARK(BM_ParseNormalize);

// Prints the ratio to the baseline after the usual table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // A custom reporter ignores --benchmark_color, so decide here: colour only
  // on a terminal and unless asked not to.
  explicit RatioReporter(bool color) : ConsoleReporter(color ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      // With repetitions, the median run stands for the benchmark.
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      const std::string& name = r.run_name.function_name;
      ns_[name] = r.GetAdjustedCPUTime() / static_cast<double>(g_messages.size());
      wall_ns_[name] = r.GetAdjustedRealTime() / static_cast<double>(g_messages.size());
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const double base = ns_.count("BM_MemchrLF") ? ns_["BM_MemchrLF"] : 0.0;
    std::printf(
        "\n%zu INVITEs, %.0f bytes average; per INVITE, CPU time (wall time in brackets:\n"
        "they differ when other work shares the CPU; the CPU figures are the ones to compare)\n",
        g_messages.size(), static_cast<double>(g_total_bytes) / static_cast<double>(g_messages.size()));
    // Only what ran (a --benchmark_filter may leave some out).
    for (const char* name : {"BM_MemchrLF", "BM_Parse", "BM_ParseNormalize"}) {
      const auto it = ns_.find(name);
      if (it == ns_.end()) continue;
      const double ns = it->second;
      std::printf("%-20s %8.1f ns/INVITE (%7.1f) %8.2f M INVITEs/s  %5.2fx baseline\n", name, ns, wall_ns_[name],
                  1e3 / ns, base > 0 ? ns / base : 0.0);
    }
    const auto pn = ns_.find("BM_ParseNormalize");
    if (base > 0 && pn != ns_.end()) {
      std::printf("aim: parse + normalise within 2x the baseline: %.2fx, %s\n", pn->second / base,
                  pn->second <= 2 * base ? "met" : "NOT met");
    } else {
      std::printf(
          "aim: parse + normalise within 2x the baseline: not measured (needs BM_MemchrLF and "
          "BM_ParseNormalize)\n");
    }
  }

 private:
  std::map<std::string, double> ns_;       // CPU time
  std::map<std::string, double> wall_ns_;  // real time
};

}  // namespace

int main(int argc, char** argv) {
  std::string pcap = SIPWALL_SOURCE_DIR "/tests/data/sample.pcap";
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pcap") == 0 && i + 1 < argc) {
      pcap = argv[++i];
      continue;
    }
    rest.push_back(argv[i]);
  }
  // Five repetitions, medians reported, unless the caller chose: one run is
  // easily disturbed on a shared machine.
  bool reps = false;
  for (char* a : rest) reps = reps || std::strncmp(a, "--benchmark_repetitions", 23) == 0;
  static char rep_flag[] = "--benchmark_repetitions=5";
  static char agg_flag[] = "--benchmark_report_aggregates_only=true";
  if (!reps) {
    rest.push_back(rep_flag);
    rest.push_back(agg_flag);
  }
  int n = static_cast<int>(rest.size());
  load_invites(pcap);
  benchmark::Initialize(&n, rest.data());
  bool color = isatty(fileno(stdout)) != 0;
  for (char* a : rest) color = color && std::strcmp(a, "--benchmark_color=false") != 0;
  RatioReporter reporter(color);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
