// Text forms of the model: enum names as written in YAML, source locations,
// numbers and match expressions, for messages, `explain` and `diff`.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rules/model/rule_model.h"
#include "rules/number/normalize.h"

namespace sipwall::rules {

// The YAML spelling of each enum value ("caller", "in", "reject", "fail_open" ...).
std::string_view to_string(Field f) noexcept;
std::string_view to_string(ListKind k) noexcept;
std::string_view to_string(Op op) noexcept;
std::string_view to_string(ActionKind k) noexcept;
std::string_view to_string(MalformedPolicy p) noexcept;

std::optional<Field> field_from_string(std::string_view s) noexcept;
std::optional<ListKind> list_kind_from_string(std::string_view s) noexcept;
std::string_view to_string(NumberShape s) noexcept;
std::optional<NumberShape> number_shape_from_string(std::string_view s) noexcept;
std::span<const std::string_view> number_shape_names() noexcept;  // in NumberShape order

// "file:line:col"; "file:line" when the column is unknown, "file" when the line is.
std::string to_string(const SourceLocation& loc);

// A packed E.164 key as "+8613800138000".
std::string format_key(number::E164Key key);
// "+8621600000..+8621600099"
std::string format_range(const NumberRange& r);

// One line, YAML-like: `all(caller in harassment, trunk_class equals [call_center])`.
std::string to_string(const Predicate& p);
std::string to_string(const MatchExpr& m);
// `reject 608 "Harassment"`, `tag X-Sipwall-Risk "{score}" score 80`, `pass` ...
std::string to_string(const Action& a);

// Terminal actions end evaluation; `trace` records and evaluation continues.
inline bool is_terminal(ActionKind k) noexcept {
  return k != ActionKind::trace;
}

}  // namespace sipwall::rules
