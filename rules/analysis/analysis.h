// Checks on a loaded rule set that are not errors but usually mistakes:
// rules that can never match because an earlier terminal rule takes every
// call they would, and lists nothing uses. `sipwallctl rules check` prints
// them as warnings.
#pragma once

#include <vector>

#include "rules/model/diagnostic.h"
#include "rules/model/rule_model.h"

namespace sipwall::rules {

// find_shadowed_rules + find_unused_lists, in that order.
std::vector<Diagnostic> analyze(const RuleSet& rs);

// A warning for each rule that an earlier (in precedence order) terminal rule
// shadows. Only what match_implies can prove is reported.
std::vector<Diagnostic> find_shadowed_rules(const RuleSet& rs);

// A warning for each list no rule and no guard rail refers to.
std::vector<Diagnostic> find_unused_lists(const RuleSet& rs);

// True only if every call that matches `later` also matches `earlier`. Sound
// but incomplete (cheap syntactic reasoning): identical expressions; an
// `earlier` whose conditions are each implied by one of `later`'s ANDed
// conditions; prefixes, ranges, numbers and names contained in wider ones;
// any operator implying `present`. `rs` (optional) lets a number be found
// inside an exact list.
bool match_implies(const MatchExpr& later, const MatchExpr& earlier, const RuleSet* rs = nullptr);

}  // namespace sipwall::rules
