#include "rules/compiler/compiler.h"

#include <fmt/format.h>

#include <chrono>
#include <iterator>

#include "rules/compiler/compiler_internal.h"
#include "rules/model/precedence.h"

namespace sipwall::rules {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

CompileResult compile(const RuleSet& rs, const CompileOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  CompileResult res;
  auto set = std::make_unique<CompiledRuleSet>();
  CompiledRuleSetData& d = CompiledRuleSetAccess::data(*set);
  compiler::Builder b{rs, options, d, res.diagnostics, res.stats};

  d.name = b.str(rs.name);
  d.version = b.str(rs.version);
  d.source_file = b.str("");  // not stored: the checksum must not depend on the rule file's name
  d.dial_plan = rs.dial_plan;
  d.malformed = rs.defaults.malformed;

  compiler::add_named_lists(b);
  compiler::compile_trunks(b);
  compiler::compile_deny_sources(b);
  compiler::compile_detectors(b);
  compiler::compile_guard_rails(b);

  // Rules, in the order they are evaluated.
  std::vector<std::string> seen_ids;
  for (std::uint32_t i : precedence_order(rs)) {
    const Rule& r = rs.rules[i];
    RuleInfo ri;
    ri.id = b.str(r.id);
    ri.priority = r.priority;
    ri.file_order = r.file_order;
    ri.where = b.where(r.where);
    ri.match_text = b.str(to_string(r.match));
    ri.description = b.str(r.description);
    ri.action = compiler::compile_action(b, r.action, r.id);
    ri.code = compiler::compile_match(b, r);
    d.rules.push_back(ri);
  }
  {
    std::unordered_map<std::string, const Rule*> ids;
    for (const Rule& r : rs.rules) {
      if (r.id.empty()) {
        b.error(r.where, "rule without an id");
      } else if (const auto [it, added] = ids.emplace(r.id, &r); !added) {
        b.error(r.where, "rule id '" + r.id + "' is used twice (first at " + to_string(it->second->where) + ")");
      }
    }
  }
  if (rs.defaults.action.kind == ActionKind::trace) {
    b.error(rs.defaults.where, "the default action cannot be 'trace' (it must decide)");
  }
  d.default_action = compiler::compile_action(b, rs.defaults.action, "default");

  const auto tp = std::chrono::steady_clock::now();
  compiler::compile_patterns(b);
  res.stats.pattern_seconds = seconds_since(tp);

  if (b.errors == 0) {
    const auto tt = std::chrono::steady_clock::now();
    compiler::build_number_tables(b);
    res.stats.table_seconds = seconds_since(tt);
    d.checksum = content_checksum(d);
    std::string why;
    if (!validate(d, why)) {
      b.error(SourceLocation{rs.source_file, 0, 0}, "internal: compiled set is inconsistent: " + why);
    } else {
      derive_match_index(d);
    }
  }

  CompileStats& s = res.stats;
  s.rules = d.rules.size();
  s.detectors = d.detectors.size();
  for (const detect::DetectorSpec& spec : d.detectors) s.report_detectors += spec.report_only ? 1 : 0;
  s.atoms = d.atoms.size();
  s.instructions = d.code.size();
  s.generated_lists = d.lists.size() - d.named_lists;
  s.exact_list_sets = d.sets[0].count();
  s.prefix_segments = d.prefix_map.segments();
  s.range_segments = d.range_map.segments();
  s.prefix_list_sets = d.sets[1].count();
  s.range_list_sets = d.sets[2].count();
  s.exact_table_bytes = d.exact.bytes();
  s.exact_buckets = d.exact.buckets();
  s.exact_spilled_buckets = d.exact.spilled_buckets();
  s.interval_bytes = d.prefix_map.bytes() + d.range_map.bytes();
  s.list_set_bytes = d.sets[0].bytes() + d.sets[1].bytes() + d.sets[2].bytes();
  s.trunk_bytes = d.trunk_table.bytes();
  s.bytes_per_number =
      s.exact_numbers ? static_cast<double>(s.exact_table_bytes) / static_cast<double>(s.exact_numbers) : 0;
  if (b.errors == 0) {
    s.pattern_bytes = set->database_bytes();
    s.total_bytes = set->memory_bytes();
    res.set = std::move(set);
  }
  s.compile_seconds = seconds_since(t0);
  return res;
}

std::string format_stats(const CompileStats& s) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "rules: {} ({} distinct predicates, {} instructions)\n", s.rules, s.atoms, s.instructions);
  if (s.detectors != 0) fmt::format_to(it, "detectors: {} ({} in report mode)\n", s.detectors, s.report_detectors);
  fmt::format_to(it, "lists: {} named, {} generated\n", s.named_lists, s.generated_lists);
  for (const ListStats& l : s.lists) {
    const char* origin = l.origin == ListOrigin::named           ? ""
                         : l.origin == ListOrigin::inline_values ? " (inline)"
                                                                 : " (trunk callers)";
    fmt::format_to(it, "  {:<40} {:<6} {:>12} entries{}\n", l.name, to_string(l.kind), l.entries, origin);
  }
  fmt::format_to(it, "exact numbers: {} distinct ({} list entries), {} list combinations\n", s.exact_numbers,
                 s.exact_entries, s.exact_list_sets);
  fmt::format_to(it, "  table: {:.1f} MiB, {:.1f} bytes/number, {} of {} buckets spill\n",
                 static_cast<double>(s.exact_table_bytes) / 1048576.0, s.bytes_per_number, s.exact_spilled_buckets,
                 s.exact_buckets);
  fmt::format_to(it, "prefixes: {} -> {} segments, {} list combinations\n", s.prefix_entries, s.prefix_segments,
                 s.prefix_list_sets);
  fmt::format_to(it, "ranges: {} -> {} segments, {} list combinations\n", s.range_entries, s.range_segments,
                 s.range_list_sets);
  fmt::format_to(it, "  prefix and range maps: {:.1f} KiB\n", static_cast<double>(s.interval_bytes) / 1024.0);
  fmt::format_to(it, "patterns: {} in {} Hyperscan databases, {:.1f} KiB\n", s.patterns, s.pattern_databases,
                 static_cast<double>(s.pattern_bytes) / 1024.0);
  fmt::format_to(it, "trunks: {} with {} source prefixes\n", s.trunks, s.trunk_sources);
  fmt::format_to(it, "memory: {:.1f} MiB\n", static_cast<double>(s.total_bytes) / 1048576.0);
  fmt::format_to(it, "compile time: {:.3f} s (tables {:.3f} s, patterns {:.3f} s)\n", s.compile_seconds,
                 s.table_seconds, s.pattern_seconds);
  return out;
}

}  // namespace sipwall::rules
