// Finding a compiled set's rules, lists and trunks by name, for tests: the
// data plane and the tools work with indexes and never look names up, so
// the set itself has no such lookups.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::rules::test {

inline std::optional<std::uint32_t> find_rule(const CompiledRuleSet& s, std::string_view id) {
  for (std::size_t i = 0; i < s.rule_count(); ++i) {
    if (s.rule_id(i) == id) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

// Named lists only (generated ones have no names).
inline std::optional<std::uint32_t> find_list(const CompiledRuleSet& s, std::string_view name) {
  for (std::size_t i = 0; i < s.named_list_count(); ++i) {
    if (s.list_name(i) == name) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

inline std::optional<std::uint32_t> find_trunk(const CompiledRuleSet& s, std::string_view name) {
  for (std::size_t i = 0; i < s.trunk_count(); ++i) {
    if (s.trunk_name(i) == name) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

// Rule i's gate; no gate when the set has no gate index.
inline RuleGate rule_gate(const CompiledRuleSet& s, std::size_t i) {
  const auto gates = s.rule_gates();
  return i < gates.size() ? gates[i] : RuleGate{kNone, static_cast<std::uint32_t>(i + 1)};
}

}  // namespace sipwall::rules::test
