// Checks on a loaded rule set that are not errors but usually mistakes:
// rules that can never match because an earlier terminal rule takes every
// call they would, and lists nothing uses. `sipwallctl rules check` prints
// them as warnings.
#pragma once

#include <cstddef>
#include <vector>

#include "rules/model/diagnostic.h"
#include "rules/model/rule_model.h"

namespace sipwall::rules {

// find_shadowed_rules + find_unused_lists + find_unused_detectors, in that order.
std::vector<Diagnostic> analyze(const RuleSet& rs);

// Work done by find_shadowed_rules (tests check it grows linearly).
struct ShadowStats {
  std::size_t implication_checks = 0;  // match_implies() calls
  std::size_t rules_cut_short = 0;     // rules with more candidates than kMaxShadowCandidates
};
// A rule is compared with at most this many earlier rules that could shadow
// it (only a set written to defeat the index has more); the rest are not
// tried, so a warning may be missed there, never a wrong one given.
inline constexpr std::size_t kMaxShadowCandidates = 256;

// A warning for each rule that an earlier (in precedence order) terminal rule
// shadows. Only what match_implies can prove is reported. Near-linear: each
// rule is compared only with earlier rules an index says could imply it.
std::vector<Diagnostic> find_shadowed_rules(const RuleSet& rs, ShadowStats* stats = nullptr);

// A warning for each list no rule and no guard rail refers to.
std::vector<Diagnostic> find_unused_lists(const RuleSet& rs);

// A warning for each detector no rule refers to.
std::vector<Diagnostic> find_unused_detectors(const RuleSet& rs);

// True only if every call that matches `later` also matches `earlier`. Sound
// but incomplete (cheap syntactic reasoning): identical expressions; an
// `earlier` whose conditions are each implied by one of `later`'s ANDed
// conditions; prefixes, ranges, numbers and names contained in wider ones;
// any operator implying `present`. `rs` (optional) lets a number be found
// inside an exact list.
bool match_implies(const MatchExpr& later, const MatchExpr& earlier, const RuleSet* rs = nullptr);

}  // namespace sipwall::rules
