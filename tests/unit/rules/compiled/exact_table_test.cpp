#include "rules/compiled/exact_table.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rules/number/e164_key.h"

using namespace sipwall;
using rules::ExactTable;

namespace {

std::vector<number::E164Key> random_keys(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::unordered_set<number::E164Key> seen;
  std::vector<number::E164Key> keys;
  while (keys.size() < n) {
    // Chinese mobiles: 86 1xx xxxx xxxx, 13 digits.
    const std::uint64_t v = 8610000000000ULL + rng() % 1000000000000ULL;
    const number::E164Key k = number::pack(std::to_string(v));
    if (seen.insert(k).second) keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

TEST(ExactTable, EmptyTableMissesEverything) {
  const ExactTable t = ExactTable::build({}, {});
  EXPECT_EQ(t.find(number::pack("8613800138000")), 0U);
  EXPECT_EQ(t.find(0), 0U);
  EXPECT_EQ(t.size(), 0U);
}

TEST(ExactTable, RandomKeysAgainstReference) {
  for (const double load : {0.0, 0.5, 0.8, 0.95}) {
    const auto keys = random_keys(150000, 42);
    std::vector<std::uint32_t> values(keys.size());
    std::unordered_map<number::E164Key, std::uint32_t> ref;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      values[i] = static_cast<std::uint32_t>(1 + i % 7);
      ref[keys[i]] = values[i];
    }
    const ExactTable t = ExactTable::build(keys, values, load);
    ASSERT_EQ(t.size(), keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(t.find(keys[i]), values[i]) << i;
    // Misses: other random numbers, neighbours of members, other lengths.
    std::mt19937_64 rng(99);
    std::size_t misses = 0;
    for (int i = 0; i < 300000; ++i) {
      const std::uint64_t v = 8610000000000ULL + rng() % 1000000000000ULL;
      const number::E164Key k = number::pack(std::to_string(v));
      const auto it = ref.find(k);
      ASSERT_EQ(t.find(k), it == ref.end() ? 0U : it->second);
      misses += it == ref.end();
    }
    EXPECT_GT(misses, 250000U);
    for (std::size_t i = 0; i < keys.size(); i += 97) {
      const number::E164Key k = keys[i] + 1;
      const auto it = ref.find(k);
      ASSERT_EQ(t.find(k), it == ref.end() ? 0U : it->second);
      // Same digits, one more leading zero: a different key of another length.
      ASSERT_EQ(t.find(keys[i] + (std::uint64_t{1} << number::kKeyLengthShift)), 0U);
    }
    EXPECT_EQ(t.find(0), 0U);
    // Memory: the aim is <= 16 bytes per number at the default load.
    if (load == 0.0) {
      EXPECT_TRUE(t.narrow());
      EXPECT_LE(static_cast<double>(t.bytes()) / static_cast<double>(keys.size()), 13.0);
    }
  }
}

TEST(ExactTable, SpillChainsAreFollowedAndMarked) {
  // A tiny table at 95% load spills a lot; every key must still be found
  // and every spilled bucket flagged.
  const auto keys = random_keys(2000, 5);
  std::vector<std::uint32_t> values(keys.size(), 3);
  const ExactTable t = ExactTable::build(keys, values, 0.95);
  EXPECT_GT(t.spilled_buckets(), 0U);
  for (const auto k : keys) ASSERT_EQ(t.find(k), 3U);
  // Every occupied slot holds a key whose home is at or before its bucket,
  // and every bucket between home and slot is flagged.
  const auto& raw = t.raw_keys();
  for (std::size_t s = 0; s < raw.size(); ++s) {
    const std::uint64_t k = raw[s] & ExactTable::kKeyMask;
    if (k == 0) continue;
    const std::size_t home = t.home(k);
    ASSERT_LE(home, s / 8);
    for (std::size_t b = home; b < s / 8; ++b) ASSERT_TRUE(raw[b * 8] & ExactTable::kSpillBit);
  }
}

TEST(ExactTable, WideValuesWhenIdsDoNotFitTheSlot) {
  const auto keys = random_keys(20000, 13);
  std::vector<std::uint32_t> values(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) values[i] = static_cast<std::uint32_t>(1 + i);  // up to 20000
  const ExactTable t = ExactTable::build(keys, values);
  EXPECT_FALSE(t.narrow());
  EXPECT_LE(static_cast<double>(t.bytes()) / static_cast<double>(keys.size()), 16.0);
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(t.find(keys[i]), values[i]);
  std::size_t n = 0;
  t.for_each([&](number::E164Key, std::uint32_t v) { n += v != 0; });
  EXPECT_EQ(n, keys.size());
  // Narrow holds ids up to 511 in the slot itself.
  std::vector<std::uint32_t> small(keys.size(), ExactTable::kMaxNarrowValue);
  const ExactTable u = ExactTable::build(keys, small);
  EXPECT_TRUE(u.narrow());
  for (std::size_t i = 0; i < keys.size(); i += 7) ASSERT_EQ(u.find(keys[i]), ExactTable::kMaxNarrowValue);
}

TEST(ExactTable, FromRawRoundTripAndRejects) {
  const auto keys = random_keys(5000, 11);
  std::vector<std::uint32_t> values(keys.size(), 9);
  const ExactTable t = ExactTable::build(keys, values);
  ExactTable u;
  ASSERT_TRUE(ExactTable::from_raw(t.raw_keys(), t.raw_values(), t.home_buckets(), t.size(), u));
  for (const auto k : keys) ASSERT_EQ(u.find(k), 9U);
  ExactTable bad;
  std::vector<std::uint32_t> vals(t.raw_keys().size() - 1, 1);  // wide values of the wrong length
  EXPECT_FALSE(ExactTable::from_raw(t.raw_keys(), vals, t.home_buckets(), t.size(), bad));
  EXPECT_FALSE(ExactTable::from_raw(t.raw_keys(), t.raw_values(), 0, t.size(), bad));
  auto ks = t.raw_keys();
  ks[ks.size() - 8] |= ExactTable::kSpillBit;  // a probe would run off the end
  EXPECT_FALSE(ExactTable::from_raw(ks, t.raw_values(), t.home_buckets(), t.size(), bad));
}
