#include "rules/compiled/interval_map.h"

#include <algorithm>
#include <bit>

namespace sipwall::rules {

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
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });

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
  m.starts_ = std::move(starts);
  m.values_ = std::move(values);
  m.build_index();
  return m;
}

void IntervalMap::build_index() {
  index_.clear();
  if (starts_.size() < kIndexFrom) return;
  // Spread the used key range over the buckets: the last start lands in the
  // last bucket or just below.
  const unsigned width = static_cast<unsigned>(std::bit_width(starts_.back()));
  index_shift_ = width > 10 ? width - 10 : 0;
  index_.resize(kIndexSize + 1);
  std::size_t seg = 0;
  for (std::size_t b = 0; b <= kIndexSize; ++b) {
    // Last segment whose start <= first key of bucket b (the last bucket
    // also holds every larger key: its bound is the last segment).
    const std::uint64_t first = b < kIndexSize ? static_cast<std::uint64_t>(b) << index_shift_ : ~std::uint64_t{0};
    while (seg + 1 < starts_.size() && starts_[seg + 1] <= first) ++seg;
    index_[b] = static_cast<std::uint32_t>(seg);
  }
}

bool IntervalMap::from_segments(std::vector<std::uint64_t> starts, std::vector<std::uint32_t> values,
                                std::uint32_t set_count, IntervalMap& out) {
  if (starts.size() != values.size()) return false;
  if (!starts.empty()) {
    if (starts[0] != 0) return false;
    for (std::size_t i = 1; i < starts.size(); ++i) {
      if (starts[i] <= starts[i - 1]) return false;
    }
    for (std::uint32_t v : values) {
      if (v >= set_count) return false;
    }
  }
  out = IntervalMap();
  out.starts_ = std::move(starts);
  out.values_ = std::move(values);
  out.build_index();
  return true;
}

}  // namespace sipwall::rules
