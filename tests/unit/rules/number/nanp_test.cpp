// The North American plan (1 / 011 / 1, 10-digit national numbers).
#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

const DialPlan kNanp = DialPlan::north_america();

TEST(NumberNanp, NationalForms) {
  run_cases(kNanp, {
                       {"2125551234", "", "e164 +12125551234"},
                       {"12125551234", "", "e164 +12125551234"},
                       {"+12125551234", "", "e164 +12125551234"},
                       {"1-212-555-1234", "", "e164 +12125551234"},
                       {"(212) 555-1234", "", "e164 +12125551234"},
                       {"212.555.1234", "", "e164 +12125551234"},
                       {"+1 212 555 1234", "", "e164 +12125551234"},
                       {"%2B1-212-555-1234", "", "e164 +12125551234"},
                       {"18005550199", "", "e164 +18005550199"},
                       {"4165551234", "", "e164 +14165551234"},  // Canada shares +1
                   });
}

TEST(NumberNanp, International) {
  run_cases(kNanp, {
                       {"011447911123456", "", "e164 +447911123456"},
                       {"011-44-7911-123456", "", "e164 +447911123456"},
                       {"0118613800138000", "", "e164 +8613800138000"},
                       {"+8613800138000", "", "e164 +8613800138000"},
                       {"+447911123456", "", "e164 +447911123456"},
                       {"011", "", "invalid too_short"},
                       {"0114", "", "invalid too_short"},
                       {"0110447911123456", "", "invalid bad_country_code"},
                       {"0114412345678901234", "", "invalid too_long"},
                       {"011123456789012345", "", "invalid bad_national_length"},  // +1 then 14 digits
                   });
}

TEST(NumberNanp, ShortCodes) {
  run_cases(kNanp, {
                       {"911", "", "short_code 911"},
                       {"411", "", "short_code 411"},
                       {"988", "", "short_code 988"},
                       {"110", "", "invalid bad_national_number"},  // China's; here "1" + NSN "10"
                       {"9111", "", "invalid too_short"},
                       {"+1911", "", "invalid bad_national_length"},
                   });
}

TEST(NumberNanp, Refused) {
  run_cases(kNanp, {
                       {"5551234", "", "invalid too_short"},  // 7-digit local dialling needs a context
                       {"212555123", "", "invalid too_short"},
                       {"21255512345", "", "invalid too_long"},
                       {"1125551234", "", "invalid bad_national_number"},  // "1" + an NSN starting 1
                       {"112125551234", "", "invalid bad_national_number"},
                       {"0125551234", "", "invalid bad_national_number"},  // area codes start 2-9
                       {"+10125551234", "", "invalid bad_national_number"},
                       {"+11125551234", "", "invalid bad_national_number"},
                       {"+1212555123", "", "invalid bad_national_length"},
                       {"+121255512345", "", "invalid bad_national_length"},
                       {"1", "", "invalid too_short"},
                       {"8613800138000", "", "invalid too_long"},  // no bare country codes in this plan
                   });
}

}  // namespace
}  // namespace sipwall::number::testing
