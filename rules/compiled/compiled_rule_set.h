// The immutable, compiled rule set: the one object that crosses from the
// control side to the data plane. Built by rules::compile() (rules/compiler)
// or load_artifact() (rules/compiled/artifact.h); never modified afterwards,
// so any number of workers may read it at once without locks.
//
// Everything is flat vectors of plain structs plus one string pool, so the
// artifact writer dumps them as they are. Rules are stored in precedence
// order (priority descending, then file order; rules/model/precedence.h):
// rule index i is evaluated before i + 1. Guard rails are checked before any
// rule and are not rules.
#pragma once

#include <hs/hs_common.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/compiled/deny_sources.h"
#include "rules/compiled/exact_table.h"
#include "rules/compiled/interval_map.h"
#include "rules/compiled/list_sets.h"
#include "rules/compiled/program.h"
#include "rules/compiled/trunk_table.h"
#include "rules/detect/detector_spec.h"
#include "rules/model/rule_model.h"
#include "rules/number/dial_plan.h"
#include "rules/number/normalize.h"

namespace sipwall::rules {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const noexcept;
};
using HsDatabasePtr = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

// Bit (1 << Field) set = some atom reads that field.
using FieldMask = std::uint32_t;
constexpr FieldMask field_bit(Field f) noexcept {
  return FieldMask{1} << static_cast<unsigned>(f);
}

// One regex as written. Its index in CompiledRuleSet::patterns() is its
// Hyperscan id; a match sets the result bit of its slot (one per predicate).
struct PatternSource {
  StrRef expression;
  std::uint32_t slot = 0;
  std::uint32_t flags = 0;  // Hyperscan compile flags
  StrRef where;
};

// A rule's gate: the rule can only match if some pattern of scan target
// `target` matched the message, and its first predicate is a regex on that
// target (so its evaluation scans it first anyway). Rules [i, skip_to) all
// have this gate: when the target matched nothing, the classifier skips them
// together. target == kNone: no gate.
struct RuleGate {
  std::uint32_t target = kNone;
  std::uint32_t skip_to = 0;
};

// Facts that follow from a set's programs, for the classifier to skip work.
// Derived when a set is compiled or loaded (derive_match_index(),
// rules/compiled/match_index.cpp); never serialised, not in the checksum, so
// the artifact format does not change with them.
struct MatchIndex {
  std::vector<RuleGate> gates;  // per rule, precedence order; empty: no gates
  FieldMask exact_fields = 0;   // number fields whose exact-table list ids some atom reads
};

// The members of a CompiledRuleSet. Only the compiler and the artifact loader
// write them (through CompiledRuleSetAccess, rules/compiled/access.h).
struct CompiledRuleSetData {
  std::string strings;  // pool every StrRef points into
  StrRef name, version;
  StrRef source_file;  // empty since issue 18 (the checksum must not depend on the file's name); kept for the format
  std::uint64_t checksum = 0;
  number::DialPlan dial_plan{};
  MalformedPolicy malformed = MalformedPolicy::fail_open;
  std::uint32_t default_action = 0;
  std::uint32_t named_lists = 0;
  FieldMask number_fields = 0;
  FieldMask text_fields = 0;
  std::uint32_t regex_slots = 0;

  std::vector<RuleInfo> rules;      // precedence order
  std::vector<ActionInfo> actions;  // per rule, plus the default action
  std::vector<ListInfo> lists;
  std::array<std::vector<std::uint32_t>, kNumberSpaces> bit_list;  // per space: bit -> list index
  std::vector<TrunkInfo> trunks;
  std::vector<StrRef> classes;
  std::vector<number::E164Key> emergency;  // sorted, unique
  std::vector<ListRef> allow_callers;
  std::vector<ListRef> allow_callees;

  ExactTable exact;
  IntervalMap prefix_map;                    // digit order keys
  IntervalMap range_map;                     // E.164 keys
  std::array<ListSets, kNumberSpaces> sets;  // per NumberSpace
  TrunkTable trunk_table;

  std::vector<Atom> atoms;
  std::vector<AtomInfo> atom_info;
  std::vector<std::uint32_t> code;
  std::vector<ScanTarget> targets;
  std::vector<HsDatabasePtr> dbs;  // per target
  std::vector<PatternSource> patterns;
  std::vector<HeaderName> headers;
  std::vector<StrRef> text_values;
  std::vector<std::uint32_t> id_pool;

  MatchIndex index;  // derived, see MatchIndex

  // deny_sources (rules/compiled/deny_sources.h): entries in file order and
  // their lookup table (candidate "trunk" = entry index).
  std::vector<DenyEntry> deny;
  TrunkTable deny_table;

  // Behavioural detectors (docs/rules.md "detectors"), in file order: the
  // index is the detector's id in rule atoms, WorkerDetect and traces.
  std::vector<detect::DetectorSpec> detectors;
  std::vector<StrRef> detector_names;  // parallel to detectors
};

class CompiledRuleSet {
 public:
  CompiledRuleSet();
  ~CompiledRuleSet();
  CompiledRuleSet(CompiledRuleSet&&) noexcept;
  CompiledRuleSet& operator=(CompiledRuleSet&&) noexcept;
  CompiledRuleSet(const CompiledRuleSet&) = delete;
  CompiledRuleSet& operator=(const CompiledRuleSet&) = delete;

  // --- identity -------------------------------------------------------------
  std::string_view name() const noexcept { return str(d_.name); }
  std::string_view version() const noexcept { return str(d_.version); }
  // xxh3-64 of the compiled content (tables, rules, actions, pattern sources).
  // The same rule set compiles to the same checksum on any machine (unlike the
  // artifact's Hyperscan bytes, which depend on the CPU).
  std::uint64_t checksum() const noexcept { return d_.checksum; }
  const number::DialPlan& dial_plan() const noexcept { return d_.dial_plan; }
  MalformedPolicy malformed_policy() const noexcept { return d_.malformed; }

  // --- rules and actions (rules in precedence order) -------------------------
  std::size_t rule_count() const noexcept { return d_.rules.size(); }
  const RuleInfo& rule(std::size_t i) const noexcept { return d_.rules[i]; }
  std::string_view rule_id(std::size_t i) const noexcept { return str(d_.rules[i].id); }
  const ActionInfo& rule_action(std::size_t i) const noexcept { return d_.actions[d_.rules[i].action]; }
  const ActionInfo& default_action() const noexcept { return d_.actions[d_.default_action]; }

  // --- lists: named lists first (file order), then generated ones ------------
  std::size_t named_list_count() const noexcept { return d_.named_lists; }
  const ListInfo& list(std::size_t i) const noexcept { return d_.lists[i]; }
  std::string_view list_name(std::size_t i) const noexcept { return str(d_.lists[i].name); }
  // List index of a bit in a space (kNone if none).
  std::uint32_t list_of_bit(NumberSpace space, std::uint32_t bit) const noexcept;

  // --- trunks ---------------------------------------------------------------
  std::size_t trunk_count() const noexcept { return d_.trunks.size(); }
  const TrunkInfo& trunk(std::size_t i) const noexcept { return d_.trunks[i]; }
  std::string_view trunk_name(std::size_t i) const noexcept { return str(d_.trunks[i].name); }
  std::string_view trunk_class_name(std::size_t i) const noexcept;

  // --- guard rails ------------------------------------------------------------
  // Callee keys (E.164 or short code, and the digits as written) that always pass.
  std::span<const number::E164Key> emergency_keys() const noexcept { return d_.emergency; }
  bool is_emergency(number::E164Key key) const noexcept {
    if (key == number::kNoNumber) return false;
    if (d_.emergency.size() <= 16) {  // the usual handful: a scan beats a search
      for (number::E164Key k : d_.emergency) {
        if (k == key) return true;
      }
      return false;
    }
    return emergency_search(key);
  }
  std::span<const ListRef> allow_callers() const noexcept { return d_.allow_callers; }
  std::span<const ListRef> allow_callees() const noexcept { return d_.allow_callees; }

  // --- matching structures (dataplane/classify reads these) -----------------
  const ExactTable& exact_table() const noexcept { return d_.exact; }
  const IntervalMap& prefix_map() const noexcept { return d_.prefix_map; }
  const IntervalMap& range_map() const noexcept { return d_.range_map; }
  const ListSets& sets(NumberSpace s) const noexcept { return d_.sets[static_cast<std::size_t>(s)]; }
  const TrunkTable& trunk_table() const noexcept { return d_.trunk_table; }
  std::span<const Atom> atoms() const noexcept { return d_.atoms; }
  const AtomInfo& atom_info(std::size_t i) const noexcept { return d_.atom_info[i]; }
  std::span<const std::uint32_t> code() const noexcept { return d_.code; }
  std::span<const ScanTarget> scan_targets() const noexcept { return d_.targets; }
  const hs_database_t* database(std::size_t target) const noexcept { return d_.dbs[target].get(); }
  std::span<const PatternSource> patterns() const noexcept { return d_.patterns; }
  std::span<const HeaderName> headers() const noexcept { return d_.headers; }
  std::span<const StrRef> text_values() const noexcept { return d_.text_values; }
  std::span<const std::uint32_t> id_pool() const noexcept { return d_.id_pool; }
  // Number fields some atom reads.
  FieldMask number_fields_used() const noexcept { return d_.number_fields; }
  std::uint32_t regex_slots() const noexcept { return d_.regex_slots; }
  // Derived facts (MatchIndex): each rule's gate (empty if the index was not
  // derived), and the number fields whose exact-table ids atoms read.
  std::span<const RuleGate> rule_gates() const noexcept { return d_.index.gates; }
  FieldMask exact_fields_used() const noexcept { return d_.index.exact_fields; }

  // --- behavioural detectors ---------------------------------------------------
  // In file order (= detector index); at most detect::kMaxDetectors, each passed
  // detect::validate() when built or loaded.
  std::span<const detect::DetectorSpec> detectors() const noexcept { return d_.detectors; }
  std::string_view detector_name(std::size_t i) const noexcept {
    return i < d_.detector_names.size() ? str(d_.detector_names[i]) : std::string_view{};
  }
  std::optional<std::uint32_t> find_detector(std::string_view name) const noexcept;

  // --- deny_sources (the data plane's first stage) -----------------------------
  std::size_t deny_count() const noexcept { return d_.deny.size(); }
  const DenyEntry& deny_entry(std::size_t i) const noexcept { return d_.deny[i]; }
  std::string_view deny_id(std::size_t i) const noexcept { return str(d_.deny[i].id); }
  // The most specific entry denying a frame from `addr` (16 bytes, network
  // order, IPv4 mapped) with outer VLAN `vlan` (< 0: untagged) to local port
  // `port` (0: the frame has no L4 header, so only entries without a port
  // can match); kNoDeny if none.
  std::uint32_t find_deny(const std::uint8_t* addr, std::int32_t vlan, std::uint16_t port) const noexcept {
    return d_.deny_table.find(addr, vlan, port);
  }

  std::string_view str(StrRef r) const noexcept {
    if (r.off > d_.strings.size()) return {};
    return std::string_view(d_.strings).substr(r.off, r.len);
  }

  // Bytes held by the tables, the pool and the Hyperscan databases.
  std::size_t memory_bytes() const noexcept;
  std::size_t database_bytes() const noexcept;

 private:
  friend struct CompiledRuleSetAccess;
  bool emergency_search(number::E164Key key) const noexcept;
  CompiledRuleSetData d_;
};

}  // namespace sipwall::rules
