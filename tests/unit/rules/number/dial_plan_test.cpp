// DialPlan: presets, the loader helpers, and valid() naming the bad field.
#include "rules/number/dial_plan.h"

#include <gtest/gtest.h>

#include <string>

#include "rules/number/normalize.h"
#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number {
namespace {

TEST(DialPlan, PresetsAreValid) {
  std::string why;
  EXPECT_TRUE(DialPlan::china().valid(&why)) << why;
  EXPECT_TRUE(DialPlan::north_america().valid(&why)) << why;
  const DialPlan cn = DialPlan::china();
  EXPECT_EQ(cn.country_code.view(), "86");
  EXPECT_EQ(cn.international_prefix.view(), "00");
  EXPECT_EQ(cn.national_prefix.view(), "0");
  EXPECT_EQ(cn.short_code_count, 5);
  const DialPlan na = DialPlan::north_america();
  EXPECT_EQ(na.country_code.view(), "1");
  EXPECT_EQ(na.international_prefix.view(), "011");
  EXPECT_EQ(na.national_prefix.view(), "1");
  EXPECT_EQ(na.min_national_length, 10);
  EXPECT_EQ(na.max_national_length, 10);
}

TEST(DialPlan, PresetByName) {
  DialPlan p;
  ASSERT_TRUE(DialPlan::preset("china", &p));
  EXPECT_TRUE(p == DialPlan::china());
  ASSERT_TRUE(DialPlan::preset("north_america", &p));
  EXPECT_TRUE(p == DialPlan::north_america());
  EXPECT_FALSE(p == DialPlan::china());
  EXPECT_FALSE(DialPlan::preset("China", &p));
  EXPECT_FALSE(DialPlan::preset("uk", &p));
  EXPECT_TRUE(p == DialPlan::north_america());  // unchanged on failure
}

TEST(DialPlan, EqualityIgnoresUnusedSlots) {
  DialPlan a = DialPlan::china();
  DialPlan b = DialPlan::china();
  b.short_codes[kMaxShortCodes - 1].assign("999");  // beyond short_code_count
  EXPECT_TRUE(a == b);
  b.short_codes[0].assign("999");
  EXPECT_FALSE(a == b);
}

TEST(DialPlan, DigitStringAssign) {
  DigitString d;
  EXPECT_TRUE(d.assign("0123"));
  EXPECT_EQ(d.view(), "0123");
  EXPECT_FALSE(d.assign("12a"));
  EXPECT_EQ(d.len, 0);
  EXPECT_FALSE(d.assign("1234567890123456"));
  EXPECT_TRUE(d.assign("123456789012345"));
  EXPECT_TRUE(d.assign(""));
  EXPECT_TRUE(d.empty());
  d.assign("12");
  EXPECT_EQ(d.d[2], '\0');
  DigitString bad;
  bad.len = 200;
  EXPECT_FALSE(bad.well_formed());
}

TEST(DialPlan, Helpers) {
  DialPlan p;
  EXPECT_TRUE(p.add_local_pattern("7", 10));
  EXPECT_TRUE(p.add_local_pattern("", 9));
  EXPECT_FALSE(p.add_local_pattern("12345", 4));  // lead longer than length
  EXPECT_FALSE(p.add_local_pattern("7x", 10));
  EXPECT_FALSE(p.add_local_pattern("7", 0));
  EXPECT_FALSE(p.add_local_pattern("7", 16));
  EXPECT_EQ(p.local_pattern_count, 2);
  for (unsigned i = 2; i < kMaxLocalPatterns; ++i) EXPECT_TRUE(p.add_local_pattern("7", 10));
  EXPECT_FALSE(p.add_local_pattern("7", 10));  // full

  EXPECT_TRUE(p.add_short_code("999"));
  EXPECT_TRUE(p.add_short_code("123456"));
  EXPECT_FALSE(p.add_short_code("1234567"));  // as long as an E.164 number
  EXPECT_FALSE(p.add_short_code(""));
  EXPECT_FALSE(p.add_short_code("11a"));
  EXPECT_EQ(p.short_code_count, 2);

  EXPECT_TRUE(p.set_national_first_digits("23456789"));
  EXPECT_EQ(p.national_first_digits, 0x3FC);
  EXPECT_FALSE(p.set_national_first_digits("2-9"));
  EXPECT_FALSE(p.set_national_first_digits(""));
  EXPECT_EQ(p.national_first_digits, 0x3FC);
}

// A plan built field by field, as the YAML loader does: United Kingdom.
DialPlan uk() {
  DialPlan p;
  p.country_code.assign("44");
  p.international_prefix.assign("00");
  p.national_prefix.assign("0");
  p.min_national_length = 9;
  p.max_national_length = 10;
  p.set_national_first_digits("123456789");
  p.add_short_code("999");
  p.add_short_code("112");
  p.add_short_code("111");
  return p;
}

TEST(DialPlan, CustomPlanNormalises) {
  const DialPlan p = uk();
  std::string why;
  ASSERT_TRUE(p.valid(&why)) << why;
  testing::run_cases(p, {
                            {"07911123456", "", "e164 +447911123456"},
                            {"020 7946 0000", "", "e164 +442079460000"},
                            {"+44 20 7946 0000", "", "e164 +442079460000"},
                            {"00861380013800", "", "e164 +861380013800"},
                            {"999", "", "short_code 999"},
                            {"7911123456", "", "invalid unrecognised"},  // no local patterns: the 0 is required
                            {"79460000", "", "invalid too_short"},
                        });
}

struct BadPlan {
  const char* name;
  void (*mutate)(DialPlan&);
  const char* field;  // must appear in the message
};

TEST(DialPlan, ValidNamesTheField) {
  const BadPlan cases[] = {
      {"empty country code", [](DialPlan& p) { p.country_code.assign(""); }, "country_code"},
      {"country code 0", [](DialPlan& p) { p.country_code.assign("0"); }, "country_code"},
      {"4-digit country code", [](DialPlan& p) { p.country_code.assign("8612"); }, "country_code"},
      {"no intl prefix", [](DialPlan& p) { p.international_prefix.assign(""); }, "international_prefix"},
      {"long intl prefix", [](DialPlan& p) { p.international_prefix.assign("0000000"); }, "international_prefix"},
      {"long national prefix", [](DialPlan& p) { p.national_prefix.assign("1111111"); }, "national_prefix"},
      {"national == intl", [](DialPlan& p) { p.national_prefix.assign("00"); }, "national_prefix"},
      {"national after intl",
       [](DialPlan& p) {
         p.international_prefix.assign("0");
         p.national_prefix.assign("00");
       },
       "national_prefix"},
      {"min 0", [](DialPlan& p) { p.min_national_length = 0; }, "national_number_length"},
      {"min > max", [](DialPlan& p) { p.min_national_length = 12; }, "national_number_length"},
      {"too long", [](DialPlan& p) { p.max_national_length = 14; }, "national_number_length"},
      {"shorter than E.164",
       [](DialPlan& p) {
         p.min_national_length = 4;
         p.local_pattern_count = 0;
       },
       "national_number_length"},
      {"no first digits", [](DialPlan& p) { p.national_first_digits = 0; }, "national_number_first_digits"},
      {"stray first-digit bits", [](DialPlan& p) { p.national_first_digits = 0x7FF; }, "national_number_first_digits"},
      {"pattern length outside bounds", [](DialPlan& p) { p.local_patterns[0].length = 12; }, "local_patterns[0]"},
      {"pattern behind national prefix",
       [](DialPlan& p) {
         p.national_first_digits = 0x3FF;
         p.add_local_pattern("01", 11);
       },
       "could never apply"},
      {"pattern lead excluded", [](DialPlan& p) { p.add_local_pattern("5", 11); }, "local_patterns[9]"},
      {"duplicate pattern", [](DialPlan& p) { p.add_local_pattern("13", 11); }, "local_patterns[9]"},
      {"pattern count", [](DialPlan& p) { p.local_pattern_count = kMaxLocalPatterns + 1; }, "local_patterns"},
      {"duplicate short code", [](DialPlan& p) { p.add_short_code("110"); }, "short_codes[5]"},
      {"7-digit short code", [](DialPlan& p) { p.short_codes[0].assign("1234567"); }, "short_codes[0]"},
      {"short code count", [](DialPlan& p) { p.short_code_count = kMaxShortCodes + 1; }, "short_codes"},
      {"non-digit bytes", [](DialPlan& p) { p.country_code.d[0] = 'x'; }, "country code"},
  };
  for (const BadPlan& c : cases) {
    SCOPED_TRACE(c.name);
    DialPlan p = DialPlan::china();
    p.national_first_digits = 0x3FE & ~(1u << 5);  // lets "5" be an excluded lead
    ASSERT_TRUE(p.valid(nullptr));
    c.mutate(p);
    std::string why;
    EXPECT_FALSE(p.valid(&why));
    EXPECT_FALSE(p.valid(nullptr));
    EXPECT_NE(why.find(c.field), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace sipwall::number
