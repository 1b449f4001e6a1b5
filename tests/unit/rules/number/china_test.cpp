// The China plan (86 / 00 / 0): every written form of mobiles, fixed lines,
// service numbers, international numbers, and what it must refuse.
#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

const DialPlan kChina = DialPlan::china();

TEST(NumberChina, Mobiles) {
  run_cases(kChina, {
                        {"13800138000", "", "e164 +8613800138000"},
                        {"+8613800138000", "", "e164 +8613800138000"},
                        {"008613800138000", "", "e164 +8613800138000"},
                        {"013800138000", "", "e164 +8613800138000"},   // trunk 0 before a mobile (from a landline)
                        {"8613800138000", "", "e164 +8613800138000"},  // country code without '+'
                        {"138-0013-8000", "", "e164 +8613800138000"},
                        {"+86-138-0013-8000", "", "e164 +8613800138000"},
                        {"(+86)138.0013.8000", "", "e164 +8613800138000"},
                        {"%2B8613800138000", "", "e164 +8613800138000"},
                        {"%2b86-138-0013-8000", "", "e164 +8613800138000"},
                        {"138%200013%208000", "", "e164 +8613800138000"},  // %20 is a separator
                        {"+86 138 0013 8000", "", "e164 +8613800138000"},  // so is a raw space
                        {"%31%33%38%30%30%31%33%38%30%30%30", "", "e164 +8613800138000"},
                        {"19912345678", "", "e164 +8619912345678"},
                        {"14512345678", "", "e164 +8614512345678"},
                    });
}

TEST(NumberChina, FixedLines) {
  run_cases(kChina, {
                        {"01012345678", "", "e164 +861012345678"},
                        {"010-12345678", "", "e164 +861012345678"},
                        {"(010) 1234 5678", "", "e164 +861012345678"},
                        {"075512345678", "", "e164 +8675512345678"},
                        {"0755-1234-5678", "", "e164 +8675512345678"},
                        {"07551234567", "", "e164 +867551234567"},  // 3-digit area, 7-digit local
                        {"+861012345678", "", "e164 +861012345678"},
                        {"+86 755 1234 5678", "", "e164 +8675512345678"},
                        {"00861012345678", "", "e164 +861012345678"},
                        {"861012345678", "", "e164 +861012345678"},
                        {"8675512345678", "", "e164 +8675512345678"},
                    });
}

TEST(NumberChina, ServiceNumbersWithoutPrefix) {
  run_cases(kChina, {
                        {"4008123123", "", "e164 +864008123123"},
                        {"400-812-3123", "", "e164 +864008123123"},
                        {"8008101234", "", "e164 +868008101234"},
                        {"+864008123123", "", "e164 +864008123123"},
                    });
}

TEST(NumberChina, ShortCodes) {
  run_cases(kChina, {
                        {"110", "", "short_code 110"},
                        {"112", "", "short_code 112"},
                        {"119", "", "short_code 119"},
                        {"120", "", "short_code 120"},
                        {"122", "", "short_code 122"},
                        {"1-1-0", "", "short_code 110"},
                        {"%31%31%30", "", "short_code 110"},
                        {"911", "", "invalid too_short"},  // not China's
                        {"+86110", "", "invalid bad_national_length"},
                        {"0086110", "", "invalid bad_national_length"},
                        {"+110", "", "invalid too_short"},
                        {"1100", "", "invalid too_short"},
                        {"10086", "", "invalid too_short"},  // not mapped by the preset
                    });
}

TEST(NumberChina, International) {
  run_cases(kChina, {
                        {"00447911123456", "", "e164 +447911123456"},
                        {"+447911123456", "", "e164 +447911123456"},
                        {"0012125551234", "", "e164 +12125551234"},
                        {"+1 (212) 555-1234", "", "e164 +12125551234"},
                        {"+85221234567", "", "e164 +85221234567"},  // Hong Kong is not +86
                        {"+1234567", "", "e164 +1234567"},          // shortest E.164: 7 digits
                        {"+123456", "", "invalid too_short"},
                        {"+123456789012345", "", "e164 +123456789012345"},
                        {"00123456789012345", "", "e164 +123456789012345"},
                        {"+1234567890123456", "", "invalid too_long"},
                        {"001234567890123456", "", "invalid too_long"},
                        {"+0123456789", "", "invalid bad_country_code"},
                        {"000123456789", "", "invalid bad_country_code"},
                        {"00", "", "invalid too_short"},
                    });
}

TEST(NumberChina, NationalRulesOnPlus86) {
  run_cases(kChina, {
                        {"+860755 12345678", "", "invalid bad_national_number"},  // "+86 (0)755": no trunk 0 after +86
                        {"+86 (0)755 1234 5678", "", "invalid bad_national_number"},
                        {"+8612345678", "", "invalid bad_national_length"},
                        {"+86138001380001", "", "invalid bad_national_length"},
                        {"0086075512345678", "", "invalid bad_national_number"},
                        {"0", "", "invalid too_short"},
                        {"01", "", "invalid bad_national_length"},
                        {"0123", "", "invalid bad_national_length"},
                        {"0138001380001", "", "invalid bad_national_length"},
                    });
}

TEST(NumberChina, UnmappedDigitStrings) {
  run_cases(kChina, {
                        {"12345678", "", "invalid too_short"},  // local number, no area known
                        {"1234567", "", "invalid too_short"},
                        {"1", "", "invalid too_short"},
                        {"138001380001", "", "invalid too_long"},  // 12 digits, no prefix
                        {"23800138000", "", "invalid unrecognised"},
                        {"12800138000", "", "invalid unrecognised"},  // 12x is not a mobile range
                        {"1380013800", "", "invalid unrecognised"},   // a mobile one digit short
                        {"86075512345678", "", "invalid too_long"},   // 86 + trunk 0: not accepted bare
                        {"861234", "", "invalid too_short"},
                        {"123456789012345678901234567890123456789", "", "invalid too_long"},
                    });
}

}  // namespace
}  // namespace sipwall::number::testing
