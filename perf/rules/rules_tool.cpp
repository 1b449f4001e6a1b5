// A small driver for the rule-set libraries, used to measure and to try
// things by hand (the operator CLI is sipwallctl):
//   rules_tool check FILE           load, print diagnostics and a summary, time it
//   rules_tool diff OLD NEW         print the diff report
//   rules_tool gen N FILE [SEED]    write N distinct China numbers in mixed
//                                   operator formats (a synthetic list file)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "rules/diff/diff.h"
#include "rules/loader/loader.h"
#include "rules/model/model_text.h"

namespace {

using sipwall::rules::load_rule_set;
using sipwall::rules::LoadResult;

int check(const char* path) {
  const auto t0 = std::chrono::steady_clock::now();
  const LoadResult r = load_rule_set(path);
  const auto t1 = std::chrono::steady_clock::now();
  for (const auto& d : r.diagnostics) std::cout << d << "\n";
  const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  if (!r.ok()) {
    std::cout << "FAILED (" << sipwall::rules::count_errors(r.diagnostics) << " errors) in " << ms << " ms\n";
    return 1;
  }
  const auto& rs = *r.rule_set;
  std::cout << "OK " << rs.name << " version " << rs.version << ": " << rs.rules.size() << " rules, "
            << rs.trunks.size() << " trunks, " << rs.lists.size() << " lists\n";
  for (const auto& l : rs.lists) {
    std::cout << "  list " << l.name << " (" << sipwall::rules::to_string(l.kind)
              << "): " << l.numbers.size() + l.prefixes.size() + l.ranges.size() << " entries\n";
  }
  std::cout << "loaded in " << ms << " ms\n";
  return 0;
}

int diff(const char* a, const char* b) {
  const LoadResult ra = load_rule_set(a), rb = load_rule_set(b);
  if (!ra.ok() || !rb.ok()) {
    for (const auto& d : ra.diagnostics) std::cerr << d << "\n";
    for (const auto& d : rb.diagnostics) std::cerr << d << "\n";
    return 1;
  }
  sipwall::rules::print_diff(std::cout, sipwall::rules::diff(*ra.rule_set, *rb.rule_set));
  return 0;
}

// Distinct numbers: mobile prefixes 13x-19x and a permutation of the
// 8-digit subscriber part (multiplying by an odd constant mod 10^8 is a
// bijection), written in the formats operators use.
int gen(long n, const char* path, unsigned seed) {
  std::ofstream out(path, std::ios::binary);
  out << "# synthetic list: " << n << " numbers\n";
  std::mt19937 rng(seed);
  static const char* kLeads[] = {"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                                 "152", "155", "156", "157", "158", "159", "186", "187", "188", "189", "199"};
  constexpr long kPerLead = 100000000;
  char line[64];
  for (long i = 0; i < n; ++i) {
    const char* lead = kLeads[(i / kPerLead) % 22];
    const long sub = (i % kPerLead) * 48271 % kPerLead;
    int len = 0;
    switch (rng() % 4) {
      case 0:
        len = std::snprintf(line, sizeof line, "+86%s%08ld\n", lead, sub);
        break;
      case 1:
        len = std::snprintf(line, sizeof line, "+86 %s %04ld %04ld\n", lead, sub / 10000, sub % 10000);
        break;
      case 2:
        len = std::snprintf(line, sizeof line, "0%s%08ld\n", lead, sub);
        break;
      default:
        len = std::snprintf(line, sizeof line, "%s-%04ld-%04ld\n", lead, sub / 10000, sub % 10000);
        break;
    }
    out.write(line, len);
  }
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "check") == 0) return check(argv[2]);
  if (argc == 4 && std::strcmp(argv[1], "diff") == 0) return diff(argv[2], argv[3]);
  if ((argc == 4 || argc == 5) && std::strcmp(argv[1], "gen") == 0) {
    return gen(std::atol(argv[2]), argv[3], argc == 5 ? static_cast<unsigned>(std::atoi(argv[4])) : 1);
  }
  std::cerr << "usage: rules_tool check FILE | diff OLD NEW | gen N FILE [SEED]\n";
  return 2;
}
