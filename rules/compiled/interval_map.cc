#include "rules/compiled/interval_map.h"

#include <algorithm>
#include <limits>

namespace sipwall::rules {

namespace {
constexpr std::uint64_t kPad = std::numeric_limits<std::uint64_t>::max();
}

IntervalMap IntervalMap::build(std::vector<Interval> intervals, ListSets& sets) {
  IntervalMap m;
  if (intervals.empty()) return m;

  // Sweep events: +bit at lo, -bit at hi + 1.
  struct Event {
    std::uint64_t at;
    std::uint32_t bit;
    bool open;
  };
  std::vector<Event> events;
  events.reserve(intervals.size() * 2);
  for (const Interval& iv : intervals) {
    events.push_back({iv.span.lo, iv.bit, true});
    events.push_back({iv.span.hi + 1, iv.bit, false});
  }
  intervals.clear();
  intervals.shrink_to_fit();
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.at < b.at; });

  std::vector<std::uint32_t> active(sets.bit_count(), 0);
  std::vector<std::uint64_t> words(sets.words(), 0);
  std::vector<std::uint64_t> starts{0};
  std::vector<std::uint32_t> values{0};
  std::size_t e = 0;
  while (e < events.size()) {
    const std::uint64_t at = events[e].at;
    for (; e < events.size() && events[e].at == at; ++e) {
      const std::uint32_t bit = events[e].bit;
      if (events[e].open) {
        if (active[bit]++ == 0) words[bit / 64] |= std::uint64_t{1} << (bit % 64);
      } else {
        if (--active[bit] == 0) words[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
      }
    }
    const std::uint32_t id = sets.intern(words);
    if (id == values.back()) continue;  // same set as the segment before: merge
    if (starts.back() == at) {
      values.back() = id;  // (only at 0) replace the empty first segment
    } else {
      starts.push_back(at);
      values.push_back(id);
    }
  }
  m.values_ = std::move(values);
  m.build_tree(starts);
  return m;
}

void IntervalMap::build_tree(const std::vector<std::uint64_t>& starts) {
  // Levels bottom-up: level 0 = the starts padded to a whole node; each level
  // above holds the first key of every node of the level below.
  std::vector<std::vector<std::uint64_t>> levels;
  levels.push_back(starts);
  for (;;) {
    auto& lv = levels.back();
    lv.resize((lv.size() + kFanout - 1) / kFanout * kFanout, kPad);
    if (lv.size() <= kFanout) break;
    std::vector<std::uint64_t> up;
    up.reserve(lv.size() / kFanout);
    for (std::size_t i = 0; i < lv.size(); i += kFanout) up.push_back(lv[i]);
    levels.push_back(std::move(up));
  }
  keys_.clear();
  level_offsets_.clear();
  for (std::size_t i = levels.size(); i-- > 0;) {
    level_offsets_.push_back(static_cast<std::uint32_t>(keys_.size()));
    keys_.insert(keys_.end(), levels[i].begin(), levels[i].end());
  }
}

std::vector<std::uint64_t> IntervalMap::starts() const {
  if (values_.empty()) return {};
  const auto* first = keys_.data() + level_offsets_.back();
  return std::vector<std::uint64_t>(first, first + values_.size());
}

bool IntervalMap::from_segments(const std::vector<std::uint64_t>& starts,
                                std::vector<std::uint32_t> values, std::uint32_t set_count,
                                IntervalMap& out) {
  if (starts.size() != values.size()) return false;
  if (!starts.empty()) {
    if (starts[0] != 0) return false;
    for (std::size_t i = 1; i < starts.size(); ++i) {
      if (starts[i] <= starts[i - 1] || starts[i] == kPad) return false;
    }
    for (std::uint32_t v : values) {
      if (v >= set_count) return false;
    }
  }
  out = IntervalMap();
  out.values_ = std::move(values);
  if (!out.values_.empty()) out.build_tree(starts);
  return true;
}

}  // namespace sipwall::rules
