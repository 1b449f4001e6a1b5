// Builds rule-model objects directly in C++, so the compiler and classifier
// tests do not depend on the YAML loader.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "rules/model/rule_model.h"
#include "rules/number/e164_key.h"
#include "rules/number/normalize.h"

namespace sipwall::rules::test {

inline SourceLocation at(std::uint32_t line, std::uint32_t col = 3, std::string file = "rules.yaml") {
  return SourceLocation{std::move(file), line, col};
}

inline MatchExpr leaf(Predicate p) {
  MatchExpr m;
  m.kind = MatchExpr::Kind::predicate;
  m.where = p.where;
  m.predicate = std::move(p);
  return m;
}

inline MatchExpr in_list(Field f, std::string list, SourceLocation w = at(1)) {
  Predicate p;
  p.field = f;
  p.op = Op::in_list;
  p.list = std::move(list);
  p.where = std::move(w);
  return leaf(std::move(p));
}

inline MatchExpr with_values(Field f, Op op, std::vector<std::string> values, SourceLocation w = at(1),
                             std::string header = {}) {
  Predicate p;
  p.field = f;
  p.op = op;
  p.values = std::move(values);
  p.header_name = std::move(header);
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    p.value_where.push_back(SourceLocation{w.file, w.line, w.column + 10 + static_cast<std::uint32_t>(i)});
  }
  p.where = std::move(w);
  return leaf(std::move(p));
}

inline MatchExpr prefix(Field f, std::vector<std::string> v, SourceLocation w = at(1)) {
  return with_values(f, Op::prefix, std::move(v), std::move(w));
}
inline MatchExpr equals(Field f, std::vector<std::string> v, SourceLocation w = at(1)) {
  return with_values(f, Op::equals, std::move(v), std::move(w));
}
inline MatchExpr regex(Field f, std::vector<std::string> v, SourceLocation w = at(1)) {
  return with_values(f, Op::regex, std::move(v), std::move(w));
}
inline MatchExpr header_regex(std::string header, std::vector<std::string> v, SourceLocation w = at(1)) {
  return with_values(Field::header, Op::regex, std::move(v), std::move(w), std::move(header));
}
inline MatchExpr header_equals(std::string header, std::vector<std::string> v, SourceLocation w = at(1)) {
  return with_values(Field::header, Op::equals, std::move(v), std::move(w), std::move(header));
}
inline MatchExpr present(Field f, std::string header = {}, SourceLocation w = at(1)) {
  return with_values(f, Op::present, {}, std::move(w), std::move(header));
}
inline MatchExpr range(Field f, std::vector<NumberRange> r, SourceLocation w = at(1)) {
  Predicate p;
  p.field = f;
  p.op = Op::range;
  p.ranges = std::move(r);
  p.where = std::move(w);
  return leaf(std::move(p));
}
inline MatchExpr trunk_ranges(bool expect, SourceLocation w = at(1)) {
  Predicate p;
  p.field = Field::caller;
  p.op = Op::caller_in_trunk_ranges;
  p.expect = expect;
  p.where = std::move(w);
  return leaf(std::move(p));
}

inline MatchExpr group(MatchExpr::Kind k, std::vector<MatchExpr> children) {
  MatchExpr m;
  m.kind = k;
  m.children = std::move(children);
  return m;
}
inline MatchExpr all(std::vector<MatchExpr> c) {
  return group(MatchExpr::Kind::all, std::move(c));
}
inline MatchExpr any(std::vector<MatchExpr> c) {
  return group(MatchExpr::Kind::any, std::move(c));
}
inline MatchExpr not_(MatchExpr c) {
  std::vector<MatchExpr> v;
  v.push_back(std::move(c));
  return group(MatchExpr::Kind::not_, std::move(v));
}

inline Action act(ActionKind k) {
  Action a;
  a.kind = k;
  return a;
}
inline Action reject(std::uint16_t code, std::string text = {}, std::string call_info = {}) {
  Action a = act(ActionKind::reject);
  a.reject_code = code;
  a.reason_text = std::move(text);
  a.call_info = std::move(call_info);
  return a;
}
inline Action tag(std::string header, std::string value, std::int32_t score) {
  Action a = act(ActionKind::tag);
  a.tag_header = std::move(header);
  a.tag_value = std::move(value);
  a.score = score;
  return a;
}

// A rule set under construction, with the China dial plan.
struct SetBuilder {
  RuleSet rs;

  SetBuilder() {
    rs.name = "test";
    rs.version = "2024-05-01.1";
    rs.source_file = "rules.yaml";
    rs.dial_plan = number::DialPlan::china();
  }

  SetBuilder& rule(std::string id, MatchExpr m, Action a, std::int32_t priority = 0) {
    Rule r;
    r.id = std::move(id);
    r.priority = priority;
    r.file_order = static_cast<std::uint32_t>(rs.rules.size());
    r.match = std::move(m);
    r.action = std::move(a);
    r.where = at(100 + r.file_order, 5);
    rs.rules.push_back(std::move(r));
    return *this;
  }

  // Numbers as operators write them, normalised with the set's plan.
  SetBuilder& exact(std::string name, const std::vector<std::string>& written) {
    NumberList l;
    l.name = std::move(name);
    l.kind = ListKind::exact;
    for (const std::string& w : written) {
      const number::Number n = number::normalize_written(w, rs.dial_plan);
      if (n.key != number::kNoNumber) l.numbers.push_back(n.key);
    }
    std::sort(l.numbers.begin(), l.numbers.end());
    l.numbers.erase(std::unique(l.numbers.begin(), l.numbers.end()), l.numbers.end());
    l.where = at(10 + static_cast<std::uint32_t>(rs.lists.size()));
    rs.lists.push_back(std::move(l));
    return *this;
  }
  SetBuilder& exact_keys(std::string name, std::vector<number::E164Key> keys) {
    NumberList l;
    l.name = std::move(name);
    l.kind = ListKind::exact;
    l.numbers = std::move(keys);
    l.where = at(10 + static_cast<std::uint32_t>(rs.lists.size()));
    rs.lists.push_back(std::move(l));
    return *this;
  }
  SetBuilder& prefixes(std::string name, std::vector<std::string> p) {
    NumberList l;
    l.name = std::move(name);
    l.kind = ListKind::prefix;
    l.prefixes = std::move(p);
    l.where = at(10 + static_cast<std::uint32_t>(rs.lists.size()));
    rs.lists.push_back(std::move(l));
    return *this;
  }
  SetBuilder& ranges(std::string name, std::vector<NumberRange> r) {
    NumberList l;
    l.name = std::move(name);
    l.kind = ListKind::range;
    l.ranges = std::move(r);
    l.where = at(10 + static_cast<std::uint32_t>(rs.lists.size()));
    rs.lists.push_back(std::move(l));
    return *this;
  }

  // sources: "10.1.0.0/16", "2001:db8::/32", optionally "@vlan" / ":port"
  // qualifiers given separately.
  static TrunkSource source(const std::string& cidr, int vlan = -1, int port = -1) {
    TrunkSource s;
    const auto slash = cidr.find('/');
    const std::string ip = cidr.substr(0, slash);
    const int len = slash == std::string::npos ? -1 : std::stoi(cidr.substr(slash + 1));
    std::uint8_t v4[4];
    if (inet_pton(AF_INET, ip.c_str(), v4) == 1) {
      s.addr[10] = 0xFF;
      s.addr[11] = 0xFF;
      std::copy(v4, v4 + 4, s.addr.begin() + 12);
      s.prefix_len = static_cast<std::uint8_t>((len < 0 ? 32 : len) + 96);
      s.is_ipv4 = true;
    } else {
      inet_pton(AF_INET6, ip.c_str(), s.addr.data());
      s.prefix_len = static_cast<std::uint8_t>(len < 0 ? 128 : len);
    }
    if (vlan >= 0) s.vlan = static_cast<std::uint16_t>(vlan);
    if (port >= 0) s.port = static_cast<std::uint16_t>(port);
    s.text = cidr;
    s.where = at(50);
    return s;
  }

  SetBuilder& trunk(std::string name, std::string cls, std::vector<TrunkSource> sources,
                    std::vector<std::string> caller_prefixes = {}, std::vector<NumberRange> caller_ranges = {}) {
    Trunk t;
    t.name = std::move(name);
    t.trunk_class = std::move(cls);
    t.sources = std::move(sources);
    t.caller_prefixes = std::move(caller_prefixes);
    t.caller_ranges = std::move(caller_ranges);
    t.where = at(40 + static_cast<std::uint32_t>(rs.trunks.size()));
    rs.trunks.push_back(std::move(t));
    return *this;
  }

  SetBuilder& default_action(Action a) {
    rs.defaults.action = std::move(a);
    return *this;
  }
};

}  // namespace sipwall::rules::test
