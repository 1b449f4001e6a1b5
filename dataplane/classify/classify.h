// The verdict for one INVITE: guard rails, then the rules in precedence
// order (first terminal match wins; `trace` rules record and go on), then the
// default action. See docs/matching.md.
//
// classify() is the packet-path call: it allocates nothing, takes no lock,
// throws nothing, and reads the message and the set only. Only INVITE
// requests are classified: the caller checks the method (and applies the
// set's malformed-SIP policy to messages that did not parse) before calling.
#pragma once

#include "classify/packet_source.h"
#include "classify/scratch.h"
#include "classify/verdict.h"
#include "rules/compiled/compiled_rule_set.h"
#include "sip/sip_message.h"

namespace sipwall::classify {

Verdict classify(const rules::CompiledRuleSet& set, const sip::Message& msg,
                 const PacketSource& src, Scratch& scratch) noexcept;

// A receive burst: out[i] is exactly classify(set, *msgs[i], srcs[i], scratch),
// but the exact-number table loads of up to kBurstGroup messages are started
// before any of them is waited for, so their cache misses overlap instead of
// adding up. Same guarantees as classify(): no allocation, lock or throw.
inline constexpr std::size_t kBurstGroup = 16;
void classify_burst(const rules::CompiledRuleSet& set, const sip::Message* const* msgs,
                    const PacketSource* srcs, std::size_t n, Scratch& scratch,
                    Verdict* out) noexcept;

}  // namespace sipwall::classify
