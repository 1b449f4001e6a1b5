// Synthetic rule sets and INVITE mixes for the rules benchmarks. Generated at
// run time (nothing is committed): numbers are Chinese mobiles, +861[3-9]x..,
// drawn from a seeded generator so every run sees the same data.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/classify/packet_source.h"
#include "dataplane/sip/sip_message.h"
#include "rules/model/rule_model.h"

namespace sipwall::perf {

struct SyntheticSpec {
  std::uint64_t numbers = 1'000'000;  // exact numbers in the caller block list
  std::uint64_t dnc = 100'000;        // exact numbers in the callee do-not-call list
  std::uint64_t prefixes = 1'000;     // callee premium prefixes
  std::uint64_t ranges = 100;         // callee number-block ranges
  std::uint64_t regexes = 0;          // User-Agent / display-name patterns
  std::uint32_t trunks = 64;
  std::uint32_t exact_lists = 1;  // the caller numbers split over this many lists
  std::uint64_t seed = 1;
  // Only two rules: caller in the block list, and a trunk-class rule (the
  // "numbers + trunk" case); no DNC/prefix/range/spoofing rules.
  bool minimal = false;
};

// The rule set: complaints (caller), dnc (callee on call-centre trunks),
// premium prefixes, number-block ranges, spoofing guard on international
// trunks, a trace rule, optional regex rules; guard rails 110/119/120.
// (`minimal`: complaints + one trunk-class rule only.)
rules::RuleSet make_rule_set(const SyntheticSpec& spec);

// One parsed INVITE and where it came from. Not movable: the message views
// point into `text`.
struct Call {
  std::string text;
  sip::Message msg;
  classify::PacketSource src;
};

// `count` INVITEs; `hit_percent` of them carry a caller from the block list
// (the rest are random numbers, which almost never hit).
std::vector<std::unique_ptr<Call>> make_calls(const SyntheticSpec& spec, std::size_t count, unsigned hit_percent,
                                              std::uint64_t seed);

// The i-th caller number of the block list (E.164 digits, no '+').
std::string block_number(const SyntheticSpec& spec, std::uint64_t i);

}  // namespace sipwall::perf
