#include "dataplane/detect/merger.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/window_counter.h"

namespace sipwall::detect {

namespace {

constexpr std::uint32_t kNone = 0xFFFFFFFFu;

constexpr std::uint64_t add_sat(std::uint64_t t, std::uint64_t d) noexcept {
  return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

constexpr std::uint32_t clamp32(std::uint64_t v) noexcept {
  return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(v);
}

void check_specs(std::span<const DetectorSpec> specs) {
  for (const DetectorSpec& s : specs)
    if (const char* why = validate(s)) throw std::invalid_argument(why);
}

}  // namespace

std::size_t Merger::IdHash::operator()(const Id& id) const noexcept {
  return static_cast<std::size_t>(mix64(id.key ^ (id.detector * 0x9E3779B97F4A7C15ULL)));
}

Merger::Merger(std::span<const DetectorSpec> specs, const MergerOptions& options)
    : specs_(specs.begin(), specs.end()), stats_(specs.size()), options_(options) {
  if (options.workers == 0 || options.workers > 1024) throw std::invalid_argument("Merger: workers");
  if (options.max_entries == 0 || options.max_entries > (1u << 24)) throw std::invalid_argument("Merger: max_entries");
  check_specs(specs);
  slots_.resize(options.max_entries);
  views_.resize(std::size_t{options.max_entries} * options.workers);
  free_.reserve(options.max_entries);
  for (std::uint32_t i = options.max_entries; i-- > 0;) free_.push_back(i);
  index_.reserve(options.max_entries);
}

std::size_t Merger::memory_bytes() const noexcept {
  // unordered_map: a node (key, value, next pointer, cached hash) per entry
  // plus one pointer per bucket.
  const std::size_t node = sizeof(std::pair<const Id, std::uint32_t>) + 2 * sizeof(void*);
  return sizeof(*this) + specs_.capacity() * sizeof(DetectorSpec) + stats_.capacity() * sizeof(DetectorMergeStats) +
         slots_.capacity() * sizeof(Slot) + views_.capacity() * sizeof(View) +
         free_.capacity() * sizeof(std::uint32_t) + index_.size() * node + index_.bucket_count() * sizeof(void*) +
         lifts_.size() * sizeof(LoggedLift) + last_.capacity() * sizeof(DynamicEntry);
}

std::uint64_t Merger::stale_ms(const DetectorSpec& s) const noexcept {
  return std::uint64_t{WindowCounter::kBuckets} * WindowCounter::bucket_width(s.window_ms);
}

std::uint32_t Merger::spec_index(std::uint64_t detector) const noexcept {
  for (std::uint32_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].definition_hash == detector) return i;
  return kNone;
}

std::uint32_t Merger::slot_for(std::uint64_t detector, std::uint64_t key, std::uint32_t spec) {
  const auto it = index_.find(Id{detector, key});
  if (it != index_.end()) return it->second;
  if (free_.empty()) return kNone;
  const std::uint32_t s = free_.back();
  free_.pop_back();
  slots_[s] = Slot{};
  slots_[s].detector = detector;
  slots_[s].key = key;
  slots_[s].spec = spec;
  std::fill_n(views(s), options_.workers, View{});
  index_.emplace(Id{detector, key}, s);
  return s;
}

void Merger::release(std::uint32_t slot) {
  index_.erase(Id{slots_[slot].detector, slots_[slot].key});
  free_.push_back(slot);
}

void Merger::set_specs(std::span<const DetectorSpec> specs) {
  check_specs(specs);
  std::vector<DetectorSpec> next(specs.begin(), specs.end());
  std::vector<DetectorMergeStats> next_stats(next.size());
  for (std::uint32_t i = 0; i < next.size(); ++i) {
    const std::uint32_t old = spec_index(next[i].definition_hash);
    if (old != kNone) next_stats[i] = stats_[old];
  }
  specs_ = std::move(next);
  stats_ = std::move(next_stats);
  std::vector<std::uint32_t> gone;
  for (const auto& [id, s] : index_) {
    const std::uint32_t spec = spec_index(id.detector);
    if (spec == kNone)
      gone.push_back(s);
    else
      slots_[s].spec = spec;
  }
  for (std::uint32_t s : gone) release(s);
  std::erase_if(last_, [this](const DynamicEntry& e) { return spec_index(e.detector) == kNone; });
}

std::size_t Merger::take(std::uint32_t worker, SpscQueue<HotKeyReport>& queue) {
  // Bounded: the worker may push while we drain.
  const std::uint32_t limit = queue.capacity();
  std::size_t n = 0;
  HotKeyReport r;
  while (n < limit && queue.try_pop(r)) {
    apply(worker, r);
    ++n;
  }
  return n;
}

void Merger::apply(std::uint32_t worker, const HotKeyReport& r) {
  const std::uint32_t spec = spec_index(r.detector);
  if (worker >= options_.workers || spec == kNone) {
    ++dropped_unknown_;
    return;
  }
  ++reports_;
  std::uint32_t s;
  const auto it = index_.find(Id{r.detector, r.key});
  if (it != index_.end()) {
    s = it->second;
  } else {
    if (r.count == 0 && r.count2 == 0 && r.level == Level::none) return;  // nothing to track
    s = slot_for(r.detector, r.key, spec);
    if (s == kNone) {
      ++dropped_full_;
      return;
    }
    slots_[s].a = r.a;
    slots_[s].b = r.b;
    slots_[s].first_seen_ms = r.time_ms;
  }
  Slot& slot = slots_[s];
  if (r.lift_seq < slot.lift_seq) {
    ++dropped_lifted_;  // counted before the worker applied the lift
    return;
  }
  views(s)[worker] = View{r.time_ms, r.count, r.count2, r.level, true};
  if (r.time_ms > slot.last_seen_ms) slot.last_seen_ms = r.time_ms;
  if (slot.first_seen_ms == 0 || r.time_ms < slot.first_seen_ms) slot.first_seen_ms = r.time_ms;
  slot.a = r.a;
  slot.b = r.b;
}

std::unique_ptr<DynamicSet> Merger::merge(std::uint64_t now_ms) {
  ++sequence_;
  for (DetectorMergeStats& st : stats_) st.active = st.hot = 0;
  std::vector<DynamicEntry> entries;
  std::vector<WorkerCount> per_worker;
  entries.reserve(index_.size());
  per_worker.reserve(index_.size() * options_.workers);
  std::vector<std::uint32_t> cold;
  for (const auto& [id, s] : index_) {
    Slot& slot = slots_[s];
    const DetectorSpec& spec = specs_[slot.spec];
    const std::uint64_t stale = stale_ms(spec);
    View* v = views(s);
    std::uint64_t g = 0, g2 = 0;
    Level reported = Level::none;
    bool any = false;
    for (std::uint32_t w = 0; w < options_.workers; ++w) {
      View& x = v[w];
      if (x.count == 0 && x.count2 == 0 && x.level == Level::none) continue;
      if (now_ms >= add_sat(x.time_ms, stale)) {
        x = View{};  // the worker stopped reporting a window ago: its counts have left the window
        continue;
      }
      g += x.count;
      g2 += x.count2;
      any = true;
      if (x.fresh) reported = max_level(reported, x.level);
      x.fresh = false;
    }
    const std::uint32_t count = clamp32(g), count2 = clamp32(g2);
    // A worker's estimate may be over where the sum is not (other workers'
    // reports aged meanwhile); it acted on that INVITE, so the key is held.
    const Level level = max_level(level_for(spec, count, count2), reported);

    if (slot.held != Level::none && now_ms >= slot.expiry_ms) slot.held = Level::none;
    if (level != Level::none) {
      if (slot.held == Level::none || level > slot.held) {
        if (slot.held == Level::none) slot.fired_ms = now_ms;
        slot.held = level;
        slot.hold_until_ms = std::max(slot.hold_until_ms, add_sat(now_ms, spec.block_for_ms));
        ++stats_[slot.spec].fires;
      }
      // Over at (at least) the held level: held until a grace after now.
      if (level >= slot.held) slot.expiry_ms = std::max(slot.hold_until_ms, add_sat(now_ms, options_.over_grace_ms));
    }
    const bool external = slot.external_until_ms > now_ms;
    if (external) {
      if (slot.held == Level::none || slot.external_level > slot.held) {
        if (slot.held == Level::none) slot.fired_ms = now_ms;
        slot.held = slot.external_level;
        ++stats_[slot.spec].fires;
      }
      slot.expiry_ms = std::max(slot.expiry_ms, slot.external_until_ms);
    }
    const bool active = slot.held != Level::none && now_ms < slot.expiry_ms;
    if (!any && !active) {
      // Cold: forget it, unless it is a recent lift whose old reports may
      // still be in flight.
      if (slot.lift_seq == 0 || now_ms >= slot.lifted_until_ms) cold.push_back(s);
      continue;
    }
    ++stats_[slot.spec].hot;
    if (active) ++stats_[slot.spec].active;
    entries.push_back(DynamicEntry{slot.detector, slot.key, slot.a, slot.b, slot.first_seen_ms, slot.last_seen_ms,
                                   active ? slot.fired_ms : 0, active ? slot.expiry_ms : 0, slot.lift_seq, count,
                                   count2, active ? slot.held : Level::none, external});
    for (std::uint32_t w = 0; w < options_.workers; ++w) per_worker.push_back({v[w].count, v[w].count2});
  }
  for (std::uint32_t s : cold) release(s);

  std::vector<LiftRecord> lifts;
  while (!lifts_.empty() && add_sat(lifts_.front().time_ms, options_.lift_log_ms) <= now_ms) lifts_.pop_front();
  lifts.reserve(lifts_.size());
  for (const LoggedLift& l : lifts_) lifts.push_back(l.lift);

  last_ = entries;
  return std::make_unique<DynamicSet>(sequence_, options_.workers, std::move(entries), std::move(per_worker),
                                      std::move(lifts), lift_seq_);
}

bool Merger::lift(std::uint64_t detector, std::uint64_t key, std::uint64_t now_ms) {
  ++lift_seq_;
  lifts_.push_back(LoggedLift{LiftRecord{detector, key, lift_seq_}, now_ms});
  while (lifts_.size() > options_.lift_log) lifts_.pop_front();
  std::erase_if(last_, [&](const DynamicEntry& e) { return e.detector == detector && e.key == key; });

  const std::uint32_t spec = spec_index(detector);
  if (spec == kNone) return false;
  const bool tracked = index_.find(Id{detector, key}) != index_.end();
  // Untracked keys get an entry too: it drops reports counted before the lift.
  const std::uint32_t s = slot_for(detector, key, spec);
  if (s == kNone) return tracked;
  Slot& slot = slots_[s];
  std::fill_n(views(s), options_.workers, View{});
  slot.held = Level::none;
  slot.fired_ms = slot.hold_until_ms = slot.expiry_ms = slot.external_until_ms = 0;
  slot.lift_seq = lift_seq_;
  slot.lifted_until_ms = add_sat(now_ms, stale_ms(specs_[spec]));
  return tracked;
}

bool Merger::hold(std::uint64_t detector, std::uint64_t key, std::uint64_t a, std::uint64_t b, Level level,
                  std::uint64_t until_ms, std::uint64_t now_ms) {
  const std::uint32_t spec = spec_index(detector);
  if (spec == kNone || level == Level::none) return false;
  const std::uint32_t s = slot_for(detector, key, spec);
  if (s == kNone) {
    ++dropped_full_;
    return false;
  }
  Slot& slot = slots_[s];
  slot.a = a;
  slot.b = b;
  if (slot.first_seen_ms == 0) slot.first_seen_ms = now_ms;
  slot.last_seen_ms = std::max(slot.last_seen_ms, now_ms);
  slot.external_level = level;
  slot.external_until_ms = until_ms;
  return true;
}

std::size_t Merger::lift_part(std::uint64_t part, std::uint64_t now_ms) {
  std::vector<Id> hits;
  for (const auto& [id, s] : index_) {
    const Slot& slot = slots_[s];
    const bool live = slot.held != Level::none || std::any_of(views(s), views(s) + options_.workers, [](const View& v) {
                        return v.count != 0 || v.count2 != 0;
                      });
    if (live && (slot.a == part || slot.b == part)) hits.push_back(id);
  }
  for (const Id& id : hits) lift(id.detector, id.key, now_ms);
  return hits.size();
}

}  // namespace sipwall::detect
