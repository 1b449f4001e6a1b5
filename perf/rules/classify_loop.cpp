// Runs classify() N times over the synthetic INVITE mix, for instruction
// counts under valgrind (load-independent, unlike timings):
//   valgrind --tool=callgrind build/bin/rules_classify_loop 200000 minimal
//   valgrind --tool=callgrind build/bin/rules_classify_loop 0 minimal
// (instructions per classify = (first total - second total) / 200000;
// callgrind_annotate --inclusive=yes also shows classify() itself).
// Sets: minimal (numbers + trunk), full, regex (full + 1000 patterns).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dataplane/classify/classify.h"
#include "perf/rules/synthetic.h"
#include "rules/compiler/compiler.h"

using namespace sipwall;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s N minimal|full|regex\n", argv[0]);
    return 2;
  }
  const long n = std::atol(argv[1]);
  perf::SyntheticSpec spec;
  spec.minimal = std::strcmp(argv[2], "minimal") == 0;
  spec.regexes = std::strcmp(argv[2], "regex") == 0 ? 1000 : 0;
  rules::CompileResult r = rules::compile(perf::make_rule_set(spec));
  if (!r.ok()) return 1;
  const auto calls = perf::make_calls(spec, 16384, 10, 99);
  classify::Scratch scratch;
  if (!scratch.prepare(*r.set)) return 1;
  unsigned long non_pass = 0;
  for (long i = 0; i < n; ++i) {
    const perf::Call& c = *calls[static_cast<std::size_t>(i) % calls.size()];
    non_pass += classify::classify(*r.set, c.msg, c.src, scratch).action != rules::ActionKind::pass;
  }
  std::printf("%ld INVITEs, %lu not passed\n", n, non_pass);
  return 0;
}
