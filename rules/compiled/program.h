// The compiled form of rule matches: atoms (one per distinct predicate) and
// per-rule jump code over them. All plain data, so a rule set serialises as
// flat arrays and evaluation needs no allocation.
//
// A rule's code evaluates its match expression into one accumulator:
//   ATOM a      acc = value of atom a (bit 23 of the operand: the atom is in a
//               positive context, i.e. under an even number of `not`s, so a
//               true value may be reported as the reason the rule matched)
//   NOT         acc = !acc
//   JF t / JT t jump to t if acc is false / true (short-circuit all / any)
//   PUSHW/POPW  save the "why it matched" witness before a sub-expression and
//               restore it if the sub-expression turned out false
//   TRUE/FALSE  constants (all: [] / any: [])
//   END         the rule matched iff acc
// Atoms over numbers are bit tests on per-message facts, so N rules on one
// list cost one table lookup per number, not N.
#pragma once

#include <cstdint>
#include <string_view>

#include "rules/model/rule_model.h"

namespace sipwall::rules {

inline constexpr std::uint32_t kNone = 0xFFFFFFFFU;
inline constexpr std::uint16_t kNoHeader = 0xFFFF;

// A string inside CompiledRuleSet's string pool.
struct StrRef {
  std::uint32_t off = 0;
  std::uint32_t len = 0;
};

enum class AtomKind : std::uint8_t {
  number_in_set,                // a = NumberSpace, b = bit; list = list index
  number_regex,                 // a = regex slot, b = scan target
  number_present,               // identity header present with a non-empty number part
  text_regex,                   // a = regex slot, b = scan target
  text_equals,                  // a = first index in text_values, b = count
  text_present,                 // text field present and non-empty
  trunk_in,                     // trunk id in id_pool[a, a+b)
  trunk_class_in,               // trunk class id in id_pool[a, a+b)
  trunk_present,                // the call came from a known trunk
  caller_in_trunk_ranges,       // a = expected value (0/1)
  detector_level,               // detector a stands at level b (detect::Level) or higher for this INVITE
  number_shape,                 // the field's number has one of the shapes in mask a (shape_bit)
  caller_shares_callee_prefix,  // caller and callee E.164 with the same first a digits
};

// Where a number list's entries live. Each space has its own table and its
// own list-set ids (a number's facts are one id per space).
enum class NumberSpace : std::uint8_t {
  exact = 0,   // ExactTable, keyed by E.164 key
  prefix = 1,  // IntervalMap over digit order (digit_order.h): prefixes
  range = 2,   // IntervalMap over E.164 keys: ranges (same length, inclusive)
};
inline constexpr std::size_t kNumberSpaces = 3;
inline constexpr NumberSpace space_of(ListKind k) noexcept {
  return k == ListKind::exact ? NumberSpace::exact : k == ListKind::prefix ? NumberSpace::prefix : NumberSpace::range;
}

struct Atom {
  AtomKind kind = AtomKind::number_present;
  Field field = Field::caller;
  std::uint16_t header = kNoHeader;  // Field::header: index into the header names
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::uint32_t list = kNone;  // reporting: the list this atom tests (kNone = inline values)
};
static_assert(sizeof(Atom) == 16);

namespace op {
inline constexpr std::uint32_t kShift = 24;
inline constexpr std::uint32_t kOperandMask = (1U << kShift) - 1;
inline constexpr std::uint32_t kPositive = 1U << 23;  // ATOM operand flag
inline constexpr std::uint32_t kAtomMask = kPositive - 1;
enum Code : std::uint8_t { atom = 1, not_ = 2, jf = 3, jt = 4, pushw = 5, popw = 6, true_ = 7, false_ = 8, end = 9 };
inline constexpr std::uint32_t make(Code c, std::uint32_t operand = 0) noexcept {
  return (static_cast<std::uint32_t>(c) << kShift) | (operand & kOperandMask);
}
inline constexpr Code code_of(std::uint32_t ins) noexcept {
  return static_cast<Code>(ins >> kShift);
}
inline constexpr std::uint32_t operand_of(std::uint32_t ins) noexcept {
  return ins & kOperandMask;
}
}  // namespace op

// Deepest nesting of all/any a rule may have (the witness stack is fixed).
inline constexpr std::uint32_t kMaxMatchDepth = 32;

// One Hyperscan database: the patterns over one field (or one named header).
// Its predicates' result slots are contiguous: [slot_begin, slot_end).
struct ScanTarget {
  Field field = Field::user_agent;
  std::uint8_t pad = 0;
  std::uint16_t header = kNoHeader;
  std::uint32_t slot_begin = 0;
  std::uint32_t slot_end = 0;
  std::uint32_t pattern_count = 0;
};

// A header a rule looks at: lower-case name and its compact form (0 if none).
struct HeaderName {
  StrRef name;
  char compact = 0;
  std::uint8_t pad[3] = {};
};

struct ActionInfo {
  ActionKind kind = ActionKind::pass;
  Verstat tag_verstat = Verstat::none;  // tag: ;verstat= value for From / P-Asserted-Identity
  std::uint16_t reject_code = 0;
  std::int32_t score = 0;
  StrRef reason_text;     // as written
  StrRef phrase;          // response reason phrase: "Decline" / "Rejected"
  StrRef reason_line;     // `Reason: SIP;cause=603;text="..."` (empty if no text)
  StrRef call_info_line;  // 608: `Call-Info: <uri>;purpose=jwscard` (empty if none)
  StrRef tag_line;        // tag: `Header: value` with {rule}/{score} substituted
  StrRef tag_label;       // tag: put in front of the From / P-Asserted-Identity display names (empty: none)
};

struct RuleInfo {
  StrRef id;
  std::int32_t priority = 0;
  std::uint32_t file_order = 0;
  std::uint32_t code = 0;    // first instruction
  std::uint32_t action = 0;  // index into actions
  StrRef where;              // "file:line:col"
  StrRef match_text;         // the match, one line (for explain)
  StrRef description;
};

enum class ListOrigin : std::uint8_t {
  named,          // a `lists:` entry
  inline_values,  // prefix/range/equals values written in a rule
  trunk_callers,  // a trunk's allowed caller prefixes/ranges
};

struct ListInfo {
  StrRef name;  // named: the list's name; others: a generated description
  ListKind kind = ListKind::exact;
  NumberSpace space = NumberSpace::exact;
  ListOrigin origin = ListOrigin::named;
  std::uint8_t pad = 0;
  std::uint32_t bit = 0;  // bit in its space's list sets
  std::uint64_t entries = 0;
  StrRef where;
};

struct TrunkInfo {
  StrRef name;
  std::uint32_t class_id = kNone;
  // Its allowed caller numbers as up to two generated lists: the prefixes
  // (prefix space) and the ranges (range space). kNone if it has none.
  std::uint32_t caller_prefix_list = kNone;
  std::uint32_t caller_prefix_bit = kNone;
  std::uint32_t caller_range_list = kNone;
  std::uint32_t caller_range_bit = kNone;
  // Where the caller comes from before From (Trunk::caller_from): up to two
  // CallerSource codes (1 pai, 2 rpid), one per 4 bits from the lowest, 0
  // ending the list; 0 = the default, P-Asserted-Identity (then From).
  std::uint32_t caller_from = 0;
  bool has_caller_ranges() const noexcept { return caller_prefix_bit != kNone || caller_range_bit != kNone; }
};

struct AtomInfo {
  StrRef text;   // the predicate, one line
  StrRef where;  // "file:line:col"
};

struct ListRef {
  NumberSpace space = NumberSpace::exact;
  std::uint8_t pad[3] = {};
  std::uint32_t bit = 0;
};

}  // namespace sipwall::rules
