#include "control/cli/json_output.h"

#include "rules/model/model_text.h"

namespace sipwall::cli {

using nlohmann::json;

json diagnostics_json(const std::vector<rules::Diagnostic>& ds) {
  json out = json::array();
  for (const rules::Diagnostic& d : ds)
    out.push_back({{"severity", d.severity == rules::Severity::error ? "error" : "warning"},
                   {"file", d.where.file},
                   {"line", d.where.line},
                   {"column", d.where.column},
                   {"message", d.message},
                   {"text", rules::format(d)}});
  return out;
}

json compile_stats_json(const rules::CompileStats& s) {
  json lists = json::array();
  for (const rules::ListStats& l : s.lists)
    lists.push_back({{"name", l.name},
                     {"kind", std::string(rules::to_string(l.kind))},
                     {"generated", l.origin != rules::ListOrigin::named},
                     {"entries", l.entries}});
  return json{{"rules", s.rules},
              {"detectors", s.detectors},
              {"named_lists", s.named_lists},
              {"generated_lists", s.generated_lists},
              {"lists", lists},
              {"exact_numbers", s.exact_numbers},
              {"prefix_entries", s.prefix_entries},
              {"range_entries", s.range_entries},
              {"patterns", s.patterns},
              {"trunks", s.trunks},
              {"trunk_sources", s.trunk_sources},
              {"memory_bytes", s.total_bytes}};
}

namespace {

json list_change_json(const rules::ListChange& c) {
  json j{{"name", c.name},
         {"old_size", c.old_size},
         {"new_size", c.new_size},
         {"added", c.added},
         {"removed", c.removed},
         {"added_sample", c.added_sample},
         {"removed_sample", c.removed_sample},
         {"old_files", c.old_files},
         {"new_files", c.new_files}};
  if (c.kind_changed) {
    j["old_kind"] = std::string(rules::to_string(c.old_kind));
    j["new_kind"] = std::string(rules::to_string(c.new_kind));
  } else {
    j["kind"] = std::string(rules::to_string(c.new_kind));
  }
  return j;
}

json list_changes(const std::vector<rules::ListChange>& v) {
  json out = json::array();
  for (const auto& c : v) out.push_back(list_change_json(c));
  return out;
}

}  // namespace

json diff_json(const rules::RuleSetDiff& d) {
  json rules_changed = json::array();
  for (const rules::RuleChange& c : d.rules_changed) {
    json j{{"id", c.id}};
    if (c.match) j["match"] = {{"old", c.old_match}, {"new", c.new_match}};
    if (c.action) j["action"] = {{"old", c.old_action}, {"new", c.new_action}};
    if (c.priority) j["priority"] = {{"old", c.old_priority}, {"new", c.new_priority}};
    if (c.description) j["description_changed"] = true;
    rules_changed.push_back(std::move(j));
  }
  json trunks_changed = json::array();
  for (const rules::TrunkChange& c : d.trunks_changed) {
    json j{{"name", c.name}, {"sources", c.sources}, {"caller_ranges", c.caller_ranges}};
    if (c.trunk_class) j["class"] = {{"old", c.old_class}, {"new", c.new_class}};
    trunks_changed.push_back(std::move(j));
  }
  json detectors_changed = json::array();
  for (const rules::DetectorChange& c : d.detectors_changed)
    detectors_changed.push_back({{"name", c.name}, {"fields", c.fields}, {"state_kept", c.state_kept}});
  json j{
      {"changed", !d.empty()},
      {"old", {{"name", d.old_name}, {"version", d.old_version}}},
      {"new", {{"name", d.new_name}, {"version", d.new_version}}},
      {"rules", {{"added", d.rules_added}, {"removed", d.rules_removed}, {"changed", rules_changed}}},
      {"order_changed", d.order_changed},
      {"lists",
       {{"added", list_changes(d.lists_added)},
        {"removed", list_changes(d.lists_removed)},
        {"changed", list_changes(d.lists_changed)}}},
      {"trunks", {{"added", d.trunks_added}, {"removed", d.trunks_removed}, {"changed", trunks_changed}}},
      {"deny_sources", {{"added", d.deny_added}, {"removed", d.deny_removed}, {"changed", d.deny_changed}}},
      {"detectors", {{"added", d.detectors_added}, {"removed", d.detectors_removed}, {"changed", detectors_changed}}},
      {"dial_plan_changed", d.dial_plan_changed},
      {"guard_rails", d.guard_rail_changes}};
  if (d.order_changed) j["new_order"] = d.new_order;
  if (d.defaults_changed) j["defaults"] = {{"old", d.old_defaults}, {"new", d.new_defaults}};
  return j;
}

}  // namespace sipwall::cli
