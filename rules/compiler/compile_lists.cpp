// Number lists -> the exact-number table and the prefix/range interval map.
#include <algorithm>
#include <queue>

#include "rules/compiled/digit_order.h"
#include "rules/compiler/compiler_internal.h"
#include "rules/number/e164_key.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::compiler {

std::string digits_of(std::string_view written) {
  if (!written.empty() && written.front() == '+') written.remove_prefix(1);
  return is_digit_string(written) ? std::string(written) : std::string();
}

namespace {

std::uint32_t new_list(Builder& b, std::string_view name, ListKind kind, ListOrigin origin, std::uint64_t entries,
                       const SourceLocation& where) {
  ListInfo li;
  li.name = b.str(name);
  li.kind = kind;
  li.space = space_of(kind);
  li.origin = origin;
  li.bit = b.bits[static_cast<std::size_t>(li.space)]++;
  li.entries = entries;
  li.where = b.where(where);
  b.d.lists.push_back(li);
  b.stats.lists.push_back({std::string(name), kind, origin, entries});
  return static_cast<std::uint32_t>(b.d.lists.size() - 1);
}

bool add_prefix(Builder& b, std::uint32_t bit, std::string_view written, const SourceLocation& where) {
  const std::string digits = digits_of(written);
  if (digits.empty()) {
    b.error(where, "prefix '" + std::string(written) + "' is not 1 to 15 digits");
    return false;
  }
  b.prefix_intervals.push_back({prefix_interval(digits), bit});
  return true;
}

bool add_range(Builder& b, std::uint32_t bit, const NumberRange& r, const SourceLocation& where) {
  const std::string first = digits_of(r.first);
  const std::string last = digits_of(r.last);
  if (first.empty() || last.empty()) {
    b.error(where, "range " + format_range(r) + " is not two numbers of 1 to 15 digits");
    return false;
  }
  if (first.size() != last.size()) {
    b.error(where, "range " + format_range(r) + ": both ends must have the same number of digits");
    return false;
  }
  if (first > last) {
    b.error(where, "range " + format_range(r) + ": the first number is above the last");
    return false;
  }
  // Same length, so one interval of packed keys: exactly the numbers of
  // that length between the ends.
  b.range_intervals.push_back({{number::pack(first), number::pack(last)}, bit});
  return true;
}

const SourceLocation& value_where(const Predicate& p, std::size_t i) {
  return i < p.value_where.size() ? p.value_where[i] : p.where;
}

// "caller prefix [8613, 8614]" shortened for a list name.
std::string inline_name(const Predicate& p) {
  std::string s = to_string(p);
  if (s.size() > 96) s = s.substr(0, 93) + "...";
  return s;
}

}  // namespace

void add_named_lists(Builder& b) {
  for (const NumberList& l : b.rs.lists) {
    if (b.named_list.count(l.name) != 0) {
      b.error(l.where, "list '" + l.name + "' is defined twice");
      continue;
    }
    const std::uint64_t entries = l.kind == ListKind::exact    ? l.numbers.size()
                                  : l.kind == ListKind::prefix ? l.prefixes.size()
                                                               : l.ranges.size();
    const std::uint32_t idx = new_list(b, l.name, l.kind, ListOrigin::named, entries, l.where);
    b.named_list.emplace(l.name, idx);
    const std::uint32_t bit = b.d.lists[idx].bit;
    switch (l.kind) {
      case ListKind::exact: {
        ExactSource src;
        src.bit = bit;
        bool clean = true;  // sorted, unique, every key valid
        for (std::size_t i = 0; i < l.numbers.size(); ++i) {
          if (!number::key_valid(l.numbers[i]) || (i > 0 && l.numbers[i] <= l.numbers[i - 1])) {
            clean = false;
            break;
          }
        }
        if (clean) {
          src.keys = &l.numbers;
        } else {
          for (number::E164Key k : l.numbers) {
            if (number::key_valid(k)) src.owned.push_back(k);
          }
          if (src.owned.size() != l.numbers.size()) {
            b.error(l.where, "list '" + l.name + "' holds " + std::to_string(l.numbers.size() - src.owned.size()) +
                                 " keys that are not packed numbers");
          }
          std::sort(src.owned.begin(), src.owned.end());
          src.owned.erase(std::unique(src.owned.begin(), src.owned.end()), src.owned.end());
        }
        b.stats.exact_entries += l.numbers.size();
        b.exact_sources.push_back(std::move(src));
        break;
      }
      case ListKind::prefix:
        for (const std::string& p : l.prefixes) add_prefix(b, bit, p, l.where);
        b.stats.prefix_entries += l.prefixes.size();
        break;
      case ListKind::range:
        for (const NumberRange& r : l.ranges) add_range(b, bit, r, l.where);
        b.stats.range_entries += l.ranges.size();
        break;
    }
  }
  b.d.named_lists = static_cast<std::uint32_t>(b.d.lists.size());
  b.stats.named_lists = b.d.lists.size();
}

std::uint32_t inline_list(Builder& b, const Predicate& p) {
  // One list per distinct set of values, shared by every predicate that
  // writes the same values (on any field).
  std::vector<std::string> vals;
  ListKind kind = ListKind::exact;
  char tag = 'E';
  if (p.op == Op::prefix) {
    kind = ListKind::prefix;
    tag = 'P';
    for (const std::string& v : p.values) vals.push_back(digits_of(v));
  } else if (p.op == Op::range) {
    kind = ListKind::range;
    tag = 'R';
    for (const NumberRange& r : p.ranges) vals.push_back(digits_of(r.first) + "-" + digits_of(r.last));
  } else {
    for (const std::string& v : p.values) vals.push_back(digits_of(v));
  }
  std::string key(1, tag);
  {
    std::vector<std::string> sorted = vals;
    std::sort(sorted.begin(), sorted.end());
    for (const std::string& v : sorted) key += "|" + v;
  }
  if (const auto it = b.generated.find(key); it != b.generated.end()) return it->second;

  const std::size_t errors_before = b.errors;
  const std::uint64_t entries = p.op == Op::range ? p.ranges.size() : p.values.size();
  if (entries == 0) {
    b.error(p.where, "'" + std::string(to_string(p.op)) + "' needs at least one value");
    return kNone;
  }
  const std::uint32_t idx = new_list(b, inline_name(p), kind, ListOrigin::inline_values, entries, p.where);
  const std::uint32_t bit = b.d.lists[idx].bit;
  if (kind == ListKind::prefix) {
    for (std::size_t i = 0; i < p.values.size(); ++i) add_prefix(b, bit, p.values[i], value_where(p, i));
    b.stats.prefix_entries += p.values.size();
  } else if (kind == ListKind::range) {
    for (std::size_t i = 0; i < p.ranges.size(); ++i) add_range(b, bit, p.ranges[i], value_where(p, i));
    b.stats.range_entries += p.ranges.size();
  } else {
    ExactSource src;
    src.bit = bit;
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      const number::E164Key k = number::pack(vals[i]);
      if (k == number::kNoNumber) {
        b.error(value_where(p, i), text::quote(p.values[i]) + " is not a number of 1 to 15 digits");
        continue;
      }
      src.owned.push_back(k);
    }
    std::sort(src.owned.begin(), src.owned.end());
    src.owned.erase(std::unique(src.owned.begin(), src.owned.end()), src.owned.end());
    b.stats.exact_entries += src.owned.size();
    b.exact_sources.push_back(std::move(src));
  }
  if (b.errors != errors_before) return kNone;
  b.generated.emplace(std::move(key), idx);
  return idx;
}

void trunk_caller_lists(Builder& b, const Trunk& t, TrunkInfo& ti) {
  if (!t.caller_prefixes.empty()) {
    ti.caller_prefix_list = new_list(b, "trunk " + t.name + " caller prefixes", ListKind::prefix,
                                     ListOrigin::trunk_callers, t.caller_prefixes.size(), t.where);
    ti.caller_prefix_bit = b.d.lists[ti.caller_prefix_list].bit;
    for (const std::string& p : t.caller_prefixes) add_prefix(b, ti.caller_prefix_bit, p, t.where);
    b.stats.prefix_entries += t.caller_prefixes.size();
  }
  if (!t.caller_ranges.empty()) {
    ti.caller_range_list = new_list(b, "trunk " + t.name + " caller ranges", ListKind::range, ListOrigin::trunk_callers,
                                    t.caller_ranges.size(), t.where);
    ti.caller_range_bit = b.d.lists[ti.caller_range_list].bit;
    for (const NumberRange& r : t.caller_ranges) add_range(b, ti.caller_range_bit, r, t.where);
    b.stats.range_entries += t.caller_ranges.size();
  }
}

void build_number_tables(Builder& b) {
  CompiledRuleSetData& d = b.d;
  for (std::size_t sp = 0; sp < kNumberSpaces; ++sp) d.bit_list[sp].assign(b.bits[sp], kNone);
  for (std::uint32_t i = 0; i < d.lists.size(); ++i) {
    d.bit_list[static_cast<std::size_t>(d.lists[i].space)][d.lists[i].bit] = i;
  }

  // Exact numbers: merge every exact list (each sorted) into one sorted key
  // list, each key carrying the combination of lists it is in.
  ListSets& exact_sets = d.sets[0];
  exact_sets.reset(b.bits[0]);
  const std::uint32_t words = exact_sets.words();
  std::vector<std::uint64_t> combo(words, 0);
  std::vector<const std::vector<number::E164Key>*> srcs;
  for (ExactSource& s : b.exact_sources) {
    srcs.push_back(s.keys != nullptr ? s.keys : &s.owned);
  }
  std::vector<number::E164Key> merged_keys;
  std::vector<std::uint32_t> values;
  std::span<const number::E164Key> keys;
  if (srcs.size() == 1) {
    combo[b.exact_sources[0].bit / 64] |= std::uint64_t{1} << (b.exact_sources[0].bit % 64);
    keys = *srcs[0];
    values.assign(keys.size(), exact_sets.intern(combo));
  } else if (srcs.size() > 1) {
    std::size_t total = 0;
    for (const auto* s : srcs) total += s->size();
    merged_keys.reserve(total);
    values.reserve(total);
    using Head = std::pair<number::E164Key, std::uint32_t>;  // key, source
    std::priority_queue<Head, std::vector<Head>, std::greater<>> heap;
    std::vector<std::size_t> pos(srcs.size(), 0);
    for (std::uint32_t i = 0; i < srcs.size(); ++i) {
      if (!srcs[i]->empty()) heap.push({(*srcs[i])[0], i});
    }
    std::vector<std::uint64_t> prev;
    std::uint32_t prev_id = 0;
    while (!heap.empty()) {
      const number::E164Key k = heap.top().first;
      std::fill(combo.begin(), combo.end(), 0);
      while (!heap.empty() && heap.top().first == k) {
        const std::uint32_t s = heap.top().second;
        heap.pop();
        const std::uint32_t bit = b.exact_sources[s].bit;
        combo[bit / 64] |= std::uint64_t{1} << (bit % 64);
        if (++pos[s] < srcs[s]->size()) heap.push({(*srcs[s])[pos[s]], s});
      }
      if (combo != prev) {  // most neighbours share a combination: skip the hash
        prev_id = exact_sets.intern(combo);
        prev = combo;
      }
      merged_keys.push_back(k);
      values.push_back(prev_id);
    }
    keys = merged_keys;
  }
  d.exact = ExactTable::build(keys, values, b.options.exact_load_factor);
  b.stats.exact_numbers = keys.size();
  b.exact_sources.clear();

  // Prefixes and ranges.
  d.sets[1].reset(b.bits[1]);
  d.prefix_map = IntervalMap::build(std::move(b.prefix_intervals), d.sets[1]);
  b.prefix_intervals.clear();
  d.sets[2].reset(b.bits[2]);
  d.range_map = IntervalMap::build(std::move(b.range_intervals), d.sets[2]);
  b.range_intervals.clear();
}

}  // namespace sipwall::rules::compiler
