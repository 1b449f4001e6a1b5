// The evaluation machinery shared by classify() and explain(). Internal to
// dataplane/classify. Everything here runs per INVITE: no allocation, no
// exceptions, no virtual calls; all state lives on the stack or in Scratch.
#pragma once

#include <hs/hs_runtime.h>

#include <cstdint>

#include "dataplane/classify/packet_source.h"
#include "dataplane/classify/scratch.h"
#include "dataplane/classify/verdict.h"
#include "dataplane/detect/levels.h"
#include "dataplane/detect/worker_detect.h"
#include "dataplane/sip/sip_message.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::classify {
struct DetectContext;
}

namespace sipwall::classify::detail {

// Number slots of one message: each identity header value that holds a URI.
enum SlotIndex : std::uint8_t {
  kFrom = 0,
  kTo = 1,
  kRuri = 2,
  kPai0 = 3,
  kDiv0 = kPai0 + sip::kMaxIdentities,
  kRpid = kDiv0 + sip::kMaxDiversions,  // the calling party's Remote-Party-ID, for trunks that read it
  kSlotCount = kRpid + 1,
};

struct NumberSlot {
  const sip::Uri* uri = nullptr;  // null: no such header value
  std::string_view text;          // uri->number_text(), once normalised
  bool normalised = false;
  number::Number num;
  // List-set id per NumberSpace (exact, prefix, range); 0 = in no list.
  // Computed on first use (Engine::set_id): the exact table eagerly for the
  // fields rules read, the small prefix/range maps only when a predicate
  // asks. Mutable: a cache inside an otherwise read-only view.
  mutable std::uint32_t set[rules::kNumberSpaces] = {};
  mutable std::uint8_t have = 0;  // bit s: set[s] is valid
};

// Why a rule matched: the first true predicate in a positive position,
// preferring predicates that name a list (list membership, caller ranges).
// A true detector atom in a positive position is the reason before any
// other (it says why this call and not the caller's previous ones), an
// enforcing detector before one in report mode.
struct Witness {
  std::uint32_t list_atom = rules::kNone;
  std::uint32_t any_atom = rules::kNone;
  std::uint32_t detector_atom = rules::kNone;
};

class Engine {
 public:
  // `detect`: the worker's detection (nullptr: none; detector atoms are
  // false). `count` false: detect->levels are already filled for this
  // INVITE (explain's second pass), read them without counting again.
  Engine(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src, Scratch& scratch,
         DetectContext* detect = nullptr, bool count = true) noexcept;

  // Normalises the identity fields and looks up the numbers the rule set
  // reads (every slot when `all` is set, for explain). In two halves so a
  // burst can start every message's table loads before waiting on any:
  // begin() normalises and prefetches, finish() looks up.
  void resolve(bool all) noexcept {
    begin(all);
    finish(all);
  }
  void begin(bool all) noexcept;
  void finish(bool all) noexcept;

  // The INVITE's detection keys (valid after begin()).
  detect::InviteKeys invite_keys() const noexcept;
  // This engine counts the INVITE: a context with a worker built for this
  // set's detectors (the same number of specs), and not explain's re-read.
  bool detecting() const noexcept;

  // Fills trunk, caller and callee.
  void describe(Verdict& v) const noexcept;
  // Guard rails; true (and v filled) if one decided.
  bool guard(Verdict& v) const noexcept;
  bool emergency() const noexcept;
  bool allow_caller() const noexcept;
  bool allow_callee() const noexcept;

  // Runs rule i's code. Inline for the usual one-predicate rule (ATOM, END);
  // anything longer goes through the interpreter (run_program).
  bool run_rule(std::size_t i, Witness& w) noexcept {
    const std::uint32_t* code = set_.code().data();
    const std::uint32_t pc = set_.rule(i).code;
    const std::uint32_t first = code[pc];
    if (rules::op::code_of(code[pc + 1]) != rules::op::end || rules::op::code_of(first) != rules::op::atom) {
      return run_program(pc, w);
    }
    const std::uint32_t id = rules::op::operand_of(first) & rules::op::kAtomMask;
    const rules::Atom& a = set_.atoms()[id];
    if (!atom(a)) return false;
    w.any_atom = id;
    w.list_atom = names_a_list(a.kind) ? id : rules::kNone;
    w.detector_atom = a.kind == rules::AtomKind::detector_level ? id : rules::kNone;
    return true;
  }
  // The detector of a witness's detector atom (kNoDetector if none), and
  // whether it runs in report mode.
  std::uint8_t witness_detector(const Witness& w) const noexcept {
    return w.detector_atom == rules::kNone ? kNoDetector : static_cast<std::uint8_t>(set_.atoms()[w.detector_atom].a);
  }
  bool report_only(std::uint8_t detector) const noexcept {
    return detector < set_.detectors().size() && set_.detectors()[detector].report_only;
  }
  // The deciding detector's figures into v (detector, count, level).
  void detector_figures(Verdict& v, std::uint8_t detector) const noexcept;
  // A rule that matched through a report-mode detector: recorded in v
  // (report_only, report_action, report_rule), the call not acted on.
  void note_report(Verdict& v, std::size_t i, const Witness& w) const noexcept;
  // Scans target t (once per message) and says whether any of its patterns
  // matched: a rule gated on t (CompiledRuleSet::rule_gate) cannot match
  // otherwise. False when regexes are unusable (then every regex atom is).
  bool target_hit(std::uint32_t t) noexcept { return scan(t) && scratch_.target_hit_[t] != 0; }
  void decide_rule(Verdict& v, std::size_t i, const Witness& w) const noexcept;
  void decide_default(Verdict& v) const noexcept;
  // Match details of a witness.
  void match_of(const Witness& w, bool& has, rules::Field& field, std::uint16_t& header, std::uint32_t& list,
                std::uint32_t& atom) const noexcept;

  // Slots that exist for this message: kFrom, kTo, kRuri, kPai0 + i for
  // i < pai_count(), kDiv0 + i for i < diversion_count() (after resolve(true)),
  // kRpid when the trunk's caller_from names rpid.
  const NumberSlot& slot(std::size_t i) const noexcept { return slots_.v[i]; }
  std::uint8_t pai_count() const noexcept { return pai_n_; }
  std::uint8_t diversion_count() const noexcept { return div_n_; }
  std::uint8_t caller_slot() const noexcept { return caller_; }
  std::uint8_t callee_slot() const noexcept { return callee_; }
  std::uint32_t trunk() const noexcept { return trunk_; }
  std::string_view caller_display_name() const noexcept;
  std::uint8_t flags() const noexcept { return flags_; }

 private:
  bool run_program(std::uint32_t pc, Witness& w) noexcept;
  bool atom(const rules::Atom& a) noexcept;
  // Predicates that name a list are the better answer to "why did it match".
  static bool names_a_list(rules::AtomKind k) noexcept {
    return k == rules::AtomKind::number_in_set || k == rules::AtomKind::caller_in_trunk_ranges;
  }
  bool in_set(const NumberSlot& s, rules::NumberSpace space, std::uint32_t bit) const noexcept {
    const auto i = static_cast<std::size_t>(space);
    const std::uint32_t id = (s.have >> i) & 1U ? s.set[i] : set_id(s, space);
    return id != 0 && set_.sets(space).test(id, bit);
  }

 public:
  std::uint32_t set_id(const NumberSlot& s, rules::NumberSpace space) const noexcept;

 private:
  bool in_any_list(const NumberSlot& s, std::span<const rules::ListRef> refs) const noexcept;
  bool scan(std::uint32_t target) noexcept;  // false if regexes are unusable
  bool regex_bit(std::uint32_t slot) const noexcept;
  void normalise(std::size_t i) noexcept;
  template <class F>
  bool any_number(rules::Field f, F&& pred) const noexcept;

  const rules::CompiledRuleSet& set_;
  const sip::Message& msg_;
  const PacketSource& src_;
  Scratch& scratch_;
  // Only the slots this message has are constructed (resolve() does it):
  // zeroing all eleven per INVITE would cost more than the lookups.
  union Slots {
    Slots() noexcept {}
    NumberSlot v[kSlotCount];
  } slots_;
  std::uint8_t global_[kSlotCount];  // normalised slots holding a '+' number, for sharing
  std::uint8_t global_n_ = 0;
  std::uint8_t need_[kSlotCount];  // slots whose exact-table facts rules read
  std::uint8_t need_n_ = 0;
  std::uint8_t pai_n_ = 0;
  std::uint8_t div_n_ = 0;
  std::uint8_t caller_ = kFrom;
  std::uint8_t callee_ = kRuri;
  std::uint8_t flags_ = 0;
  bool regex_ok_ = false;
  bool count_ = true;
  DetectContext* detect_ = nullptr;
  detect::InviteKeys keys_;  // begin() fills it when detecting()
  std::uint32_t epoch_ = 0;  // this message's scan epoch (several engines may share a Scratch)
  std::uint32_t trunk_ = kNoTrunk;
};

}  // namespace sipwall::classify::detail
