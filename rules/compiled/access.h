// Write access to a CompiledRuleSet's members, for the two places that build
// one: the compiler and the artifact loader. Nothing on the packet path
// includes this.
#pragma once

#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::rules {

struct CompiledRuleSetAccess {
  static CompiledRuleSetData& data(CompiledRuleSet& s) noexcept { return s.d_; }
  static const CompiledRuleSetData& data(const CompiledRuleSet& s) noexcept { return s.d_; }
};

// Appends `s` to the pool and returns its reference.
inline StrRef intern_string(CompiledRuleSetData& d, std::string_view s) {
  StrRef r{static_cast<std::uint32_t>(d.strings.size()), static_cast<std::uint32_t>(s.size())};
  d.strings.append(s);
  return r;
}

// xxh3-64 over the content (everything but the Hyperscan bytes).
std::uint64_t content_checksum(const CompiledRuleSetData& d);

// Fills d.index from the programs. `d` must have passed validate(); both
// builders (compiler, artifact loader) call it right after.
void derive_match_index(CompiledRuleSetData& d);

}  // namespace sipwall::rules

namespace sipwall::rules {

// Every index the matcher follows is inside its array (code jumps, atoms,
// slots, lists, strings...). The loader runs it so a bad artifact can never
// make a worker read out of bounds; tests run it on every compiled set.
bool validate(const CompiledRuleSetData& d, std::string& why);

}  // namespace sipwall::rules
