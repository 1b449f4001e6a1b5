// `sipwallctl rules lookup NUMBER`: what a compiled rule set holds about one
// number, like Kamailio's htable.get. The lists it is in (named ones, the
// values written in rules and trunks' allowed callers), for a prefix list
// the prefix that holds it, the guard rails it meets, and the rules whose
// match it would satisfy: each found by classifying an INVITE that carries
// only this number, once as the caller and once as the callee, through the
// data plane's own classify::explain. Allocates; not for the packet path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/classify/explain.h"
#include "rules/compiled/compiled_rule_set.h"
#include "rules/number/normalize.h"

namespace sipwall::control {

struct ListHit {
  std::uint32_t list = 0;  // index in the set
  std::string name;        // a named list's name, or the generated description
  rules::ListKind kind = rules::ListKind::exact;
  rules::ListOrigin origin = rules::ListOrigin::named;
  std::string where;  // file:line:col of its definition
  // Prefix lists: the shortest leading digits of the number (with '+') whose
  // every continuation the list holds: the list's entry, or an entry set
  // that covers the same numbers.
  std::string prefix;
};

struct RuleHit {
  std::string role;  // "caller" or "callee": the INVITE the number was put in
  std::string rule_id;
  std::string action;       // pass, drop, reject, tag, trace
  std::string where;        // file:line:col
  std::string field;        // the field whose value made the match hold
  std::string list;         // the list it was found in, if any
  bool decided = false;     // this rule gives that INVITE its verdict
  bool overridden = false;  // matched but an earlier rule or a guard rail decided
  bool report_only = false;
};

struct RoleVerdict {
  std::string role;
  std::string action;
  std::string decided_by;  // a rule id, "(default)" or "(guard rail: ...)"
};

struct NumberLookup {
  std::string written;  // as the user gave it
  number::Number number;
  std::string trunk;  // the trunk the INVITEs came from, empty if none
  bool emergency = false;
  bool allow_caller = false;  // the caller allow list of the guard rails holds it
  bool allow_callee = false;
  std::vector<ListHit> lists;
  std::vector<RuleHit> rules;
  std::vector<RoleVerdict> verdicts;  // of the two INVITEs
};

// A source address (with VLAN and local port) the trunk's calls come from,
// found in the set's trunk table. Nullopt if the trunk has none that the
// table gives to it (a more specific trunk owns all of its addresses).
std::optional<classify::PacketSource> trunk_source(const rules::CompiledRuleSet& set, std::uint32_t trunk);

// `written` in any form the set's dial plan normalises; `trunk` an index or
// classify::kNoTrunk. False with *why if the number is not a number or the
// INVITE cannot be classified (Hyperscan scratch).
bool lookup_number(const rules::CompiledRuleSet& set, const std::string& written, std::uint32_t trunk,
                   NumberLookup& out, std::string* why);

// True if a penalty-box key as the data plane's `detections` prints it
// ("+8613800001111", "+86138... -> +86139...", "peer-a -> +86139...") has
// `number` (normalised, with '+') as one of its parts.
bool detection_key_holds(std::string_view key, std::string_view number);

}  // namespace sipwall::control
