#include "rules/model/model_text.h"

#include <array>
#include <vector>

namespace sipwall::rules {
namespace {

constexpr std::array<std::string_view, 11> kFieldNames = {
    "caller", "from", "pai", "to", "ruri", "diversion", "user_agent", "display_name", "header", "trunk", "trunk_class"};

// Short codes are at most this long and E.164 numbers longer (dial_plan.h),
// so the digits alone say which is which.
constexpr std::size_t kMaxShortCodeDigits = number::kMaxShortCodeDigits;

std::string number_text(const std::string& digits) {
  if (digits.size() <= kMaxShortCodeDigits) return digits;
  return "+" + digits;
}

void append_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

template <typename Items, typename Fn>
void append_list(std::string& out, const Items& items, Fn&& one) {
  out += '[';
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ", ";
    first = false;
    one(item);
  }
  out += ']';
}

}  // namespace

bool is_number_field(Field f) noexcept {
  switch (f) {
    case Field::caller:
    case Field::from:
    case Field::pai:
    case Field::to:
    case Field::ruri:
    case Field::diversion:
      return true;
    default:
      return false;
  }
}

bool is_text_field(Field f) noexcept {
  return f == Field::user_agent || f == Field::display_name || f == Field::header;
}

std::string_view to_string(Field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < kFieldNames.size() ? kFieldNames[i] : std::string_view("?");
}

std::optional<Field> field_from_string(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kFieldNames.size(); ++i) {
    if (kFieldNames[i] == s) return static_cast<Field>(i);
  }
  return std::nullopt;
}

std::string_view to_string(ListKind k) noexcept {
  switch (k) {
    case ListKind::exact:
      return "exact";
    case ListKind::prefix:
      return "prefix";
    case ListKind::range:
      return "range";
  }
  return "?";
}

std::optional<ListKind> list_kind_from_string(std::string_view s) noexcept {
  if (s == "exact") return ListKind::exact;
  if (s == "prefix") return ListKind::prefix;
  if (s == "range") return ListKind::range;
  return std::nullopt;
}

std::string_view to_string(Op op) noexcept {
  switch (op) {
    case Op::in_list:
      return "in";
    case Op::prefix:
      return "prefix";
    case Op::range:
      return "range";
    case Op::equals:
      return "equals";
    case Op::regex:
      return "regex";
    case Op::present:
      return "present";
    case Op::caller_in_trunk_ranges:
      return "caller_in_trunk_ranges";
    case Op::detector:
      return "detector";
    case Op::number_is:
      return "is";
    case Op::caller_shares_callee_prefix:
      return "caller_shares_callee_prefix";
  }
  return "?";
}

namespace {
constexpr std::array<std::string_view, kNumberShapes> kShapeNames = {
    "absent", "not_a_number", "invalid", "short_code", "too_short", "too_long", "bad_length"};
}  // namespace

std::string_view to_string(NumberShape s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < kShapeNames.size() ? kShapeNames[i] : "?";
}

std::optional<NumberShape> number_shape_from_string(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kShapeNames.size(); ++i) {
    if (kShapeNames[i] == s) return static_cast<NumberShape>(i);
  }
  return std::nullopt;
}

std::span<const std::string_view> number_shape_names() noexcept {
  return kShapeNames;
}

std::string_view to_string(ActionKind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kActionNames.size() ? kActionNames[i] : "?";
}

std::string_view to_string(MalformedPolicy p) noexcept {
  switch (p) {
    case MalformedPolicy::fail_open:
      return "fail_open";
    case MalformedPolicy::fail_closed:
      return "fail_closed";
  }
  return "?";
}

std::string to_string(const SourceLocation& loc) {
  std::string out = loc.file;
  if (loc.line == 0) return out;
  out += ':';
  out += std::to_string(loc.line);
  if (loc.column == 0) return out;
  out += ':';
  out += std::to_string(loc.column);
  return out;
}

std::string format_key(number::E164Key key) {
  const std::size_t len = number::key_length(key);
  std::string digits = std::to_string(number::key_value(key));
  if (digits.size() < len) digits.insert(0, len - digits.size(), '0');
  return number_text(digits);
}

std::string format_range(const NumberRange& r) {
  return number_text(r.first) + ".." + number_text(r.last);
}

std::string to_string(const Predicate& p) {
  std::string out(to_string(p.field));
  if (p.field == Field::header) {
    out += ' ';
    out += p.header_name;
  }
  if (p.op == Op::caller_in_trunk_ranges) {
    return std::string("caller_in_trunk_ranges ") + (p.expect ? "true" : "false");
  }
  if (p.op == Op::detector) {
    return "detector " + p.detector + " at " + detect::to_string(p.level);
  }
  if (p.op == Op::caller_shares_callee_prefix) {
    return "caller_shares_callee_prefix " + std::to_string(p.digits);
  }
  out += ' ';
  out += to_string(p.op);
  switch (p.op) {
    case Op::in_list:
      out += ' ';
      out += p.list;
      break;
    case Op::prefix:
      append_list(out, p.values, [&](const std::string& v) { out += "+" + v; });
      break;
    case Op::range:
      append_list(out, p.ranges, [&](const NumberRange& r) { out += format_range(r); });
      break;
    case Op::equals:
      if (is_number_field(p.field)) {
        append_list(out, p.values, [&](const std::string& v) { out += number_text(v); });
      } else {
        append_list(out, p.values, [&](const std::string& v) { out += v; });
      }
      break;
    case Op::regex:
      append_list(out, p.values, [&](const std::string& v) { append_quoted(out, v); });
      break;
    case Op::number_is: {
      std::vector<std::string_view> names;
      for (unsigned i = 0; i < kNumberShapes; ++i) {
        if (p.shapes & (1U << i)) names.push_back(to_string(static_cast<NumberShape>(i)));
      }
      append_list(out, names, [&](std::string_view v) { out += v; });
      break;
    }
    case Op::present:
    case Op::caller_in_trunk_ranges:
    case Op::detector:
    case Op::caller_shares_callee_prefix:
      break;
  }
  // "caller prefix[...]" reads badly; put a space before lists.
  if (const auto pos = out.find('['); pos != std::string::npos && out[pos - 1] != ' ') {
    out.insert(pos, 1, ' ');
  }
  return out;
}

std::string to_string(const MatchExpr& m) {
  switch (m.kind) {
    case MatchExpr::Kind::predicate:
      return to_string(m.predicate);
    case MatchExpr::Kind::not_:
      return "not(" + (m.children.empty() ? std::string() : to_string(m.children[0])) + ")";
    case MatchExpr::Kind::all:
    case MatchExpr::Kind::any: {
      std::string out = m.kind == MatchExpr::Kind::all ? "all(" : "any(";
      for (std::size_t i = 0; i < m.children.size(); ++i) {
        if (i) out += ", ";
        out += to_string(m.children[i]);
      }
      out += ')';
      return out;
    }
  }
  return "?";
}

std::string to_string(const Action& a) {
  std::string out(to_string(a.kind));
  switch (a.kind) {
    case ActionKind::reject:
      out += ' ' + std::to_string(a.reject_code) + ' ';
      append_quoted(out, a.reason_text);
      if (!a.call_info.empty()) out += " call_info " + a.call_info;
      break;
    case ActionKind::tag:
      out += ' ' + a.tag_header + ' ';
      append_quoted(out, a.tag_value);
      out += " score " + std::to_string(a.score);
      if (!a.tag_label.empty()) {
        out += " label ";
        append_quoted(out, a.tag_label);
      }
      if (a.tag_verstat != Verstat::none) out += " verstat " + std::string(verstat_text(a.tag_verstat));
      break;
    default:
      break;
  }
  return out;
}

}  // namespace sipwall::rules
