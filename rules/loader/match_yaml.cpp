// match expressions. Every map is an AND of its entries; `all`, `any` and
// `not` nest. A field entry holds operators:
//   caller: {in: harassment}          user_agent: {regex: ["(?i)sipvicious"]}
//   header: {name: X-Foo, present: true}      trunk_class: call_center
//   caller_in_trunk_ranges: false
//   detector: call_bombing    detector: {name: call_bombing, level: warn}
//   caller: {is: [absent, invalid]}    caller_shares_callee_prefix: 7
#include <array>

#include "rules/loader/loader_internal.h"
#include "rules/loader/number_text.h"
#include "rules/loader/regex_check.h"
#include "rules/loader/regex_cost.h"
#include "rules/loader/suggest.h"
#include "rules/model/model_text.h"
#include "rules/model/outside_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::array<std::string_view, 17> kMatchKeys = {"caller",
                                                         "from",
                                                         "pai",
                                                         "to",
                                                         "ruri",
                                                         "diversion",
                                                         "user_agent",
                                                         "display_name",
                                                         "trunk",
                                                         "trunk_class",
                                                         "header",
                                                         "all",
                                                         "any",
                                                         "not",
                                                         "caller_in_trunk_ranges",
                                                         "detector",
                                                         "caller_shares_callee_prefix"};
constexpr std::array<std::string_view, 8> kNumberOps = {"in",     "prefix", "range",   "equals",
                                                        "number", "regex",  "present", "is"};
constexpr std::array<std::string_view, 2> kDetectorRefKeys = {"name", "level"};
constexpr std::array<std::string_view, 2> kLevelNames = {"warn", "block"};
constexpr std::array<std::string_view, 2> kTextOps = {"regex", "present"};
constexpr std::array<std::string_view, 3> kHeaderOps = {"name", "regex", "present"};
constexpr std::array<std::string_view, 2> kTrunkOps = {"equals", "present"};

MatchExpr leaf(Predicate p) {
  MatchExpr m;
  m.kind = MatchExpr::Kind::predicate;
  m.where = p.where;
  m.predicate = std::move(p);
  return m;
}

MatchExpr negate(MatchExpr inner, const SourceLocation& where) {
  MatchExpr m;
  m.kind = MatchExpr::Kind::not_;
  m.where = where;
  m.children.push_back(std::move(inner));
  return m;
}

// One child stays itself; several are ANDed.
MatchExpr conjunction(std::vector<MatchExpr> parts, const SourceLocation& where) {
  if (parts.size() == 1) return std::move(parts.front());
  MatchExpr m;
  m.kind = MatchExpr::Kind::all;
  m.where = where;
  m.children = std::move(parts);
  return m;
}

bool valid_header_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool Loader::check_trunk_name(Field field, const Item& it) {
  const bool is_trunk = field == Field::trunk;
  if (is_trunk ? trunk_at_.count(it.text) > 0 : classes_.count(it.text) > 0) return true;
  std::vector<std::string> names;
  if (is_trunk) {
    for (const auto& [n, _] : trunk_at_) names.push_back(n);
  } else {
    names.assign(classes_.begin(), classes_.end());
  }
  std::string msg = std::string(is_trunk ? "unknown trunk '" : "unknown trunk class '") + it.text + "'";
  if (auto near = closest(it.text, names); !near.empty()) msg += "; did you mean '" + near + "'?";
  if (names.empty()) {
    msg += " (no trunks are defined)";
  } else {
    msg += std::string(is_trunk ? " (trunks: " : " (classes used by trunks: ") + join_names(names) + ")";
  }
  error(it.at, msg);
  return false;
}

std::optional<MatchExpr> Loader::read_match(const YAML::Node& node, const SourceLocation& where) {
  const std::size_t errors_before = errors_;
  if (node.IsMap() && node.size() == 0) {
    error(where, "an empty match would match every call; use 'defaults' for that");
    return std::nullopt;
  }
  // Unknown keys are checked here rather than by map_entries: the message
  // names fields and operators.
  const auto entries = map_entries(node, where, "match", kMatchKeys);
  if (!entries) return std::nullopt;
  std::vector<MatchExpr> parts;

  for (const Entry& e : *entries) {
    if (e.key == "all" || e.key == "any") {
      if (!e.value.IsSequence() || e.value.size() == 0) {
        error(e.value_at, "'" + e.key + "' must be a non-empty list of match expressions, got " + describe(e.value));
        continue;
      }
      MatchExpr m;
      m.kind = e.key == "all" ? MatchExpr::Kind::all : MatchExpr::Kind::any;
      m.where = e.key_at;
      for (const YAML::Node& child : e.value) {
        if (auto c = read_match(child, at(child, e.value_at))) m.children.push_back(std::move(*c));
      }
      parts.push_back(std::move(m));
      continue;
    }
    if (e.key == "not") {
      if (auto c = read_match(e.value, e.value_at)) parts.push_back(negate(std::move(*c), e.key_at));
      continue;
    }
    if (e.key == "caller_in_trunk_ranges") {
      if (auto b = boolean(e)) {
        Predicate p;
        p.field = Field::caller;
        p.op = Op::caller_in_trunk_ranges;
        p.expect = *b;
        p.where = e.key_at;
        parts.push_back(leaf(std::move(p)));
        if (!any_caller_ranges_) {
          warning(e.key_at, "no trunk has 'caller_ranges', so caller_in_trunk_ranges never matches");
        }
      }
      continue;
    }

    if (e.key == "detector") {
      if (auto p = read_detector_ref(e)) parts.push_back(leaf(std::move(*p)));
      continue;
    }
    if (e.key == "caller_shares_callee_prefix") {
      if (auto n = integer(e, 1, static_cast<std::int64_t>(number::kMaxDigits))) {
        Predicate p;
        p.field = Field::caller;
        p.op = Op::caller_shares_callee_prefix;
        p.digits = static_cast<std::uint32_t>(*n);
        p.where = e.key_at;
        parts.push_back(leaf(std::move(p)));
      }
      continue;
    }

    const Field field = *field_from_string(e.key);
    const bool trunk_field = field == Field::trunk || field == Field::trunk_class;
    std::vector<MatchExpr> ops;

    // trunk: intl-gw   /   trunk_class: [call_center, access]
    if (trunk_field && (e.value.IsScalar() || e.value.IsSequence())) {
      Entry eq{"equals", e.value, e.key_at, e.value_at};
      if (auto items = scalar_list(eq, "a name")) {
        Predicate p;
        p.field = field;
        p.op = Op::equals;
        p.where = e.key_at;
        bool ok = true;
        for (const Item& it : *items) {
          if (!check_trunk_name(field, it)) {
            ok = false;
            continue;
          }
          p.values.push_back(it.text);
          p.value_where.push_back(it.at);
        }
        if (ok) ops.push_back(leaf(std::move(p)));
      }
    } else {
      std::span<const std::string_view> allowed = kNumberOps;
      if (field == Field::header)
        allowed = kHeaderOps;
      else if (is_text_field(field))
        allowed = kTextOps;
      else if (trunk_field)
        allowed = kTrunkOps;
      const std::string what = "'" + e.key + "'";
      const auto oe = map_entries(e.value, e.value_at, what, allowed);
      if (!oe) continue;
      std::string header_name;
      if (field == Field::header) {
        if (const Entry* n = require(*oe, "name", e.key_at, what)) {
          if (auto v = scalar(*n, "a header name")) {
            if (valid_header_name(*v)) {
              header_name = *v;
            } else {
              error(n->value_at, quote_text(*v) + " is not a header name");
            }
          }
        }
      }
      bool any_op = false;
      for (const Entry& op : *oe) {
        if (op.key == "name") continue;
        any_op = true;
        Predicate p;
        p.field = field;
        p.header_name = header_name;
        p.where = op.key_at;
        if (op.key == "present") {
          auto b = boolean(op);
          if (!b) continue;
          p.op = Op::present;
          MatchExpr m = leaf(std::move(p));
          ops.push_back(*b ? std::move(m) : negate(std::move(m), op.key_at));
          continue;
        }
        if (op.key == "is") {
          auto items = scalar_list(op, "a number shape");
          if (!items) continue;
          bool ok = true;
          for (const Item& it : *items) {
            if (auto shape = number_shape_from_string(it.text)) {
              p.shapes |= shape_bit(*shape);
              continue;
            }
            std::string msg = "unknown number shape " + quote_text(it.text);
            if (auto near = closest(it.text, number_shape_names()); !near.empty()) {
              msg += "; did you mean '" + near + "'?";
            }
            error(it.at, msg + " (shapes: " + join_names(number_shape_names()) + ")");
            ok = false;
          }
          if (!ok) continue;
          p.op = Op::number_is;
          ops.push_back(leaf(std::move(p)));
          continue;
        }
        if (op.key == "in") {
          auto items = scalar_list(op, "a list name");
          if (!items) continue;
          std::vector<MatchExpr> alts;
          for (const Item& it : *items) {
            if (!check_list_ref(it.text, it.at)) continue;
            Predicate q = p;
            q.op = Op::in_list;
            q.list = it.text;
            q.where = it.at;
            alts.push_back(leaf(std::move(q)));
          }
          if (alts.size() != items->size()) continue;
          if (alts.size() == 1) {
            ops.push_back(std::move(alts.front()));
          } else {
            MatchExpr any;
            any.kind = MatchExpr::Kind::any;
            any.where = op.key_at;
            any.children = std::move(alts);
            ops.push_back(std::move(any));
          }
          continue;
        }
        auto items = scalar_list(op, op.key == "regex" ? "a pattern" : "a value");
        if (!items) continue;
        bool ok = true;
        if (op.key == "regex") {
          p.op = Op::regex;
          for (const Item& it : *items) {
            if (std::string why = checked_regex(it.text); !why.empty()) {
              error(it.at, "bad regex " + quote_text(it.text) + ": " + why);
              ok = false;
              continue;
            }
            p.values.push_back(it.text);
            p.value_where.push_back(it.at);
          }
        } else if (op.key == "prefix") {
          p.op = Op::prefix;
          for (const Item& it : *items) {
            if (!plan_ok_) break;
            NumberText n = parse_prefix(it.text, rs_.dial_plan);
            if (!n.ok) {
              error(it.at, n.error);
              ok = false;
              continue;
            }
            p.values.push_back(std::move(n.digits));
            p.value_where.push_back(it.at);
          }
        } else if (op.key == "range") {
          p.op = Op::range;
          for (const Item& it : *items) {
            if (!plan_ok_) break;
            RangeText r = parse_range(it.text, rs_.dial_plan);
            if (!r.ok) {
              error(it.at, r.error);
              ok = false;
              continue;
            }
            p.ranges.push_back(std::move(r.range));
            p.value_where.push_back(it.at);
          }
        } else {  // equals / number
          p.op = Op::equals;
          for (const Item& it : *items) {
            if (trunk_field) {
              if (!check_trunk_name(field, it)) {
                ok = false;
                continue;
              }
              p.values.push_back(it.text);
            } else {
              if (!plan_ok_) break;
              NumberText n = parse_number(it.text, rs_.dial_plan);
              if (!n.ok) {
                error(it.at, n.error);
                ok = false;
                continue;
              }
              p.values.push_back(std::move(n.digits));
            }
            p.value_where.push_back(it.at);
          }
        }
        if (ok) ops.push_back(leaf(std::move(p)));
      }
      // (An unknown operator was reported already; do not add "needs an operator".)
      if (!any_op && e.value.size() <= (field == Field::header ? 1u : 0u)) {
        error(e.key_at,
              what + " needs an operator (" + join_names(allowed.subspan(field == Field::header ? 1 : 0)) + ")");
        continue;
      }
    }
    // The trunk entries are checked above; a failed operator left nothing.
    if (!ops.empty()) parts.push_back(conjunction(std::move(ops), e.key_at));
  }
  if (errors_ != errors_before || parts.empty()) {
    if (errors_ == errors_before) error(where, "the match has no conditions");
    return std::nullopt;
  }
  return conjunction(std::move(parts), where);
}

// detector: NAME   or   detector: {name: NAME, level: warn|block}
std::optional<Predicate> Loader::read_detector_ref(const Entry& e) {
  Predicate p;
  p.op = Op::detector;
  p.field = Field::caller;  // unused: the predicate reads the detector's level
  p.where = e.key_at;
  SourceLocation name_at = e.value_at;
  if (e.value.IsScalar()) {
    p.detector = e.value.Scalar();
  } else if (e.value.IsMap()) {
    const auto de = map_entries(e.value, e.value_at, "'detector'", kDetectorRefKeys);
    if (!de) return std::nullopt;
    const Entry* n = require(*de, "name", e.key_at, "'detector'");
    if (n == nullptr) return std::nullopt;
    auto v = scalar(*n, "a detector name");
    if (!v) return std::nullopt;
    p.detector = *v;
    name_at = n->value_at;
    if (const Entry* l = find(*de, "level")) {
      auto lv = scalar(*l, "warn or block");
      if (!lv) return std::nullopt;
      if (*lv == "warn") {
        p.level = detect::Level::warn;
      } else if (*lv == "block") {
        p.level = detect::Level::block;
      } else {
        std::string msg = "unknown detector level " + quote_text(*lv);
        if (auto near = closest(*lv, kLevelNames); !near.empty()) msg += "; did you mean '" + near + "'?";
        error(l->value_at, msg + " (levels: warn, block)");
        return std::nullopt;
      }
    }
  } else {
    error(e.value_at, "'detector' must be a detector name or {name: ..., level: warn|block}, got " + describe(e.value));
    return std::nullopt;
  }
  if (!check_detector_ref(p.detector, name_at)) return std::nullopt;
  return p;
}

// A pattern's cost first (rules/loader/regex_cost.h: refused before
// Hyperscan spends seconds on it), then Hyperscan's own check. Each distinct
// pattern once: a set may repeat one in many rules.
std::string Loader::checked_regex(const std::string& pattern) {
  if (const auto it = regex_checked_.find(pattern); it != regex_checked_.end()) return it->second;
  std::string why;
  const RegexCost c = regex_cost(pattern);
  if (c.positions > kMaxRegexPositions) {
    why = "too costly to compile: " + std::to_string(c.positions) +
          " positions once its bounded repeats are written out, more than the " + std::to_string(kMaxRegexPositions) +
          " a pattern may have";
  } else if (regex_repeat_total_ + c.repeated > kMaxRepeatPositions) {
    why = "too costly to compile: its bounded repeats add " + std::to_string(c.repeated) + " positions to the " +
          std::to_string(regex_repeat_total_) + " of the patterns before it, more than the " +
          std::to_string(kMaxRepeatPositions) + " all patterns together may have";
  } else {
    why = check_regex(pattern);
    if (why.empty()) regex_repeat_total_ += c.repeated;
  }
  regex_checked_.emplace(pattern, why);
  return why;
}

}  // namespace sipwall::rules::loader
