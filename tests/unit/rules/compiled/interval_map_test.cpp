#include "rules/compiled/interval_map.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "rules/compiled/digit_order.h"
#include "rules/number/e164_key.h"

using namespace sipwall::rules;

namespace {

std::set<std::uint32_t> lists_of(const IntervalMap& m, const ListSets& sets, const std::string& digits) {
  const std::uint32_t id = m.find(order_key(digits));
  const auto bits = sets.bits_of(id);
  return {bits.begin(), bits.end()};
}

}  // namespace

TEST(IntervalMap, EmptyMapFindsNothing) {
  ListSets sets(3);
  const IntervalMap m = IntervalMap::build({}, sets);
  EXPECT_EQ(m.find(order_key("8613800138000")), 0U);
}

TEST(IntervalMap, NestedPrefixesGiveTheUnion) {
  ListSets sets(4);
  std::vector<IntervalMap::Interval> iv = {
      {prefix_interval("86"), 0},
      {prefix_interval("86138"), 1},
      {prefix_interval("861380013"), 2},
      {prefix_interval("8613800138"), 3},
  };
  const IntervalMap m = IntervalMap::build(iv, sets);
  EXPECT_EQ(lists_of(m, sets, "8613800138500"), (std::set<std::uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(lists_of(m, sets, "8613800139000"), (std::set<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(lists_of(m, sets, "8613812345678"), (std::set<std::uint32_t>{0, 1}));
  EXPECT_EQ(lists_of(m, sets, "8610000000000"), (std::set<std::uint32_t>{0}));
  EXPECT_EQ(lists_of(m, sets, "14155550100"), (std::set<std::uint32_t>{}));
  EXPECT_EQ(lists_of(m, sets, "8"), (std::set<std::uint32_t>{}));  // shorter than every prefix
  // The same prefix in two lists: one segment, both bits.
  ListSets sets2(2);
  const IntervalMap m2 = IntervalMap::build({{prefix_interval("44"), 0}, {prefix_interval("44"), 1}}, sets2);
  EXPECT_EQ(lists_of(m2, sets2, "442079460000"), (std::set<std::uint32_t>{0, 1}));
}

TEST(IntervalMap, RandomPrefixesAndRangesAgainstBruteForce) {
  std::mt19937_64 rng(2024);
  auto digits = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
    return s;
  };
  const std::uint32_t kLists = 70;  // more than one bitset word
  // Prefixes over digit order.
  {
    ListSets sets(kLists);
    std::vector<std::pair<std::string, std::uint32_t>> entries;
    std::vector<IntervalMap::Interval> iv;
    for (int i = 0; i < 1500; ++i) {
      const std::uint32_t bit = static_cast<std::uint32_t>(rng() % kLists);
      const std::string p = "4" + digits(1 + rng() % 5);
      entries.push_back({p, bit});
      iv.push_back({prefix_interval(p), bit});
    }
    const IntervalMap m = IntervalMap::build(iv, sets);
    EXPECT_GT(m.segments(), 500U);
    for (int probe = 0; probe < 20000; ++probe) {
      const std::string s = "4" + digits(rng() % 10);
      std::set<std::uint32_t> want;
      for (const auto& [p, bit] : entries) {
        if (s.compare(0, p.size(), p) == 0) want.insert(bit);
      }
      ASSERT_EQ(lists_of(m, sets, s), want) << s;
    }
  }
  // Ranges over packed E.164 keys: same length, inclusive, overlapping freely.
  {
    ListSets sets(kLists);
    struct Range {
      std::string a, b;
      std::uint32_t bit;
    };
    std::vector<Range> entries;
    std::vector<IntervalMap::Interval> iv;
    for (int i = 0; i < 1500; ++i) {
      const std::uint32_t bit = static_cast<std::uint32_t>(rng() % kLists);
      const std::size_t n = 3 + rng() % 5;
      std::string a = "4" + digits(n), b = "4" + digits(n);
      if (a > b) std::swap(a, b);
      entries.push_back({a, b, bit});
      iv.push_back({{sipwall::number::pack(a), sipwall::number::pack(b)}, bit});
    }
    const IntervalMap m = IntervalMap::build(iv, sets);
    EXPECT_GT(m.segments(), 500U);
    for (int probe = 0; probe < 20000; ++probe) {
      const std::string s = "4" + digits(2 + rng() % 7);
      std::set<std::uint32_t> want;
      for (const Range& r : entries) {
        if (s.size() == r.a.size() && s >= r.a && s <= r.b) want.insert(r.bit);
      }
      const auto got = sets.bits_of(m.find(sipwall::number::pack(s)));
      ASSERT_EQ(std::set<std::uint32_t>(got.begin(), got.end()), want) << s;
    }
  }
}

TEST(IntervalMap, RangeEdgeCases) {
  using sipwall::number::pack;
  ListSets sets(3);
  const IntervalMap m = IntervalMap::build({{{pack("0000"), pack("9999")}, 0},  // every 4-digit string
                                            {{pack("8613800138000"), pack("8613800138000")}, 1},  // a single number
                                            {{pack("8621600000"), pack("8621600099")}, 2}},
                                           sets);
  auto has = [&](const std::string& s, std::uint32_t bit) { return sets.test(m.find(pack(s)), bit); };
  EXPECT_TRUE(has("0000", 0));
  EXPECT_TRUE(has("5678", 0));
  EXPECT_TRUE(has("9999", 0));
  EXPECT_FALSE(has("999", 0));  // other lengths are outside
  EXPECT_FALSE(has("00000", 0));
  EXPECT_TRUE(has("8613800138000", 1));
  EXPECT_FALSE(has("8613800138001", 1));
  EXPECT_FALSE(has("8613800137999", 1));
  EXPECT_FALSE(has("86138001380001", 1));  // an extension is a longer number: not in the range
  EXPECT_TRUE(has("8621600042", 2));
  EXPECT_FALSE(has("8621600100", 2));
  EXPECT_FALSE(has("86216000", 2));  // the shared stem is not in the range
}

TEST(IntervalMap, FromSegmentsRebuildsTheSameMap) {
  ListSets sets(2);
  const IntervalMap m =
      IntervalMap::build({{prefix_interval("1"), 0}, {prefix_interval("1212"), 1}, {prefix_interval("33"), 1}}, sets);
  IntervalMap u;
  ASSERT_TRUE(IntervalMap::from_segments(m.starts(), m.raw_values(), sets.count(), u));
  for (const char* s : {"1", "12125550100", "1313", "33", "3", "2", "999"}) {
    EXPECT_EQ(u.find(order_key(s)), m.find(order_key(s))) << s;
  }
  auto starts = m.starts();
  std::swap(starts[1], starts[2]);
  EXPECT_FALSE(IntervalMap::from_segments(starts, m.raw_values(), sets.count(), u));
  EXPECT_FALSE(IntervalMap::from_segments(m.starts(), m.raw_values(), 1, u));  // ids out of range
}

TEST(ListSets, InternDeduplicatesCombinations) {
  ListSets sets(130);
  std::vector<std::uint64_t> w(sets.words(), 0);
  w[0] = 5;
  w[2] = 1;
  const auto a = sets.intern(w);
  const auto b = sets.intern(w);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, 0U);
  EXPECT_TRUE(sets.test(a, 0));
  EXPECT_FALSE(sets.test(a, 1));
  EXPECT_TRUE(sets.test(a, 2));
  EXPECT_TRUE(sets.test(a, 128));
  EXPECT_FALSE(sets.test(a, 129));
  EXPECT_FALSE(sets.test(a, 5000));  // beyond the width: false, not a read past the end
  EXPECT_EQ(sets.bits_of(a), (std::vector<std::uint32_t>{0, 2, 128}));
  EXPECT_TRUE(sets.empty(0));
  EXPECT_EQ(sets.count(), 2U);
}
