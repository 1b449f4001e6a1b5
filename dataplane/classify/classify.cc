#include "classify/classify.h"

#include "classify/engine.h"

namespace sipwall::classify {

std::string_view to_string(DecidedBy d) noexcept {
  switch (d) {
    case DecidedBy::rule: return "rule";
    case DecidedBy::default_action: return "default";
    case DecidedBy::emergency: return "emergency";
    case DecidedBy::allow_caller: return "allow_caller";
    case DecidedBy::allow_callee: return "allow_callee";
  }
  return "?";
}

Verdict classify(const rules::CompiledRuleSet& set, const sip::Message& msg,
                 const PacketSource& src, Scratch& scratch) noexcept {
  detail::Engine e(set, msg, src, scratch);
  e.resolve(false);
  Verdict v;
  e.describe(v);
  if (!e.guard(v)) {
    bool decided = false;
    for (std::size_t i = 0; i < set.rule_count() && !decided; ++i) {
      detail::Witness w;
      if (!e.run_rule(i, w)) continue;
      if (set.rule_action(i).kind == rules::ActionKind::trace) {
        // trace records and evaluation goes on.
        if (v.trace_rule == kNoRule) {
          v.trace_rule = static_cast<std::uint32_t>(i);
          v.trace_rule_id = set.rule_id(i);
        }
        continue;
      }
      e.decide_rule(v, i, w);
      decided = true;
    }
    if (!decided) e.decide_default(v);
  }
  v.flags = e.flags();
  return v;
}

}  // namespace sipwall::classify
