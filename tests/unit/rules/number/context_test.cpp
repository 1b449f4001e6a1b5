// RFC 3966 phone-context: the plan's own country (with and without an area),
// another country, domain names, and contexts that are neither.
#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

const DialPlan kChina = DialPlan::china();
const DialPlan kNanp = DialPlan::north_america();

TEST(NumberContext, OwnCountryWithArea) {
  run_cases(kChina, {
                        {"12345678", "+86-10", "e164 +861012345678"},
                        {"1234-5678", "+86 10", "e164 +861012345678"},
                        {"12345678", "%2B86-10", "e164 +861012345678"},
                        {"1234567", "+86-755", "e164 +867551234567"},
                        {"12345678", "+86755", "e164 +8675512345678"},
                        // The plan's own rules come first: mobiles, trunk 0, 00, short codes.
                        {"13800138000", "+86-10", "e164 +8613800138000"},
                        {"01012345678", "+86-755", "e164 +861012345678"},
                        {"00447911123456", "+86-10", "e164 +447911123456"},
                        {"110", "+86-10", "short_code 110"},
                        {"8613800138000", "+86-10", "e164 +8613800138000"},
                        // The area + local number must still be a valid national number.
                        {"123", "+86-10", "invalid bad_national_length"},
                        {"1234567890", "+86-10", "invalid bad_national_length"},
                        {"12345678", "+86-0755", "invalid bad_national_number"},
                        {"+8613800138000", "+86-10", "e164 +8613800138000"},
                    });
  run_cases(kNanp, {
                       {"5551234", "+1-212", "e164 +12125551234"},
                       {"555-1234", "+1 (212)", "e164 +12125551234"},
                       {"2125551234", "+1-415", "e164 +12125551234"},
                       {"12125551234", "+1-415", "e164 +12125551234"},
                       {"911", "+1-212", "short_code 911"},
                       {"5551234", "+1-112", "invalid bad_national_number"},
                       {"55512345", "+1-212", "invalid bad_national_length"},
                   });
}

TEST(NumberContext, OwnCountryCodeOnly) {
  run_cases(kChina, {
                        {"13800138000", "+86", "e164 +8613800138000"},
                        {"075512345678", "+86", "e164 +8675512345678"},
                        {"12345678", "+86", "invalid too_short"},
                        {"110", "+86", "short_code 110"},
                    });
  run_cases(kNanp, {
                       {"2125551234", "+1", "e164 +12125551234"},
                       {"5551234", "+1", "invalid too_short"},
                   });
}

TEST(NumberContext, OtherCountryPrefixesTheNumber) {
  run_cases(kChina, {
                        {"7911123456", "+44", "e164 +447911123456"},
                        {"20-7946-0000", "+44", "e164 +442079460000"},
                        {"79460000", "+44-20", "e164 +442079460000"},
                        {"5551234", "+1-212", "e164 +12125551234"},
                        {"911", "+1", "invalid too_short"},
                        {"123456789", "+44-20-7946", "invalid too_long"},
                        // A context shorter than the plan's country code that completes it.
                        {"613800138000", "+8", "e164 +8613800138000"},
                    });
  run_cases(kNanp, {
                       {"13800138000", "+86", "e164 +8613800138000"},
                       {"1012345678", "+86", "e164 +861012345678"},
                       // The other country's trunk prefix is not known, so it stays (documented).
                       {"075512345678", "+86", "e164 +86075512345678"},
                   });
}

TEST(NumberContext, DomainUsesThePlan) {
  run_cases(kChina, {
                        {"13800138000", "example.com", "e164 +8613800138000"},
                        {"075512345678", "ims.mnc000.mcc460.3gppnetwork.org", "e164 +8675512345678"},
                        {"12345678", "example.com", "invalid too_short"},
                        {"110", "example.com", "short_code 110"},
                    });
  run_cases(kNanp, {
                       {"2125551234", "carrier.example", "e164 +12125551234"},
                       {"5551234", "carrier.example", "invalid too_short"},
                   });
}

TEST(NumberContext, BadContext) {
  run_cases(kChina, {
                        {"12345678", "+", "invalid bad_context"},
                        {"12345678", "+-", "invalid bad_context"},
                        {"12345678", "+86-1x", "invalid bad_context"},
                        {"12345678", "+0086", "invalid bad_context"},
                        {"12345678", "+1234567890123456", "invalid bad_context"},
                        {"12345678", "++86", "invalid bad_context"},
                        {"12345678", "+86%", "invalid bad_context"},
                        {"12345678", "-bad.example", "invalid bad_context"},
                        {"12345678", "exa mple.com", "invalid bad_context"},
                        {"12345678", "%zz", "invalid bad_context"},
                        {"12345678", "example.com%20", "invalid bad_context"},
                        {"12345678", "(+86)", "invalid bad_context"},
                    });
}

TEST(NumberContext, IgnoredForGlobalNumbersAndNames) {
  run_cases(kChina, {
                        {"+8613800138000", "+1", "e164 +8613800138000"},
                        {"+8613800138000", "!!garbage!!", "e164 +8613800138000"},
                        {"%2B8613800138000", "+44", "e164 +8613800138000"},
                        {"alice", "!!garbage!!", "not_a_number not_numeric"},
                        {"", "+86", "absent empty"},
                    });
}

}  // namespace
}  // namespace sipwall::number::testing
