// derive_match_index(): facts the classifier uses to skip work, read off the
// rule programs once per set (compile or load), never per INVITE.
#include <algorithm>
#include <vector>

#include "rules/compiled/access.h"

namespace sipwall::rules {

namespace {

constexpr std::uint8_t kFalse = 1;
constexpr std::uint8_t kTrue = 2;

bool is_regex(const Atom& a) noexcept {
  return a.kind == AtomKind::number_regex || a.kind == AtomKind::text_regex;
}

// Can the program starting at `start` end true when every regex atom of scan
// target `t` is false (and every other atom may be either)? A forward pass
// over the code (jumps only go forward, validate() checks it) keeping, per
// instruction, the set of values the accumulator can have on arrival. Atoms
// are treated as independent, so the answer errs only towards "yes": a "no"
// is a proof. The rule's program is code[start, end) (validate() keeps every
// jump inside it), so the work over all rules is linear in the code.
bool can_match_without(const CompiledRuleSetData& d, std::uint32_t start, std::uint32_t end, std::uint32_t t) {
  const std::vector<std::uint32_t>& code = d.code;
  std::vector<std::uint8_t> in(end - start, 0);
  in[0] = kFalse;                 // the interpreter starts with acc = false
  std::uint32_t horizon = start;  // furthest instruction any path reaches
  auto flow = [&](std::uint32_t to, std::uint8_t v) {
    in[to - start] |= v;
    horizon = std::max(horizon, to);
  };
  for (std::uint32_t pc = start; pc < end && pc <= horizon; ++pc) {
    const std::uint8_t s = in[pc - start];
    if (s == 0) continue;
    const std::uint32_t ins = code[pc];
    const std::uint32_t x = op::operand_of(ins);
    switch (op::code_of(ins)) {
      case op::atom: {
        const Atom& a = d.atoms[x & op::kAtomMask];
        flow(pc + 1, is_regex(a) && a.b == t ? kFalse : kFalse | kTrue);
        break;
      }
      case op::not_:
        flow(pc + 1, static_cast<std::uint8_t>(((s & kFalse) ? kTrue : 0) | ((s & kTrue) ? kFalse : 0)));
        break;
      case op::jf:
        if (s & kFalse) flow(x, kFalse);
        if (s & kTrue) flow(pc + 1, kTrue);
        break;
      case op::jt:
        if (s & kTrue) flow(x, kTrue);
        if (s & kFalse) flow(pc + 1, kFalse);
        break;
      case op::pushw:
      case op::popw:
        flow(pc + 1, s);
        break;
      case op::true_:
        flow(pc + 1, kTrue);
        break;
      case op::false_:
        flow(pc + 1, kFalse);
        break;
      case op::end:
        if (s & kTrue) return true;
        break;  // this path ends false
      default:
        return true;  // unknown instruction: no proof
    }
  }
  return false;
}

// The gate of the rule whose code starts at `start`, or kNone: its first
// predicate (always evaluated: nothing but PUSHW can come before it) must be
// a regex, and the rule must be false whenever that regex's target matched
// nothing.
std::uint32_t gate_of(const CompiledRuleSetData& d, std::uint32_t start, std::uint32_t end) {
  std::uint32_t pc = start;
  while (pc < end && op::code_of(d.code[pc]) == op::pushw) ++pc;
  if (pc >= end || op::code_of(d.code[pc]) != op::atom) return kNone;
  const Atom& a = d.atoms[op::operand_of(d.code[pc]) & op::kAtomMask];
  if (!is_regex(a)) return kNone;
  return can_match_without(d, start, end, a.b) ? kNone : a.b;
}

}  // namespace

void derive_match_index(CompiledRuleSetData& d) {
  MatchIndex& x = d.index;
  x = MatchIndex{};
  for (const Atom& a : d.atoms) {
    if (a.kind == AtomKind::number_in_set && a.a == static_cast<std::uint32_t>(NumberSpace::exact)) {
      x.exact_fields |= field_bit(a.field);
    }
  }
  const std::size_t n = d.rules.size();
  x.gates.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto end = static_cast<std::uint32_t>(i + 1 < n ? d.rules[i + 1].code : d.code.size());
    x.gates[i].target = gate_of(d, d.rules[i].code, end);
  }
  for (std::size_t i = n; i-- > 0;) {
    const bool same_as_next = i + 1 < n && x.gates[i].target != kNone && x.gates[i + 1].target == x.gates[i].target;
    x.gates[i].skip_to = same_as_next ? x.gates[i + 1].skip_to : static_cast<std::uint32_t>(i + 1);
  }
}

}  // namespace sipwall::rules
