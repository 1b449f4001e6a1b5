#include "rules/analysis/analysis.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "rules/model/compare.h"
#include "rules/model/model_text.h"
#include "rules/model/precedence.h"
#include "rules/number/normalize.h"

namespace sipwall::rules {
namespace {

// Numbers shorter than this are short codes, not E.164 (see model_text.cpp).
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
  return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return digits.starts_with(p); });
}

bool in_range(const std::string& digits, const NumberRange& r) {
  return digits.size() == r.first.size() && r.first <= digits && digits <= r.last;
}

bool range_inside(const NumberRange& inner, const NumberRange& outer) {
  return inner.first.size() == outer.first.size() && outer.first <= inner.first && inner.last <= outer.last;
}

bool subset(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::all_of(a.begin(), a.end(),
                     [&](const std::string& x) { return std::find(b.begin(), b.end(), x) != b.end(); });
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
      return std::any_of(l.ranges.begin(), l.ranges.end(), [&](const NumberRange& r) { return in_range(digits, r); });
  }
  return false;
}

bool all_e164(const std::vector<std::string>& values) {
  return std::all_of(values.begin(), values.end(), [](const std::string& v) { return v.size() >= kMinE164Digits; });
}

bool structural_only(Op op) noexcept {
  return op == Op::caller_in_trunk_ranges || op == Op::detector || op == Op::number_is ||
         op == Op::caller_shares_callee_prefix;
}

// p => q for two single predicates.
bool predicate_implies(const Predicate& p, const Predicate& q, const RuleSet* rs) {
  if (same(p, q)) return true;
  if (p.field != q.field) return false;
  if (p.field == Field::header && !same_header_name(p.header_name, q.header_name)) return false;
  // These imply nothing but themselves (same() above); detector levels
  // (block implies warn) are not worth the index.
  if (structural_only(p.op) || structural_only(q.op)) return false;
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
          return std::any_of(q.ranges.begin(), q.ranges.end(), [&](const NumberRange& o) { return in_range(v, o); });
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
      return l != nullptr &&
             std::all_of(p.values.begin(), p.values.end(), [&](const std::string& v) { return number_in_list(v, *l); });
    }
    case Op::caller_in_trunk_ranges:
    case Op::detector:
    case Op::number_is:
    case Op::caller_shares_callee_prefix:
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
    return !a.children.empty() && std::all_of(a.children.begin(), a.children.end(), [&](const MatchExpr& c) {
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

void collect_detectors(const MatchExpr& m, std::set<std::string>& out) {
  if (m.kind == MatchExpr::Kind::predicate) {
    if (m.predicate.op == Op::detector) out.insert(m.predicate.detector);
    return;
  }
  for (const MatchExpr& c : m.children) collect_detectors(c, out);
}

// A rule that names a detector in report mode may match and not act (report
// mode, docs/rules.md): it ends evaluation for no call it can be proven to
// match, so it shadows nothing.
bool may_not_act(const Rule& r, const RuleSet& rs) {
  if (rs.detectors.empty()) return false;
  std::set<std::string> names;
  collect_detectors(r.match, names);
  for (const Detector& d : rs.detectors) {
    if (d.spec.report_only && names.count(d.name)) return true;
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

namespace {

// ---------------------------------------------------------------------------
// Which earlier rules can shadow a later one, without trying every pair.
//
// Comparing each rule with every earlier one took 7 s for 10,000 rules and
// 25 s for 20,000. Instead each earlier terminal rule is filed under a few
// keys, and each later rule looks up the keys it "probes"; only rules found
// that way are given to match_implies(). The keys are built so that
// match_implies(later, earlier) can only be true if a probe of `later` is a
// filing key of `earlier` (or `earlier` is filed as a wildcard, to be tried
// with every later rule): that follows match_implies case by case, below.
// So the warnings are exactly those of the all-pairs comparison; the
// candidates are tried in precedence order, so the same earlier rule is
// named. Keys are 64-bit hashes: a collision only adds a candidate.
// ---------------------------------------------------------------------------

using Key = std::uint64_t;

Key mix(Key h, std::uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}
Key mix(Key h, std::string_view s) noexcept {
  h = mix(h, s.size());
  for (const char c : s) h = mix(h, static_cast<unsigned char>(c));
  return h;
}
Key mix_lower(Key h, std::string_view s) noexcept {
  h = mix(h, s.size());
  for (const char c : s) h = mix(h, static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  return h;
}

enum KeyKind : std::uint64_t { kSame = 1, kAnyValue, kEq, kRe, kPre, kRng, kIn, kNotOf, kNotAny };

// Structural hash, equal for expressions same() calls equal.
Key same_hash(const MatchExpr& m) noexcept {
  Key h = mix(kSame, static_cast<std::uint64_t>(m.kind));
  if (m.kind != MatchExpr::Kind::predicate) {
    h = mix(h, m.children.size());
    for (const MatchExpr& c : m.children) h = mix(h, same_hash(c));
    return h;
  }
  const Predicate& p = m.predicate;
  h = mix(mix(h, static_cast<std::uint64_t>(p.field)), static_cast<std::uint64_t>(p.op));
  if (p.field == Field::header) h = mix_lower(h, p.header_name);
  switch (p.op) {
    case Op::in_list:
      return mix(h, p.list);
    case Op::range:
      for (const NumberRange& r : p.ranges) h = mix(mix(h, r.first), r.last);
      return mix(h, p.ranges.size());
    case Op::caller_in_trunk_ranges:
      return mix(h, p.expect ? 1 : 0);
    case Op::detector:
      return mix(mix(h, p.detector), static_cast<std::uint64_t>(p.level));
    case Op::number_is:
      return mix(h, p.shapes);
    case Op::caller_shares_callee_prefix:
      return mix(h, p.digits);
    case Op::present:
      return h;
    case Op::prefix:
    case Op::equals:
    case Op::regex:
      for (const std::string& v : p.values) h = mix(h, v);
      return mix(h, p.values.size());
  }
  return h;
}

// [first, last] (digit strings of one length) as the fewest prefixes whose
// numbers of that length are exactly the range: [8613800009990,
// 8613800010001] is 861380000999 (ten numbers), 8613800010000 and
// 8613800010001; at most 18 prefixes a digit. Ends of two
// lengths (only in hand-built sets) compare as strings, so they get the
// empty prefix: every number of first's length.
std::vector<std::string> range_blocks(const NumberRange& r) {
  std::vector<std::string> out;
  const std::size_t len = r.first.size();
  if (r.last.size() != len) return {std::string()};
  if (r.last < r.first) return out;
  std::string cur = r.first;
  for (;;) {
    // Widest block starting at cur: trailing zeros whose block ends <= last.
    std::size_t k = 0;
    while (k < len && cur[len - 1 - k] == '0') {
      std::string end = cur;
      for (std::size_t j = len - 1 - k; j < len; ++j) end[j] = '9';
      if (end > r.last) break;
      ++k;
    }
    out.push_back(cur.substr(0, len - k));
    // Next number after the block: the last k digits all 9, plus one.
    for (std::size_t j = len - k; j < len; ++j) cur[j] = '9';
    std::size_t j = len;
    while (j > 0 && cur[j - 1] == '9') cur[--j] = '0';
    if (j == 0) break;  // 999...9 was the last number of this length
    ++cur[j - 1];
    if (cur > r.last) break;
  }
  return out;
}

// The field (and header name) two predicates must share to imply anything.
Key field_base(const Predicate& p) noexcept {
  Key h = mix(0x5eed, static_cast<std::uint64_t>(p.field));
  return p.field == Field::header ? mix_lower(h, p.header_name) : h;
}

struct Filing {
  bool wildcard = false;
  std::vector<Key> keys;
};

class ShadowIndex {
 public:
  explicit ShadowIndex(const RuleSet& rs) : rs_(rs) {
    for (const Rule& r : rs.rules) note_lists(r.match);
  }

  // How many rules are filed under each key so far (for filing `all`).
  using Occupancy = std::unordered_map<Key, std::vector<std::uint32_t>>;

  // Keys an earlier rule's match is filed under. `filed` (optional) is the
  // index so far: an `all` is filed under its least crowded child.
  Filing filing(const MatchExpr& e, const Occupancy* filed = nullptr) const {
    Filing f;
    switch (e.kind) {
      case MatchExpr::Kind::all: {
        // Every child must be implied, so any one child's keys will do. Take
        // the one whose keys hold the fewest rules already (a rule `trunk
        // class X and callee N` under N, not under the 50 classes every
        // such rule shares), then the one with fewest keys.
        const Filing* best = nullptr;
        std::size_t best_load = 0;
        std::vector<Filing> kids;
        kids.reserve(e.children.size());
        for (const MatchExpr& c : e.children) kids.push_back(filing(c, filed));
        for (const Filing& k : kids) {
          if (k.wildcard) continue;
          std::size_t load = 0;
          if (filed != nullptr) {
            for (Key key : k.keys) {
              if (const auto it = filed->find(key); it != filed->end()) load += it->second.size();
            }
          }
          if (best == nullptr || load < best_load || (load == best_load && k.keys.size() < best->keys.size())) {
            best = &k;
            best_load = load;
          }
        }
        if (best == nullptr) {
          f.wildcard = true;  // all: [] (true), or only wildcard children
        } else {
          f.keys = best->keys;
        }
        return f;
      }
      case MatchExpr::Kind::any:
        // Implied as a whole (same), or through one of its children.
        f.keys.push_back(same_hash(e));
        for (const MatchExpr& c : e.children) {
          Filing k = filing(c, filed);
          if (k.wildcard) return Filing{true, {}};
          f.keys.insert(f.keys.end(), k.keys.begin(), k.keys.end());
        }
        return f;
      case MatchExpr::Kind::not_: {
        // not(y) is implied by an atom not(x) when y's atoms imply x: the
        // roles swap, so file under what y probes.
        f.keys.push_back(same_hash(e));
        f.keys.push_back(mix(kNotAny, 0));
        if (!e.children.empty()) {
          std::vector<Key> inner;
          bool everything = false;
          probe(e.children[0], inner, everything);
          // not(y) where y holds an empty predicate: any not(x) may be implied.
          if (everything) return Filing{true, {}};
          for (Key k : inner) f.keys.push_back(mix(kNotOf, k));
        }
        return f;
      }
      case MatchExpr::Kind::predicate:
        f.keys.push_back(same_hash(e));
        value_filing(e.predicate, f.keys);
        return f;
    }
    return f;
  }

  // Keys a later rule's match looks up. `everything` is set when a key
  // cannot narrow it down: a predicate with no values implies others of its
  // field by an empty all_of(). The loader never makes one (a list needs a
  // value); only hand-built sets do, and they are compared with every rule.
  void probe(const MatchExpr& later, std::vector<Key>& out, bool& everything) const {
    Atoms atoms;
    flatten(later, atoms);
    for (const MatchExpr* a : atoms) probe_atom(*a, out, everything);
  }

 private:
  // number_in_list() in O(log n) for the lists rules name: the probes ask
  // it of every later `equals` rule, and a prefix or range list may be long.
  struct ListProbe {
    const NumberList* list = nullptr;
    std::vector<std::string> prefixes;  // sorted, unique
    // Per length: ranges sorted by first, and the largest `last` so far.
    std::map<std::size_t, std::vector<std::pair<std::string, std::string>>> ranges;

    explicit ListProbe(const NumberList* l) : list(l) {
      if (l->kind == ListKind::prefix) {
        prefixes = l->prefixes;
        std::sort(prefixes.begin(), prefixes.end());
        prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
      } else if (l->kind == ListKind::range) {
        for (const NumberRange& r : l->ranges) {
          if (r.first.size() == r.last.size()) ranges[r.first.size()].emplace_back(r.first, r.last);
        }
        for (auto& [len, v] : ranges) {
          std::sort(v.begin(), v.end());
          for (std::size_t i = 1; i < v.size(); ++i) v[i].second = std::max(v[i].second, v[i - 1].second);
        }
      }
    }
    bool contains(const std::string& d) const {
      switch (list->kind) {
        case ListKind::exact:
          return number_in_list(d, *list);  // binary search already
        case ListKind::prefix:
          for (std::size_t k = 0; k <= d.size(); ++k) {
            if (std::binary_search(prefixes.begin(), prefixes.end(), d.substr(0, k))) return true;
          }
          return false;
        case ListKind::range: {
          const auto it = ranges.find(d.size());
          if (it == ranges.end()) return false;
          const auto& v = it->second;
          // Last range whose first <= d; the running max of `last` up to it.
          auto up =
              std::upper_bound(v.begin(), v.end(), d, [](const std::string& x, const auto& r) { return x < r.first; });
          return up != v.begin() && std::prev(up)->second >= d;
        }
      }
      return false;
    }
  };

  void note_lists(const MatchExpr& m) {
    if (m.kind == MatchExpr::Kind::predicate) {
      if (m.predicate.op == Op::in_list) {
        const NumberList* l = find_list(&rs_, m.predicate.list);
        if (l != nullptr && noted_.insert(l).second) lists_.emplace_back(l);
      }
      return;
    }
    for (const MatchExpr& c : m.children) note_lists(c);
  }

  // predicate_implies(p, q) for a later p and this q needs one of these.
  void value_filing(const Predicate& q, std::vector<Key>& out) const {
    const Key b = field_base(q);
    switch (q.op) {
      case Op::present:
        out.push_back(mix(b, kAnyValue));
        break;
      case Op::equals:
        for (const std::string& v : q.values) out.push_back(mix(mix(b, kEq), v));
        break;
      case Op::regex:
        for (const std::string& v : q.values) out.push_back(mix(mix(b, kRe), v));
        break;
      case Op::prefix:
        for (const std::string& v : q.values) out.push_back(mix(mix(b, kPre), v));
        break;
      case Op::range:
        // Filed under the decimal blocks that tile [first, last]: a number
        // (or a range's first number) inside it has exactly one of them as
        // a prefix, and nothing outside it has any.
        for (const NumberRange& r : q.ranges) {
          for (const std::string& blk : range_blocks(r)) {
            out.push_back(mix(mix(mix(b, kRng), r.first.size()), blk));
          }
        }
        break;
      case Op::in_list:
        out.push_back(mix(mix(b, kIn), q.list));
        break;
      case Op::caller_in_trunk_ranges:
      case Op::detector:
      case Op::number_is:
      case Op::caller_shares_callee_prefix:
        break;
    }
  }

  // Every prefix of `d` (the empty one too), as prefix and as range keys.
  static void digit_probes(Key b, std::string_view d, std::vector<Key>& out) {
    for (std::size_t k = 0; k <= d.size(); ++k) {
      out.push_back(mix(mix(b, kPre), d.substr(0, k)));
      out.push_back(mix(mix(mix(b, kRng), d.size()), d.substr(0, k)));
    }
  }

  void probe_atom(const MatchExpr& a, std::vector<Key>& out, bool& everything) const {
    out.push_back(same_hash(a));
    switch (a.kind) {
      case MatchExpr::Kind::all:
        return;  // flatten() leaves none
      case MatchExpr::Kind::any:
        // Implies only if every alternative does: the first one's probes
        // are a necessary condition.
        if (!a.children.empty()) probe(a.children[0], out, everything);
        return;
      case MatchExpr::Kind::not_: {
        if (a.children.empty()) return;
        const Filing inner = filing(a.children[0]);
        if (inner.wildcard) {
          out.push_back(mix(kNotAny, 0));
        } else {
          for (Key k : inner.keys) out.push_back(mix(kNotOf, k));
        }
        return;
      }
      case MatchExpr::Kind::predicate:
        break;
    }
    const Predicate& p = a.predicate;
    if (structural_only(p.op)) return;
    const Key b = field_base(p);
    if (p.op != Op::present) out.push_back(mix(b, kAnyValue));
    switch (p.op) {
      case Op::equals:
        if (p.values.empty()) {
          everything = true;
          return;
        }
        out.push_back(mix(mix(b, kEq), p.values[0]));
        if (is_number_field(p.field) && all_e164(p.values)) {
          digit_probes(b, p.values[0], out);
          for (const ListProbe& l : lists_) {
            if (l.contains(p.values[0])) out.push_back(mix(mix(b, kIn), l.list->name));
          }
        }
        return;
      case Op::regex:
        if (p.values.empty())
          everything = true;
        else
          out.push_back(mix(mix(b, kRe), p.values[0]));
        return;
      case Op::prefix:
        if (p.values.empty()) {
          everything = true;
          return;
        }
        for (std::size_t k = 0; k <= p.values[0].size(); ++k) {
          out.push_back(mix(mix(b, kPre), std::string_view(p.values[0]).substr(0, k)));
        }
        return;
      case Op::range: {
        if (p.ranges.empty()) {
          everything = true;
          return;
        }
        // Inside an earlier prefix: both ends start with it, so any range's
        // first number will do.
        const std::string& d = p.ranges[0].first;
        for (std::size_t k = 0; k <= d.size(); ++k) out.push_back(mix(mix(b, kPre), std::string_view(d).substr(0, k)));
        // Inside an earlier range: the first number of a well-formed range
        // (ends of one length, first <= last) lies in it. A set with only
        // malformed ranges (hand-built: the loader refuses them) is compared
        // with every rule.
        const NumberRange* r = nullptr;
        for (const NumberRange& x : p.ranges) {
          if (x.first.size() == x.last.size() && x.first <= x.last) {
            r = &x;
            break;
          }
        }
        if (r == nullptr) {
          everything = true;
          return;
        }
        for (std::size_t k = 0; k <= r->first.size(); ++k) {
          out.push_back(mix(mix(mix(b, kRng), r->first.size()), std::string_view(r->first).substr(0, k)));
        }
        return;
      }
      case Op::in_list:
      case Op::present:
      case Op::caller_in_trunk_ranges:
      case Op::detector:
      case Op::number_is:
      case Op::caller_shares_callee_prefix:
        return;
    }
  }

  const RuleSet& rs_;
  std::set<const NumberList*> noted_;
  std::vector<ListProbe> lists_;  // lists some in_list predicate names
};

}  // namespace

std::vector<Diagnostic> find_shadowed_rules(const RuleSet& rs, ShadowStats* stats) {
  std::vector<Diagnostic> out;
  const std::vector<std::uint32_t> order = precedence_order(rs);
  const ShadowIndex index(rs);
  ShadowIndex::Occupancy filed;          // key -> positions in `order`, ascending
  std::vector<std::uint32_t> wildcards;  // positions filed under no key: tried with every rule
  std::vector<std::uint32_t> terminal;   // every position filed, for a rule no key narrows down
  std::vector<Key> probes;
  std::vector<const std::vector<std::uint32_t>*> lists;
  std::vector<std::size_t> at;
  ShadowStats st;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const Rule& later = rs.rules[order[i]];
    // Candidates: the buckets this rule probes, merged in ascending order.
    probes.clear();
    bool everything = false;
    index.probe(later.match, probes, everything);
    std::sort(probes.begin(), probes.end());
    probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
    lists.clear();
    if (everything) {
      lists.push_back(&terminal);
    } else {
      if (!wildcards.empty()) lists.push_back(&wildcards);
      for (Key k : probes) {
        if (const auto it = filed.find(k); it != filed.end()) lists.push_back(&it->second);
      }
    }
    at.assign(lists.size(), 0);
    std::uint32_t last_tried = UINT32_MAX;
    std::size_t tried = 0;
    for (;;) {
      // Smallest next position over the buckets (few buckets: a scan).
      std::size_t best = lists.size();
      for (std::size_t l = 0; l < lists.size(); ++l) {
        if (at[l] < lists[l]->size() && (best == lists.size() || (*lists[l])[at[l]] < (*lists[best])[at[best]])) {
          best = l;
        }
      }
      if (best == lists.size()) break;
      const std::uint32_t j = (*lists[best])[at[best]++];
      if (j == last_tried) continue;  // filed under several probed keys
      last_tried = j;
      if (++tried > kMaxShadowCandidates) {
        ++st.rules_cut_short;
        break;
      }
      const Rule& earlier = rs.rules[order[j]];
      ++st.implication_checks;
      if (!match_implies(later.match, earlier.match, &rs)) continue;
      const bool identical = same(later.match, earlier.match);
      std::string why = identical ? "it has the same match as '" + earlier.id + "'"
                                  : "every call it matches also matches '" + earlier.id + "'";
      std::string order_why = earlier.priority != later.priority ? "priority " + std::to_string(earlier.priority) +
                                                                       " > " + std::to_string(later.priority)
                                                                 : "same priority, earlier in the file";
      out.push_back({Severity::warning, later.where,
                     "rule '" + later.id + "' can never match: " + why + " (" + to_string(earlier.where) +
                         "), which comes first (" + order_why + ") and ends evaluation with '" +
                         std::string(to_string(earlier.action.kind)) + "'"});
      break;
    }
    // File this rule for the ones after it (shadowed or not, as before).
    if (!is_terminal(later.action.kind) || may_not_act(later, rs)) continue;
    terminal.push_back(static_cast<std::uint32_t>(i));
    const Filing f = index.filing(later.match, &filed);
    if (f.wildcard) {
      wildcards.push_back(static_cast<std::uint32_t>(i));
      continue;
    }
    std::vector<Key> keys = f.keys;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (Key k : keys) filed[k].push_back(static_cast<std::uint32_t>(i));
  }
  if (stats != nullptr) *stats = st;
  return out;
}

std::vector<Diagnostic> find_unused_lists(const RuleSet& rs) {
  std::set<std::string> used(rs.guard_rails.allow_callers.begin(), rs.guard_rails.allow_callers.end());
  used.insert(rs.guard_rails.allow_callees.begin(), rs.guard_rails.allow_callees.end());
  for (const Rule& r : rs.rules) collect_lists(r.match, used);
  std::vector<Diagnostic> out;
  for (const NumberList& l : rs.lists) {
    if (!used.count(l.name)) {
      out.push_back({Severity::warning, l.where, "list '" + l.name + "' is not used by any rule or guard rail"});
    }
  }
  return out;
}

std::vector<Diagnostic> find_unused_detectors(const RuleSet& rs) {
  std::set<std::string> used;
  for (const Rule& r : rs.rules) collect_detectors(r.match, used);
  std::vector<Diagnostic> out;
  for (const Detector& d : rs.detectors) {
    if (!used.count(d.name)) {
      out.push_back({Severity::warning, d.where,
                     "detector '" + d.name + "' is not used by any rule: it counts, but no call is acted on"});
    }
  }
  return out;
}

std::vector<Diagnostic> analyze(const RuleSet& rs) {
  std::vector<Diagnostic> out = find_shadowed_rules(rs);
  for (Diagnostic& d : find_unused_lists(rs)) out.push_back(std::move(d));
  for (Diagnostic& d : find_unused_detectors(rs)) out.push_back(std::move(d));
  return out;
}

}  // namespace sipwall::rules
