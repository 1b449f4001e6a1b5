#include "dataplane/classify/engine.h"

#include <hs/hs.h>

#include <algorithm>
#include <cstring>

#include "dataplane/classify/classify.h"
#include "dataplane/detect/key_hash.h"
#include "rules/compiled/digit_order.h"
#include "rules/number/e164_key.h"

namespace sipwall::classify::detail {

using rules::AtomKind;
using rules::Field;
using rules::NumberSpace;

namespace {

bool is_number(const number::Number& n) noexcept {
  return n.kind == number::NumberKind::e164 || n.kind == number::NumberKind::short_code;
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool header_matches(const rules::CompiledRuleSet& set, const rules::HeaderName& h, std::string_view name) noexcept {
  if (h.compact != 0 && name.size() == 1 && lower(name[0]) == h.compact) return true;
  return iequals(name, set.str(h.name));
}

// Hyperscan match callback: pattern id -> its predicate's result bit.
// Only bits of the scanned target's range are set (a database that reported
// another target's pattern would be a damaged artifact's), so `hit`, "some
// bit was set", is the target's "anything matched" without reading the
// range back after the scan, and only a target's own scan writes its bits.
struct MatchContext {
  std::uint64_t* bits;
  const rules::PatternSource* patterns;
  std::size_t pattern_count;
  std::uint32_t slot_begin;
  std::uint32_t slot_end;
  bool hit;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) noexcept {
  auto* m = static_cast<MatchContext*>(ctx);
  if (id < m->pattern_count) {  // always, unless the database is not this set's
    const std::uint32_t slot = m->patterns[id].slot;
    if (slot >= m->slot_begin && slot < m->slot_end) {
      m->bits[slot / 64] |= std::uint64_t{1} << (slot % 64);
      m->hit = true;
    }
  }
  return 0;
}

// a == b for the short texts of user parts: two overlapping 8-byte loads
// from each instead of a call to memcmp.
bool same_text(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n < 8 || n > 16) return a == b;
  std::uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.data(), 8);
  std::memcpy(&b0, b.data(), 8);
  std::memcpy(&a1, a.data() + n - 8, 8);
  std::memcpy(&b1, b.data() + n - 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// What a regex on a number field sees: "+<E.164>", a short code's digits, or
// the user part as written when it is not a number.
std::string_view number_scan_text(const NumberSlot& s) noexcept {
  if (s.uri == nullptr) return {};
  if (is_number(s.num)) return s.num.text();
  return s.uri->number_text();
}

// The NumberShape bits a normalised number has (0 for an E.164 number).
std::uint32_t shapes_of(const number::Number& n) noexcept {
  using rules::NumberShape;
  using rules::shape_bit;
  switch (n.kind) {
    case number::NumberKind::e164:
      return 0;
    case number::NumberKind::short_code:
      return shape_bit(NumberShape::short_code);
    case number::NumberKind::not_a_number:
      return shape_bit(NumberShape::not_a_number);
    case number::NumberKind::absent:
      return shape_bit(NumberShape::absent);
    case number::NumberKind::invalid:
      switch (n.reason) {
        case number::Reason::too_short:
          return shape_bit(NumberShape::invalid) | shape_bit(NumberShape::too_short) |
                 shape_bit(NumberShape::bad_length);
        case number::Reason::too_long:
          return shape_bit(NumberShape::invalid) | shape_bit(NumberShape::too_long) |
                 shape_bit(NumberShape::bad_length);
        case number::Reason::bad_national_length:
          return shape_bit(NumberShape::invalid) | shape_bit(NumberShape::bad_length);
        default:
          return shape_bit(NumberShape::invalid);
      }
  }
  return 0;
}

}  // namespace

Engine::Engine(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src, Scratch& scratch,
               DetectContext* detect, bool count) noexcept
    : set_(set), msg_(msg), src_(src), scratch_(scratch), count_(count), detect_(detect) {
  const std::uint32_t slots = set.regex_slots();
  const std::size_t targets = set.scan_targets().size();
  regex_ok_ = targets == 0 || (scratch.hs_ != nullptr && scratch.regex_bits_.size() * 64 >= slots &&
                               scratch.target_epoch_.size() >= targets && scratch.target_hit_.size() >= targets);
  if (!regex_ok_) {
    flags_ |= kScratchTooSmall;
  } else if (targets != 0) {
    if (++scratch.epoch_ == 0) {
      // 2^32 messages later: forget every stale "scanned" mark once.
      std::fill(scratch.target_epoch_.begin(), scratch.target_epoch_.end(), 0);
      scratch.epoch_ = 1;
      scratch.bits_dirty_ = true;
      scratch.cleared_epoch_ = 0;
    }
    epoch_ = scratch.epoch_;
  }
}

std::uint32_t Engine::set_id(const NumberSlot& s, NumberSpace space) const noexcept {
  const auto sp = static_cast<std::size_t>(space);
  const auto bit = static_cast<std::uint8_t>(1U << sp);
  if (s.have & bit) return s.set[sp];
  s.have |= bit;
  std::uint32_t id = 0;
  if (space == NumberSpace::exact) {
    if (is_number(s.num)) id = set_.exact_table().find(s.num.key);
  } else if (s.num.kind == number::NumberKind::e164) {
    // Short codes are not E.164: a prefix "1" (NANP) must not catch "110".
    id = space == NumberSpace::prefix ? set_.prefix_map().find(rules::order_key(s.num.digits.view()))
                                      : set_.range_map().find(s.num.key);
  }
  s.set[sp] = id;
  return id;
}

void Engine::normalise(std::size_t i) noexcept {
  NumberSlot& s = slots_.v[i];
  if (s.normalised) return;
  s.normalised = true;
  if (s.uri == nullptr) return;
  std::string_view context;
  s.uri->number_parts(s.text, context);  // one scan of the user part for both
  // The same number text in several headers (PAI = From, To = R-URI is the
  // common case): normalise once. Only global numbers are shared, whose
  // phone-context cannot matter.
  const bool global = !s.text.empty() && s.text.front() == '+';
  if (global) {
    for (std::uint8_t k = 0; k < global_n_; ++k) {
      const NumberSlot& o = slots_.v[global_[k]];
      if (same_text(o.text, s.text)) {
        s.num = o.num;
        global_[global_n_++] = static_cast<std::uint8_t>(i);
        return;
      }
    }
    // RFC 3966: a global number has no phone-context (the normaliser ignores
    // one), so do not spend a parameter scan on it.
    s.num = number::normalize(s.text, {}, set_.dial_plan());
    global_[global_n_++] = static_cast<std::uint8_t>(i);
    return;
  }
  s.num = number::normalize(s.text, context, set_.dial_plan());
}

void Engine::begin(bool all) noexcept {
  const rules::FieldMask used = set_.number_fields_used();
  auto init = [&](std::size_t i, const sip::NameAddr* na) {
    NumberSlot* s = ::new (&slots_.v[i]) NumberSlot;
    s->uri = na != nullptr && na->present ? &na->uri : nullptr;
  };
  init(kFrom, &msg_.from);
  init(kTo, &msg_.to);
  ::new (&slots_.v[kRuri]) NumberSlot;
  slots_.v[kRuri].uri = msg_.is_request ? &msg_.request_uri : nullptr;
  pai_n_ = static_cast<std::uint8_t>(std::min<std::size_t>(msg_.pai_count, sip::kMaxIdentities));
  for (std::uint8_t i = 0; i < pai_n_; ++i) init(kPai0 + i, &msg_.pai[i]);
  div_n_ = 0;
  if (all || (used & rules::field_bit(Field::diversion)) != 0) {
    div_n_ = static_cast<std::uint8_t>(std::min<std::size_t>(msg_.diversion_count, sip::kMaxDiversions));
    for (std::uint8_t i = 0; i < div_n_; ++i) init(kDiv0 + i, &msg_.diversion[i]);
  }

  // The trunk first: its caller_from says where the caller comes from. With
  // it every part of the detection keys is known too, so their table lines
  // can start loading below (InFlight overlaps them with the next message).
  trunk_ = set_.trunk_table().find(src_.src_ip.data(), src_.vlan, src_.dst_port);
  // caller: the first of the trunk's caller_from headers that holds a number
  // (by default: the first P-Asserted-Identity that is one), else From.
  // Numbers are normalised only when something needs them.
  std::uint32_t order = trunk_ < set_.trunk_count() ? set_.trunk(trunk_).caller_from : 0;
  if (order == 0) order = static_cast<std::uint32_t>(rules::CallerSource::pai);
  ::new (&slots_.v[kRpid]) NumberSlot;
  caller_ = kFrom;
  for (; order != 0 && caller_ == kFrom; order >>= 4) {
    if ((order & 0xF) == static_cast<std::uint32_t>(rules::CallerSource::pai)) {
      for (std::uint8_t i = 0; i < pai_n_; ++i) {
        normalise(kPai0 + i);
        if (is_number(slots_.v[kPai0 + i].num)) {
          caller_ = static_cast<std::uint8_t>(kPai0 + i);
          break;
        }
      }
    } else if ((order & 0xF) == static_cast<std::uint32_t>(rules::CallerSource::rpid)) {
      init(kRpid, &msg_.remote_party_id);
      normalise(kRpid);
      if (is_number(slots_.v[kRpid].num)) caller_ = kRpid;
    }
  }
  normalise(caller_);
  // callee: the Request-URI (what the call is routed on); To only when the
  // R-URI holds no number. To is free text to the sender, so it never
  // overrides a numbered R-URI (or `To: 110` would unlock the guard rail).
  normalise(kRuri);
  callee_ = is_number(slots_.v[kRuri].num) ? kRuri : kTo;
  normalise(callee_);

  if (all || (used & rules::field_bit(Field::from))) normalise(kFrom);
  if (all || (used & rules::field_bit(Field::to))) normalise(kTo);
  if (all || (used & rules::field_bit(Field::pai))) {
    for (std::uint8_t i = 0; i < pai_n_; ++i) normalise(kPai0 + i);
  }
  for (std::uint8_t i = 0; i < div_n_; ++i) normalise(kDiv0 + i);

  // Exact-table lookups for the numbers rules read, all issued before any
  // is waited for: the misses of different numbers overlap. (The prefix and
  // range maps are small and looked up lazily, by set_id().)
  std::uint8_t* need = need_;
  std::size_t n = 0;
  auto want = [&](std::size_t i) {
    for (std::size_t k = 0; k < n; ++k) {
      if (need[k] == i) return;
    }
    need[n++] = static_cast<std::uint8_t>(i);
  };
  // Only fields whose exact-table ids some atom reads (a rule set whose
  // callee rules are all prefix lists costs no exact lookup of the callee);
  // any other id is still found on demand by set_id().
  const rules::FieldMask exact_fields = all ? ~rules::FieldMask{0} : set_.exact_fields_used();
  if ((exact_fields & rules::field_bit(Field::caller)) || !set_.allow_callers().empty()) want(caller_);
  if (all || !set_.allow_callees().empty()) want(callee_);
  if (exact_fields & rules::field_bit(Field::from)) want(kFrom);
  if (exact_fields & rules::field_bit(Field::to)) want(kTo);
  if (exact_fields & rules::field_bit(Field::ruri)) want(kRuri);
  if (exact_fields & rules::field_bit(Field::pai)) {
    for (std::uint8_t i = 0; i < pai_n_; ++i) want(kPai0 + i);
  }
  if (exact_fields & rules::field_bit(Field::diversion)) {
    for (std::uint8_t i = 0; i < div_n_; ++i) want(kDiv0 + i);
  }
  need_n_ = static_cast<std::uint8_t>(n);

  // Start the exact-table line loads now; finish() waits on them, after the
  // caller has started other messages' loads too.
  const rules::ExactTable& exact = set_.exact_table();
  if (exact.size() != 0) {
    for (std::size_t k = 0; k < n; ++k) {
      const NumberSlot& s = slots_.v[need[k]];
      if (is_number(s.num)) exact.prefetch(s.num.key);
    }
  }

  if (detecting()) {
    keys_ = invite_keys();
    detect_->worker->prefetch(keys_, detect_->prepared);
    detect_->prepared_by = this;
    detect_->prepared_for = detect_->worker;
  }
}

void Engine::finish(bool all) noexcept {
  const rules::ExactTable& exact = set_.exact_table();
  const std::uint8_t* need = need_;
  const std::size_t n = need_n_;
  if (exact.size() != 0) {
    for (std::size_t k = 0; k < n; ++k) {
      NumberSlot& s = slots_.v[need[k]];
      // The same number in several headers (From = PAI, To = R-URI): one lookup.
      bool copied = false;
      for (std::size_t j = 0; j < k && !copied; ++j) {
        const NumberSlot& o = slots_.v[need[j]];
        if (o.num.key == s.num.key && o.num.kind == s.num.kind) {
          s.set[0] = o.set[0];
          s.have |= 1U;
          copied = true;
        }
      }
      if (!copied) set_id(s, NumberSpace::exact);
    }
  }
  if (all) {
    for (std::size_t k = 0; k < n; ++k) {
      set_id(slots_.v[need[k]], NumberSpace::prefix);
      set_id(slots_.v[need[k]], NumberSpace::range);
    }
  }

  // Behavioural detection: the INVITE is counted here, before any rule or
  // guard rail runs, so every INVITE seen counts whatever its verdict.
  if (detect_ != nullptr && count_) {
    detect_->levels.n = 0;
    if (detecting()) {
      detect::WorkerDetect& w = *detect_->worker;
      if (detect_->prepared_by == this && detect_->prepared_for == &w)
        w.on_invite(keys_, detect_->prepared, detect_->now_ms, detect_->levels);
      else
        w.on_invite(keys_, detect_->now_ms, detect_->levels);
      detect_->prepared_by = nullptr;
    }
  }
}

bool Engine::detecting() const noexcept {
  const std::size_t nd = set_.detectors().size();
  return detect_ != nullptr && count_ && nd != 0 && detect_->worker != nullptr && detect_->worker->specs().size() == nd;
}

detect::InviteKeys Engine::invite_keys() const noexcept {
  auto e164 = [](const NumberSlot& s) { return s.num.kind == number::NumberKind::e164 ? s.num.key : 0; };
  detect::InviteKeys k{};
  k.caller = e164(slots_.v[caller_]);
  k.callee = e164(slots_.v[callee_]);
  k.source = detect::source_key(src_.src_ip);  // IPv4: the address itself, so it can be shown
  k.trunk = trunk_ == kNoTrunk ? detect::kNoTrunk : trunk_;
  k.call_id_hash = detect::call_id_hash(msg_.call_id);
  k.cseq = msg_.cseq.number;
  k.in_dialog = !msg_.to.tag.empty();
  return k;
}

void Engine::describe(Verdict& v) const noexcept {
  v.trunk = trunk_;
  v.caller = slots_.v[caller_].num;
  v.callee = slots_.v[callee_].num;
  v.flags = flags_;
}

bool Engine::emergency() const noexcept {
  const NumberSlot& c = slots_.v[callee_];
  if (is_number(c.num)) {
    if (set_.is_emergency(c.num.key)) return true;
  } else if (c.uri != nullptr && !set_.emergency_keys().empty()) {
    // The digits as dialled, in case the plan does not map them. (A callee
    // that normalised is covered above: the rail holds both forms.)
    std::string_view t = c.text;
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    const number::E164Key k = number::pack(t);
    if (k != number::kNoNumber && set_.is_emergency(k)) return true;
  }
  // RFC 5031 emergency service URN in the Request-URI.
  const sip::Uri& r = msg_.request_uri;
  return msg_.is_request && r.scheme == sip::UriScheme::other && r.text.size() >= 15 &&
         iequals(r.text.substr(0, 15), "urn:service:sos");
}

bool Engine::in_any_list(const NumberSlot& s, std::span<const rules::ListRef> refs) const noexcept {
  for (const rules::ListRef& r : refs) {
    if (in_set(s, r.space, r.bit)) return true;
  }
  return false;
}

bool Engine::allow_caller() const noexcept {
  const auto refs = set_.allow_callers();
  return !refs.empty() && in_any_list(slots_.v[caller_], refs);
}

bool Engine::allow_callee() const noexcept {
  const auto refs = set_.allow_callees();
  return !refs.empty() && in_any_list(slots_.v[callee_], refs);
}

bool Engine::guard(Verdict& v) const noexcept {
  DecidedBy by;
  if (emergency()) {
    by = DecidedBy::emergency;
  } else if (allow_caller()) {
    by = DecidedBy::allow_caller;
  } else if (allow_callee()) {
    by = DecidedBy::allow_callee;
  } else {
    return false;
  }
  v.action = rules::ActionKind::pass;
  v.decided_by = by;
  return true;
}

std::string_view Engine::caller_display_name() const noexcept {
  if (caller_ >= kPai0 && caller_ < kPai0 + pai_n_) return msg_.pai[caller_ - kPai0].display_name;
  if (caller_ == kRpid) return msg_.remote_party_id.display_name;
  return msg_.from.present ? msg_.from.display_name : std::string_view{};
}

template <class F>
bool Engine::any_number(Field f, F&& pred) const noexcept {
  switch (f) {
    case Field::caller:
      return pred(slots_.v[caller_]);
    case Field::from:
      return pred(slots_.v[kFrom]);
    case Field::to:
      return pred(slots_.v[kTo]);
    case Field::ruri:
      return pred(slots_.v[kRuri]);
    case Field::pai:
      for (std::uint8_t i = 0; i < pai_n_; ++i) {
        if (pred(slots_.v[kPai0 + i])) return true;
      }
      return false;
    case Field::diversion:
      for (std::uint8_t i = 0; i < div_n_; ++i) {
        if (pred(slots_.v[kDiv0 + i])) return true;
      }
      return false;
    default:
      return false;
  }
}

bool Engine::scan(std::uint32_t t) noexcept {
  if (!regex_ok_) return false;
  if (scratch_.target_epoch_[t] == epoch_) return true;
  scratch_.target_epoch_[t] = epoch_;
  if (scratch_.cleared_epoch_ != epoch_) {
    // This message's first scan: what earlier messages' matches left is
    // cleared, all at once and only if they matched anything (Scratch).
    scratch_.cleared_epoch_ = epoch_;
    if (scratch_.bits_dirty_) {
      std::fill(scratch_.regex_bits_.begin(), scratch_.regex_bits_.end(), 0);
      scratch_.bits_dirty_ = false;
    }
  }
  const rules::ScanTarget& target = set_.scan_targets()[t];
  std::uint64_t* bits = scratch_.regex_bits_.data();
  const hs_database_t* db = set_.database(t);
  MatchContext ctx{bits, set_.patterns().data(), set_.patterns().size(), target.slot_begin, target.slot_end, false};
  auto run = [&](std::string_view text) {
    if (text.empty()) return;  // nothing to match (patterns never match empty)
    if (hs_scan(db, text.data(), static_cast<unsigned int>(text.size()), 0, scratch_.hs_, on_match, &ctx) !=
        HS_SUCCESS) {
      flags_ |= kScanError;
    }
  };
  switch (target.field) {
    case Field::user_agent:
      run(msg_.user_agent);
      break;
    case Field::display_name:
      run(caller_display_name());
      break;
    case Field::header: {
      const rules::HeaderName& h = set_.headers()[target.header];
      for (std::uint16_t i = 0; i < msg_.header_count && i < sip::kMaxHeaders; ++i) {
        if (header_matches(set_, h, msg_.headers[i].name)) run(msg_.headers[i].value);
      }
      break;
    }
    default:
      any_number(target.field, [&](const NumberSlot& s) {
        run(number_scan_text(s));
        return false;  // scan every value
      });
      break;
  }
  // Whether any predicate of the target holds, for rule gates.
  scratch_.target_hit_[t] = ctx.hit;
  if (ctx.hit) scratch_.bits_dirty_ = true;
  return true;
}

bool Engine::regex_bit(std::uint32_t slot) const noexcept {
  return (scratch_.regex_bits_[slot / 64] >> (slot % 64)) & 1U;
}

bool Engine::atom(const rules::Atom& a) noexcept {
  switch (a.kind) {
    case AtomKind::number_in_set: {
      const auto space = static_cast<NumberSpace>(a.a);
      if (a.field == Field::caller) return in_set(slots_.v[caller_], space, a.b);  // the common case
      return any_number(a.field, [&](const NumberSlot& s) { return in_set(s, space, a.b); });
    }
    case AtomKind::number_present:
      return any_number(a.field, [](const NumberSlot& s) { return s.uri != nullptr && !s.uri->number_text().empty(); });
    case AtomKind::number_regex:
    case AtomKind::text_regex:
      return scan(a.b) && regex_bit(a.a);
    case AtomKind::text_equals:
    case AtomKind::text_present: {
      auto test = [&](std::string_view text) {
        if (a.kind == AtomKind::text_present) return !text.empty();
        for (std::uint32_t i = 0; i < a.b; ++i) {
          if (text == set_.str(set_.text_values()[a.a + i])) return true;
        }
        return false;
      };
      switch (a.field) {
        case Field::user_agent:
          return test(msg_.user_agent);
        case Field::display_name:
          return test(caller_display_name());
        case Field::header: {
          const rules::HeaderName& h = set_.headers()[a.header];
          for (std::uint16_t i = 0; i < msg_.header_count && i < sip::kMaxHeaders; ++i) {
            if (header_matches(set_, h, msg_.headers[i].name) && test(msg_.headers[i].value)) {
              return true;
            }
          }
          return false;
        }
        default:
          return false;
      }
    }
    case AtomKind::trunk_in:
    case AtomKind::trunk_class_in: {
      if (trunk_ == kNoTrunk) return false;
      const std::uint32_t v = a.kind == AtomKind::trunk_in ? trunk_ : set_.trunk(trunk_).class_id;
      const auto pool = set_.id_pool();
      for (std::uint32_t i = 0; i < a.b; ++i) {
        if (pool[a.a + i] == v) return true;
      }
      return false;
    }
    case AtomKind::trunk_present:
      return trunk_ != kNoTrunk;
    case AtomKind::detector_level: {
      // No detection for this INVITE (no worker state, a retransmission's
      // levels are still filled): the condition does not hold.
      if (detect_ == nullptr || a.a >= detect_->levels.n) return false;
      return static_cast<std::uint32_t>(detect_->levels.d[a.a].level) >= a.b;
    }
    case AtomKind::number_shape:
      if (a.field == Field::caller) return (shapes_of(slots_.v[caller_].num) & a.a) != 0;
      return any_number(a.field, [&](const NumberSlot& s) { return (shapes_of(s.num) & a.a) != 0; });
    case AtomKind::caller_shares_callee_prefix: {
      const number::Number& c = slots_.v[caller_].num;
      const number::Number& d = slots_.v[callee_].num;
      return c.kind == number::NumberKind::e164 && d.kind == number::NumberKind::e164 && c.digits.len >= a.a &&
             d.digits.len >= a.a && std::memcmp(c.digits.d.data(), d.digits.d.data(), a.a) == 0;
    }
    case AtomKind::caller_in_trunk_ranges: {
      // No trunk, or a trunk without caller ranges: nothing to check against.
      if (trunk_ == kNoTrunk) return false;
      const rules::TrunkInfo& t = set_.trunk(trunk_);
      if (!t.has_caller_ranges()) return false;
      // A caller that is not an E.164 number counts as outside the ranges.
      const NumberSlot& c = slots_.v[caller_];
      const bool inside =
          c.num.kind == number::NumberKind::e164 &&
          ((t.caller_prefix_bit != rules::kNone && in_set(c, NumberSpace::prefix, t.caller_prefix_bit)) ||
           (t.caller_range_bit != rules::kNone && in_set(c, NumberSpace::range, t.caller_range_bit)));
      return inside == (a.a != 0);
    }
  }
  return false;
}

bool Engine::run_program(std::uint32_t pc, Witness& w) noexcept {
  const std::uint32_t* code = set_.code().data();
  const rules::Atom* atoms = set_.atoms().data();
  w = Witness{};
  bool acc = false;
  // Saved witnesses of the enclosing all/any; left uninitialised on purpose
  // (each entry is written by PUSHW before POPW reads it).
  struct Saved {
    std::uint32_t list_atom, any_atom, detector_atom;
  } stack[rules::kMaxMatchDepth + 1];
  std::uint32_t depth = 0;
  for (;;) {
    const std::uint32_t ins = code[pc++];
    const std::uint32_t x = rules::op::operand_of(ins);
    switch (rules::op::code_of(ins)) {
      case rules::op::atom: {
        const std::uint32_t id = x & rules::op::kAtomMask;
        const rules::Atom& a = atoms[id];
        acc = atom(a);
        if (acc && (x & rules::op::kPositive)) {
          if (w.any_atom == rules::kNone) w.any_atom = id;
          if (w.list_atom == rules::kNone && names_a_list(a.kind)) w.list_atom = id;
          if (a.kind == AtomKind::detector_level &&
              (w.detector_atom == rules::kNone || (report_only(static_cast<std::uint8_t>(atoms[w.detector_atom].a)) &&
                                                   !report_only(static_cast<std::uint8_t>(a.a))))) {
            w.detector_atom = id;
          }
        }
        break;
      }
      case rules::op::not_:
        acc = !acc;
        break;
      case rules::op::jf:
        if (!acc) pc = x;
        break;
      case rules::op::jt:
        if (acc) pc = x;
        break;
      case rules::op::pushw:
        if (depth <= rules::kMaxMatchDepth) stack[depth] = {w.list_atom, w.any_atom, w.detector_atom};
        ++depth;
        break;
      case rules::op::popw:
        if (depth > 0) {
          --depth;
          // A sub-expression that failed explains nothing.
          if (!acc && depth <= rules::kMaxMatchDepth) {
            w.list_atom = stack[depth].list_atom;
            w.any_atom = stack[depth].any_atom;
            w.detector_atom = stack[depth].detector_atom;
          }
        }
        break;
      case rules::op::true_:
        acc = true;
        break;
      case rules::op::false_:
        acc = false;
        break;
      case rules::op::end:
        return acc;
      default:
        return false;  // validate() makes this unreachable
    }
  }
}

void Engine::match_of(const Witness& w, bool& has, Field& field, std::uint16_t& header, std::uint32_t& list,
                      std::uint32_t& atom_id) const noexcept {
  const std::uint32_t id = w.detector_atom != rules::kNone ? w.detector_atom
                           : w.list_atom != rules::kNone   ? w.list_atom
                                                           : w.any_atom;
  has = id != rules::kNone;
  if (!has) return;
  const rules::Atom& a = set_.atoms()[id];
  atom_id = id;
  field = a.kind == AtomKind::trunk_class_in ? Field::trunk_class : a.field;
  header = a.header;
  list = a.list;
  if (a.kind == AtomKind::caller_in_trunk_ranges && trunk_ != kNoTrunk) {
    // Report the trunk's caller list that decided (the range list if the
    // caller is inside it, else the prefix list, else whichever exists).
    const rules::TrunkInfo& t = set_.trunk(trunk_);
    const NumberSlot& c = slots_.v[caller_];
    const bool in_range = t.caller_range_bit != rules::kNone && in_set(c, NumberSpace::range, t.caller_range_bit);
    list = in_range || t.caller_prefix_list == rules::kNone ? t.caller_range_list : t.caller_prefix_list;
  }
}

namespace {

void fill_action(Verdict& v, const rules::CompiledRuleSet& set, const rules::ActionInfo& a) noexcept {
  v.action = a.kind;
  v.reject_code = a.reject_code;
  v.reject_phrase = set.str(a.phrase);
  v.reason_line = set.str(a.reason_line);
  v.call_info_line = set.str(a.call_info_line);
  v.tag_line = set.str(a.tag_line);
  v.tag_label = set.str(a.tag_label);
  v.tag_verstat = rules::verstat_text(a.tag_verstat);
}

}  // namespace

void Engine::detector_figures(Verdict& v, std::uint8_t detector) const noexcept {
  v.detector = detector;
  if (detect_ != nullptr && detector < detect_->levels.n) {
    v.detector_count = detect_->levels.d[detector].count;
    v.detector_level = detect_->levels.d[detector].level;
  }
}

void Engine::decide_rule(Verdict& v, std::size_t i, const Witness& w) const noexcept {
  v.decided_by = DecidedBy::rule;
  v.rule = static_cast<std::uint32_t>(i);
  v.rule_id = set_.rule_id(i);
  fill_action(v, set_, set_.rule_action(i));
  match_of(w, v.has_match, v.match_field, v.match_header, v.match_list, v.match_atom);
  const std::uint8_t det = witness_detector(w);
  if (det != kNoDetector) {
    // An enforcing detector decided: a report-mode one noted earlier is
    // not what happened to the call.
    v.report_only = false;
    v.report_action = rules::ActionKind::pass;
    detector_figures(v, det);
  }
}

void Engine::note_report(Verdict& v, std::size_t i, const Witness& w) const noexcept {
  if (v.report_only) return;  // the first report-mode rule is the one shown
  v.report_only = true;
  v.report_action = set_.rule_action(i).kind;
  v.report_rule = static_cast<std::uint32_t>(i);
  v.report_rule_id = set_.rule_id(i);
  detector_figures(v, witness_detector(w));
}

void Engine::decide_default(Verdict& v) const noexcept {
  v.decided_by = DecidedBy::default_action;
  fill_action(v, set_, set_.default_action());
}

}  // namespace sipwall::classify::detail
