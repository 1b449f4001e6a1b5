// Shared state of one compile() run. Internal to rules/compiler.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rules/compiled/access.h"
#include "rules/compiled/interval_map.h"
#include "rules/compiler/compiler.h"
#include "rules/model/model_text.h"

namespace sipwall::rules::compiler {

struct ExactSource {
  std::uint32_t bit = 0;
  const std::vector<number::E164Key>* keys = nullptr;  // sorted, unique, non-zero
  std::vector<number::E164Key> owned;                  // when `keys` points here
};

struct PendingRegex {
  std::uint32_t atom = 0;
  std::uint32_t target = 0;
  std::vector<std::string> patterns;
  std::vector<SourceLocation> where;  // per pattern
  SourceLocation predicate_where;
};

struct Builder {
  Builder(const RuleSet& r, const CompileOptions& o, CompiledRuleSetData& data, std::vector<Diagnostic>& ds,
          CompileStats& st)
      : rs(r), options(o), d(data), diags(ds), stats(st) {}

  const RuleSet& rs;
  CompileOptions options;
  CompiledRuleSetData& d;
  std::vector<Diagnostic>& diags;
  CompileStats& stats;

  // Lists.
  std::unordered_map<std::string, std::uint32_t> named_list;  // name -> list index
  std::unordered_map<std::string, std::uint32_t> generated;   // content key -> list index
  std::array<std::uint32_t, kNumberSpaces> bits{};            // bits used per NumberSpace
  std::vector<ExactSource> exact_sources;
  std::vector<IntervalMap::Interval> prefix_intervals;  // digit-order keys
  std::vector<IntervalMap::Interval> range_intervals;   // E.164 keys

  // Atoms and patterns.
  std::unordered_map<std::string, std::uint32_t> atom_by_key;
  std::vector<PendingRegex> regexes;
  std::map<std::pair<Field, std::uint16_t>, std::uint32_t> target_by_key;
  std::unordered_map<std::string, std::uint16_t> header_by_name;

  // Trunks.
  std::unordered_map<std::string, std::uint32_t> trunk_by_name;
  std::unordered_map<std::string, std::uint32_t> class_by_name;

  // Detectors.
  std::unordered_map<std::string, std::uint32_t> detector_by_name;  // name -> detector index

  std::size_t errors = 0;

  void error(const SourceLocation& where, std::string message) {
    diags.push_back({Severity::error, where, std::move(message)});
    ++errors;
  }
  void warning(const SourceLocation& where, std::string message) {
    diags.push_back({Severity::warning, where, std::move(message)});
  }
  StrRef str(std::string_view s) { return intern_string(d, s); }
  // Places in the source are stored as a checksum may see them: a place in
  // the rule file as "line:col" (30:3), a place in a list file relative to
  // the rule file's folder (lists/dnc.txt:3:1). So the same files compile to
  // the same content checksum whatever the rule file is called and wherever
  // it lies (a checksum identifies content; a fleet compares it across
  // appliances). Diagnostics keep the path as given: the operator's terminal
  // needs it.
  StrRef where(const SourceLocation& loc) {
    if (loc.file == rs.source_file) {
      std::string lc = to_string(SourceLocation{"", loc.line, loc.column});
      if (!lc.empty() && lc.front() == ':') lc.erase(0, 1);
      return str(lc);
    }
    SourceLocation rel = loc;
    rel.file = relative_to_set(loc.file);
    return str(to_string(rel));
  }
  std::string relative_to_set(const std::string& file) const {
    const std::size_t slash = rs.source_file.rfind('/');
    if (slash == std::string::npos) return file;
    const std::string_view folder(rs.source_file.data(), slash + 1);
    return file.starts_with(folder) ? file.substr(folder.size()) : file;
  }
};

// compile_lists.cpp
void add_named_lists(Builder& b);
// A list made of a predicate's inline values (prefix / range / equals);
// kNone after reporting an error.
std::uint32_t inline_list(Builder& b, const Predicate& p);
// A trunk's caller prefixes and ranges as generated lists (into `ti`).
void trunk_caller_lists(Builder& b, const Trunk& t, TrunkInfo& ti);
void build_number_tables(Builder& b);
// "+8613..." / "8613..." -> digits; empty if not 1..15 digits.
std::string digits_of(std::string_view written);

// compile_trunks.cpp
void compile_trunks(Builder& b);
// deny_sources -> d.deny and d.deny_table (compile_deny.cpp).
void compile_deny_sources(Builder& b);

// detectors -> d.detectors, d.detector_names (compile_detectors.cpp).
void compile_detectors(Builder& b);

// compile_actions.cpp
std::uint32_t compile_action(Builder& b, const Action& a, std::string_view rule_id);
void compile_guard_rails(Builder& b);

// compile_match.cpp
// Appends the rule's code to d.code; returns its first instruction.
std::uint32_t compile_match(Builder& b, const Rule& r);

// compile_patterns.cpp
void compile_patterns(Builder& b);

}  // namespace sipwall::rules::compiler
