#include "dataplane/classify/classify.h"

#include <new>
#include <type_traits>

#include "dataplane/classify/engine.h"

namespace sipwall::classify {

std::string_view to_string(DecidedBy d) noexcept {
  switch (d) {
    case DecidedBy::rule:
      return "rule";
    case DecidedBy::default_action:
      return "default";
    case DecidedBy::emergency:
      return "emergency";
    case DecidedBy::allow_caller:
      return "allow_caller";
    case DecidedBy::allow_callee:
      return "allow_callee";
  }
  return "?";
}

namespace {

// Everything after the numbers are resolved: guard rails, rules, default.
// Into `v` (reset first), not returned: the worker keeps its verdict in
// place, and assigning a returned Verdict costs a memcpy call per INVITE.
void decide(const rules::CompiledRuleSet& set, detail::Engine& e, Verdict& v) noexcept {
  v = Verdict{};
  e.describe(v);
  if (!e.guard(v)) {
    bool decided = false;
    const std::size_t n = set.rule_count();
    const auto gates = set.rule_gates();
    const bool gated = gates.size() == n;
    for (std::size_t i = 0; i < n && !decided; ++i) {
      // A gated rule whose regex target matched nothing cannot match, nor can
      // the rules after it with the same gate: skip them all (rules [i,
      // skip_to)). The scan is the one the rule's first predicate would run.
      if (gated && gates[i].target != rules::kNone && !e.target_hit(gates[i].target)) {
        i = gates[i].skip_to - 1;
        continue;
      }
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
      // Report mode: a rule that matched through a detector in report mode
      // does not act; it is recorded and evaluation goes on, so the call
      // gets what the rest of the set gives it (docs/rules.md "Report mode").
      if (const std::uint8_t det = e.witness_detector(w); det != kNoDetector && e.report_only(det)) {
        e.note_report(v, i, w);
        continue;
      }
      e.decide_rule(v, i, w);
      decided = true;
    }
    if (!decided) e.decide_default(v);
  }
  v.flags = e.flags();
}

}  // namespace

Verdict classify(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src, Scratch& scratch,
                 DetectContext* detect) noexcept {
  detail::Engine e(set, msg, src, scratch, detect);
  e.resolve(false);
  Verdict v;
  decide(set, e, v);
  return v;
}

static_assert(sizeof(detail::Engine) <= InFlight::kEngineBytes && alignof(detail::Engine) <= 16 &&
                  std::is_trivially_destructible_v<detail::Engine>,
              "InFlight's storage must hold an Engine (raise kEngineBytes)");

void InFlight::start(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src,
                     Scratch& scratch, DetectContext* detect) noexcept {
  set_ = &set;
  auto* e = ::new (engine_) detail::Engine(set, msg, src, scratch, detect);
  e->begin(false);
}

void InFlight::verdict(Verdict& out) noexcept {
  auto* e = std::launder(reinterpret_cast<detail::Engine*>(engine_));
  e->finish(false);
  decide(*set_, *e, out);
}

Verdict InFlight::verdict() noexcept {
  Verdict v;
  verdict(v);
  return v;
}

}  // namespace sipwall::classify
