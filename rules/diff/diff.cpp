#include "rules/diff/diff.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <tuple>

#include "rules/model/compare.h"
#include "rules/model/model_text.h"
#include "rules/model/precedence.h"

namespace sipwall::rules {
namespace {

// Counts the entries only in `a` and only in `b` (both sorted, unique) and
// keeps the first `sample` of each, formatted. Linear: lists hold millions.
template <typename T, typename Less, typename Fmt>
void merge_diff(const std::vector<T>& a, const std::vector<T>& b, Less less, Fmt fmt, std::size_t sample,
                ListChange& out) {
  std::size_t i = 0, j = 0;
  auto removed = [&](const T& x) {
    if (out.removed_sample.size() < sample) out.removed_sample.push_back(fmt(x));
    ++out.removed;
  };
  auto added = [&](const T& x) {
    if (out.added_sample.size() < sample) out.added_sample.push_back(fmt(x));
    ++out.added;
  };
  while (i < a.size() && j < b.size()) {
    if (less(a[i], b[j])) {
      removed(a[i++]);
    } else if (less(b[j], a[i])) {
      added(b[j++]);
    } else {
      ++i;
      ++j;
    }
  }
  for (; i < a.size(); ++i) removed(a[i]);
  for (; j < b.size(); ++j) added(b[j]);
}

std::size_t list_size(const NumberList& l) {
  switch (l.kind) {
    case ListKind::exact:
      return l.numbers.size();
    case ListKind::prefix:
      return l.prefixes.size();
    case ListKind::range:
      return l.ranges.size();
  }
  return 0;
}

const NumberList kEmptyExact{};

// Entries of `a` vs `b`, both of the same kind.
void diff_entries(const NumberList& a, const NumberList& b, std::size_t sample, ListChange& out) {
  switch (b.kind) {
    case ListKind::exact:
      merge_diff(
          a.numbers, b.numbers, std::less<>(), [](number::E164Key k) { return format_key(k); }, sample, out);
      break;
    case ListKind::prefix:
      merge_diff(
          a.prefixes, b.prefixes, std::less<>(), [](const std::string& p) { return "+" + p + "*"; }, sample, out);
      break;
    case ListKind::range:
      merge_diff(
          a.ranges, b.ranges,
          [](const NumberRange& x, const NumberRange& y) {
            return std::tie(x.first, x.last) < std::tie(y.first, y.last);
          },
          [](const NumberRange& r) { return format_range(r); }, sample, out);
      break;
  }
}

ListChange whole_list(const NumberList& l, bool added, std::size_t sample) {
  ListChange c;
  c.name = l.name;
  c.old_kind = c.new_kind = l.kind;
  NumberList empty;
  empty.kind = l.kind;
  if (added) {
    c.new_size = list_size(l);
    c.new_files = l.files;
    diff_entries(empty, l, sample, c);
  } else {
    c.old_size = list_size(l);
    c.old_files = l.files;
    diff_entries(l, empty, sample, c);
  }
  return c;
}

std::string defaults_text(const Defaults& d) {
  return "action " + to_string(d.action) + ", malformed " + std::string(to_string(d.malformed));
}

void name_diff(const char* what, const std::vector<std::string>& a, const std::vector<std::string>& b,
               std::vector<std::string>& out) {
  const std::set<std::string> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  for (const std::string& x : b) {
    if (!sa.count(x)) out.push_back(std::string(what) + " + " + x);
  }
  for (const std::string& x : a) {
    if (!sb.count(x)) out.push_back(std::string(what) + " - " + x);
  }
}

std::string entries(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " entry" : " entries");
}

std::string number_name(const std::string& digits) {
  return digits.size() <= number::kMaxShortCodeDigits ? digits : "+" + digits;
}

std::string ms_text(std::uint32_t ms) {
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string threshold_text(const detect::DetectorSpec& s, std::uint32_t v) {
  if (v == 0) return "none";
  if (s.count != detect::DetectCount::asr) return std::to_string(v);
  std::string t = std::to_string(v / 10);
  if (v % 10 != 0) t += "." + std::to_string(v % 10);
  return t + "%";
}

// The fields of a detector as (name, value text), in YAML order.
std::vector<std::pair<std::string, std::string>> detector_fields(const detect::DetectorSpec& s) {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("key", detect::to_string(s.key));
  f.emplace_back("count", detect::to_string(s.count));
  f.emplace_back("window", ms_text(s.window_ms));
  f.emplace_back("warn", threshold_text(s, s.warn));
  f.emplace_back("block", threshold_text(s, s.block));
  if (s.within_ms != 0) f.emplace_back("within", ms_text(s.within_ms));
  if (s.min_attempts != 0) f.emplace_back("min_attempts", std::to_string(s.min_attempts));
  f.emplace_back("block_for", ms_text(s.block_for_ms));
  f.emplace_back("report", s.report_only ? "true" : "false");
  f.emplace_back("capacity",
                 s.capacity == 0 ? std::string("data plane's detection.capacity") : std::to_string(s.capacity));
  return f;
}

std::string detector_text(const Detector& d) {
  std::string t = d.name + ":";
  bool first = true;
  for (const auto& [k, v] : detector_fields(d.spec)) {
    t += first ? " " : ", ";
    first = false;
    t += k + " " + v;
  }
  return t;
}

}  // namespace

bool RuleSetDiff::empty() const noexcept {
  return rules_added.empty() && rules_removed.empty() && rules_changed.empty() && !order_changed &&
         lists_added.empty() && lists_removed.empty() && lists_changed.empty() && trunks_added.empty() &&
         trunks_removed.empty() && trunks_changed.empty() && deny_added.empty() && deny_removed.empty() &&
         deny_changed.empty() && detectors_added.empty() && detectors_removed.empty() && detectors_changed.empty() &&
         !dial_plan_changed && !defaults_changed && !guard_rails_changed;
}

RuleSetDiff diff(const RuleSet& o, const RuleSet& n, const DiffOptions& options) {
  RuleSetDiff d;
  d.old_name = o.name;
  d.new_name = n.name;
  d.old_version = o.version;
  d.new_version = n.version;

  // Rules, by id.
  std::map<std::string, const Rule*> old_rules, new_rules;
  for (const Rule& r : o.rules) old_rules.emplace(r.id, &r);
  for (const Rule& r : n.rules) new_rules.emplace(r.id, &r);
  for (const Rule& r : n.rules) {
    auto it = old_rules.find(r.id);
    if (it == old_rules.end()) {
      d.rules_added.push_back(r.id);
      continue;
    }
    const Rule& was = *it->second;
    RuleChange c;
    c.id = r.id;
    c.match = !same(was.match, r.match);
    c.action = !same(was.action, r.action);
    c.priority = was.priority != r.priority;
    c.description = was.description != r.description;
    if (c.match) {
      c.old_match = to_string(was.match);
      c.new_match = to_string(r.match);
    }
    if (c.action) {
      c.old_action = to_string(was.action);
      c.new_action = to_string(r.action);
    }
    c.old_priority = was.priority;
    c.new_priority = r.priority;
    if (c.match || c.action || c.priority || c.description) d.rules_changed.push_back(std::move(c));
  }
  for (const Rule& r : o.rules) {
    if (!new_rules.count(r.id)) d.rules_removed.push_back(r.id);
  }
  // Evaluation order of the rules both sets have.
  auto common_order = [](const RuleSet& rs, const std::map<std::string, const Rule*>& other) {
    std::vector<std::string> ids;
    for (std::uint32_t i : precedence_order(rs)) {
      if (other.count(rs.rules[i].id)) ids.push_back(rs.rules[i].id);
    }
    return ids;
  };
  const std::vector<std::string> old_order = common_order(o, new_rules);
  std::vector<std::string> new_order = common_order(n, old_rules);
  if (old_order != new_order) {
    d.order_changed = true;
    d.new_order = std::move(new_order);
  }

  // Lists, by name.
  std::map<std::string, const NumberList*> old_lists, new_lists;
  for (const NumberList& l : o.lists) old_lists.emplace(l.name, &l);
  for (const NumberList& l : n.lists) new_lists.emplace(l.name, &l);
  for (const NumberList& l : n.lists) {
    auto it = old_lists.find(l.name);
    if (it == old_lists.end()) {
      d.lists_added.push_back(whole_list(l, true, options.sample));
      continue;
    }
    const NumberList& was = *it->second;
    ListChange c;
    c.name = l.name;
    c.old_kind = was.kind;
    c.new_kind = l.kind;
    c.kind_changed = was.kind != l.kind;
    c.old_size = list_size(was);
    c.new_size = list_size(l);
    c.old_files = was.files;
    c.new_files = l.files;
    if (c.kind_changed) {
      // Different kinds do not compare entry by entry: all out, all in.
      NumberList none_old, none_new;
      none_old.kind = was.kind;
      none_new.kind = l.kind;
      ListChange out_part, in_part;
      diff_entries(was, none_old, options.sample, out_part);
      diff_entries(none_new, l, options.sample, in_part);
      c.removed = out_part.removed;
      c.removed_sample = std::move(out_part.removed_sample);
      c.added = in_part.added;
      c.added_sample = std::move(in_part.added_sample);
    } else {
      diff_entries(was, l, options.sample, c);
    }
    if (c.kind_changed || c.added || c.removed || c.old_files != c.new_files) {
      d.lists_changed.push_back(std::move(c));
    }
  }
  for (const NumberList& l : o.lists) {
    if (!new_lists.count(l.name)) d.lists_removed.push_back(whole_list(l, false, options.sample));
  }

  // Trunks, by name.
  std::map<std::string, const Trunk*> old_trunks, new_trunks;
  for (const Trunk& t : o.trunks) old_trunks.emplace(t.name, &t);
  for (const Trunk& t : n.trunks) new_trunks.emplace(t.name, &t);
  for (const Trunk& t : n.trunks) {
    auto it = old_trunks.find(t.name);
    if (it == old_trunks.end()) {
      d.trunks_added.push_back(t.name);
      continue;
    }
    const Trunk& was = *it->second;
    if (same(was, t)) continue;
    TrunkChange c;
    c.name = t.name;
    c.trunk_class = was.trunk_class != t.trunk_class;
    c.old_class = was.trunk_class;
    c.new_class = t.trunk_class;
    c.sources = !std::equal(was.sources.begin(), was.sources.end(), t.sources.begin(), t.sources.end(),
                            [](const TrunkSource& x, const TrunkSource& y) { return same(x, y); });
    c.caller_ranges =
        was.caller_prefixes != t.caller_prefixes ||
        !std::equal(was.caller_ranges.begin(), was.caller_ranges.end(), t.caller_ranges.begin(), t.caller_ranges.end(),
                    [](const NumberRange& x, const NumberRange& y) { return same(x, y); });
    c.caller_from = was.caller_from != t.caller_from;
    d.trunks_changed.push_back(std::move(c));
  }
  for (const Trunk& t : o.trunks) {
    if (!new_trunks.count(t.name)) d.trunks_removed.push_back(t.name);
  }

  // deny_sources, by id.
  {
    auto match_text = [](const DenySource& x) {
      std::string t = x.source.text;
      if (x.source.vlan) t += " vlan " + std::to_string(*x.source.vlan);
      if (x.source.port) t += " port " + std::to_string(*x.source.port);
      return t;
    };
    std::map<std::string, const DenySource*> old_deny, new_deny;
    for (const DenySource& x : o.deny_sources) old_deny.emplace(x.id, &x);
    for (const DenySource& x : n.deny_sources) new_deny.emplace(x.id, &x);
    for (const DenySource& x : n.deny_sources) {
      auto it = old_deny.find(x.id);
      if (it == old_deny.end()) {
        d.deny_added.push_back(x.id + ": " + match_text(x));
      } else if (!same(it->second->source, x.source)) {
        d.deny_changed.push_back(x.id + ": " + match_text(*it->second) + " -> " + match_text(x));
      } else if (it->second->description != x.description) {
        d.deny_changed.push_back(x.id + ": description changed");
      }
    }
    for (const DenySource& x : o.deny_sources) {
      if (!new_deny.count(x.id)) d.deny_removed.push_back(x.id + ": " + match_text(x));
    }
  }

  // detectors, by name. State follows the definition hash, not the name.
  {
    std::map<std::string, const Detector*> old_det, new_det;
    std::set<std::uint64_t> old_hashes;
    for (const Detector& x : o.detectors) {
      old_det.emplace(x.name, &x);
      old_hashes.insert(x.spec.definition_hash);
    }
    for (const Detector& x : n.detectors) new_det.emplace(x.name, &x);
    for (const Detector& x : n.detectors) {
      const auto it = old_det.find(x.name);
      if (it == old_det.end()) {
        std::string t = detector_text(x);
        if (old_hashes.count(x.spec.definition_hash)) t += " (state kept: same definition as a removed detector)";
        d.detectors_added.push_back(std::move(t));
        continue;
      }
      const auto of = detector_fields(it->second->spec);
      const auto nf = detector_fields(x.spec);
      DetectorChange c;
      c.name = x.name;
      c.state_kept = it->second->spec.definition_hash == x.spec.definition_hash;
      std::map<std::string, std::string> om(of.begin(), of.end());
      std::map<std::string, std::string> nm(nf.begin(), nf.end());
      for (const auto& [k, v] : nf) {
        const auto ov = om.find(k);
        const std::string old_v = ov == om.end() ? "none" : ov->second;
        if (old_v != v) c.fields.push_back(k + " " + old_v + " -> " + v);
      }
      for (const auto& [k, v] : of) {
        if (!nm.count(k)) c.fields.push_back(k + " " + v + " -> none");
      }
      if (!c.fields.empty() || !c.state_kept) d.detectors_changed.push_back(std::move(c));
    }
    for (const Detector& x : o.detectors) {
      if (!new_det.count(x.name)) d.detectors_removed.push_back(detector_text(x));
    }
  }

  d.dial_plan_changed = !(o.dial_plan == n.dial_plan);
  if (!same(o.defaults, n.defaults)) {
    d.defaults_changed = true;
    d.old_defaults = defaults_text(o.defaults);
    d.new_defaults = defaults_text(n.defaults);
  }
  if (!same(o.guard_rails, n.guard_rails)) {
    d.guard_rails_changed = true;
    std::vector<std::string> old_em, new_em;
    for (const auto& x : o.guard_rails.emergency) old_em.push_back(number_name(x));
    for (const auto& x : n.guard_rails.emergency) new_em.push_back(number_name(x));
    name_diff("emergency", old_em, new_em, d.guard_rail_changes);
    name_diff("allow_callers", o.guard_rails.allow_callers, n.guard_rails.allow_callers, d.guard_rail_changes);
    name_diff("allow_callees", o.guard_rails.allow_callees, n.guard_rails.allow_callees, d.guard_rail_changes);
    if (d.guard_rail_changes.empty()) d.guard_rail_changes.push_back("order of entries changed");
  }
  return d;
}

void print_diff(std::ostream& os, const RuleSetDiff& d) {
  os << "rule set " << (d.old_name.empty() ? "(unnamed)" : d.old_name) << " version " << d.old_version << " -> ";
  if (d.new_name != d.old_name) os << d.new_name << " ";
  os << "version " << d.new_version << "\n";
  if (d.empty()) {
    os << "no changes\n";
    return;
  }
  auto sample = [&](const ListChange& c) {
    for (const std::string& s : c.added_sample) os << "      + " << s << "\n";
    if (c.added > c.added_sample.size()) os << "      + ... " << c.added - c.added_sample.size() << " more\n";
    for (const std::string& s : c.removed_sample) os << "      - " << s << "\n";
    if (c.removed > c.removed_sample.size()) os << "      - ... " << c.removed - c.removed_sample.size() << " more\n";
  };
  if (!d.rules_added.empty() || !d.rules_removed.empty() || !d.rules_changed.empty() || d.order_changed) {
    os << "rules:\n";
    for (const auto& id : d.rules_added) os << "  + " << id << "\n";
    for (const auto& id : d.rules_removed) os << "  - " << id << "\n";
    for (const RuleChange& c : d.rules_changed) {
      if (c.match) os << "  ~ " << c.id << ": match " << c.old_match << " -> " << c.new_match << "\n";
      if (c.action) os << "  ~ " << c.id << ": action " << c.old_action << " -> " << c.new_action << "\n";
      if (c.priority) os << "  ~ " << c.id << ": priority " << c.old_priority << " -> " << c.new_priority << "\n";
      if (c.description) os << "  ~ " << c.id << ": description changed\n";
    }
    if (d.order_changed) {
      os << "  evaluation order of existing rules is now:";
      for (const auto& id : d.new_order) os << " " << id;
      os << "\n";
    }
  }
  if (!d.lists_added.empty() || !d.lists_removed.empty() || !d.lists_changed.empty()) {
    os << "lists:\n";
    for (const ListChange& c : d.lists_added) {
      os << "  + " << c.name << " (" << to_string(c.new_kind) << ", " << entries(c.new_size) << ")\n";
      sample(c);
    }
    for (const ListChange& c : d.lists_removed) {
      os << "  - " << c.name << " (" << to_string(c.old_kind) << ", " << entries(c.old_size) << ")\n";
      sample(c);
    }
    for (const ListChange& c : d.lists_changed) {
      os << "  ~ " << c.name << ": +" << c.added << " -" << c.removed << " (" << c.old_size << " -> "
         << entries(c.new_size) << ")";
      if (c.kind_changed) os << "; kind " << to_string(c.old_kind) << " -> " << to_string(c.new_kind);
      if (c.old_files != c.new_files) os << "; files changed";
      os << "\n";
      sample(c);
    }
  }
  if (!d.trunks_added.empty() || !d.trunks_removed.empty() || !d.trunks_changed.empty()) {
    os << "trunks:\n";
    for (const auto& t : d.trunks_added) os << "  + " << t << "\n";
    for (const auto& t : d.trunks_removed) os << "  - " << t << "\n";
    for (const TrunkChange& c : d.trunks_changed) {
      os << "  ~ " << c.name << ":";
      if (c.trunk_class) os << " class " << c.old_class << " -> " << c.new_class << ";";
      if (c.sources) os << " sources changed;";
      if (c.caller_ranges) os << " caller_ranges changed;";
      if (c.caller_from) os << " caller_from changed;";
      os << "\n";
    }
  }
  if (!d.deny_added.empty() || !d.deny_removed.empty() || !d.deny_changed.empty()) {
    os << "deny_sources:\n";
    for (const auto& x : d.deny_added) os << "  + " << x << "\n";
    for (const auto& x : d.deny_removed) os << "  - " << x << "\n";
    for (const auto& x : d.deny_changed) os << "  ~ " << x << "\n";
  }
  if (!d.detectors_added.empty() || !d.detectors_removed.empty() || !d.detectors_changed.empty()) {
    os << "detectors:\n";
    for (const auto& x : d.detectors_added) os << "  + " << x << "\n";
    for (const auto& x : d.detectors_removed) os << "  - " << x << "\n";
    for (const DetectorChange& c : d.detectors_changed) {
      os << "  ~ " << c.name << ":";
      for (const auto& f : c.fields) os << " " << f << ";";
      os << (c.state_kept ? " (state kept)" : " (counts restart from zero on reload)") << "\n";
    }
  }
  if (d.dial_plan_changed) os << "dial plan changed (numbers may normalise differently)\n";
  if (d.defaults_changed) os << "defaults: " << d.old_defaults << " -> " << d.new_defaults << "\n";
  if (d.guard_rails_changed) {
    os << "guard rails:\n";
    for (const auto& s : d.guard_rail_changes) os << "  " << s << "\n";
  }
}

}  // namespace sipwall::rules
