#include "rules/analysis/analysis.h"

#include <algorithm>
#include <set>

#include "number/normalize.h"
#include "rules/model/compare.h"
#include "rules/model/model_text.h"
#include "rules/model/precedence.h"

namespace sipwall::rules {
namespace {

// Numbers shorter than this are short codes, not E.164 (see model_text.cc).
constexpr std::size_t kMinE164Digits = number::kMinE164Digits;

using Atoms = std::vector<const MatchExpr*>;

void flatten(const MatchExpr& m, Atoms& out) {
  if (m.kind == MatchExpr::Kind::all) {
    for (const MatchExpr& c : m.children) flatten(c, out);
  } else {
    out.push_back(&m);
  }
}

bool starts_with_any(const std::string& digits, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return digits.starts_with(p); });
}

bool in_range(const std::string& digits, const NumberRange& r) {
  return digits.size() == r.first.size() && r.first <= digits && digits <= r.last;
}

bool range_inside(const NumberRange& inner, const NumberRange& outer) {
  return inner.first.size() == outer.first.size() && outer.first <= inner.first &&
         inner.last <= outer.last;
}

bool subset(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::all_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

const NumberList* find_list(const RuleSet* rs, const std::string& name) {
  if (rs == nullptr) return nullptr;
  for (const NumberList& l : rs->lists) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

bool number_in_list(const std::string& digits, const NumberList& l) {
  switch (l.kind) {
    case ListKind::exact:
      return std::binary_search(l.numbers.begin(), l.numbers.end(), number::pack(digits));
    case ListKind::prefix:
      return starts_with_any(digits, l.prefixes);
    case ListKind::range:
      return std::any_of(l.ranges.begin(), l.ranges.end(),
                         [&](const NumberRange& r) { return in_range(digits, r); });
  }
  return false;
}

bool all_e164(const std::vector<std::string>& values) {
  return std::all_of(values.begin(), values.end(),
                     [](const std::string& v) { return v.size() >= kMinE164Digits; });
}

// p => q for two single predicates.
bool predicate_implies(const Predicate& p, const Predicate& q, const RuleSet* rs) {
  if (same(p, q)) return true;
  if (p.field != q.field) return false;
  if (p.field == Field::header && !same_header_name(p.header_name, q.header_name)) return false;
  if (p.op == Op::caller_in_trunk_ranges || q.op == Op::caller_in_trunk_ranges) return false;
  switch (q.op) {
    case Op::present:
      // Every other operator needs a value to match.
      return p.op != Op::present;
    case Op::prefix:
      if (p.op == Op::prefix) {
        return std::all_of(p.values.begin(), p.values.end(),
                           [&](const std::string& v) { return starts_with_any(v, q.values); });
      }
      if (p.op == Op::equals && is_number_field(p.field) && all_e164(p.values)) {
        return std::all_of(p.values.begin(), p.values.end(),
                           [&](const std::string& v) { return starts_with_any(v, q.values); });
      }
      if (p.op == Op::range) {
        // Same-length ends sharing a prefix: everything between shares it.
        return std::all_of(p.ranges.begin(), p.ranges.end(), [&](const NumberRange& r) {
          return std::any_of(q.values.begin(), q.values.end(), [&](const std::string& pre) {
            return r.first.starts_with(pre) && r.last.starts_with(pre);
          });
        });
      }
      return false;
    case Op::range:
      if (p.op == Op::range) {
        return std::all_of(p.ranges.begin(), p.ranges.end(), [&](const NumberRange& r) {
          return std::any_of(q.ranges.begin(), q.ranges.end(),
                             [&](const NumberRange& o) { return range_inside(r, o); });
        });
      }
      if (p.op == Op::equals && is_number_field(p.field) && all_e164(p.values)) {
        return std::all_of(p.values.begin(), p.values.end(), [&](const std::string& v) {
          return std::any_of(q.ranges.begin(), q.ranges.end(),
                             [&](const NumberRange& o) { return in_range(v, o); });
        });
      }
      return false;
    case Op::equals:
      return p.op == Op::equals && subset(p.values, q.values);
    case Op::regex:
      return p.op == Op::regex && subset(p.values, q.values);
    case Op::in_list: {
      if (p.op != Op::equals || !is_number_field(p.field) || !all_e164(p.values)) return false;
      const NumberList* l = find_list(rs, q.list);
      return l != nullptr && std::all_of(p.values.begin(), p.values.end(),
                                         [&](const std::string& v) { return number_in_list(v, *l); });
    }
    case Op::caller_in_trunk_ranges:
      return false;
  }
  return false;
}

bool conj_implies(const Atoms& later, const MatchExpr& earlier, const RuleSet* rs);

// One condition of `later` (not an `all`) implies `earlier`.
bool atom_implies(const MatchExpr& a, const MatchExpr& earlier, const RuleSet* rs) {
  if (same(a, earlier)) return true;
  if (a.kind == MatchExpr::Kind::any) {
    // Each alternative must imply it.
    return !a.children.empty() &&
           std::all_of(a.children.begin(), a.children.end(), [&](const MatchExpr& c) {
             Atoms atoms;
             flatten(c, atoms);
             return conj_implies(atoms, earlier, rs);
           });
  }
  if (a.kind == MatchExpr::Kind::predicate && earlier.kind == MatchExpr::Kind::predicate) {
    return predicate_implies(a.predicate, earlier.predicate, rs);
  }
  if (a.kind == MatchExpr::Kind::not_ && earlier.kind == MatchExpr::Kind::not_) {
    // not(x) => not(y)  iff  y => x.
    Atoms atoms;
    flatten(earlier.children[0], atoms);
    return conj_implies(atoms, a.children[0], rs);
  }
  return false;
}

bool conj_implies(const Atoms& later, const MatchExpr& earlier, const RuleSet* rs) {
  if (earlier.kind == MatchExpr::Kind::all) {
    return std::all_of(earlier.children.begin(), earlier.children.end(),
                       [&](const MatchExpr& c) { return conj_implies(later, c, rs); });
  }
  for (const MatchExpr* a : later) {
    if (atom_implies(*a, earlier, rs)) return true;
  }
  if (earlier.kind == MatchExpr::Kind::any) {
    return std::any_of(earlier.children.begin(), earlier.children.end(),
                       [&](const MatchExpr& c) { return conj_implies(later, c, rs); });
  }
  return false;
}

void collect_lists(const MatchExpr& m, std::set<std::string>& out) {
  if (m.kind == MatchExpr::Kind::predicate) {
    if (m.predicate.op == Op::in_list) out.insert(m.predicate.list);
    return;
  }
  for (const MatchExpr& c : m.children) collect_lists(c, out);
}

}  // namespace

bool match_implies(const MatchExpr& later, const MatchExpr& earlier, const RuleSet* rs) {
  Atoms atoms;
  flatten(later, atoms);
  return conj_implies(atoms, earlier, rs);
}

std::vector<Diagnostic> find_shadowed_rules(const RuleSet& rs) {
  std::vector<Diagnostic> out;
  const std::vector<std::uint32_t> order = precedence_order(rs);
  for (std::size_t i = 1; i < order.size(); ++i) {
    const Rule& later = rs.rules[order[i]];
    for (std::size_t j = 0; j < i; ++j) {
      const Rule& earlier = rs.rules[order[j]];
      if (!is_terminal(earlier.action.kind)) continue;
      if (!match_implies(later.match, earlier.match, &rs)) continue;
      const bool identical = same(later.match, earlier.match);
      std::string why = identical ? "it has the same match as '" + earlier.id + "'"
                                  : "every call it matches also matches '" + earlier.id + "'";
      std::string order_why = earlier.priority != later.priority
                                  ? "priority " + std::to_string(earlier.priority) + " > " +
                                        std::to_string(later.priority)
                                  : "same priority, earlier in the file";
      out.push_back({Severity::warning, later.where,
                     "rule '" + later.id + "' can never match: " + why + " (" +
                         to_string(earlier.where) + "), which comes first (" + order_why +
                         ") and ends evaluation with '" + std::string(to_string(earlier.action.kind)) +
                         "'"});
      break;
    }
  }
  return out;
}

std::vector<Diagnostic> find_unused_lists(const RuleSet& rs) {
  std::set<std::string> used(rs.guard_rails.allow_callers.begin(), rs.guard_rails.allow_callers.end());
  used.insert(rs.guard_rails.allow_callees.begin(), rs.guard_rails.allow_callees.end());
  for (const Rule& r : rs.rules) collect_lists(r.match, used);
  std::vector<Diagnostic> out;
  for (const NumberList& l : rs.lists) {
    if (!used.count(l.name)) {
      out.push_back({Severity::warning, l.where,
                     "list '" + l.name + "' is not used by any rule or guard rail"});
    }
  }
  return out;
}

std::vector<Diagnostic> analyze(const RuleSet& rs) {
  std::vector<Diagnostic> out = find_shadowed_rules(rs);
  for (Diagnostic& d : find_unused_lists(rs)) out.push_back(std::move(d));
  return out;
}

}  // namespace sipwall::rules
