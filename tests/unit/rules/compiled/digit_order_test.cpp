#include "rules/compiled/digit_order.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace sipwall::rules;

namespace {

bool in(const OrderInterval& iv, const std::string& digits) {
  const std::uint64_t k = order_key(digits);
  return k >= iv.lo && k <= iv.hi;
}

}  // namespace

TEST(DigitOrder, SameLengthOrderIsPreserved) {
  EXPECT_LT(order_key("8613800138000"), order_key("8613800138001"));
  EXPECT_LT(order_key("0999"), order_key("1000"));
  EXPECT_LT(order_key("86"), order_key("860"));  // a prefix sorts before its extensions
  EXPECT_LT(order_key("869"), order_key("87"));
  EXPECT_LT(order_key("999999999999999"), kOrderKeyEnd);
}

TEST(DigitOrder, PrefixIntervalHoldsExactlyTheExtensions) {
  const OrderInterval iv = prefix_interval("8613");
  EXPECT_TRUE(in(iv, "8613"));
  EXPECT_TRUE(in(iv, "8613800138000"));
  EXPECT_TRUE(in(iv, "861399999999999"));
  EXPECT_FALSE(in(iv, "861"));  // shorter than the prefix
  EXPECT_FALSE(in(iv, "86"));
  EXPECT_FALSE(in(iv, "8614"));
  EXPECT_FALSE(in(iv, "8612999999"));
  const OrderInterval zero = prefix_interval("0");
  EXPECT_TRUE(in(zero, "0"));
  EXPECT_TRUE(in(zero, "000000000000000"));
  EXPECT_FALSE(in(zero, "1"));
}

TEST(DigitOrder, RandomPrefixMembershipMatchesStartsWith) {
  std::mt19937_64 rng(7);
  auto digits = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 3);  // few digits: many hits
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    const std::string p = digits(1 + rng() % 6);
    const std::string s = digits(1 + rng() % 15);
    EXPECT_EQ(in(prefix_interval(p), s), s.compare(0, p.size(), p) == 0) << p << " " << s;
  }
}

TEST(DigitOrder, DigitStrings) {
  EXPECT_TRUE(is_digit_string("0"));
  EXPECT_TRUE(is_digit_string("123456789012345"));
  EXPECT_FALSE(is_digit_string("1234567890123456"));
  EXPECT_FALSE(is_digit_string(""));
  EXPECT_FALSE(is_digit_string("+86"));
  EXPECT_FALSE(is_digit_string("86a"));
}

// order_key() takes a two-words-at-a-time path for 8 or more digits; it must
// give exactly the Horner key of the definition (digit_order.h), at every
// length, for every digit in every position.
TEST(DigitOrder, KeyEqualsTheDefinitionAtEveryLength) {
  auto reference = [](const std::string& d) {
    const std::size_t n = d.size() < 15 ? d.size() : 15;
    std::uint64_t k = 0;
    for (std::size_t i = 0; i < 15; ++i) {
      k = k * 11 + (i < n ? static_cast<std::uint64_t>(d[i] - '0' + 1) : 0);
    }
    return k;
  };
  std::mt19937_64 rng(7);
  for (std::size_t len = 1; len <= 17; ++len) {
    for (int digit = 0; digit <= 9; ++digit) {
      EXPECT_EQ(order_key(std::string(len, static_cast<char>('0' + digit))),
                reference(std::string(len, static_cast<char>('0' + digit))))
          << len << " x " << digit;
    }
    for (int i = 0; i < 2000; ++i) {
      std::string d(len, '0');
      for (char& c : d) c = static_cast<char>('0' + rng() % 10);
      ASSERT_EQ(order_key(d), reference(d)) << d;
    }
  }
  // A view into a longer buffer reads nothing past its end that matters.
  const std::string buf = "86138001380009999";
  EXPECT_EQ(order_key(std::string_view(buf).substr(0, 11)), reference(buf.substr(0, 11)));
  EXPECT_EQ(order_key("999999999999999"), kOrderKeyEnd - 1);
}
