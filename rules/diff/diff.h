// What changes between two rule sets: the report ops read before a reload
// (`sipwallctl rules diff OLD NEW`).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "rules/model/rule_model.h"

namespace sipwall::rules {

struct RuleChange {
  std::string id;
  bool match = false;   // the match expression differs
  bool action = false;  // the action (or its parameters) differs
  bool priority = false;
  bool description = false;
  std::string old_match, new_match;    // text forms, when match changed
  std::string old_action, new_action;  // when action changed
  std::int32_t old_priority = 0, new_priority = 0;
};

struct ListChange {
  std::string name;
  bool kind_changed = false;
  ListKind old_kind = ListKind::exact, new_kind = ListKind::exact;
  std::size_t old_size = 0, new_size = 0;
  std::size_t added = 0, removed = 0;     // entries
  std::vector<std::string> added_sample;  // up to DiffOptions::sample entries, "+8613..."
  std::vector<std::string> removed_sample;
  std::vector<std::string> old_files, new_files;
};

struct TrunkChange {
  std::string name;
  bool trunk_class = false, sources = false, caller_ranges = false, caller_from = false;
  std::string old_class, new_class;
};

// A detector present in both sets under the same name whose definition
// changed. A reload keeps a detector's counts exactly when its definition
// hash (every field but the name) is unchanged, so a changed detector
// starts from empty counts: state_kept is false whenever `fields` is not
// empty (it is there so the report says it, not so it can differ).
struct DetectorChange {
  std::string name;
  std::vector<std::string> fields;  // "window 60s -> 5m", one per changed field
  bool state_kept = false;
};

struct RuleSetDiff {
  std::string old_name, new_name, old_version, new_version;
  std::vector<std::string> rules_added, rules_removed;  // ids, in the new / old file order
  std::vector<RuleChange> rules_changed;
  // Rules present in both whose relative evaluation order changed (e.g. a
  // priority edit or a move in the file), as ids in the new order.
  bool order_changed = false;
  std::vector<std::string> new_order;
  // Added lists count all entries as added (sample included), removed lists
  // as removed; changed lists have any difference in kind, files or entries.
  std::vector<ListChange> lists_added, lists_removed, lists_changed;
  std::vector<std::string> trunks_added, trunks_removed;
  std::vector<TrunkChange> trunks_changed;
  // deny_sources by id, each as "id: prefix[ vlan N][ port N]" (changed:
  // "id: old -> new", or "id: description changed").
  std::vector<std::string> deny_added, deny_removed, deny_changed;
  // Detectors by name, each added/removed as "name: key caller_callee, count
  // invites, window 60s, ...". A renamed detector with the same definition
  // keeps its counts across a reload: shown as removed + added with
  // "(state kept)" on the added line.
  std::vector<std::string> detectors_added, detectors_removed;
  std::vector<DetectorChange> detectors_changed;
  bool dial_plan_changed = false;
  bool defaults_changed = false;
  std::string old_defaults, new_defaults;  // text forms when changed
  bool guard_rails_changed = false;
  std::vector<std::string> guard_rail_changes;  // one line each

  bool empty() const noexcept;
};

struct DiffOptions {
  std::size_t sample = 10;  // numbers shown per list and direction
};

RuleSetDiff diff(const RuleSet& old_set, const RuleSet& new_set, const DiffOptions& options = {});

// The report as text, one change a line; "no changes" when empty.
void print_diff(std::ostream& os, const RuleSetDiff& d);

}  // namespace sipwall::rules
