// What is and is not a number, whatever the plan: names, escapes, stray
// characters, '+' placement, garbage bytes.
#include <string>

#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

const DialPlan kChina = DialPlan::china();
const DialPlan kNanp = DialPlan::north_america();

TEST(NumberSyntax, NotANumber) {
  for (const DialPlan* plan : {&kChina, &kNanp}) {
    run_cases(*plan, {
                         {"alice", "", "not_a_number not_numeric"},
                         {"anonymous", "", "not_a_number not_numeric"},
                         {"Anonymous", "", "not_a_number not_numeric"},
                         {"ANONYMOUS", "", "not_a_number not_numeric"},
                         {"unknown", "", "not_a_number not_numeric"},
                         {"restricted", "", "not_a_number not_numeric"},
                         {"user123", "", "not_a_number not_numeric"},
                         {"123abc", "", "not_a_number not_numeric"},
                         {"+86138abc00138000", "", "not_a_number not_numeric"},
                         {"13800138000x", "", "not_a_number not_numeric"},
                         {"%41lice", "", "not_a_number not_numeric"},     // escaped letter
                         {"138%3B0013", "", "not_a_number not_numeric"},  // escaped ';' is a character
                         {"138%250013", "", "not_a_number not_numeric"},  // escaped '%' is not re-decoded
                         {"138_0013", "", "not_a_number not_numeric"},
                         {"138/0013", "", "not_a_number not_numeric"},
                         {"13800138000\t", "", "not_a_number not_numeric"},
                         {"alice", "+86", "not_a_number not_numeric"},
                         // Letters decide even after more digits than any number has.
                         {"1234567890123456789012345678901234567890abc", "", "not_a_number not_numeric"},
                     });
  }
}

TEST(NumberSyntax, GarbageBytes) {
  const std::string with_nul(
      "138\0"
      "0013",
      8);
  const std::string high("\xff\xfe\x80", 3);
  const std::string ctrl("\x01\x02", 2);
  for (const DialPlan* plan : {&kChina, &kNanp}) {
    run_cases(*plan, {
                         {with_nul, "", "not_a_number not_numeric"},
                         {high, "", "not_a_number not_numeric"},
                         {ctrl, "", "not_a_number not_numeric"},
                         {"138%00", "", "not_a_number not_numeric"},
                         {"%FF", "", "not_a_number not_numeric"},
                     });
  }
}

TEST(NumberSyntax, Absent) {
  run_cases(kChina, {
                        {"", "", "absent empty"},
                        {";phone-context=+86", "", "absent empty"},
                        {"", "+86", "absent empty"},
                    });
}

TEST(NumberSyntax, NoDigits) {
  run_cases(kChina, {
                        {"+", "", "invalid no_digits"},
                        {"---", "", "invalid no_digits"},
                        {"()", "", "invalid no_digits"},
                        {" ", "", "invalid no_digits"},
                        {"%2B", "", "invalid no_digits"},
                        {"-;13800138000", "", "invalid no_digits"},  // the number ends at ';'
                    });
}

TEST(NumberSyntax, Plus) {
  run_cases(kChina, {
                        {"++8613800138000", "", "invalid misplaced_plus"},
                        {"86+13800138000", "", "invalid misplaced_plus"},
                        {"+86+138", "", "invalid misplaced_plus"},
                        {"13800138000+", "", "invalid misplaced_plus"},
                        {"+%2B86", "", "invalid misplaced_plus"},
                        {"(+86) 13800138000", "", "e164 +8613800138000"},  // separators before '+' are fine
                    });
}

TEST(NumberSyntax, Escapes) {
  run_cases(kChina, {
                        {"138%", "", "invalid bad_escape"},
                        {"138%2", "", "invalid bad_escape"},
                        {"%zz138", "", "invalid bad_escape"},
                        {"%G0", "", "invalid bad_escape"},
                        {"%2", "", "invalid bad_escape"},
                        {"%", "", "invalid bad_escape"},
                        {"1%2G", "", "invalid bad_escape"},
                        {"1%-2", "", "invalid bad_escape"},
                        {"%2D%28%29%2E138%200013%208000", "", "e164 +8613800138000"},  // escaped separators
                        // The first offending item decides.
                        {"a%zz", "", "not_a_number not_numeric"},
                        {"1%zza", "", "invalid bad_escape"},
                    });
}

TEST(NumberSyntax, StarAndHash) {
  run_cases(kNanp, {
                       {"*672125551234", "", "invalid star_or_hash"},
                       {"#31#2125551234", "", "invalid star_or_hash"},
                       {"%2A67", "", "invalid star_or_hash"},
                       {"%2367", "", "invalid star_or_hash"},
                   });
}

TEST(NumberSyntax, ParametersAreIgnored) {
  run_cases(kChina, {
                        {"13800138000;foo=bar", "", "e164 +8613800138000"},
                        {"+8613800138000;npdi;rn=+8613900000000", "", "e164 +8613800138000"},
                        {"12345678;phone-context=+86-10", "", "invalid too_short"},  // pass the context separately
                    });
}

TEST(NumberSyntax, TextSurvivesCopies) {
  Number copy;
  {
    Number original = normalize("13800138000", "", kChina);
    copy = original;
    original = Number{};
  }
  EXPECT_EQ(copy.text(), "+8613800138000");
  EXPECT_GE(copy.text().data(), reinterpret_cast<const char*>(&copy));
  EXPECT_LT(copy.text().data(), reinterpret_cast<const char*>(&copy + 1));
}

TEST(NumberSyntax, ToString) {
  EXPECT_EQ(to_string(NumberKind::e164), "e164");
  EXPECT_EQ(to_string(NumberKind::short_code), "short_code");
  EXPECT_EQ(to_string(NumberKind::not_a_number), "not_a_number");
  EXPECT_EQ(to_string(NumberKind::invalid), "invalid");
  EXPECT_EQ(to_string(NumberKind::absent), "absent");
  EXPECT_EQ(to_string(Reason::bad_national_length), "bad_national_length");
  EXPECT_EQ(to_string(Reason::bad_context), "bad_context");
  EXPECT_EQ(to_string(static_cast<Reason>(200)), "unknown");
}

}  // namespace
}  // namespace sipwall::number::testing
