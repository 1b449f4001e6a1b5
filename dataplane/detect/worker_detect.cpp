#include "dataplane/detect/worker_detect.h"

#include <stdexcept>
#include <utility>

#include "dataplane/detect/key_hash.h"

namespace sipwall::detect {

namespace {

constexpr std::uint32_t kNever = 0xFFFFFFFFu;

// A slot's mark word: what this worker last reported for the key, and the
// level its last INVITE saw (for `rose`).
//   bits 0-1  level seen at the last INVITE
//   bits 2-3  level last reported
//   bits 4-31 count last reported (0: none, or told the merger it cooled)
constexpr std::uint32_t kMarkCountMax = (1u << 28) - 1;
constexpr Level seen_level(std::uint32_t m) noexcept {
  return static_cast<Level>(m & 3);
}
constexpr Level reported_level(std::uint32_t m) noexcept {
  return static_cast<Level>((m >> 2) & 3);
}
constexpr std::uint32_t reported_count(std::uint32_t m) noexcept {
  return m >> 4;
}
constexpr std::uint32_t with_report(std::uint32_t m, std::uint32_t count, Level level) noexcept {
  const std::uint32_t c = count > kMarkCountMax ? kMarkCountMax : count;
  return (c << 4) | (static_cast<std::uint32_t>(level) << 2) | (m & 3);
}

constexpr std::uint32_t add_sat(std::uint32_t a, std::uint32_t b) noexcept {
  return a > 0xFFFFFFFFu - b ? 0xFFFFFFFFu : a + b;
}

std::uint32_t report_min_for(const DetectorSpec& s, const WorkerOptions& o) noexcept {
  const std::uint32_t t = lowest_threshold(s);
  if (t == 0) return kNever;
  const std::uint64_t share = std::uint64_t{t} * o.report_percent / (100u * o.workers);
  return share > o.report_min_floor ? static_cast<std::uint32_t>(share) : o.report_min_floor;
}

}  // namespace

const char* WorkerDetect::validate(std::span<const DetectorSpec> specs, const WorkerOptions& o) noexcept {
  if (specs.size() > kMaxDetectors) return "more than 32 detectors";
  if (o.workers == 0 || o.workers > 1024) return "workers must be 1 .. 1024";
  if (o.worker_index >= o.workers) return "worker_index must be < workers";
  if (o.report_queue < 2 || o.report_queue > (1u << 24)) return "report_queue must be 2 .. 2^24";
  if (o.report_min_floor == 0) return "report_min_floor must be >= 1";
  if (o.report_percent == 0 || o.report_percent > 100) return "report_percent must be 1 .. 100";
  if (o.pair_factor == 0 || o.pair_factor > 16) return "pair_factor must be 1 .. 16";
  if (o.calls.capacity == 0 || o.calls.capacity > kMaxCapacity) return "call table capacity must be 1 .. 2^26";
  if (o.default_capacity < kMinCapacity || o.default_capacity > kMaxCapacity)
    return "default capacity must be 4 .. 2^26";
  for (const DetectorSpec& s : specs) {
    if (const char* why = detect::validate(s)) return why;
    const bool distinct = s.count == DetectCount::distinct_callees || s.count == DetectCount::distinct_callers;
    const std::uint32_t capacity = s.capacity != 0 ? s.capacity : o.default_capacity;
    if (distinct && std::uint64_t{capacity} * o.pair_factor > 4ull * kMaxCapacity)
      return "capacity * pair_factor too large";
  }
  return nullptr;
}

// Validates before any member is built, so a bad argument gets validate()'s
// message, not a member's.
static std::unique_ptr<CallTable> checked_calls(std::span<const DetectorSpec> specs, const WorkerOptions& options,
                                                CallTable* given) {
  if (const char* why = WorkerDetect::validate(specs, options)) throw std::invalid_argument(why);
  return given != nullptr ? nullptr : std::make_unique<CallTable>(options.calls);
}

WorkerDetect::WorkerDetect(std::span<const DetectorSpec> specs, const WorkerOptions& options, CallTable* calls)
    : specs_(specs.begin(), specs.end()),
      own_calls_(checked_calls(specs, options, calls)),
      calls_(calls != nullptr ? calls : own_calls_.get()),
      options_(options) {
  tables_.reserve(specs_.size());
  for (DetectorSpec& s : specs_) {
    if (s.capacity == 0) s.capacity = options_.default_capacity;  // the rule file left it to the data plane
    const bool distinct = s.count == DetectCount::distinct_callees || s.count == DetectCount::distinct_callers;
    Table t{WindowCounter(s.capacity, s.window_ms, s.count == DetectCount::asr ? 2 : 1), nullptr,
            report_min_for(s, options_), RecentKeys()};
    if (distinct) t.pairs = std::make_unique<PairSeen>(s.capacity * options_.pair_factor);
    if (!counted_on_invite(s.count) && options_.outcome_filter) t.recent = RecentKeys(s.capacity);
    tables_.push_back(std::move(t));
  }
  reports_ = std::make_unique<SpscQueue<HotKeyReport>>(options_.report_queue);
}

std::size_t WorkerDetect::memory_bytes() const noexcept {
  std::size_t n = sizeof(*this) + specs_.capacity() * sizeof(DetectorSpec) + tables_.capacity() * sizeof(Table) +
                  (own_calls_ ? own_calls_->memory_bytes() : 0) + reports_->memory_bytes();
  for (const Table& t : tables_) {
    n += t.counter.memory_bytes() + t.recent.memory_bytes();
    if (t.pairs) n += t.pairs->memory_bytes();
  }
  return n;
}

// ---- per INVITE ------------------------------------------------------------

// Inline: returned through the stack it stalls on store forwarding.
[[gnu::always_inline]] inline WorkerDetect::Estimate WorkerDetect::estimate(const DetectorSpec& s, std::uint64_t key,
                                                                            std::uint32_t local, std::uint32_t local2,
                                                                            std::uint64_t now_ms) const noexcept {
  Estimate est{local, local2, Level::none, Level::none};
  if (dyn_ != nullptr) {
    if (const DynamicEntry* e = dyn_->find(s.definition_hash, key)) {
      const WorkerCount own = dyn_->own(*e, options_.worker_index);
      est.count = add_sat(local, e->count - (own.count < e->count ? own.count : e->count));
      est.count2 = add_sat(local2, e->count2 - (own.count2 < e->count2 ? own.count2 : e->count2));
      if (now_ms < e->expiry_ms) est.held = e->level;
    }
  }
  est.level = level_for(s, est.count, est.count2);
  return est;
}

// An INVITE runs in stages so the cache misses of the call table and of
// every detector's tables are in flight together instead of one after the
// other (a worker's tables are far bigger than its caches):
//   1. prepare: every detector's key; prefetch its header line, its pair
//      line, and the call's group;
//   2. the call table (is the Call-ID new?);
//   3. finish: find or insert each key (header line), prefetch its buckets;
//      then advance, add and read the levels.
void WorkerDetect::on_invite(const InviteKeys& keys, std::uint64_t now_ms, Levels& out) noexcept {
  Pending p[kMaxDetectors];
  calls_->prefetch(keys.call_id_hash);
  prepare(keys, p);
  const InviteResult r = calls_->on_invite(keys, now_ms);
  if (r.victim != nullptr && r.victim_outcome.events != 0) feed_outcome(*r.victim, r.victim_outcome, now_ms);
  out.call = r.kind;
  finish(now_ms, r.kind == InviteKind::new_call, p, out);
}

void WorkerDetect::on_invite(const InviteKeys& keys, Prepared& p, std::uint64_t now_ms, Levels& out) noexcept {
  // prefetch(keys, p) started the call table's and the detectors' loads.
  const InviteResult r = calls_->on_invite(keys, now_ms);
  if (r.victim != nullptr && r.victim_outcome.events != 0) feed_outcome(*r.victim, r.victim_outcome, now_ms);
  out.call = r.kind;
  finish(now_ms, r.kind == InviteKind::new_call, p.d, out);
}

void WorkerDetect::levels(const InviteKeys& keys, std::uint64_t now_ms, Levels& out) noexcept {
  Pending p[kMaxDetectors];
  prepare(keys, p);
  out.call = InviteKind::new_call;
  finish(now_ms, false, p, out);
}

void WorkerDetect::prefetch(const InviteKeys& keys) const noexcept {
  calls_->prefetch(keys.call_id_hash);
  Pending p[kMaxDetectors];
  prepare(keys, p);
}

void WorkerDetect::prefetch(const InviteKeys& keys, Prepared& out) const noexcept {
  calls_->prefetch(keys.call_id_hash);
  prepare(keys, out.d);
}

void WorkerDetect::prepare(const InviteKeys& keys, Pending* p) const noexcept {
  // The arrays' bounds in locals: the stores through `p` could alias the
  // vectors, which would reload them on every detector.
  const DetectorSpec* const specs = specs_.data();
  const Table* const tables = tables_.data();
  const std::uint32_t n = static_cast<std::uint32_t>(specs_.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const DetectorSpec& s = specs[i];
    Pending& d = p[i];
    const KeyParts parts = key_parts(s.key, keys);
    d.key = parts.present ? key_hash(s.key, parts) : 0;
    d.a = parts.a;
    d.b = parts.b;
    d.pair = 0;
    d.look = true;
    if (d.key == 0) continue;
    const Table& t = tables[i];
    // An outcome-counted detector's table holds only callers with recent
    // outcomes: for the others, no line of it is loaded (RecentKeys).
    if (t.recent && !t.recent.maybe(d.key)) {
      d.look = false;
      continue;
    }
    d.group = t.counter.group(d.key);
    t.counter.prefetch_group(d.group);
    if (s.count == DetectCount::distinct_callees || s.count == DetectCount::distinct_callers) {
      const std::uint64_t value = s.count == DetectCount::distinct_callees ? keys.callee : keys.caller;
      if (value != 0) {
        d.pair = pair_hash(d.key, value);
        d.pair_group = t.pairs->group(d.pair);
        t.pairs->prefetch_group(d.pair_group);
      }
    }
  }
}

void WorkerDetect::finish(std::uint64_t now_ms, bool count, Pending* p, Levels& out) noexcept {
  const DetectorSpec* const specs = specs_.data();  // in locals, as in prepare()
  Table* const tables = tables_.data();
  const std::uint32_t n = static_cast<std::uint32_t>(specs_.size());
  // Find or insert every key; start loading the buckets it will touch.
  for (std::uint32_t i = 0; i < n; ++i) {
    Pending& d = p[i];
    d.slot = WindowCounter::npos;
    d.add = d.move = false;
    if (d.key == 0) continue;
    const DetectorSpec& s = specs[i];
    WindowCounter& c = tables[i].counter;
    if (count && s.count == DetectCount::invites) {
      d.slot = c.lookup_or_insert(d.key, d.group, now_ms);
      d.add = true;
    } else if (count && d.pair != 0) {
      // Distinct: count the value only if its pair is not counted in the window.
      const PairSeen::Touch seen =
          tables[i].pairs->touch(d.pair, d.pair_group, c.epoch(now_ms), WindowCounter::kBuckets);
      d.slot = c.lookup(d.key, d.group);
      if (d.slot == WindowCounter::npos) {
        // The key's count was lost (evicted, lifted) or never there: its
        // pairs' units went with it, so this one counts again.
        d.slot = c.lookup_or_insert(d.key, d.group, now_ms);
        d.add = true;
      } else if (!seen.counted) {
        d.add = true;
      } else {
        d.move = true;  // seen again: counted for a window from now
        d.prev_epoch = seen.prev_epoch;
      }
    } else if (d.look) {
      d.slot = c.lookup(d.key, d.group);
    } else {
      ++outcome_skips_;
    }
    if (d.slot != WindowCounter::npos) c.prefetch_slot(d.slot);  // nothing for a fresh key
  }
  // Count and read the levels.
  out.n = n;
  for (std::uint32_t i = 0; i < n; ++i) {
    const DetectorSpec& s = specs[i];
    const Pending& d = p[i];
    DetectorLevel& l = out.d[i];
    l = DetectorLevel{};
    l.report_only = s.report_only;
    if (d.key == 0) continue;
    l.key = d.key;
    WindowCounter& c = tables[i].counter;
    if (d.slot != WindowCounter::npos) {
      c.advance_to(d.slot, now_ms);
      if (d.add) c.add(d.slot);
      if (d.move) c.move_to_newest(d.slot, d.prev_epoch);
      l.local = c.count(d.slot);
      if (s.count == DetectCount::asr) l.local2 = c.count(d.slot, 1);
    }
    const Estimate est = estimate(s, d.key, l.local, l.local2, now_ms);
    l.count = est.count;
    l.count2 = est.count2;
    l.held = est.held;
    l.level = max_level(est.level, est.held);
    if (d.slot == WindowCounter::npos || !count) continue;
    const std::uint32_t m = c.mark(d.slot);
    l.rose = est.level > seen_level(m);
    const std::uint32_t seen = (m & ~3u) | static_cast<std::uint32_t>(est.level);
    if (seen != m) c.set_mark(d.slot, seen);  // a fresh slot stays fresh while its level is none
    if (counted_on_invite(s.count))
      maybe_report(i, d.slot, d.key, KeyParts{d.a, d.b, true}, l.local, l.local2, est.level, now_ms);
  }
}

// ---- reports to the merger ---------------------------------------------------

// Pushes the key's local count if it is hot (at least report_min, or at a
// level) and changed enough since the last report: a level change, a drop,
// or a rise of max(1, last/8). So the merger sees every count exactly up to
// 16 and within 1/8 above, for O(log count) reports per key and window. A
// key that cools below report_min is reported once more (so the merger stops
// counting it), then not again until it is hot.
void WorkerDetect::maybe_report(std::uint32_t i, std::uint32_t slot, std::uint64_t key, const KeyParts& parts,
                                std::uint32_t local, std::uint32_t local2, Level level, std::uint64_t now_ms) noexcept {
  Table& t = tables_[i];
  const std::uint32_t m = t.counter.mark(slot);
  const std::uint32_t last = reported_count(m);
  const Level last_level = reported_level(m);
  const bool hot = local >= t.report_min || level != Level::none;
  if (!hot) {
    if (last == 0 && last_level == Level::none) return;
  } else if (level == last_level && last != 0 && local >= last) {
    const std::uint32_t step = last / 8 > 1 ? last / 8 : 1;
    if (local - last < step) return;
  }
  const HotKeyReport r{specs_[i].definition_hash, key, parts.a, parts.b, now_ms, local, local2, lift_seen_, level};
  if (!reports_->try_push(r)) {
    ++reports_dropped_;  // the mark stays: the next count retries
    return;
  }
  ++reports_pushed_;
  t.counter.set_mark(slot, hot ? with_report(m, local, level) : with_report(m, 0, Level::none));
}

// ---- call outcomes -------------------------------------------------------------

EventResult WorkerDetect::on_response(std::uint64_t call_id_hash, unsigned code, bool to_invite,
                                      std::uint64_t now_ms) noexcept {
  const EventResult r = calls_->on_response(call_id_hash, code, to_invite, now_ms);
  if (r.call != nullptr && r.outcome.events != 0) feed_outcome(*r.call, r.outcome, now_ms);
  return r;
}

EventResult WorkerDetect::on_cancel(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept {
  const EventResult r = calls_->on_cancel(call_id_hash, now_ms);
  if (r.call != nullptr && r.outcome.events != 0) feed_outcome(*r.call, r.outcome, now_ms);
  return r;
}

EventResult WorkerDetect::on_ack(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept {
  return calls_->on_ack(call_id_hash, now_ms);
}

EventResult WorkerDetect::on_bye(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept {
  const EventResult r = calls_->on_bye(call_id_hash, now_ms);
  if (r.call != nullptr && r.outcome.events != 0) feed_outcome(*r.call, r.outcome, now_ms);
  return r;
}

std::size_t WorkerDetect::expire(std::uint64_t now_ms, std::uint32_t max_visits) noexcept {
  return calls_->expire(now_ms, max_visits, [this, now_ms](const CallRecord& call, const Outcome& o) {
    if (o.events != 0) feed_outcome(call, o, now_ms);
  });
}

void WorkerDetect::feed_outcome(const CallRecord& call, const Outcome& o, std::uint64_t now_ms) noexcept {
  const std::uint32_t n = static_cast<std::uint32_t>(specs_.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const DetectorSpec& s = specs_[i];
    bool add0 = false;
    bool add1 = false;
    switch (s.count) {
      case DetectCount::one_ring:
        add0 = o.has(Outcome::kCancelledRinging) && o.ring_to_cancel_ms <= s.within_ms;
        break;
      case DetectCount::short_calls:
        add0 = o.has(Outcome::kEnded) && o.talk_ms <= s.within_ms;
        break;
      case DetectCount::unanswered:
        add0 = o.has(Outcome::kUnanswered);
        break;
      case DetectCount::asr:
        add0 = o.has(Outcome::kAttempt);
        add1 = o.has(Outcome::kAnswered);
        break;
      case DetectCount::invites:
      case DetectCount::distinct_callees:
      case DetectCount::distinct_callers:
        break;
    }
    if (!add0 && !add1) continue;
    const KeyParts parts = key_parts(s.key, call.keys);
    if (!parts.present) continue;
    const std::uint64_t key = key_hash(s.key, parts);
    WindowCounter& c = tables_[i].counter;
    const std::uint32_t slot = c.find_or_insert(key, now_ms);
    if (add0) c.add(slot, 0);
    if (add1) c.add(slot, 1);
    if (tables_[i].recent) tables_[i].recent.note(key, c.epoch(now_ms));
    const std::uint32_t local = c.count(slot);
    const std::uint32_t local2 = s.count == DetectCount::asr ? c.count(slot, 1) : 0;
    const Estimate est = estimate(s, key, local, local2, now_ms);
    maybe_report(i, slot, key, parts, local, local2, est.level, now_ms);
  }
}

// ---- merged set, lifts, reloads ---------------------------------------------------

void WorkerDetect::set_dynamic(const DynamicSet* set) noexcept {
  if (set == dyn_) return;
  dyn_ = set;
  if (set == nullptr || set->lift_seq() <= lift_seen_) return;
  const std::span<const LiftRecord> lifts = set->lifts();
  if (lifts.empty() || lifts.front().seq > lift_seen_ + 1) {
    // Lifts this worker never saw: the only safe answer is to forget every
    // count (a lifted key must not fire again on its old counts).
    for (Table& t : tables_) {
      t.counter.clear();
      if (t.pairs) t.pairs->clear();
    }
    ++lift_gaps_;
  } else {
    for (const LiftRecord& l : lifts) {
      if (l.seq <= lift_seen_) continue;
      for (std::uint32_t i = 0; i < tables_.size(); ++i)
        if (specs_[i].definition_hash == l.detector && tables_[i].counter.erase(l.key)) ++lift_resets_;
    }
  }
  lift_seen_ = set->lift_seq();
}

void WorkerDetect::adopt(WorkerDetect& old) noexcept {
  bool taken[kMaxDetectors] = {};
  for (std::uint32_t i = 0; i < specs_.size(); ++i) {
    for (std::uint32_t j = 0; j < old.specs_.size(); ++j) {
      if (taken[j] || old.specs_[j].definition_hash != specs_[i].definition_hash) continue;
      // Equal hashes mean equal definitions, so the tables have the same
      // shape: a swap, no copy. The shape is checked anyway, so a bad hash
      // cannot leave a detector with another's window or capacity.
      const WindowCounter& mine = tables_[i].counter;
      const WindowCounter& theirs = old.tables_[j].counter;
      if (mine.capacity() != theirs.capacity() || mine.window_ms() != theirs.window_ms() ||
          mine.lanes() != theirs.lanes() || (tables_[i].pairs == nullptr) != (old.tables_[j].pairs == nullptr) ||
          (tables_[i].pairs && tables_[i].pairs->capacity() != old.tables_[j].pairs->capacity()))
        continue;
      std::swap(tables_[i].counter, old.tables_[j].counter);
      std::swap(tables_[i].pairs, old.tables_[j].pairs);
      std::swap(tables_[i].recent, old.tables_[j].recent);
      taken[j] = true;
      ++adopted_;
      break;
    }
  }
  // The worker's table: both point at it already, nothing moves.
  if (own_calls_ && old.own_calls_) {
    const CallTableOptions& a = own_calls_->options();
    const CallTableOptions& b = old.own_calls_->options();
    if (a.capacity == b.capacity && a.ringing_timeout_ms == b.ringing_timeout_ms &&
        a.answered_timeout_ms == b.answered_timeout_ms && a.linger_ms == b.linger_ms) {
      std::swap(own_calls_, old.own_calls_);
      calls_ = own_calls_.get();
      old.calls_ = old.own_calls_.get();
    }
  }
  dyn_ = old.dyn_;
  lift_seen_ = old.lift_seen_;
}

}  // namespace sipwall::detect
