// What classify() decided about one INVITE, and why. Plain data: every
// string_view points into the CompiledRuleSet (valid while the set is), the
// numbers are copies.
#pragma once

#include <cstdint>
#include <string_view>

#include "rules/compiled/program.h"
#include "rules/compiled/trunk_table.h"
#include "rules/detect/detector_spec.h"
#include "rules/model/rule_model.h"
#include "rules/number/normalize.h"

namespace sipwall::classify {

inline constexpr std::uint32_t kNoRule = 0xFFFFFFFFU;
inline constexpr std::uint32_t kNoTrunk = rules::kNoTrunk;
inline constexpr std::uint32_t kNoList = rules::kNone;
inline constexpr std::uint8_t kNoDetector = 0xFF;

enum class DecidedBy : std::uint8_t {
  rule,            // a terminal rule matched: `rule` / `rule_id`
  default_action,  // no terminal rule matched
  emergency,       // guard rail: the callee is an emergency number -> pass
  allow_caller,    // guard rail: the caller is in an allow list -> pass
  allow_callee,    // guard rail: the callee is in an allow list -> pass
};
std::string_view to_string(DecidedBy d) noexcept;

// Verdict::flags
inline constexpr std::uint8_t kScanError = 1;        // a Hyperscan scan failed; its patterns counted as no match
inline constexpr std::uint8_t kScratchTooSmall = 2;  // Scratch not prepared for this set; regexes counted as no match

struct Verdict {
  rules::ActionKind action = rules::ActionKind::pass;  // never trace
  DecidedBy decided_by = DecidedBy::default_action;
  std::uint8_t flags = 0;

  std::uint32_t rule = kNoRule;        // rule index in precedence order (CompiledRuleSet::rule)
  std::string_view rule_id;            // empty unless decided_by == rule
  std::uint32_t trace_rule = kNoRule;  // first `trace` rule that matched before the decision
  std::string_view trace_rule_id;

  // Why the deciding rule matched: the first predicate that held (those
  // naming a list — membership, trunk caller ranges — preferred). match_list is the list it tested
  // (named, or generated for inline values / trunk caller ranges).
  bool has_match = false;
  rules::Field match_field = rules::Field::caller;
  std::uint16_t match_header = rules::kNoHeader;  // match_field == header
  std::uint32_t match_list = kNoList;
  std::uint32_t match_atom = rules::kNone;  // CompiledRuleSet::atom_info(match_atom)

  std::uint32_t trunk = kNoTrunk;  // CompiledRuleSet::trunk(trunk)
  number::Number caller;           // P-Asserted-Identity (first number) else From
  number::Number callee;           // Request-URI number, else To when the R-URI has none

  // The action's rendered parts (empty when not applicable).
  std::uint16_t reject_code = 0;    // 603 / 608
  std::string_view reject_phrase;   // "Decline" / "Rejected"
  std::string_view reason_line;     // Reason: SIP;cause=...;text="..."
  std::string_view call_info_line;  // Call-Info: <...>;purpose=jwscard (608)
  std::string_view tag_line;        // X-Header: value
  std::string_view tag_label;       // put in front of the From / P-Asserted-Identity display names (empty: none)
  std::string_view tag_verstat;     // ;verstat= value for the From / P-Asserted-Identity URIs (empty: none)

  // Behavioural detection (docs/rules.md "Detectors"). `detector`: the
  // detector whose condition decided the rule (kNoDetector if none did);
  // else, when report_only, the report-mode detector. Its count in the
  // window at this INVITE (asr: attempts) and its level.
  std::uint8_t detector = kNoDetector;  // CompiledRuleSet::detector_name(detector)
  std::uint32_t detector_count = 0;
  detect::Level detector_level = detect::Level::none;
  // Report mode: a rule matched through `detector`, which runs in report
  // mode, and did not act. report_action is what it would have done (rule
  // report_rule); the call got `action` from the rest of the set (with no
  // other rule matching: the default, normally pass). Never set when a
  // detector decided the verdict, nor when a guard rail did.
  bool report_only = false;
  rules::ActionKind report_action = rules::ActionKind::pass;
  std::uint32_t report_rule = kNoRule;
  std::string_view report_rule_id;
};

}  // namespace sipwall::classify
