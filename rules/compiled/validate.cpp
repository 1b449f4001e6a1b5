// validate(): the one check between bytes from an artifact and the worker
// that follows every index in them. It must hold whatever the file says:
// the checksum only proves the bytes are what was written, not that whoever
// wrote them was the compiler. So every offset, count and index is compared
// in a width where the sum cannot wrap (64-bit sums of 32-bit values, or
// `a > n - b` forms), every enum is in range, and the structure the
// classifier relies on for bounded work (each rule's program its own
// contiguous block of code, ending in END, jumping only forward inside it)
// is required, not assumed.
#include <set>
#include <string>

#include "rules/compiled/access.h"
#include "rules/detect/definition_hash.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules {

namespace {

// Limits on text that leaves the process (status and stats JSON, trace
// records, explain): identity, names and the texts of actions.
constexpr std::size_t kMaxNameBytes = 256;
constexpr std::size_t kMaxTextBytes = 4096;

bool str_ok(const CompiledRuleSetData& d, StrRef r) noexcept {
  return static_cast<std::uint64_t>(r.off) + r.len <= d.strings.size();
}

std::string_view str(const CompiledRuleSetData& d, StrRef r) noexcept {
  return std::string_view(d.strings).substr(r.off, r.len);  // after str_ok()
}

// No control byte (tab allowed): what may go into a SIP header line.
bool header_safe(std::string_view s) noexcept {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

bool name_ok(const CompiledRuleSetData& d, StrRef r, bool allow_empty = false) noexcept {
  return str_ok(d, r) && r.len <= kMaxNameBytes && (allow_empty || r.len > 0) && text::is_printable(str(d, r));
}

bool text_ok(const CompiledRuleSetData& d, StrRef r) noexcept {
  return str_ok(d, r) && r.len <= kMaxTextBytes && header_safe(str(d, r));
}

bool fail(std::string& why, std::string msg) {
  why = std::move(msg);
  return false;
}

bool number_field(Field f) noexcept {
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

bool text_field(Field f) noexcept {
  return f == Field::user_agent || f == Field::display_name || f == Field::header;
}

bool known_field(Field f) noexcept {
  return static_cast<unsigned>(f) <= static_cast<unsigned>(Field::trunk_class);
}

bool check_actions(const CompiledRuleSetData& d, std::string& why) {
  if (d.default_action >= d.actions.size()) return fail(why, "default action out of range");
  if (d.actions[d.default_action].kind == ActionKind::trace) {
    return fail(why, "default action is trace");
  }
  for (const ActionInfo& a : d.actions) {
    if (static_cast<unsigned>(a.kind) > static_cast<unsigned>(ActionKind::trace)) {
      return fail(why, "unknown action kind");
    }
    for (StrRef r : {a.reason_text, a.phrase, a.reason_line, a.call_info_line, a.tag_line, a.tag_label}) {
      if (!str_ok(d, r)) return fail(why, "action string out of range");
      // These go into SIP messages: a CR or LF would add headers.
      if (!text_ok(d, r)) return fail(why, "action text holds a control character or is too long");
    }
    if (a.kind == ActionKind::reject && a.reject_code != 603 && a.reject_code != 608) {
      return fail(why, "reject code is not 603 or 608");
    }
    if (a.kind == ActionKind::tag && a.tag_line.len == 0) return fail(why, "tag action without a header line");
    if (static_cast<unsigned>(a.tag_verstat) > static_cast<unsigned>(Verstat::no_tn_validation)) {
      return fail(why, "unknown verstat value");
    }
    // The label is written inside a quoted display name as is.
    if (a.tag_label.len != 0 && !tag_label_ok(str(d, a.tag_label))) {
      return fail(why, "tag label is not a valid display-name label");
    }
  }
  return true;
}

// Rules are in precedence order and so is their code: rule i's program is
// code[rules[i].code, rules[i+1].code) (the last one runs to the end). Each
// program is at least one instruction and an END (the matcher reads
// code[pc + 1] to spot one-predicate rules), ends with END, and jumps only
// forward and only inside itself. Then evaluating a rule always stops
// inside its own program, and classifying an INVITE reads each instruction
// at most once.
bool check_programs(const CompiledRuleSetData& d, std::string& why) {
  const std::size_t ncode = d.code.size();
  const std::size_t nrules = d.rules.size();
  if (nrules == 0) {
    if (ncode != 0) return fail(why, "code without rules");
    return true;
  }
  for (const RuleInfo& r : d.rules) {
    // Not r.code + 1 >= ncode: that sum wraps at 0xFFFFFFFF.
    if (ncode < 2 || r.code > ncode - 2) return fail(why, "rule code out of range");
  }
  if (op::code_of(d.code[ncode - 1]) != op::end) return fail(why, "code does not end with END");
  if (d.rules[0].code != 0) return fail(why, "rule programs do not start at the first instruction");
  for (std::size_t i = 0; i < nrules; ++i) {
    const std::size_t begin = d.rules[i].code;
    const std::size_t end = i + 1 < nrules ? d.rules[i + 1].code : ncode;
    if (end <= begin || end - begin < 2) return fail(why, "rule programs are not one after the other");
    if (op::code_of(d.code[end - 1]) != op::end) return fail(why, "a rule program does not end with END");
    for (std::size_t pc = begin; pc < end; ++pc) {
      const std::uint32_t ins = d.code[pc];
      const std::uint32_t x = op::operand_of(ins);
      switch (op::code_of(ins)) {
        case op::atom:
          if ((x & op::kAtomMask) >= d.atoms.size()) return fail(why, "code names a missing atom");
          break;
        case op::jf:
        case op::jt:
          // Forward only, and inside this rule: evaluation always reaches
          // this rule's END, whatever the file says.
          if (x <= pc || x >= end) return fail(why, "code jumps backwards or outside the program");
          break;
        case op::not_:
        case op::pushw:
        case op::popw:
        case op::true_:
        case op::false_:
        case op::end:
          break;
        default:
          return fail(why, "unknown instruction");
      }
    }
  }
  return true;
}

std::uint32_t bits_of_space(const CompiledRuleSetData& d, NumberSpace sp) noexcept {
  const auto i = static_cast<std::size_t>(sp);
  return i < kNumberSpaces ? d.sets[i].bit_count() : 0;
}

bool check_atoms(const CompiledRuleSetData& d, std::string& why) {
  if (d.atom_info.size() != d.atoms.size()) return fail(why, "atom info count differs");
  for (const AtomInfo& ai : d.atom_info) {
    if (!str_ok(d, ai.text) || !str_ok(d, ai.where)) return fail(why, "atom string out of range");
  }
  for (const Atom& a : d.atoms) {
    if (!known_field(a.field)) return fail(why, "atom on an unknown field");
    if (a.list != kNone && a.list >= d.lists.size()) return fail(why, "atom list out of range");
    switch (a.kind) {
      case AtomKind::number_in_set:
        if (!number_field(a.field)) return fail(why, "set atom on a non-number field");
        if (a.a >= kNumberSpaces) return fail(why, "bad number space");
        if (a.b >= bits_of_space(d, static_cast<NumberSpace>(a.a))) return fail(why, "atom bit out of range");
        break;
      case AtomKind::number_regex:
      case AtomKind::text_regex:
        if (a.a >= d.regex_slots || a.b >= d.targets.size()) return fail(why, "regex atom out of range");
        if (a.a < d.targets[a.b].slot_begin || a.a >= d.targets[a.b].slot_end) {
          return fail(why, "regex slot outside its target");
        }
        if ((a.kind == AtomKind::number_regex) != number_field(a.field)) {
          return fail(why, "regex atom on the wrong kind of field");
        }
        break;
      case AtomKind::number_present:
        if (!number_field(a.field)) return fail(why, "number atom on a non-number field");
        break;
      case AtomKind::text_equals:
        if (static_cast<std::uint64_t>(a.a) + a.b > d.text_values.size()) {
          return fail(why, "text values out of range");
        }
        [[fallthrough]];
      case AtomKind::text_present:
        if (!text_field(a.field)) return fail(why, "text atom on a non-text field");
        break;
      case AtomKind::trunk_in:
      case AtomKind::trunk_class_in:
        if (static_cast<std::uint64_t>(a.a) + a.b > d.id_pool.size()) return fail(why, "id pool out of range");
        break;
      case AtomKind::trunk_present:
      case AtomKind::caller_in_trunk_ranges:
        break;
      case AtomKind::detector_level:
        if (a.a >= d.detectors.size()) return fail(why, "detector atom out of range");
        if (a.b != static_cast<std::uint32_t>(detect::Level::warn) &&
            a.b != static_cast<std::uint32_t>(detect::Level::block)) {
          return fail(why, "detector atom with an unknown level");
        }
        break;
      case AtomKind::number_shape:
        if (!number_field(a.field)) return fail(why, "shape atom on a non-number field");
        if (a.a == 0 || a.a >= (1U << kNumberShapes)) return fail(why, "shape atom with unknown shapes");
        break;
      case AtomKind::caller_shares_callee_prefix:
        if (a.a == 0 || a.a > number::kMaxDigits) return fail(why, "prefix atom longer than a number");
        break;
      default:
        return fail(why, "unknown atom kind");
    }
    if (a.field == Field::header && a.header >= d.headers.size()) {
      return fail(why, "atom header out of range");
    }
  }
  for (StrRef r : d.text_values) {
    if (!str_ok(d, r)) return fail(why, "text value out of range");
  }
  for (const HeaderName& h : d.headers) {
    if (!str_ok(d, h.name)) return fail(why, "header name out of range");
  }
  return true;
}

// Scan targets own contiguous, consecutive slot ranges covering every slot;
// and there are no more slots than atoms and patterns, so the per-worker
// result bits (one per slot) are bounded by the artifact's size.
bool check_patterns(const CompiledRuleSetData& d, std::string& why) {
  if (d.regex_slots > static_cast<std::uint64_t>(d.atoms.size()) + d.patterns.size()) {
    return fail(why, "more regex slots than predicates");
  }
  if (d.dbs.size() != d.targets.size()) return fail(why, "database count differs from targets");
  std::uint32_t next = 0;
  for (std::size_t i = 0; i < d.targets.size(); ++i) {
    const ScanTarget& t = d.targets[i];
    if (t.slot_begin != next || t.slot_begin > t.slot_end || t.slot_end > d.regex_slots) {
      return fail(why, "target slots out of range");
    }
    next = t.slot_end;
    if (!known_field(t.field)) return fail(why, "target on an unknown field");
    if (t.field == Field::header && t.header >= d.headers.size()) return fail(why, "target header out of range");
    if (!d.dbs[i]) return fail(why, "missing database");
  }
  if (next != d.regex_slots) return fail(why, "target slots out of range");
  for (const PatternSource& p : d.patterns) {
    if (!str_ok(d, p.expression) || !str_ok(d, p.where) || p.slot >= d.regex_slots) {
      return fail(why, "pattern out of range");
    }
  }
  return true;
}

bool check_lists(const CompiledRuleSetData& d, std::string& why) {
  for (std::size_t i = 0; i < d.lists.size(); ++i) {
    const ListInfo& l = d.lists[i];
    if (!str_ok(d, l.name) || !str_ok(d, l.where)) return fail(why, "list string out of range");
    if (i < d.named_lists && !name_ok(d, l.name)) return fail(why, "list name is not printable text");
    if (static_cast<unsigned>(l.kind) > static_cast<unsigned>(ListKind::range) ||
        static_cast<unsigned>(l.origin) > static_cast<unsigned>(ListOrigin::trunk_callers)) {
      return fail(why, "unknown list kind");
    }
    if (l.bit >= bits_of_space(d, l.space)) return fail(why, "list bit out of range");
  }
  if (d.named_lists > d.lists.size()) return fail(why, "named list count out of range");
  for (std::size_t sp = 0; sp < kNumberSpaces; ++sp) {
    for (std::uint32_t li : d.bit_list[sp]) {
      if (li >= d.lists.size()) return fail(why, "bit list index out of range");
    }
    if (d.bit_list[sp].size() != d.sets[sp].bit_count()) {
      return fail(why, "bit list size differs from the set width");
    }
  }
  for (const ListRef& r : d.allow_callers) {
    if (r.bit >= bits_of_space(d, r.space)) return fail(why, "allow list out of range");
  }
  for (const ListRef& r : d.allow_callees) {
    if (r.bit >= bits_of_space(d, r.space)) return fail(why, "allow list out of range");
  }
  for (std::size_t i = 1; i < d.emergency.size(); ++i) {
    if (d.emergency[i] <= d.emergency[i - 1]) return fail(why, "emergency numbers not sorted");
  }
  // Table values are list-set ids (the interval maps check theirs on load).
  const std::uint32_t exact_sets = d.sets[0].count();
  bool values_ok = true;
  d.exact.for_each([&](number::E164Key k, std::uint32_t v) {
    values_ok = values_ok && v != 0 && v < exact_sets && number::key_valid(k);
  });
  if (!values_ok) return fail(why, "exact table holds a bad key or a value that is not a list set");
  return true;
}

bool check_trunks(const CompiledRuleSetData& d, std::string& why) {
  for (StrRef r : d.classes) {
    if (!str_ok(d, r)) return fail(why, "class name out of range");
    if (!name_ok(d, r)) return fail(why, "class name is not printable text");
  }
  for (const TrunkInfo& t : d.trunks) {
    if (!str_ok(d, t.name)) return fail(why, "trunk name out of range");
    if (!name_ok(d, t.name)) return fail(why, "trunk name is not printable text");
    if (t.class_id != kNone && t.class_id >= d.classes.size()) return fail(why, "trunk class out of range");
    if (t.caller_prefix_bit != kNone && t.caller_prefix_bit >= bits_of_space(d, NumberSpace::prefix)) {
      return fail(why, "trunk caller bit out of range");
    }
    if (t.caller_range_bit != kNone && t.caller_range_bit >= bits_of_space(d, NumberSpace::range)) {
      return fail(why, "trunk caller bit out of range");
    }
    for (std::uint32_t li : {t.caller_prefix_list, t.caller_range_list}) {
      if (li != kNone && li >= d.lists.size()) return fail(why, "trunk caller list out of range");
    }
    // caller_from: pai (1) and rpid (2), each at most once, no gap.
    const std::uint32_t a = t.caller_from & 0xF, b = (t.caller_from >> 4) & 0xF;
    if ((t.caller_from >> 8) != 0 || a > 2 || b > 2 || (a == 0 && b != 0) || (b != 0 && a == b)) {
      return fail(why, "trunk caller_from is not a valid header order");
    }
  }
  for (const DenyEntry& e : d.deny) {
    if (e.prefix_len > 128) return fail(why, "deny_sources prefix length above 128");
    if (e.is_ipv4 > 1 || (e.is_ipv4 && e.prefix_len < 96)) return fail(why, "deny_sources IPv4 prefix below /96");
    if (e.vlan != kAnyQualifier && (e.vlan < 0 || e.vlan > 4095)) return fail(why, "deny_sources VLAN out of range");
    if (e.port != kAnyQualifier && (e.port < 0 || e.port > 65535)) return fail(why, "deny_sources port out of range");
    for (StrRef r : {e.id, e.text, e.where, e.description}) {
      if (!str_ok(d, r)) return fail(why, "deny_sources string out of range");
    }
    if (!name_ok(d, e.id)) return fail(why, "deny_sources id is not printable text");
  }
  for (const TrunkCandidate& c : d.deny_table.raw_candidates()) {
    if (c.trunk >= d.deny.size()) return fail(why, "deny_sources table names a missing entry");
  }
  return true;
}

// Detectors reach every worker's WorkerDetect (which allocates by their
// capacities) and their names reach traces, metrics and JSON.
bool check_detectors(const CompiledRuleSetData& d, std::string& why) {
  if (d.detectors.size() != d.detector_names.size()) return fail(why, "detector names count differs");
  if (d.detectors.size() > detect::kMaxDetectors) return fail(why, "more than 32 detectors");
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < d.detectors.size(); ++i) {
    const detect::DetectorSpec& s = d.detectors[i];
    if (const char* bad = detect::validate(s)) return fail(why, std::string("detector: ") + bad);
    if (s.definition_hash != detect::definition_hash(s)) return fail(why, "detector definition hash differs");
    const StrRef n = d.detector_names[i];
    if (!name_ok(d, n) || n.len > 64) return fail(why, "detector name is not printable text");
    for (const char c : str(d, n)) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.';
      if (!ok) return fail(why, "detector name has a byte a name may not have");
    }
    if (!names.insert(str(d, n)).second) return fail(why, "detector name used twice");
  }
  return true;
}

}  // namespace

bool validate(const CompiledRuleSetData& d, std::string& why) {
  for (StrRef r : {d.name, d.version, d.source_file}) {
    if (!str_ok(d, r)) return fail(why, "identity string out of range");
  }
  // Name and version go into status JSON and every trace record.
  if (!name_ok(d, d.name, true) || !name_ok(d, d.version, true) || !str_ok(d, d.source_file)) {
    return fail(why, "identity string is not printable text");
  }
  if (static_cast<unsigned>(d.malformed) > static_cast<unsigned>(MalformedPolicy::fail_closed)) {
    return fail(why, "unknown malformed policy");
  }
  if (!check_actions(d, why)) return false;
  for (const RuleInfo& r : d.rules) {
    if (r.action >= d.actions.size()) return fail(why, "rule action out of range");
    for (StrRef s : {r.id, r.where, r.match_text, r.description}) {
      if (!str_ok(d, s)) return fail(why, "rule string out of range");
    }
    // Rule ids are counter keys in stats JSON and go into trace records.
    if (!name_ok(d, r.id)) return fail(why, "rule id is not printable text");
  }
  return check_detectors(d, why) && check_programs(d, why) && check_atoms(d, why) && check_patterns(d, why) &&
         check_lists(d, why) && check_trunks(d, why);
}

}  // namespace sipwall::rules
