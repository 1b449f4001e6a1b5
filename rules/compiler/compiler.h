// The rule compiler: a validated rule model in, the immutable CompiledRuleSet
// out (or every error, each with file:line:col). Runs in the control process
// (and in `sipwallctl rules check/compile`), never on the packet path.
//
// What becomes what (docs/matching.md):
//   exact lists, `equals` numbers     -> one ExactTable (E.164 key -> list set)
//   prefix lists, inline prefixes,
//   trunk caller prefixes             -> an IntervalMap over digit order
//   range lists, inline ranges,
//   trunk caller ranges               -> an IntervalMap over E.164 keys
//   regexes                           -> one Hyperscan database per field / header
//   trunk sources                     -> TrunkTable
//   match expressions                 -> atoms + jump code, rules in precedence order
//   actions                           -> pre-rendered header lines
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/compiled/compiled_rule_set.h"
#include "rules/compiled/exact_table.h"
#include "rules/model/diagnostic.h"
#include "rules/model/rule_model.h"

namespace sipwall::rules {

struct CompileOptions {
  // Exact-number table load factor; 0 picks ExactTable's default for the
  // layout (docs/matching.md has the memory / second-line trade-off).
  double exact_load_factor = 0;
};

struct ListStats {
  std::string name;
  ListKind kind = ListKind::exact;
  ListOrigin origin = ListOrigin::named;
  std::uint64_t entries = 0;  // numbers, prefixes or ranges
};

struct CompileStats {
  std::size_t rules = 0;
  std::size_t detectors = 0;
  std::size_t report_detectors = 0;  // of them in report mode
  std::size_t atoms = 0;             // distinct predicates
  std::size_t instructions = 0;      // rule code length
  std::size_t named_lists = 0;
  std::size_t generated_lists = 0;  // inline values, trunk caller ranges
  std::vector<ListStats> lists;     // every list, named first
  std::uint64_t exact_entries = 0;  // numbers over all exact lists (with repeats)
  std::uint64_t exact_numbers = 0;  // distinct numbers in the table
  std::size_t exact_list_sets = 0;  // distinct list combinations of those numbers
  std::uint64_t prefix_entries = 0;
  std::uint64_t range_entries = 0;
  std::size_t prefix_segments = 0;
  std::size_t prefix_list_sets = 0;
  std::size_t range_segments = 0;
  std::size_t range_list_sets = 0;
  std::size_t patterns = 0;
  std::size_t pattern_databases = 0;
  std::size_t trunks = 0;
  std::size_t trunk_sources = 0;
  std::size_t exact_table_bytes = 0;
  std::size_t exact_spilled_buckets = 0;  // buckets where a miss reads a second line
  std::size_t exact_buckets = 0;
  std::size_t interval_bytes = 0;
  std::size_t list_set_bytes = 0;
  std::size_t trunk_bytes = 0;
  std::size_t pattern_bytes = 0;  // Hyperscan databases
  std::size_t total_bytes = 0;    // CompiledRuleSet::memory_bytes()
  double bytes_per_number = 0;    // exact table bytes / distinct numbers
  double table_seconds = 0;       // numbers and intervals
  double pattern_seconds = 0;     // Hyperscan compiles
  double compile_seconds = 0;     // everything
};

struct CompileResult {
  std::unique_ptr<CompiledRuleSet> set;  // null if any error
  std::vector<Diagnostic> diagnostics;   // errors and warnings
  CompileStats stats;
  bool ok() const noexcept { return set != nullptr; }
};

CompileResult compile(const RuleSet& rule_set, const CompileOptions& options = {});

// A few lines for `sipwallctl rules check`: rules, lists and entries per list,
// patterns, memory, compile time.
std::string format_stats(const CompileStats& s);

}  // namespace sipwall::rules
