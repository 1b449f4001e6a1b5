// Match expressions -> atoms (deduplicated predicates) and per-rule jump code.
#include <algorithm>
#include <cctype>

#include "rules/compiler/compiler_internal.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::compiler {

namespace {

struct Compact {
  const char* name;
  char letter;
};
// RFC 3261 §7.3.3 and later RFCs: compact header forms.
constexpr Compact kCompact[] = {
    {"call-id", 'i'},
    {"contact", 'm'},
    {"content-encoding", 'e'},
    {"content-length", 'l'},
    {"content-type", 'c'},
    {"from", 'f'},
    {"subject", 's'},
    {"supported", 'k'},
    {"to", 't'},
    {"via", 'v'},
    {"event", 'o'},
    {"refer-to", 'r'},
    {"referred-by", 'b'},
    {"allow-events", 'u'},
    {"session-expires", 'x'},
    {"identity", 'y'},
    {"accept-contact", 'a'},
    {"reject-contact", 'j'},
    {"request-disposition", 'd'},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::uint16_t header_index(Builder& b, std::string_view written) {
  std::string name = lower(written);
  char compact = 0;
  for (const Compact& c : kCompact) {
    if (name == c.name || (name.size() == 1 && name[0] == c.letter)) {
      name = c.name;
      compact = c.letter;
      break;
    }
  }
  const auto it = b.header_by_name.find(name);
  if (it != b.header_by_name.end()) return it->second;
  HeaderName h;
  h.name = b.str(name);
  h.compact = compact;
  b.d.headers.push_back(h);
  const auto idx = static_cast<std::uint16_t>(b.d.headers.size() - 1);
  b.header_by_name.emplace(std::move(name), idx);
  return idx;
}

std::uint32_t target_index(Builder& b, Field f, std::uint16_t header) {
  const auto key = std::make_pair(f, header);
  const auto it = b.target_by_key.find(key);
  if (it != b.target_by_key.end()) return it->second;
  ScanTarget t;
  t.field = f;
  t.header = header;
  b.d.targets.push_back(t);
  const auto idx = static_cast<std::uint32_t>(b.d.targets.size() - 1);
  b.target_by_key.emplace(key, idx);
  return idx;
}

std::uint32_t add_atom(Builder& b, const Atom& a, const Predicate& p, std::string key) {
  if (const auto it = b.atom_by_key.find(key); it != b.atom_by_key.end()) return it->second;
  b.d.atoms.push_back(a);
  b.d.atom_info.push_back({b.str(to_string(p)), b.where(p.where)});
  const auto id = static_cast<std::uint32_t>(b.d.atoms.size() - 1);
  b.atom_by_key.emplace(std::move(key), id);
  if (is_number_field(a.field)) b.d.number_fields |= field_bit(a.field);
  if (is_text_field(a.field)) b.d.text_fields |= field_bit(a.field);
  return id;
}

std::string atom_key(const Atom& a) {
  return std::to_string(static_cast<int>(a.kind)) + "|" + std::to_string(static_cast<int>(a.field)) + "|" +
         std::to_string(a.header) + "|" + std::to_string(a.a) + "|" + std::to_string(a.b);
}

std::string op_on(const Predicate& p) {
  return "operator '" + std::string(to_string(p.op)) + "' does not apply to field '" + std::string(to_string(p.field)) +
         "'";
}

std::uint32_t regex_atom(Builder& b, const Predicate& p, Atom a) {
  if (p.values.empty()) {
    b.error(p.where, "'regex' needs at least one pattern");
    return kNone;
  }
  a.kind = is_number_field(p.field) ? AtomKind::number_regex : AtomKind::text_regex;
  a.b = target_index(b, p.field, a.header);
  std::string key = "R|" + std::to_string(a.b);
  std::vector<std::string> sorted = p.values;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& v : sorted) key += std::string(1, '\0') + v;
  const std::size_t before = b.d.atoms.size();
  const std::uint32_t id = add_atom(b, a, p, std::move(key));
  if (b.d.atoms.size() != before) {  // new: its patterns go into the target's database
    PendingRegex r;
    r.atom = id;
    r.target = a.b;
    r.patterns = p.values;
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      r.where.push_back(i < p.value_where.size() ? p.value_where[i] : p.where);
    }
    r.predicate_where = p.where;
    b.regexes.push_back(std::move(r));
  }
  return id;
}

std::uint32_t names_atom(Builder& b, const Predicate& p, Atom a) {
  const bool trunk = p.field == Field::trunk;
  a.kind = trunk ? AtomKind::trunk_in : AtomKind::trunk_class_in;
  if (p.values.empty()) {
    b.error(p.where, "'equals' needs at least one name");
    return kNone;
  }
  std::vector<std::uint32_t> ids;
  bool ok = true;
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    const auto& map = trunk ? b.trunk_by_name : b.class_by_name;
    const auto it = map.find(p.values[i]);
    if (it == map.end()) {
      const SourceLocation& w = i < p.value_where.size() ? p.value_where[i] : p.where;
      b.error(w,
              trunk ? "unknown trunk " + text::quote(p.values[i]) : "no trunk has class " + text::quote(p.values[i]));
      ok = false;
      continue;
    }
    ids.push_back(it->second);
  }
  if (!ok) return kNone;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string key = std::string(trunk ? "T" : "C");
  for (std::uint32_t id : ids) key += "|" + std::to_string(id);
  if (const auto it = b.atom_by_key.find(key); it != b.atom_by_key.end()) return it->second;
  a.a = static_cast<std::uint32_t>(b.d.id_pool.size());
  a.b = static_cast<std::uint32_t>(ids.size());
  b.d.id_pool.insert(b.d.id_pool.end(), ids.begin(), ids.end());
  return add_atom(b, a, p, std::move(key));
}

std::uint32_t text_equals_atom(Builder& b, const Predicate& p, Atom a) {
  if (p.values.empty()) {
    b.error(p.where, "'equals' needs at least one value");
    return kNone;
  }
  std::vector<std::string> sorted = p.values;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string key = "S|" + std::to_string(static_cast<int>(p.field)) + "|" + std::to_string(a.header);
  for (const std::string& v : sorted) key += std::string(1, '\0') + v;
  if (const auto it = b.atom_by_key.find(key); it != b.atom_by_key.end()) return it->second;
  a.kind = AtomKind::text_equals;
  a.a = static_cast<std::uint32_t>(b.d.text_values.size());
  a.b = static_cast<std::uint32_t>(sorted.size());
  for (const std::string& v : sorted) b.d.text_values.push_back(b.str(v));
  return add_atom(b, a, p, std::move(key));
}

std::uint32_t atom_for(Builder& b, const Predicate& p) {
  Atom a;
  a.field = p.field;
  if (p.field == Field::header) {
    if (p.header_name.empty()) {
      b.error(p.where, "field 'header' needs a header name");
      return kNone;
    }
    a.header = header_index(b, p.header_name);
  }

  if (p.op == Op::detector) {
    const auto it = b.detector_by_name.find(p.detector);
    if (it == b.detector_by_name.end()) {
      b.error(p.where, "unknown detector " + text::quote(p.detector));
      return kNone;
    }
    a.kind = AtomKind::detector_level;
    a.field = Field::caller;
    a.a = it->second;
    a.b = static_cast<std::uint32_t>(p.level == detect::Level::warn ? detect::Level::warn : detect::Level::block);
    return add_atom(b, a, p, atom_key(a));
  }
  if (p.op == Op::caller_shares_callee_prefix) {
    if (p.digits == 0 || p.digits > number::kMaxDigits) {
      b.error(p.where, "caller_shares_callee_prefix must be 1 to 15 digits");
      return kNone;
    }
    a.kind = AtomKind::caller_shares_callee_prefix;
    a.field = Field::caller;
    a.a = p.digits;
    return add_atom(b, a, p, atom_key(a));
  }
  if (p.op == Op::number_is) {
    if (!is_number_field(p.field)) {
      b.error(p.where, op_on(p));
      return kNone;
    }
    if (p.shapes == 0 || p.shapes >= (1U << kNumberShapes)) {
      b.error(p.where, "'is' needs at least one known number shape");
      return kNone;
    }
    a.kind = AtomKind::number_shape;
    a.a = p.shapes;
    return add_atom(b, a, p, atom_key(a));
  }

  if (p.op == Op::caller_in_trunk_ranges) {
    a.kind = AtomKind::caller_in_trunk_ranges;
    a.field = Field::caller;
    a.a = p.expect ? 1 : 0;
    return add_atom(b, a, p, atom_key(a));
  }

  if (is_number_field(p.field)) {
    switch (p.op) {
      case Op::in_list: {
        const auto it = b.named_list.find(p.list);
        if (it == b.named_list.end()) {
          b.error(p.where, "unknown list " + text::quote(p.list));
          return kNone;
        }
        const ListInfo& li = b.d.lists[it->second];
        a.kind = AtomKind::number_in_set;
        a.a = static_cast<std::uint32_t>(li.space);
        a.b = li.bit;
        a.list = it->second;
        return add_atom(b, a, p, atom_key(a));
      }
      case Op::prefix:
      case Op::range:
      case Op::equals: {
        const std::uint32_t li = inline_list(b, p);
        if (li == kNone) return kNone;
        a.kind = AtomKind::number_in_set;
        a.a = static_cast<std::uint32_t>(b.d.lists[li].space);
        a.b = b.d.lists[li].bit;
        a.list = li;
        return add_atom(b, a, p, atom_key(a));
      }
      case Op::regex:
        return regex_atom(b, p, a);
      case Op::present:
        a.kind = AtomKind::number_present;
        return add_atom(b, a, p, atom_key(a));
      default:
        break;
    }
  } else if (is_text_field(p.field)) {
    switch (p.op) {
      case Op::regex:
        return regex_atom(b, p, a);
      case Op::equals:
        return text_equals_atom(b, p, a);
      case Op::present:
        a.kind = AtomKind::text_present;
        return add_atom(b, a, p, atom_key(a));
      default:
        break;
    }
  } else {  // trunk, trunk_class
    switch (p.op) {
      case Op::equals:
        return names_atom(b, p, a);
      case Op::present:
        a.kind = AtomKind::trunk_present;
        a.field = Field::trunk;
        return add_atom(b, a, p, atom_key(a));
      default:
        break;
    }
  }
  b.error(p.where, op_on(p));
  return kNone;
}

class Emitter {
 public:
  Emitter(Builder& b, const Rule& r) : b_(b), r_(r) {}

  void emit(const MatchExpr& e, bool positive, unsigned depth) {
    auto& code = b_.d.code;
    if (depth >= kMaxMatchDepth) {
      if (!deep_reported_) {
        b_.error(e.where,
                 "rule '" + r_.id + "': match nested deeper than " + std::to_string(kMaxMatchDepth) + " levels");
        deep_reported_ = true;
      }
      code.push_back(op::make(op::false_));
      return;
    }
    switch (e.kind) {
      case MatchExpr::Kind::predicate: {
        const std::uint32_t id = atom_for(b_, e.predicate);
        if (id == kNone || id > op::kAtomMask) {
          if (id != kNone) b_.error(e.where, "too many distinct predicates");
          code.push_back(op::make(op::false_));
        } else {
          code.push_back(op::make(op::atom, id | (positive ? op::kPositive : 0)));
        }
        return;
      }
      case MatchExpr::Kind::not_:
        if (e.children.size() != 1) {
          b_.error(e.where, "'not' takes exactly one match");
          code.push_back(op::make(op::false_));
          return;
        }
        emit(e.children[0], !positive, depth + 1);
        code.push_back(op::make(op::not_));
        return;
      case MatchExpr::Kind::all:
      case MatchExpr::Kind::any: {
        const bool all = e.kind == MatchExpr::Kind::all;
        if (e.children.empty()) {  // all: [] is true, any: [] is false
          code.push_back(op::make(all ? op::true_ : op::false_));
          return;
        }
        if (e.children.size() == 1) {
          emit(e.children[0], positive, depth + 1);
          return;
        }
        code.push_back(op::make(op::pushw));
        std::vector<std::size_t> jumps;
        for (std::size_t i = 0; i < e.children.size(); ++i) {
          emit(e.children[i], positive, depth + 1);
          if (i + 1 < e.children.size()) {
            jumps.push_back(code.size());
            code.push_back(op::make(all ? op::jf : op::jt));
          }
        }
        const std::size_t join = code.size();
        code.push_back(op::make(op::popw));
        for (std::size_t j : jumps) {
          code[j] = op::make(all ? op::jf : op::jt, static_cast<std::uint32_t>(join));
        }
        return;
      }
    }
  }

 private:
  Builder& b_;
  const Rule& r_;
  bool deep_reported_ = false;
};

}  // namespace

std::uint32_t compile_match(Builder& b, const Rule& r) {
  const auto begin = static_cast<std::uint32_t>(b.d.code.size());
  Emitter(b, r).emit(r.match, true, 0);
  b.d.code.push_back(op::make(op::end));
  if (b.d.code.size() > op::kOperandMask) {
    b.error(r.where, "rule code longer than the jump range");
  }
  return begin;
}

}  // namespace sipwall::rules::compiler
