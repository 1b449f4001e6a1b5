#include "rules/model/compare.h"

#include <algorithm>

namespace sipwall::rules {
namespace {

template <typename T>
bool same_vec(const std::vector<T>& a, const std::vector<T>& b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const T& x, const T& y) { return same(x, y); });
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool same_header_name(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) { return lower(x) == lower(y); });
}

bool same(const NumberRange& a, const NumberRange& b) noexcept {
  return a.first == b.first && a.last == b.last;
}

bool same(const Predicate& a, const Predicate& b) noexcept {
  if (a.field != b.field || a.op != b.op) return false;
  if (a.field == Field::header && !same_header_name(a.header_name, b.header_name)) return false;
  switch (a.op) {
    case Op::in_list:
      return a.list == b.list;
    case Op::range:
      return same_vec(a.ranges, b.ranges);
    case Op::caller_in_trunk_ranges:
      return a.expect == b.expect;
    case Op::detector:
      return a.detector == b.detector && a.level == b.level;
    case Op::number_is:
      return a.shapes == b.shapes;
    case Op::caller_shares_callee_prefix:
      return a.digits == b.digits;
    case Op::present:
      return true;
    case Op::prefix:
    case Op::equals:
    case Op::regex:
      return a.values == b.values;
  }
  return false;
}

bool same(const MatchExpr& a, const MatchExpr& b) noexcept {
  if (a.kind != b.kind) return false;
  if (a.kind == MatchExpr::Kind::predicate) return same(a.predicate, b.predicate);
  return same_vec(a.children, b.children);
}

bool same(const Action& a, const Action& b) noexcept {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ActionKind::reject:
      return a.reject_code == b.reject_code && a.reason_text == b.reason_text && a.call_info == b.call_info;
    case ActionKind::tag:
      return a.tag_header == b.tag_header && a.tag_value == b.tag_value && a.score == b.score &&
             a.tag_label == b.tag_label && a.tag_verstat == b.tag_verstat;
    default:
      return true;
  }
}

bool same(const TrunkSource& a, const TrunkSource& b) noexcept {
  return a.addr == b.addr && a.prefix_len == b.prefix_len && a.is_ipv4 == b.is_ipv4 && a.vlan == b.vlan &&
         a.port == b.port;
}

bool same(const Trunk& a, const Trunk& b) noexcept {
  return a.name == b.name && a.trunk_class == b.trunk_class && same_vec(a.sources, b.sources) &&
         a.caller_prefixes == b.caller_prefixes && same_vec(a.caller_ranges, b.caller_ranges) &&
         a.caller_from == b.caller_from;
}

bool same(const number::DialPlan& a, const number::DialPlan& b) noexcept {
  return a == b;
}

bool same(const Defaults& a, const Defaults& b) noexcept {
  return same(a.action, b.action) && a.malformed == b.malformed;
}

bool same(const GuardRails& a, const GuardRails& b) noexcept {
  return a.emergency == b.emergency && a.allow_callers == b.allow_callers && a.allow_callees == b.allow_callees;
}

}  // namespace sipwall::rules
