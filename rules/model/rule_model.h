// The rule model: what a YAML rule set says, after validation and number
// normalisation, before compilation. The loader (rules/loader) produces it;
// the compiler (rules/compiler) turns it into the immutable CompiledRuleSet.
// Every element keeps the place in the source file it came from, so later
// stages (shadowing warnings, explain, diff) can point at the YAML.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/detect/detector_spec.h"
#include "rules/model/tag_marks.h"
#include "rules/number/dial_plan.h"
#include "rules/number/normalize.h"

namespace sipwall::rules {

struct SourceLocation {
  std::string file;
  std::uint32_t line = 0;    // 1-based; 0 = unknown
  std::uint32_t column = 0;  // 1-based
};

// Fields a rule can look at. `caller` is P-Asserted-Identity if present, else From.
enum class Field : std::uint8_t {
  caller,
  from,
  pai,
  to,
  ruri,
  diversion,  // number fields
  user_agent,
  display_name,
  header,  // text fields (header = any named header)
  trunk,
  trunk_class,  // where the call came from
};
bool is_number_field(Field f) noexcept;  // caller, from, pai, to, ruri, diversion
bool is_text_field(Field f) noexcept;    // user_agent, display_name, header

enum class ListKind : std::uint8_t { exact, prefix, range };

// A header a trunk's caller may be taken from (Trunk::caller_from).
enum class CallerSource : std::uint8_t { pai = 1, rpid = 2, from = 3 };

// An inclusive range of E.164 numbers of the same length ("+861380000" ..
// "+861380999"), as digit strings without '+'.
struct NumberRange {
  std::string first;
  std::string last;
};

struct NumberList {
  std::string name;
  ListKind kind = ListKind::exact;
  std::vector<number::E164Key> numbers;  // kind == exact; sorted, unique
  std::vector<std::string> prefixes;     // kind == prefix: E.164 digit prefixes, no '+'
  std::vector<NumberRange> ranges;       // kind == range
  std::vector<std::string> files;        // files the entries were read from
  SourceLocation where;
};

// Semantics of each operator are in docs/rules.md ("Operators"); in short:
// number operators look at the field's normalised number (E.164 digits, or a
// short code's digits), and are false when the field holds no number.
enum class Op : std::uint8_t {
  in_list,                      // number field is in the named list (exact, prefix or range list)
  prefix,                       // number field starts with one of `values` (E.164 digits)
  range,                        // number field is inside one of `ranges`
  equals,                       // number field equals one of `values` (E.164 or short-code digits),
                                // or trunk/trunk_class equals one of `values` (names)
  regex,                        // field text matches one of `values` (Hyperscan syntax, unanchored,
                                // validated by the loader with HS_FLAG_SINGLEMATCH). Number fields
                                // match "+<E.164>" (short code: its digits; not a number: the raw user part)
  present,                      // field is present and non-empty (trunk: the call came from a trunk)
  caller_in_trunk_ranges,       // caller number inside the source trunk's caller ranges == `expect`.
                                // No trunk, or a trunk without ranges: false for either `expect`.
                                // A caller that is not an E.164 number counts as outside.
  detector,                     // the detector named `detector` stands at `level` or higher for this INVITE
  number_is,                    // the number field's shape (`shapes`, any of) by the dial plan
  caller_shares_callee_prefix,  // caller and callee both E.164 and their first `digits` digits equal
};

// What a number field can be, by the dial plan (Op::number_is). A bit each,
// so one predicate tests several.
enum class NumberShape : std::uint8_t {
  absent,        // no such header, or an empty user part
  not_a_number,  // letters (alice, anonymous)
  invalid,       // digits that cannot be a number of the plan (any reason)
  short_code,    // a service code of the plan (110, 911)
  too_short,     // invalid: fewer digits than the plan accepts
  too_long,      // invalid: more digits than the plan accepts
  bad_length,    // invalid: too_short, too_long, or a national number of a length the plan rejects
};
inline constexpr unsigned kNumberShapes = 7;
inline constexpr std::uint32_t shape_bit(NumberShape s) noexcept {
  return std::uint32_t{1} << static_cast<unsigned>(s);
}

struct Predicate {
  Field field = Field::caller;
  std::string header_name;  // Field::header: which header (any case)
  Op op = Op::in_list;
  std::string list;                 // Op::in_list
  std::vector<std::string> values;  // prefixes / numbers / regexes / names
  // Where each entry of `values` (or `ranges`) was written, same order, so a
  // later stage (e.g. a Hyperscan compile error) can point at one pattern.
  std::vector<SourceLocation> value_where;
  std::vector<NumberRange> ranges;             // Op::range
  bool expect = true;                          // Op::caller_in_trunk_ranges
  std::string detector;                        // Op::detector: the detector's name
  detect::Level level = detect::Level::block;  // Op::detector: at this level or higher
  std::uint32_t shapes = 0;                    // Op::number_is: shape_bit()s, any of
  std::uint32_t digits = 0;                    // Op::caller_shares_callee_prefix
  SourceLocation where;
};

struct MatchExpr {
  enum class Kind : std::uint8_t { predicate, all, any, not_ };
  Kind kind = Kind::predicate;
  Predicate predicate;              // Kind::predicate
  std::vector<MatchExpr> children;  // all / any (n), not_ (exactly 1)
  SourceLocation where;
};

// The actions, declared once: the enum, the names rule files, stats, traces
// and metrics use for them, and their count (the data plane's verdict
// counters are an array of kActionKindCount) all come from this list.
#define SIPWALL_ACTION_KINDS(X) X(pass) X(drop) X(reject) X(tag) X(trace)

enum class ActionKind : std::uint8_t {
#define SIPWALL_X(name) name,
  SIPWALL_ACTION_KINDS(SIPWALL_X)
#undef SIPWALL_X
};

// kActionNames[static_cast<std::size_t>(k)] is the name of k.
inline constexpr std::array kActionNames{
#define SIPWALL_X(name) std::string_view(#name),
    SIPWALL_ACTION_KINDS(SIPWALL_X)
#undef SIPWALL_X
};
inline constexpr std::size_t kActionKindCount = kActionNames.size();
// The list makes the enum 0, 1, ..., count - 1 in the order of the names.
static_assert(static_cast<std::size_t>(ActionKind::trace) + 1 == kActionKindCount);

struct Action {
  ActionKind kind = ActionKind::pass;
  std::uint16_t reject_code = 603;  // 603 Decline or 608 Rejected
  std::string reason_text;          // Reason header text / response phrase
  std::string call_info;            // 608: RFC 8688 Call-Info URI (jCard), optional
  std::string tag_header;           // tag: header name
  std::string tag_value;            // tag: value, {rule} and {score} substituted at compile time
  std::int32_t score = 0;           // tag: risk score 0..100
  // tag: a label put in front of the From / P-Asserted-Identity display names
  // ("" = none) and a ;verstat= value written into their URIs (docs/rules.md "tag").
  std::string tag_label;
  Verstat tag_verstat = Verstat::none;
  SourceLocation where;
};

struct Rule {
  std::string id;
  std::int32_t priority = 0;     // higher runs first; equal priority keeps file order
  std::uint32_t file_order = 0;  // position in the file, 0-based
  MatchExpr match;
  Action action;
  std::string description;
  SourceLocation where;
};

// One source prefix of a trunk. IPv4 addresses are stored as IPv4-mapped IPv6
// (::ffff:a.b.c.d) with prefix_len + 96, so one table serves both families.
struct TrunkSource {
  std::array<std::uint8_t, 16> addr{};
  std::uint8_t prefix_len = 0;  // 0..128 in the IPv6 space
  bool is_ipv4 = false;
  std::optional<std::uint16_t> vlan;  // 802.1Q VLAN id (outer)
  std::optional<std::uint16_t> port;  // local UDP/TCP port the call arrived on
  std::string text;                   // as written, for messages
  SourceLocation where;
};

struct Trunk {
  std::string name;
  std::string trunk_class;  // international, call_center, peer, access, ...
  // The loader guarantees that no packet (address, VLAN, port) can match
  // sources of two different trunks, so lookup needs no tie-break.
  std::vector<TrunkSource> sources;
  // Caller numbers this trunk may present (caller-ID authentication).
  std::vector<std::string> caller_prefixes;  // E.164 digit prefixes
  std::vector<NumberRange> caller_ranges;
  // Where this trunk's `caller` comes from, in order (`caller_from`,
  // docs/rules.md): the first header that holds a number wins, From last.
  // Empty = the default, P-Asserted-Identity then From.
  std::vector<CallerSource> caller_from;
  SourceLocation where;
};

// A source whose traffic is dropped before SIP parsing (top-level
// `deny_sources`, docs/rules.md "Denied sources"). Every frame entering a
// trunk-facing port from `source.addr/prefix_len` (and, when given, tagged
// with `source.vlan` as its outer VLAN, and/or sent to local UDP/TCP port
// `source.port`) is dropped, whatever it carries. Overlapping entries are
// allowed: a frame that several match is counted on the most specific one
// (the trunk-table order, rules/compiled/trunk_table.h).
struct DenySource {
  std::string id;      // counter label: as written, else the prefix text + qualifiers
  TrunkSource source;  // prefix, optional VLAN, optional local port
  std::string description;
  SourceLocation where;
};

// A behavioural detector (top-level `detectors`, docs/rules.md
// "Detectors"): a counter over a sliding window that rules can test.
// `spec.definition_hash` is filled by the loader (definition_hash()).
struct Detector {
  std::string name;
  detect::DetectorSpec spec{};
  SourceLocation where;
};

enum class MalformedPolicy : std::uint8_t { fail_open, fail_closed };

struct Defaults {
  Action action;  // for INVITEs that match no rule (pass by default)
  MalformedPolicy malformed = MalformedPolicy::fail_open;
  SourceLocation where;
};

// Nothing a rule says can block these.
struct GuardRails {
  // Callee side (R-URI or To): short-code digits ("110") or E.164 digits
  // without '+'. Defaults to the dial plan's short codes.
  std::vector<std::string> emergency;
  std::vector<std::string> allow_callers;  // list names (inline numbers become a list
  std::vector<std::string> allow_callees;  // named "guard_rails.allow_callers"/"...callees")
  SourceLocation where;
};

struct RuleSet {
  std::string name;
  std::string version;
  std::string source_file;  // path of the YAML file
  number::DialPlan dial_plan;
  std::vector<Trunk> trunks;
  std::vector<DenySource> deny_sources;  // file order
  std::vector<NumberList> lists;
  std::vector<Detector> detectors;  // file order = detector index
  std::vector<Rule> rules;          // in file order
  // `rules: []` written out: no rules on purpose. A file that merely lacks
  // rules (cut short by a save in progress) leaves this false, and
  // sipwall-control refuses to replace a running set's rules with it.
  bool rules_written_empty = false;
  Defaults defaults;
  GuardRails guard_rails;
};

}  // namespace sipwall::rules
