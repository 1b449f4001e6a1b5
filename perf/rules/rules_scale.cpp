// Scale runner: generates a synthetic rule set in memory (nothing on disk but
// the artifact), compiles it, writes and reloads the artifact, and prints
// compile time, peak RSS, sizes and load time as one line per run. Run one
// size per process so peak RSS belongs to that size:
//   rules_scale --numbers 1000000
//   rules_scale --numbers 10000000
//   rules_scale --numbers 0 --prefixes 100000
//   rules_scale --numbers 0 --regexes 1000
//   rules_scale --numbers 1000000 --load-factor 0.7   (exact-table trade-off)
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "perf/rules/synthetic.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"

using namespace sipwall;

namespace {

double rss_mb() {  // peak resident set of this process so far
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  perf::SyntheticSpec spec;
  spec.dnc = 0;
  spec.prefixes = 0;
  spec.ranges = 0;
  std::string out = "/tmp/sipwall-scale-" + std::to_string(::getpid()) + ".swr";
  bool keep = false;
  double load = 0;  // exact-table load factor, 0 = the layout's default
  for (int i = 1; i + 1 < argc || (i < argc && std::strcmp(argv[i], "--keep") == 0); ++i) {
    const std::string a = argv[i];
    if (a == "--keep") {
      keep = true;
      continue;
    }
    const std::uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--numbers")
      spec.numbers = v;
    else if (a == "--dnc")
      spec.dnc = v;
    else if (a == "--prefixes")
      spec.prefixes = v;
    else if (a == "--ranges")
      spec.ranges = v;
    else if (a == "--regexes")
      spec.regexes = v;
    else if (a == "--lists")
      spec.exact_lists = static_cast<std::uint32_t>(v);
    else if (a == "--trunks")
      spec.trunks = static_cast<std::uint32_t>(v);
    else if (a == "--out")
      out = argv[i + 1];
    else if (a == "--load-factor")
      load = std::strtod(argv[i + 1], nullptr);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    ++i;
  }

  const double t0 = now_s();
  rules::RuleSet rs = perf::make_rule_set(spec);
  const double gen_s = now_s() - t0;
  const double rss_model = rss_mb();

  rules::CompileOptions options;
  options.exact_load_factor = load;
  rules::CompileResult r = rules::compile(rs, options);
  if (!r.ok()) {
    for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", rules::format(d).c_str());
    return 1;
  }
  const double rss_compile = rss_mb();
  rs = rules::RuleSet{};  // the model is not needed any more

  const double ts = now_s();
  const rules::ArtifactSaveResult saved = rules::save_artifact(*r.set, out);
  const double save_s = now_s() - ts;
  if (!saved.ok) {
    std::fprintf(stderr, "%s\n", saved.error.c_str());
    return 1;
  }
  r.set.reset();

  // Load time: best of 5 (file in the page cache, as after a compile).
  double best = 1e9;
  std::uint64_t checksum = 0;
  for (int i = 0; i < 5; ++i) {
    const double tl = now_s();
    rules::ArtifactLoadResult l = rules::load_artifact(out);
    const double dt = now_s() - tl;
    if (!l.ok()) {
      std::fprintf(stderr, "%s\n", l.message.c_str());
      return 1;
    }
    checksum = l.set->checksum();
    if (dt < best) best = dt;
  }
  if (!keep) ::unlink(out.c_str());

  const rules::CompileStats& s = r.stats;
  std::printf("numbers=%llu dnc=%llu prefixes=%llu ranges=%llu regexes=%llu lists=%u\n",
              static_cast<unsigned long long>(spec.numbers), static_cast<unsigned long long>(spec.dnc),
              static_cast<unsigned long long>(spec.prefixes), static_cast<unsigned long long>(spec.ranges),
              static_cast<unsigned long long>(spec.regexes), spec.exact_lists);
  std::printf("  generate model      %8.3f s   (RSS after: %.0f MB)\n", gen_s, rss_model);
  std::printf("  compile             %8.3f s   (tables %.3f s, patterns %.3f s)\n", s.compile_seconds, s.table_seconds,
              s.pattern_seconds);
  std::printf("  peak RSS            %8.0f MB  (model alone %.0f MB, so compile adds %.0f MB)\n", rss_compile,
              rss_model, rss_compile - rss_model);
  std::printf("  exact table         %8.1f MB  %.2f bytes/number, %zu of %zu buckets spill\n",
              static_cast<double>(s.exact_table_bytes) / 1e6, s.bytes_per_number, s.exact_spilled_buckets,
              s.exact_buckets);
  std::printf("  prefix/range maps   %8.1f MB  (%zu + %zu segments)\n", static_cast<double>(s.interval_bytes) / 1e6,
              s.prefix_segments, s.range_segments);
  std::printf("  patterns            %8zu     in %zu databases, %.1f MB\n", s.patterns, s.pattern_databases,
              static_cast<double>(s.pattern_bytes) / 1e6);
  std::printf("  artifact            %8.1f MB  (%.2f bytes/number) written in %.3f s\n",
              static_cast<double>(saved.bytes) / 1e6,
              spec.numbers ? static_cast<double>(saved.bytes) / static_cast<double>(spec.numbers) : 0.0, save_s);
  std::printf("  artifact load       %8.1f ms  (best of 5, checksum %016llx)\n", best * 1e3,
              static_cast<unsigned long long>(checksum));
  return 0;
}
