// Operator-written prefixes, ranges and numbers -> E.164 digits.
#include "rules/loader/number_text.h"

#include <gtest/gtest.h>

namespace sipwall::rules::loader {
namespace {

const number::DialPlan kChina = number::DialPlan::china();
const number::DialPlan kNanp = number::DialPlan::north_america();

TEST(NumberText, Prefixes) {
  auto p = [](const char* text, const number::DialPlan& plan = kChina) {
    const NumberText n = parse_prefix(text, plan);
    EXPECT_TRUE(n.ok) << text << ": " << n.error;
    return n.digits;
  };
  EXPECT_EQ(p("+86 10"), "8610");
  EXPECT_EQ(p("+86-(10)"), "8610");
  EXPECT_EQ(p("010"), "8610");      // national prefix
  EXPECT_EQ(p("0086 21"), "8621");  // international prefix
  EXPECT_EQ(p("138"), "86138");     // national, no prefix
  EXPECT_EQ(p("0"), "86");          // the whole country
  EXPECT_EQ(p("tel:+44"), "44");
  EXPECT_EQ(p("+1 212", kNanp), "1212");
  EXPECT_EQ(p("1 212", kNanp), "1212");
  EXPECT_EQ(p("212", kNanp), "1212");
  EXPECT_EQ(p("011 44", kNanp), "44");

  EXPECT_EQ(parse_prefix("+86 1x", kChina).error, "prefix '+86 1x': character 'x' is not a digit");
  EXPECT_EQ(parse_prefix("00", kChina).error, "prefix '00' has no digits after its prefix");
  EXPECT_EQ(parse_prefix("+1234567890123456", kChina).error,
            "prefix '+1234567890123456' is 16 digits long in E.164; at most 15 are possible");
}

TEST(NumberText, Numbers) {
  NumberText n = parse_number("+86 138-0013-8000", kChina);
  EXPECT_TRUE(n.ok);
  EXPECT_FALSE(n.short_code);
  EXPECT_EQ(n.digits, "8613800138000");
  n = parse_number("119", kChina);
  EXPECT_TRUE(n.ok);
  EXPECT_TRUE(n.short_code);
  EXPECT_EQ(n.digits, "119");
  n = parse_number("+1 (212) 555-0123", kNanp);
  EXPECT_EQ(n.digits, "12125550123");
  EXPECT_EQ(parse_number("", kChina).error, "'' does not normalise under the dial plan: it is empty");
  EXPECT_EQ(parse_number("+86 1+38", kChina).error,
            "'+86 1+38' does not normalise under the dial plan: '+' may only come first");
  EXPECT_EQ(parse_number("*21#", kChina).error,
            "'*21#' does not normalise under the dial plan: '*' or '#' make it a feature code, "
            "not a phone number");
  EXPECT_EQ(parse_number("+0123456789", kChina).error,
            "'+0123456789' does not normalise under the dial plan: its country code would start with 0");
  EXPECT_EQ(parse_number("+1 012 555 0123", kNanp).error,
            "'+1 012 555 0123' does not normalise under the dial plan: the national number "
            "'0125550123' starts with a digit the dial plan does not allow (allowed: 23456789)");
  EXPECT_EQ(parse_number("5550123", kNanp).error,
            "'5550123' does not normalise under the dial plan: it is too short (7 digits) for any "
            "rule of the dial plan");
}

TEST(NumberText, Ranges) {
  RangeText r = parse_range("+86 21 6000 0000 .. +86 21 6000 9999", kChina);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.range.first, "862160000000");
  EXPECT_EQ(r.range.last, "862160009999");
  r = parse_range("+86 21 6000 0000 - 9999", kChina);  // shorthand end
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.range.last, "862160009999");
  r = parse_range("021-6000-0000 - 021-6000-0099", kChina);  // dashes inside, " - " between
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.range.first, "862160000000");
  EXPECT_EQ(r.range.last, "862160000099");
  r = parse_range("+86 21 6000 0000..+86 21 6000 0000", kChina);  // a one-number range
  EXPECT_TRUE(r.ok) << r.error;

  EXPECT_EQ(parse_range("021-6000-0000-021-6000-0099", kChina).error,
            "range '021-6000-0000-021-6000-0099' is not 'FIRST .. LAST' (or 'FIRST - LAST')");
  EXPECT_EQ(parse_range(" .. +86 21 6000 0000", kChina).error,
            "range '.. +86 21 6000 0000' needs a number on both sides");
  r = parse_range("+86 21 6000 0000 .. 110", kChina);  // 110 as the last three digits
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.range.last, "862160000110");
  EXPECT_EQ(parse_range("+86 21 6000 0500 .. 100", kChina).error,
            "range '+86 21 6000 0500 .. 100': start +862160000500 is after end +862160000100");
  EXPECT_EQ(parse_range("+86 21 6000 0000 .. +1 212 555 0123", kChina).error,
            "range '+86 21 6000 0000 .. +1 212 555 0123': start +862160000000 has 12 digits but "
            "end +12125550123 has 11; both ends must have the same length");
}

TEST(NumberText, LooksLikeRange) {
  EXPECT_TRUE(looks_like_range("+8621 .. +8622"));
  EXPECT_TRUE(looks_like_range("+8621 - +8622"));
  EXPECT_FALSE(looks_like_range("+86-21-6000"));
  EXPECT_FALSE(looks_like_range("+86 21 6000"));
}

}  // namespace
}  // namespace sipwall::rules::loader
