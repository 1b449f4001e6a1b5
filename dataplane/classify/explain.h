// `sipwallctl rules explain`: the same decision as classify(), with the
// evidence an operator needs to answer a complaint: every number field as
// written and normalised with the lists it hit, the trunk, the guard rails,
// every rule that matched (in precedence order, including those after the
// deciding one or overridden by a guard rail), and the verdict. Allocates;
// not for the packet path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/classify/classify.h"

namespace sipwall::classify {

struct NumberFieldFacts {
  rules::Field field = rules::Field::from;  // from, to, ruri, pai, diversion
  bool rpid = false;                        // Remote-Party-ID (read for a trunk whose caller_from names rpid)
  std::uint8_t instance = 0;                // which P-Asserted-Identity / Diversion value
  bool is_caller = false;                   // this value is the `caller`
  bool is_callee = false;                   // this value is the `callee`
  std::string uri;                          // the URI as written
  number::Number number;                    // normalised
  std::vector<std::uint32_t> lists;         // list indices it is in (named and generated)
};

struct RuleMatch {
  std::uint32_t rule = kNoRule;  // index in precedence order
  std::string_view id;
  rules::ActionKind action = rules::ActionKind::pass;
  bool decided = false;      // this rule made the verdict
  bool overridden = false;   // terminal, matched, but a guard rail or an earlier rule decided
  bool report_only = false;  // matched through a detector in report mode: did not act
  bool has_match = false;
  rules::Field match_field = rules::Field::caller;
  std::uint16_t match_header = rules::kNoHeader;
  std::uint32_t match_list = kNoList;
  std::uint32_t match_atom = rules::kNone;
};

struct Explanation {
  std::vector<NumberFieldFacts> numbers;
  std::string user_agent;
  std::string display_name;  // of the caller identity
  std::uint32_t trunk = kNoTrunk;
  bool emergency = false;
  bool allow_caller = false;
  bool allow_callee = false;
  std::vector<RuleMatch> matched;  // every rule whose match held, precedence order
  Verdict verdict;                 // exactly what classify() returns
};

// `detect` as for classify(): this INVITE is counted once (by the classify()
// inside), and detector conditions read the levels that left.
Explanation explain(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src,
                    Scratch& scratch, DetectContext* detect = nullptr);

// Human-readable, several lines (what `rules explain` prints by default).
std::string to_text(const Explanation& e, const rules::CompiledRuleSet& set);

}  // namespace sipwall::classify
