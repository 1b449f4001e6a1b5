// What a trace record and a call record name from the rule set a verdict
// came from: the names, not the indexes, because the records outlive the
// set (a reload replaces it before the main lcore reads them). Views into
// the set: the caller copies them into its record before the set can go.
#pragma once

#include <string_view>

#include "dataplane/classify/verdict.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::dataplane {

struct VerdictNames {
  std::string_view trunk;  // "" when the verdict has no trunk
  std::string_view ruleset_version;
  std::string_view detector;  // "" when no detector decided
};

inline VerdictNames verdict_names(const classify::Verdict& v, const rules::CompiledRuleSet& set) noexcept {
  VerdictNames n;
  if (v.trunk != classify::kNoTrunk) n.trunk = set.trunk_name(v.trunk);
  n.ruleset_version = set.version();
  if (v.detector != classify::kNoDetector) n.detector = set.detector_name(v.detector);
  return n;
}

}  // namespace sipwall::dataplane
