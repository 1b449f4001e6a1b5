// The loader's working state, shared by the files that read each section of
// a rule set (loader.cc top level, dial_plan_yaml.cc, trunks_yaml.cc,
// lists_yaml.cc, match_yaml.cc, action_yaml.cc). Not a public header.
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

namespace sipwall::rules::loader {

// One key: value pair of a YAML map.
struct Entry {
  std::string key;
  YAML::Node value;
  SourceLocation key_at;
  SourceLocation value_at;  // the key's place when the value is empty
};

struct Item {  // one scalar of a "value or list of values"
  std::string text;
  SourceLocation at;
};

class Loader {
 public:
  Loader(std::string display_file, std::filesystem::path base_dir, const LoadOptions& options);
  LoadResult run(std::string_view yaml_text);

  // --- diagnostics and YAML shape (yaml_shape.cc) ---
  void error(const SourceLocation& at, std::string message);
  void warning(const SourceLocation& at, std::string message);
  std::size_t error_count() const noexcept { return errors_; }
  SourceLocation at(const YAML::Mark& m) const;
  SourceLocation at(const YAML::Node& n, const SourceLocation& fallback) const;

  // The entries of a map. Unknown keys (when `allowed` is non-empty) and
  // duplicate keys are reported; entries with unknown keys are dropped.
  // nullopt (and an error) if `node` is not a map. `dup_noun` names what a
  // duplicate key is ("key", "list name", "trunk name").
  std::optional<std::vector<Entry>> map_entries(const YAML::Node& node, const SourceLocation& where,
                                                std::string_view what, std::span<const std::string_view> allowed,
                                                std::string_view dup_noun = "key");
  static const Entry* find(const std::vector<Entry>& entries, std::string_view key);
  // Reports a missing required key; returns the entry if present.
  const Entry* require(const std::vector<Entry>& entries, std::string_view key, const SourceLocation& map_at,
                       std::string_view what);

  std::optional<std::string> scalar(const Entry& e, std::string_view what);
  std::optional<std::int64_t> integer(const Entry& e, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> integer(const YAML::Node& n, const SourceLocation& at, std::string_view what,
                                      std::int64_t min, std::int64_t max);
  std::optional<bool> boolean(const Entry& e);
  // A scalar or a list of scalars; an empty list is an error.
  std::optional<std::vector<Item>> scalar_list(const Entry& e, std::string_view what);
  // A name for a list, trunk, class or rule: letters, digits, '_', '-', '.'.
  bool check_name(const std::string& name, const SourceLocation& at, std::string_view what);
  static std::string describe(const YAML::Node& n);
  // The set's version and name: printable, one line, bounded.
  void check_identity(const std::string& s, const SourceLocation& at, std::string_view key);

  // --- sections ---
  void read_dial_plan(const Entry& e);                                                       // dial_plan_yaml.cc
  void read_trunks(const Entry& e);                                                          // trunks_yaml.cc
  void read_deny_sources(const Entry& e);                                                    // deny_yaml.cc
  void read_lists(const Entry& e);                                                           // lists_yaml.cc
  void read_guard_rails(const Entry* e, const SourceLocation& top);                          // lists_yaml.cc
  void read_defaults(const Entry& e);                                                        // action_yaml.cc
  void read_rules(const Entry& e);                                                           // loader.cc
  std::optional<MatchExpr> read_match(const YAML::Node& node, const SourceLocation& where);  // match_yaml.cc
  // `defaults` is true for defaults.action (terminal, no tag/trace).
  std::optional<Action> read_action(const Entry& e, bool defaults);  // action_yaml.cc
  void read_tag_label(const Entry& e, Action& a);                    // action_yaml.cpp
  void read_tag_verstat(const Entry& e, Action& a);                  // action_yaml.cpp

  // "" if `pattern` may be compiled, else why not (its cost, or Hyperscan's
  // message); match_yaml.cc.
  std::string checked_regex(const std::string& pattern);

  // A trunk name (field trunk) or class (trunk_class) a rule refers to.
  bool check_trunk_name(Field field, const Item& it);
  // A list name a rule or guard rail refers to; reports unknown names.
  bool check_list_ref(const std::string& name, const SourceLocation& at);

  // --- state ---
  std::string file_;                // as shown in messages
  std::filesystem::path base_dir_;  // for relative list files
  std::string display_dir_;         // prefix for list files in messages
  LoadOptions options_;
  std::vector<Diagnostic> diags_;
  std::size_t errors_ = 0;
  RuleSet rs_;
  bool plan_ok_ = false;  // numbers can be normalised
  std::map<std::string, SourceLocation> list_at_;
  std::map<std::string, SourceLocation> trunk_at_;
  std::set<std::string> classes_;
  bool any_caller_ranges_ = false;
  std::map<std::string, std::string> regex_checked_;  // pattern -> checked_regex() result
  std::uint64_t regex_repeat_total_ = 0;              // positions bounded repeats added, all patterns
};

}  // namespace sipwall::rules::loader
