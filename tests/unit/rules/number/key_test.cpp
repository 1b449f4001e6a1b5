// The packed E.164 key: layout, round trips, uniqueness (leading zeros and
// short codes included), and rejection of what is not a digit string.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_set>

#include "rules/number/e164_key.h"
#include "rules/number/normalize.h"

namespace sipwall::number {
namespace {

static_assert(pack("1") == ((std::uint64_t{1} << 50) | 1));
static_assert(pack("") == kNoNumber);
static_assert(key_length(pack("8613800138000")) == 13);
static_assert(key_value(pack("8613800138000")) == 8613800138000ull);
static_assert(key_valid(pack("999999999999999")));

TEST(NumberKey, Layout) {
  EXPECT_EQ(pack("0"), std::uint64_t{1} << 50);
  EXPECT_EQ(pack("8613800138000"), (std::uint64_t{13} << 50) | 8613800138000ull);
  EXPECT_EQ(key_length(pack("999999999999999")), 15);
  EXPECT_EQ(key_value(pack("999999999999999")), 999999999999999ull);
  EXPECT_EQ(pack("999999999999999") >> 54, 0u);  // count fits in bits 50..53
}

TEST(NumberKey, RejectsNonDigitStrings) {
  EXPECT_EQ(pack(""), kNoNumber);
  EXPECT_EQ(pack("1234567890123456"), kNoNumber);  // 16 digits
  EXPECT_EQ(pack("12a"), kNoNumber);
  EXPECT_EQ(pack("+86"), kNoNumber);
  EXPECT_EQ(pack(std::string_view("1\0"
                                  "2",
                                  3)),
            kNoNumber);
  EXPECT_EQ(pack("/"), kNoNumber);  // '0' - 1
  EXPECT_EQ(pack(":"), kNoNumber);  // '9' + 1
}

TEST(NumberKey, LeadingZerosAndShortCodesAreDistinct) {
  EXPECT_NE(pack("110"), pack("0110"));
  EXPECT_NE(pack("0"), pack("00"));
  EXPECT_NE(pack("1"), pack("01"));
  EXPECT_NE(pack("911"), pack("1911"));
  // Short codes are shorter than any E.164 number, so never share a key.
  const DialPlan cn = DialPlan::china();
  for (unsigned i = 0; i < cn.short_code_count; ++i)
    EXPECT_LT(key_length(pack(cn.short_codes[i].view())), kMinE164Digits);
}

TEST(NumberKey, AllStringsUpToFiveDigitsAreUnique) {
  std::unordered_set<E164Key> keys;
  std::size_t strings = 0;
  for (unsigned len = 1; len <= 5; ++len) {
    unsigned limit = 1;
    for (unsigned i = 0; i < len; ++i) limit *= 10;
    for (unsigned v = 0; v < limit; ++v) {
      std::string s = std::to_string(v);
      s.insert(0, len - s.size(), '0');
      const E164Key k = pack(s);
      ASSERT_NE(k, kNoNumber);
      keys.insert(k);
      ++strings;
      DigitString back;
      ASSERT_TRUE(unpack(k, &back));
      ASSERT_EQ(back.view(), s);
    }
  }
  EXPECT_EQ(strings, 111110u);
  EXPECT_EQ(keys.size(), strings);
}

TEST(NumberKey, RandomRoundTrips) {
  std::mt19937_64 rng(20240601);
  std::unordered_set<std::string> seen;
  std::unordered_set<E164Key> keys;
  for (int i = 0; i < 200000; ++i) {
    const unsigned len = 1 + rng() % kMaxDigits;
    std::string s;
    for (unsigned j = 0; j < len; ++j) s += static_cast<char>('0' + rng() % 10);
    const E164Key k = pack(s);
    ASSERT_TRUE(key_valid(k)) << s;
    ASSERT_EQ(key_length(k), len);
    DigitString back;
    ASSERT_TRUE(unpack(k, &back));
    ASSERT_EQ(back.view(), s);
    if (seen.insert(s).second) keys.insert(k);
  }
  EXPECT_EQ(keys.size(), seen.size());
}

TEST(NumberKey, InvalidKeys) {
  DigitString out;
  out.assign("123");
  EXPECT_FALSE(key_valid(kNoNumber));
  EXPECT_FALSE(unpack(kNoNumber, &out));
  EXPECT_EQ(out.len, 0);                                            // cleared
  EXPECT_FALSE(key_valid(42));                                      // count 0
  EXPECT_FALSE(key_valid(std::uint64_t{16} << 50));                 // count 16 (bit 54)
  EXPECT_FALSE(key_valid((std::uint64_t{1} << 50) | 10));           // 1 digit, value 10
  EXPECT_FALSE(key_valid((std::uint64_t{3} << 50) | 1000));         // 3 digits, value 1000
  EXPECT_FALSE(key_valid(pack("123") | (std::uint64_t{1} << 60)));  // stray bit
  EXPECT_TRUE(key_valid((std::uint64_t{3} << 50) | 999));
}

TEST(NumberKey, NumberKeyMatchesPack) {
  const DialPlan cn = DialPlan::china();
  const Number n = normalize("13800138000", "", cn);
  EXPECT_EQ(n.key, pack("8613800138000"));
  const Number sc = normalize("110", "", cn);
  EXPECT_EQ(sc.key, pack("110"));
  EXPECT_EQ(normalize("alice", "", cn).key, kNoNumber);
}

}  // namespace
}  // namespace sipwall::number
