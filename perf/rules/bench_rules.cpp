// Google Benchmark: the matching side of rule sets.
//   BM_ExactFind/<numbers>/<hit%>   the exact-number table alone
//   <regexes>: -1 = the two-rule "numbers + trunk" set (1M caller numbers,
//   caller rule + trunk-class rule); 0 = the full synthetic set below;
//   1000 = that set plus 1000 User-Agent / display-name patterns.
//   BM_Classify/<regexes>           classify() per INVITE on 16384 pre-parsed
//                                   messages (each ~5 KB: the message struct
//                                   itself is cold), 1M numbers + 100k DNC +
//                                   1k prefixes + 100 ranges + 64 trunks,
//                                   10% caller hits
//   BM_ClassifyHot/<regexes>        the same, cycling over 256 messages (all cached)
//   BM_Parse                        sip::parse_message on the same INVITEs
//   BM_ParseClassify/<regexes>      parse + classify (classify = this - BM_Parse)
//   BM_ParseClassifyOverlapped/<regexes>  the worker's UDP order: message i's
//                                   verdict is taken after message i+1 is
//                                   parsed and started (classify::InFlight)
//   BM_ArtifactLoad                 load_artifact() of the 1M-number set
// Commands and figures: docs/matching.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/classify/classify.h"
#include "perf/rules/synthetic.h"
#include "rules/compiled/artifact.h"
#include "rules/compiled/exact_table.h"
#include "rules/compiler/compiler.h"
#include "rules/number/e164_key.h"

using namespace sipwall;

namespace {

// regexes == kMinimal: the two-rule "numbers + trunk" set.
constexpr std::int64_t kMinimal = -1;

const rules::CompiledRuleSet& set_with(std::int64_t regexes) {
  static std::map<std::int64_t, std::unique_ptr<rules::CompiledRuleSet>> sets;
  auto& s = sets[regexes];
  if (!s) {
    perf::SyntheticSpec spec;
    spec.minimal = regexes == kMinimal;
    spec.regexes = regexes > 0 ? static_cast<std::uint64_t>(regexes) : 0;
    rules::CompileResult r = rules::compile(perf::make_rule_set(spec));
    if (!r.ok()) std::abort();
    s = std::move(r.set);
  }
  return *s;
}

const std::vector<std::unique_ptr<perf::Call>>& calls() {
  static const auto c = perf::make_calls(perf::SyntheticSpec{}, 16384, 10, 99);
  return c;
}

void BM_ExactFind(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const auto hit_percent = static_cast<std::uint64_t>(state.range(1));
  perf::SyntheticSpec spec;
  spec.numbers = n;
  std::vector<number::E164Key> keys;
  keys.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) keys.push_back(number::pack(perf::block_number(spec, i)));
  std::sort(keys.begin(), keys.end());
  const std::vector<std::uint32_t> values(keys.size(), 1);
  const rules::ExactTable t = rules::ExactTable::build(keys, values);
  std::mt19937_64 rng(3);
  std::vector<number::E164Key> probes(1 << 16);
  for (auto& p : probes) {
    p = rng() % 100 < hit_percent ? keys[rng() % keys.size()]
                                  : number::pack(std::to_string(8610000000000ULL + rng() % 1000000000000ULL));
  }
  std::size_t i = 0;
  std::uint64_t found = 0;
  for (auto _ : state) {
    found += t.find(probes[i++ & (probes.size() - 1)]);
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bytes_per_number"] = static_cast<double>(t.bytes()) / static_cast<double>(n);
}
BENCHMARK(BM_ExactFind)->Args({1'000'000, 0})->Args({1'000'000, 10})->Args({10'000'000, 0});

void BM_Classify(benchmark::State& state) {
  const rules::CompiledRuleSet& set = set_with(state.range(0));
  const auto& c = calls();
  classify::Scratch scratch;
  if (!scratch.prepare(set)) std::abort();
  std::size_t i = 0;
  std::size_t non_pass = 0;
  for (auto _ : state) {
    const perf::Call& call = *c[i++ % c.size()];
    const classify::Verdict v = classify::classify(set, call.msg, call.src, scratch);
    non_pass += v.action != rules::ActionKind::pass;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["non_pass_pct"] = 100.0 * static_cast<double>(non_pass) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Classify)->Arg(kMinimal)->Arg(0)->Arg(1000);

void BM_Parse(benchmark::State& state) {
  const auto& c = calls();
  std::size_t i = 0;
  sip::Message m;
  for (auto _ : state) {
    const perf::Call& call = *c[i++ % c.size()];
    benchmark::DoNotOptimize(sip::parse_message(call.text, m));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Parse);

// The data-plane order: parse the packet into one (hot) Message, classify
// it. Classify cost = this minus BM_Parse: unlike BM_Classify, the message
// struct is in L1 as it is right after the parser wrote it, and only the
// rule tables are cold.
void BM_ParseClassify(benchmark::State& state) {
  const rules::CompiledRuleSet& set = set_with(state.range(0));
  const auto& c = calls();
  classify::Scratch scratch;
  if (!scratch.prepare(set)) std::abort();
  std::size_t i = 0;
  sip::Message m;
  for (auto _ : state) {
    const perf::Call& call = *c[i++ % c.size()];
    if (sip::parse_message(call.text, m) != sip::ParseError::none) std::abort();
    benchmark::DoNotOptimize(classify::classify(set, m, call.src, scratch));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseClassify)->Arg(kMinimal)->Arg(0)->Arg(1000);

// BM_ParseClassify in the data plane's UDP order (WorkerContext::udp): two
// Messages in turn; message i is parsed and its classification started
// (numbers normalised, exact-table loads issued) before message i-1's
// verdict is taken, so those loads have a whole parse to arrive in.
void BM_ParseClassifyOverlapped(benchmark::State& state) {
  const rules::CompiledRuleSet& set = set_with(state.range(0));
  const auto& c = calls();
  classify::Scratch scratch;
  if (!scratch.prepare(set)) std::abort();
  struct Slot {
    sip::Message msg;
    classify::InFlight verdict;
  };
  auto slots = std::make_unique<Slot[]>(2);
  std::size_t i = 0;
  unsigned k = 0;
  bool in_flight = false;
  for (auto _ : state) {
    const perf::Call& call = *c[i++ % c.size()];
    Slot& s = slots[k];
    if (sip::parse_message(call.text, s.msg) != sip::ParseError::none) std::abort();
    s.verdict.start(set, s.msg, call.src, scratch);
    if (in_flight) benchmark::DoNotOptimize(slots[k ^ 1].verdict.verdict());
    in_flight = true;
    k ^= 1;
  }
  if (in_flight) benchmark::DoNotOptimize(slots[k ^ 1].verdict.verdict());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseClassifyOverlapped)->Arg(kMinimal)->Arg(0)->Arg(1000);

// Classify cycling over 256 messages (~1.3 MB, hot in L2): the same 256
// numbers repeat, so the table lines they touch are cached too. A lower
// bound: the instructions alone, no cache misses.
void BM_ClassifyHot(benchmark::State& state) {
  const rules::CompiledRuleSet& set = set_with(state.range(0));
  const auto& c = calls();
  classify::Scratch scratch;
  if (!scratch.prepare(set)) std::abort();
  std::size_t i = 0;
  for (auto _ : state) {
    const perf::Call& call = *c[i++ & 255];
    benchmark::DoNotOptimize(classify::classify(set, call.msg, call.src, scratch));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ClassifyHot)->Arg(kMinimal)->Arg(0)->Arg(1000);

void BM_ArtifactLoad(benchmark::State& state) {
  const rules::CompiledRuleSet& set = set_with(0);
  const std::string path = "/tmp/sipwall-bench-" + std::to_string(::getpid()) + ".swr";
  const auto saved = rules::save_artifact(set, path);
  if (!saved.ok) std::abort();
  for (auto _ : state) {
    rules::ArtifactLoadResult l = rules::load_artifact(path);
    if (!l.ok()) std::abort();
    benchmark::DoNotOptimize(l.set);
  }
  ::unlink(path.c_str());
  state.counters["artifact_MB"] = static_cast<double>(saved.bytes) / 1e6;
}
BENCHMARK(BM_ArtifactLoad)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
