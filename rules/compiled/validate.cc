#include <string>

#include "rules/compiled/access.h"

namespace sipwall::rules {

namespace {

bool str_ok(const CompiledRuleSetData& d, StrRef r) noexcept {
  return static_cast<std::uint64_t>(r.off) + r.len <= d.strings.size();
}

bool fail(std::string& why, std::string msg) {
  why = std::move(msg);
  return false;
}

bool number_field(Field f) noexcept {
  switch (f) {
    case Field::caller: case Field::from: case Field::pai:
    case Field::to: case Field::ruri: case Field::diversion:
      return true;
    default:
      return false;
  }
}

bool text_field(Field f) noexcept {
  return f == Field::user_agent || f == Field::display_name || f == Field::header;
}

}  // namespace

bool validate(const CompiledRuleSetData& d, std::string& why) {
  for (StrRef r : {d.name, d.version, d.source_file}) {
    if (!str_ok(d, r)) return fail(why, "identity string out of range");
  }
  if (d.default_action >= d.actions.size()) return fail(why, "default action out of range");
  if (d.actions[d.default_action].kind == ActionKind::trace) {
    return fail(why, "default action is trace");
  }
  for (const ActionInfo& a : d.actions) {
    if (static_cast<unsigned>(a.kind) > static_cast<unsigned>(ActionKind::trace)) {
      return fail(why, "unknown action kind");
    }
    for (StrRef r : {a.reason_text, a.phrase, a.reason_line, a.call_info_line, a.tag_line}) {
      if (!str_ok(d, r)) return fail(why, "action string out of range");
    }
  }
  const std::size_t ncode = d.code.size();
  for (const RuleInfo& r : d.rules) {
    if (r.action >= d.actions.size()) return fail(why, "rule action out of range");
    // Every rule has at least one instruction before its END (the matcher
    // reads code[pc + 1] to spot one-predicate rules).
    if (r.code + 1 >= ncode) return fail(why, "rule code out of range");
    for (StrRef s : {r.id, r.where, r.match_text, r.description}) {
      if (!str_ok(d, s)) return fail(why, "rule string out of range");
    }
  }
  // Code: every jump lands inside, every atom exists, every rule ends.
  if (ncode > 0 && op::code_of(d.code[ncode - 1]) != op::end) {
    return fail(why, "code does not end with END");
  }
  for (std::size_t pc = 0; pc < ncode; ++pc) {
    const std::uint32_t ins = d.code[pc];
    const auto c = op::code_of(ins);
    const std::uint32_t x = op::operand_of(ins);
    switch (c) {
      case op::atom:
        if ((x & op::kAtomMask) >= d.atoms.size()) return fail(why, "code names a missing atom");
        break;
      case op::jf:
      case op::jt:
        // Forward only: evaluation always reaches an END, whatever the file says.
        if (x >= ncode || x <= pc) return fail(why, "code jumps backwards or outside the program");
        break;
      case op::not_: case op::pushw: case op::popw: case op::true_: case op::false_:
      case op::end:
        break;
      default:
        return fail(why, "unknown instruction");
    }
  }
  if (d.atom_info.size() != d.atoms.size()) return fail(why, "atom info count differs");
  for (const AtomInfo& ai : d.atom_info) {
    if (!str_ok(d, ai.text) || !str_ok(d, ai.where)) return fail(why, "atom string out of range");
  }
  auto bits_of_space = [&](NumberSpace sp) -> std::uint32_t {
    const auto i = static_cast<std::size_t>(sp);
    return i < kNumberSpaces ? d.sets[i].bit_count() : 0;
  };
  for (const Atom& a : d.atoms) {
    if (a.list != kNone && a.list >= d.lists.size()) return fail(why, "atom list out of range");
    switch (a.kind) {
      case AtomKind::number_in_set:
        if (!number_field(a.field)) return fail(why, "set atom on a non-number field");
        if (a.a >= kNumberSpaces) return fail(why, "bad number space");
        if (a.b >= bits_of_space(static_cast<NumberSpace>(a.a))) return fail(why, "atom bit out of range");
        break;
      case AtomKind::number_regex:
      case AtomKind::text_regex:
        if (a.a >= d.regex_slots || a.b >= d.targets.size()) return fail(why, "regex atom out of range");
        if (a.a < d.targets[a.b].slot_begin || a.a >= d.targets[a.b].slot_end) {
          return fail(why, "regex slot outside its target");
        }
        if ((a.kind == AtomKind::number_regex) != number_field(a.field)) {
          return fail(why, "regex atom on the wrong kind of field");
        }
        break;
      case AtomKind::number_present:
        if (!number_field(a.field)) return fail(why, "number atom on a non-number field");
        break;
      case AtomKind::text_equals:
        if (static_cast<std::uint64_t>(a.a) + a.b > d.text_values.size()) {
          return fail(why, "text values out of range");
        }
        [[fallthrough]];
      case AtomKind::text_present:
        if (!text_field(a.field)) return fail(why, "text atom on a non-text field");
        break;
      case AtomKind::trunk_in:
      case AtomKind::trunk_class_in:
        if (static_cast<std::uint64_t>(a.a) + a.b > d.id_pool.size()) return fail(why, "id pool out of range");
        break;
      case AtomKind::trunk_present:
      case AtomKind::caller_in_trunk_ranges:
        break;
      default:
        return fail(why, "unknown atom kind");
    }
    if (a.field == Field::header && a.header >= d.headers.size()) {
      return fail(why, "atom header out of range");
    }
  }
  for (StrRef r : d.text_values) {
    if (!str_ok(d, r)) return fail(why, "text value out of range");
  }
  for (const HeaderName& h : d.headers) {
    if (!str_ok(d, h.name)) return fail(why, "header name out of range");
  }
  if (d.dbs.size() != d.targets.size()) return fail(why, "database count differs from targets");
  for (std::size_t i = 0; i < d.targets.size(); ++i) {
    const ScanTarget& t = d.targets[i];
    if (t.slot_begin > t.slot_end || t.slot_end > d.regex_slots) return fail(why, "target slots out of range");
    if (t.field == Field::header && t.header >= d.headers.size()) return fail(why, "target header out of range");
    if (!d.dbs[i]) return fail(why, "missing database");
  }
  for (const PatternSource& p : d.patterns) {
    if (!str_ok(d, p.expression) || !str_ok(d, p.where) || p.slot >= d.regex_slots) {
      return fail(why, "pattern out of range");
    }
  }
  for (const ListInfo& l : d.lists) {
    if (!str_ok(d, l.name) || !str_ok(d, l.where)) return fail(why, "list string out of range");
    if (l.bit >= bits_of_space(l.space)) {
      return fail(why, "list bit out of range");
    }
  }
  if (d.named_lists > d.lists.size()) return fail(why, "named list count out of range");
  for (std::size_t sp = 0; sp < kNumberSpaces; ++sp) {
    for (std::uint32_t li : d.bit_list[sp]) {
      if (li >= d.lists.size()) return fail(why, "bit list index out of range");
    }
    if (d.bit_list[sp].size() != d.sets[sp].bit_count()) {
      return fail(why, "bit list size differs from the set width");
    }
  }
  for (StrRef r : d.classes) {
    if (!str_ok(d, r)) return fail(why, "class name out of range");
  }
  for (const TrunkInfo& t : d.trunks) {
    if (!str_ok(d, t.name)) return fail(why, "trunk name out of range");
    if (t.class_id != kNone && t.class_id >= d.classes.size()) return fail(why, "trunk class out of range");
    if (t.caller_prefix_bit != kNone && t.caller_prefix_bit >= bits_of_space(NumberSpace::prefix)) {
      return fail(why, "trunk caller bit out of range");
    }
    if (t.caller_range_bit != kNone && t.caller_range_bit >= bits_of_space(NumberSpace::range)) {
      return fail(why, "trunk caller bit out of range");
    }
    for (std::uint32_t li : {t.caller_prefix_list, t.caller_range_list}) {
      if (li != kNone && li >= d.lists.size()) return fail(why, "trunk caller list out of range");
    }
  }
  for (const ListRef& r : d.allow_callers) {
    if (r.bit >= bits_of_space(r.space)) return fail(why, "allow list out of range");
  }
  for (const ListRef& r : d.allow_callees) {
    if (r.bit >= bits_of_space(r.space)) return fail(why, "allow list out of range");
  }
  // Table values are list-set ids (the interval maps check theirs on load).
  const std::uint32_t exact_sets = d.sets[0].count();
  bool values_ok = true;
  d.exact.for_each([&](number::E164Key k, std::uint32_t v) {
    values_ok = values_ok && v != 0 && v < exact_sets && number::key_valid(k);
  });
  if (!values_ok) return fail(why, "exact table holds a bad key or a value that is not a list set");
  for (const DenyEntry& e : d.deny) {
    if (e.prefix_len > 128) return fail(why, "deny_sources prefix length above 128");
    for (StrRef r : {e.id, e.text, e.where, e.description}) {
      if (!str_ok(d, r)) return fail(why, "deny_sources string out of range");
    }
  }
  for (const TrunkCandidate& c : d.deny_table.raw_candidates()) {
    if (c.trunk >= d.deny.size()) return fail(why, "deny_sources table names a missing entry");
  }
  return true;
}

}  // namespace sipwall::rules
