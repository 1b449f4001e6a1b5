// match expressions. Every map is an AND of its entries; `all`, `any` and
// `not` nest. A field entry holds operators (read_match -> read_match_entry
// -> read_operators -> read_operator -> the values of one operator):
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
#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

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

bool is_trunk_field(Field f) {
  return f == Field::trunk || f == Field::trunk_class;
}

// The operators a field takes (for header, "name" first: it is not one).
std::span<const std::string_view> operators_of(Field f) {
  if (f == Field::header) return kHeaderOps;
  if (is_text_field(f)) return kTextOps;
  if (is_trunk_field(f)) return kTrunkOps;
  return kNumberOps;
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
  std::string msg = std::string(is_trunk ? "unknown trunk " : "unknown trunk class ") + text::quote(it.text);
  if (auto near = closest(it.text, names); !near.empty()) msg += "; did you mean '" + near + "'?";
  if (names.empty()) {
    msg += " (no trunks are defined)";
  } else {
    msg += std::string(is_trunk ? " (trunks: " : " (classes used by trunks: ") + join_names(names) + ")";
  }
  error(it.at, msg);
  return false;
}

// A match map: the AND of its entries. Any error in it (or below) fails the
// whole expression, after every error in it has been reported.
std::optional<MatchExpr> Loader::read_match(const YAML::Node& node, const SourceLocation& where) {
  const std::size_t errors_before = error_count();
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
    if (auto part = read_match_entry(e)) parts.push_back(std::move(*part));
  }
  if (error_count() != errors_before || parts.empty()) {
    if (error_count() == errors_before) error(where, "the match has no conditions");
    return std::nullopt;
  }
  return conjunction(std::move(parts), where);
}

// One entry of a match map: a group (all, any, not), the trunk-ranges check,
// or a field with its operators.
std::optional<MatchExpr> Loader::read_match_entry(const Entry& e) {
  if (e.key == "all" || e.key == "any") return read_match_group(e);
  if (e.key == "not") {
    auto inner = read_match(e.value, e.value_at);
    if (!inner) return std::nullopt;
    return negate(std::move(*inner), e.key_at);
  }
  if (e.key == "caller_in_trunk_ranges") return read_trunk_ranges_check(e);
  if (e.key == "detector") {
    auto p = read_detector_ref(e);
    if (!p) return std::nullopt;
    return leaf(std::move(*p));
  }
  if (e.key == "caller_shares_callee_prefix") {
    const auto n = integer(e, 1, static_cast<std::int64_t>(number::kMaxDigits));
    if (!n) return std::nullopt;
    Predicate p;
    p.field = Field::caller;
    p.op = Op::caller_shares_callee_prefix;
    p.digits = static_cast<std::uint32_t>(*n);
    p.where = e.key_at;
    return leaf(std::move(p));
  }
  const Field field = *field_from_string(e.key);
  // trunk: intl-gw   /   trunk_class: [call_center, access]
  if (is_trunk_field(field) && (e.value.IsScalar() || e.value.IsSequence())) return read_trunk_names(field, e);
  std::vector<MatchExpr> ops = read_operators(field, e);
  if (ops.empty()) return std::nullopt;
  return conjunction(std::move(ops), e.key_at);
}

// all: [...] / any: [...]: a non-empty list of match maps.
std::optional<MatchExpr> Loader::read_match_group(const Entry& e) {
  if (!e.value.IsSequence() || e.value.size() == 0) {
    error(e.value_at, "'" + e.key + "' must be a non-empty list of match expressions, got " + describe(e.value));
    return std::nullopt;
  }
  MatchExpr m;
  m.kind = e.key == "all" ? MatchExpr::Kind::all : MatchExpr::Kind::any;
  m.where = e.key_at;
  for (const YAML::Node& child : e.value) {
    if (auto c = read_match(child, at(child, e.value_at))) m.children.push_back(std::move(*c));
  }
  return m;
}

std::optional<MatchExpr> Loader::read_trunk_ranges_check(const Entry& e) {
  const auto b = boolean(e);
  if (!b) return std::nullopt;
  Predicate p;
  p.field = Field::caller;
  p.op = Op::caller_in_trunk_ranges;
  p.expect = *b;
  p.where = e.key_at;
  if (!any_caller_ranges_) warning(e.key_at, "no trunk has 'caller_ranges', so caller_in_trunk_ranges never matches");
  return leaf(std::move(p));
}

// The shorthand for trunk and trunk_class: the names themselves (equals).
std::optional<MatchExpr> Loader::read_trunk_names(Field field, const Entry& e) {
  const Entry names{"equals", e.value, e.key_at, e.value_at};
  const auto items = scalar_list(names, "a name");
  if (!items) return std::nullopt;
  Predicate p;
  p.field = field;
  p.where = e.key_at;
  if (!read_equals(*items, p)) return std::nullopt;
  return leaf(std::move(p));
}

// A field's operator map, e.g. {in: harassment} or {name: X-Foo, regex: ...}:
// one predicate per operator, all of them ANDed by the caller.
std::vector<MatchExpr> Loader::read_operators(Field field, const Entry& e) {
  const std::span<const std::string_view> allowed = operators_of(field);
  const std::string what = "'" + e.key + "'";
  const auto entries = map_entries(e.value, e.value_at, what, allowed);
  if (!entries) return {};
  const bool header = field == Field::header;
  const std::string header_name = header ? read_header_name(*entries, e.key_at, what) : std::string();
  std::vector<MatchExpr> ops;
  bool any_op = false;
  for (const Entry& op : *entries) {
    if (op.key == "name") continue;
    any_op = true;
    if (auto m = read_operator(field, header_name, op)) ops.push_back(std::move(*m));
  }
  // (An unknown operator was reported already; do not add "needs an operator".)
  if (!any_op && e.value.size() <= (header ? 1u : 0u)) {
    error(e.key_at, what + " needs an operator (" + join_names(allowed.subspan(header ? 1 : 0)) + ")");
  }
  return ops;
}

// header: {name: ...}: the header's name, "" if it is missing or bad (reported).
std::string Loader::read_header_name(const std::vector<Entry>& entries, const SourceLocation& key_at,
                                     const std::string& what) {
  const Entry* n = require(entries, "name", key_at, what);
  if (n == nullptr) return {};
  const auto v = scalar(*n, "a header name");
  if (!v) return {};
  if (!valid_header_name(*v)) {
    error(n->value_at, text::quote(*v) + " is not a header name");
    return {};
  }
  return *v;
}

// One operator of a field: present, in, regex, prefix, range, equals (number).
std::optional<MatchExpr> Loader::read_operator(Field field, const std::string& header_name, const Entry& op) {
  Predicate p;
  p.field = field;
  p.header_name = header_name;
  p.where = op.key_at;
  if (op.key == "present") {
    const auto b = boolean(op);
    if (!b) return std::nullopt;
    p.op = Op::present;
    MatchExpr m = leaf(std::move(p));
    return *b ? std::move(m) : negate(std::move(m), op.key_at);
  }
  if (op.key == "in") return read_in_lists(std::move(p), op);
  if (op.key == "is") return read_number_shapes(std::move(p), op);
  const auto items = scalar_list(op, op.key == "regex" ? "a pattern" : "a value");
  if (!items) return std::nullopt;
  bool ok;
  if (op.key == "regex")
    ok = read_regexes(*items, p);
  else if (op.key == "prefix")
    ok = read_prefixes(*items, p);
  else if (op.key == "range")
    ok = read_ranges(*items, p);
  else  // equals / number
    ok = read_equals(*items, p);
  if (!ok) return std::nullopt;
  return leaf(std::move(p));
}

// in: a list name, or several (any of them).
std::optional<MatchExpr> Loader::read_in_lists(Predicate p, const Entry& op) {
  const auto items = scalar_list(op, "a list name");
  if (!items) return std::nullopt;
  std::vector<MatchExpr> alts;
  for (const Item& it : *items) {
    if (!check_list_ref(it.text, it.at)) continue;
    Predicate q = p;
    q.op = Op::in_list;
    q.list = it.text;
    q.where = it.at;
    alts.push_back(leaf(std::move(q)));
  }
  if (alts.size() != items->size()) return std::nullopt;
  if (alts.size() == 1) return std::move(alts.front());
  MatchExpr any;
  any.kind = MatchExpr::Kind::any;
  any.where = op.key_at;
  any.children = std::move(alts);
  return any;
}

// The values of one operator into `p`; false if any is bad (each reported).
// Without a usable dial plan numbers are not read (the plan's error stands).
bool Loader::read_regexes(const std::vector<Item>& items, Predicate& p) {
  p.op = Op::regex;
  bool ok = true;
  for (const Item& it : items) {
    if (std::string why = checked_regex(it.text); !why.empty()) {
      error(it.at, "bad regex " + text::quote(it.text) + ": " + why);
      ok = false;
      continue;
    }
    p.values.push_back(it.text);
    p.value_where.push_back(it.at);
  }
  return ok;
}

bool Loader::read_prefixes(const std::vector<Item>& items, Predicate& p) {
  p.op = Op::prefix;
  bool ok = true;
  for (const Item& it : items) {
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
  return ok;
}

bool Loader::read_ranges(const std::vector<Item>& items, Predicate& p) {
  p.op = Op::range;
  bool ok = true;
  for (const Item& it : items) {
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
  return ok;
}

// Trunk names for trunk and trunk_class, numbers for the number fields.
bool Loader::read_equals(const std::vector<Item>& items, Predicate& p) {
  p.op = Op::equals;
  bool ok = true;
  for (const Item& it : items) {
    if (is_trunk_field(p.field)) {
      if (!check_trunk_name(p.field, it)) {
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
  return ok;
}

// caller: {is: [absent, invalid, short_code, too_long, too_short, ...]}
std::optional<MatchExpr> Loader::read_number_shapes(Predicate p, const Entry& op) {
  const auto items = scalar_list(op, "a number shape");
  if (!items) return std::nullopt;
  bool ok = true;
  for (const Item& it : *items) {
    if (auto shape = number_shape_from_string(it.text)) {
      p.shapes |= shape_bit(*shape);
      continue;
    }
    std::string msg = "unknown number shape " + text::quote(it.text);
    if (auto near = closest(it.text, number_shape_names()); !near.empty()) msg += "; did you mean '" + near + "'?";
    error(it.at, msg + " (shapes: " + join_names(number_shape_names()) + ")");
    ok = false;
  }
  if (!ok) return std::nullopt;
  p.op = Op::number_is;
  return leaf(std::move(p));
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
        std::string msg = "unknown detector level " + text::quote(*lv);
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
