#include "dataplane/classify/explain.h"

#include <fmt/format.h>

#include <iterator>

#include "dataplane/classify/engine.h"
#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::classify {

namespace {

void add_number(Explanation& x, const rules::CompiledRuleSet& set, const detail::Engine& e, std::size_t slot,
                rules::Field f, std::uint8_t instance) {
  const detail::NumberSlot& s = e.slot(slot);
  if (s.uri == nullptr) return;
  NumberFieldFacts n;
  n.field = f;
  n.instance = instance;
  n.is_caller = e.caller_slot() == slot;
  n.is_callee = e.callee_slot() == slot;
  n.uri = std::string(s.uri->text);
  n.number = s.num;
  for (std::size_t sp = 0; sp < rules::kNumberSpaces; ++sp) {
    const auto space = static_cast<rules::NumberSpace>(sp);
    for (std::uint32_t bit : set.sets(space).bits_of(e.set_id(s, space))) {
      n.lists.push_back(set.list_of_bit(space, bit));
    }
  }
  x.numbers.push_back(std::move(n));
}

std::string action_text(const rules::CompiledRuleSet& set, const rules::ActionInfo& a) {
  switch (a.kind) {
    case rules::ActionKind::reject: {
      std::string s = fmt::format("reject {} {}", a.reject_code, set.str(a.phrase));
      if (a.reason_text.len != 0) s += fmt::format(" \"{}\"", set.str(a.reason_text));
      return s;
    }
    case rules::ActionKind::tag: {
      std::string s = fmt::format("tag [{}]", set.str(a.tag_line));
      if (a.tag_label.len != 0) s += fmt::format(" label \"{}\"", set.str(a.tag_label));
      if (a.tag_verstat != rules::Verstat::none) s += fmt::format(" verstat {}", rules::verstat_text(a.tag_verstat));
      return s;
    }
    default:
      return std::string(rules::to_string(a.kind));
  }
}

std::string field_text(const rules::CompiledRuleSet& set, rules::Field f, std::uint16_t header) {
  if (f == rules::Field::header && header < set.headers().size()) {
    return fmt::format("header {}", set.str(set.headers()[header].name));
  }
  return std::string(rules::to_string(f));
}

std::string because(const rules::CompiledRuleSet& set, bool has, rules::Field f, std::uint16_t header,
                    std::uint32_t list, std::uint32_t atom) {
  if (!has) return {};
  if (atom != rules::kNone && (set.atoms()[atom].kind == rules::AtomKind::detector_level ||
                               set.atoms()[atom].kind == rules::AtomKind::number_shape ||
                               set.atoms()[atom].kind == rules::AtomKind::caller_shares_callee_prefix)) {
    return fmt::format(" because {}", set.str(set.atom_info(atom).text));
  }
  if (atom != rules::kNone && set.atoms()[atom].kind == rules::AtomKind::caller_in_trunk_ranges) {
    std::string s = fmt::format(" because {}", set.str(set.atom_info(atom).text));
    if (list != kNoList) s += fmt::format(" (list '{}')", set.list_name(list));
    return s;
  }
  std::string s = " because " + field_text(set, f, header);
  if (list != kNoList) {
    s += fmt::format(" in list '{}'", set.list_name(list));
  } else if (atom != rules::kNone) {
    s += fmt::format(": {}", set.str(set.atom_info(atom).text));
  }
  return s;
}

}  // namespace

Explanation explain(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src,
                    Scratch& scratch, DetectContext* detect) {
  Explanation x;
  x.verdict = classify(set, msg, src, scratch, detect);

  detail::Engine e(set, msg, src, scratch, detect, false);
  e.resolve(true);
  add_number(x, set, e, detail::kFrom, rules::Field::from, 0);
  for (std::uint8_t i = 0; i < e.pai_count(); ++i) add_number(x, set, e, detail::kPai0 + i, rules::Field::pai, i);
  if (e.slot(detail::kRpid).uri != nullptr) {
    add_number(x, set, e, detail::kRpid, rules::Field::from, 0);
    x.numbers.back().rpid = true;
  }
  add_number(x, set, e, detail::kTo, rules::Field::to, 0);
  add_number(x, set, e, detail::kRuri, rules::Field::ruri, 0);
  for (std::uint8_t i = 0; i < e.diversion_count(); ++i) {
    add_number(x, set, e, detail::kDiv0 + i, rules::Field::diversion, i);
  }
  x.user_agent = std::string(msg.user_agent);
  x.display_name = std::string(e.caller_display_name());
  x.trunk = e.trunk();
  x.emergency = e.emergency();
  x.allow_caller = e.allow_caller();
  x.allow_callee = e.allow_callee();

  bool decided = x.emergency || x.allow_caller || x.allow_callee;
  for (std::size_t i = 0; i < set.rule_count(); ++i) {
    detail::Witness w;
    if (!e.run_rule(i, w)) continue;
    RuleMatch m;
    m.rule = static_cast<std::uint32_t>(i);
    m.id = set.rule_id(i);
    m.action = set.rule_action(i).kind;
    if (const std::uint8_t det = e.witness_detector(w); det != kNoDetector && e.report_only(det)) {
      m.report_only = rules::is_terminal(m.action);
    }
    if (rules::is_terminal(m.action) && !m.report_only) {
      if (!decided) {
        m.decided = true;
        decided = true;
      } else {
        m.overridden = true;
      }
    }
    e.match_of(w, m.has_match, m.match_field, m.match_header, m.match_list, m.match_atom);
    x.matched.push_back(m);
  }
  return x;
}

std::string to_text(const Explanation& x, const rules::CompiledRuleSet& set) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "rule set: {} version {} (checksum {:016x})\n", set.name(), set.version(), set.checksum());
  if (x.trunk == kNoTrunk) {
    fmt::format_to(it, "trunk: none (source matches no trunk)\n");
  } else {
    fmt::format_to(it, "trunk: {} (class {})\n", set.trunk_name(x.trunk),
                   set.trunk_class_name(x.trunk).empty() ? "-" : set.trunk_class_name(x.trunk));
  }
  fmt::format_to(it, "numbers:\n");
  for (const NumberFieldFacts& n : x.numbers) {
    std::string name(n.rpid ? "rpid" : rules::to_string(n.field));
    if (!n.rpid && (n.field == rules::Field::pai || n.field == rules::Field::diversion)) {
      name += fmt::format("[{}]", n.instance);
    }
    std::string role = n.is_caller ? " (caller)" : "";
    if (n.is_callee) role += " (callee)";
    std::string norm =
        n.number.kind == number::NumberKind::e164 || n.number.kind == number::NumberKind::short_code
            ? fmt::format("{} ({})", n.number.text(), number::to_string(n.number.kind))
            : fmt::format("{} ({})", number::to_string(n.number.kind), number::to_string(n.number.reason));
    fmt::format_to(it, "  {:<13} {}\n      -> {}", name + role, text::printable(n.uri), norm);
    if (!n.lists.empty()) {
      fmt::format_to(it, "  lists:");
      for (std::uint32_t l : n.lists) fmt::format_to(it, " '{}'", set.list_name(l));
    }
    fmt::format_to(it, "\n");
  }
  // Bytes from the message: shown by the rule of text/safe_text.h (the
  // Explanation keeps them raw).
  if (!x.user_agent.empty()) fmt::format_to(it, "user-agent: {}\n", text::printable(x.user_agent));
  if (!x.display_name.empty()) fmt::format_to(it, "caller display name: {}\n", text::printable(x.display_name));
  fmt::format_to(it, "guard rails: {}{}{}{}\n", x.emergency ? "emergency callee " : "",
                 x.allow_caller ? "caller allow-listed " : "", x.allow_callee ? "callee allow-listed " : "",
                 x.emergency || x.allow_caller || x.allow_callee ? "-> pass, no rule can block" : "none");
  if (x.matched.empty()) {
    fmt::format_to(it, "matched rules: none\n");
  } else {
    fmt::format_to(it, "matched rules (precedence order):\n");
    for (const RuleMatch& m : x.matched) {
      const rules::RuleInfo& r = set.rule(m.rule);
      fmt::format_to(it, "  {} (priority {}, {}): {} -> {}{}{}\n", m.id, r.priority, set.str(r.where),
                     set.str(r.match_text), action_text(set, set.rule_action(m.rule)),
                     m.decided       ? "  [decided]"
                     : m.overridden  ? "  [matched, not applied]"
                     : m.report_only ? "  [report mode, not applied]"
                                     : "",
                     because(set, m.has_match, m.match_field, m.match_header, m.match_list, m.match_atom));
    }
  }
  const Verdict& v = x.verdict;
  std::string by;
  switch (v.decided_by) {
    case DecidedBy::rule:
      by = fmt::format("rule '{}'", v.rule_id);
      break;
    case DecidedBy::default_action:
      by = "the default action";
      break;
    case DecidedBy::emergency:
      by = "guard rail: emergency number";
      break;
    case DecidedBy::allow_caller:
      by = "guard rail: caller allow list";
      break;
    case DecidedBy::allow_callee:
      by = "guard rail: callee allow list";
      break;
  }
  const rules::ActionInfo* ai = nullptr;
  if (v.decided_by == DecidedBy::rule) ai = &set.rule_action(v.rule);
  if (v.decided_by == DecidedBy::default_action) ai = &set.default_action();
  fmt::format_to(it, "verdict: {} by {}{}\n", ai != nullptr ? action_text(set, *ai) : std::string("pass"), by,
                 because(set, v.has_match, v.match_field, v.match_header, v.match_list, v.match_atom));
  if (v.detector != kNoDetector) {
    fmt::format_to(it, "detector: {} count {} level {}{}\n", set.detector_name(v.detector), v.detector_count,
                   detect::to_string(v.detector_level), v.report_only ? " (report mode)" : "");
  }
  if (v.report_only) {
    fmt::format_to(it, "report mode: rule '{}' would have done {}; not applied\n", v.report_rule_id,
                   rules::to_string(v.report_action));
  }
  if (v.trace_rule != kNoRule) fmt::format_to(it, "traced by: {}\n", v.trace_rule_id);
  if (v.flags & kScanError) fmt::format_to(it, "warning: a pattern scan failed (counted as no match)\n");
  if (v.flags & kScratchTooSmall) fmt::format_to(it, "warning: scratch not prepared; patterns not evaluated\n");
  return out;
}

}  // namespace sipwall::classify
