// The loader's working state, shared by the files that read each section of
// a rule set (loader.cpp top level, dial_plan_yaml.cpp, trunks_yaml.cpp,
// deny_yaml.cpp, lists_yaml.cpp, match_yaml.cpp, action_yaml.cpp). Not a
// public header.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/loader/loader.h"
#include "rules/yaml/reader.h"
#include "rules/yaml/suggest.h"

namespace sipwall::rules::loader {

using yaml::closest;
using yaml::Entry;
using yaml::Item;
using yaml::join_names;

// The rule loader is a YAML reader (rules/yaml/reader.h: places, messages,
// map shapes, typed values) with the state of the rule set it builds.
class Loader : public yaml::Reader {
 public:
  Loader(std::string display_file, std::filesystem::path base_dir, const LoadOptions& options);
  // The whole rule set: from text, or from a rule file (rules/io, 16 MiB).
  LoadResult run(std::string_view yaml_text);
  LoadResult run_file(const std::string& path);

  // A name for a list, trunk, class or rule: letters, digits, '_', '-', '.'
  // (loader.cpp).
  bool check_name(const std::string& name, const SourceLocation& at, std::string_view what);
  // The set's version and name: printable, one line, bounded.
  void check_identity(const std::string& s, const SourceLocation& at, std::string_view key);

  // --- sections ---
  void read_dial_plan(const Entry& e);                                                       // dial_plan_yaml.cpp
  void read_trunks(const Entry& e);                                                          // trunks_yaml.cpp
  void read_caller_from(const Entry& e, Trunk& trunk);                                       // trunks_yaml.cpp
  void read_deny_sources(const Entry& e);                                                    // deny_yaml.cpp
  void read_lists(const Entry& e);                                                           // lists_yaml.cpp
  void read_detectors(const Entry& e);                                                       // detectors_yaml.cpp
  void read_guard_rails(const Entry* e, const SourceLocation& top);                          // lists_yaml.cpp
  void read_defaults(const Entry& e);                                                        // action_yaml.cpp
  void read_rules(const Entry& e);                                                           // loader.cpp
  std::optional<MatchExpr> read_match(const YAML::Node& node, const SourceLocation& where);  // match_yaml.cpp
  // `defaults` is true for defaults.action (terminal, no tag/trace).
  std::optional<Action> read_action(const Entry& e, bool defaults);  // action_yaml.cpp
  void read_tag_label(const Entry& e, Action& a);                    // action_yaml.cpp
  void read_tag_verstat(const Entry& e, Action& a);                  // action_yaml.cpp

  // The parts of read_match (match_yaml.cpp).
  std::optional<MatchExpr> read_match_entry(const Entry& e);
  std::optional<MatchExpr> read_match_group(const Entry& e);
  std::optional<MatchExpr> read_trunk_ranges_check(const Entry& e);
  std::optional<MatchExpr> read_trunk_names(Field field, const Entry& e);
  std::vector<MatchExpr> read_operators(Field field, const Entry& e);
  std::string read_header_name(const std::vector<Entry>& entries, const SourceLocation& key_at,
                               const std::string& what);
  std::optional<MatchExpr> read_operator(Field field, const std::string& header_name, const Entry& op);
  std::optional<MatchExpr> read_in_lists(Predicate p, const Entry& op);
  std::optional<MatchExpr> read_number_shapes(Predicate p, const Entry& op);
  std::optional<Predicate> read_detector_ref(const Entry& e);
  bool read_regexes(const std::vector<Item>& items, Predicate& p);
  bool read_prefixes(const std::vector<Item>& items, Predicate& p);
  bool read_ranges(const std::vector<Item>& items, Predicate& p);
  bool read_equals(const std::vector<Item>& items, Predicate& p);

  // "" if `pattern` may be compiled, else why not (its cost, or Hyperscan's
  // message); match_yaml.cpp.
  std::string checked_regex(const std::string& pattern);

  // A trunk name (field trunk) or class (trunk_class) a rule refers to.
  bool check_trunk_name(Field field, const Item& it);
  // A list name a rule or guard rail refers to; reports unknown names.
  bool check_list_ref(const std::string& name, const SourceLocation& at);
  // A detector name a rule refers to; reports unknown names (detectors_yaml.cpp).
  bool check_detector_ref(const std::string& name, const SourceLocation& at);
  // "500ms", "60s", "5m", "1h", "1d" within [min_ms, max_ms] (detectors_yaml.cpp).
  std::optional<std::uint32_t> duration(const Entry& e, std::uint64_t min_ms, std::uint64_t max_ms);

  // The sections of a parsed document (nullopt: it did not parse, reported).
  LoadResult run(const std::optional<YAML::Node>& parsed);

  // --- state ---
  std::filesystem::path base_dir_;  // for relative list files
  std::string display_dir_;         // prefix for list files in messages
  LoadOptions options_;
  RuleSet rs_;
  bool plan_ok_ = false;  // numbers can be normalised
  std::map<std::string, SourceLocation> list_at_;
  std::map<std::string, SourceLocation> trunk_at_;
  std::map<std::string, SourceLocation> detector_at_;
  std::set<std::string> classes_;
  bool any_caller_ranges_ = false;
  std::map<std::string, std::string> regex_checked_;  // pattern -> checked_regex() result
  std::uint64_t regex_repeat_total_ = 0;              // positions bounded repeats added, all patterns
};

}  // namespace sipwall::rules::loader
