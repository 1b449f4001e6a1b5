// normalize_written: what operators type into rule files, lists and the CLI.
#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

const DialPlan kChina = DialPlan::china();
const DialPlan kNanp = DialPlan::north_america();

TEST(NumberWritten, China) {
  run_written(kChina, {
                          {"+86 138-0013-8000", "", "e164 +8613800138000"},
                          {"013800138000", "", "e164 +8613800138000"},
                          {"13800138000", "", "e164 +8613800138000"},
                          {"  +86 138 0013 8000  ", "", "e164 +8613800138000"},
                          {"\t+86 138 0013 8000\r\n", "", "e164 +8613800138000"},
                          {"0086 138 0013 8000", "", "e164 +8613800138000"},
                          {"(010) 1234-5678", "", "e164 +861012345678"},
                          {"tel:+8613800138000", "", "e164 +8613800138000"},
                          {"TEL:+86-138-0013-8000", "", "e164 +8613800138000"},
                          {"tel:12345678;phone-context=+86-10", "", "e164 +861012345678"},
                          {"tel:12345678;ext=99;phone-context=+86-10", "", "e164 +861012345678"},
                          {"tel:12345678;Phone-Context=+86-10;isub=1", "", "e164 +861012345678"},
                          {"tel:13800138000;phone-context=example.com", "", "e164 +8613800138000"},
                          {"tel:12345678;phone-context=bad context", "", "invalid bad_context"},
                          {"<tel:+8613800138000>", "", "e164 +8613800138000"},
                          {"sip:+8613800138000@example.com;user=phone", "", "e164 +8613800138000"},
                          {"SIPS:013800138000@example.com", "", "e164 +8613800138000"},
                          {"sip:12345678;phone-context=+86-10@example.com;user=phone", "", "e164 +861012345678"},
                          {"<sip:110@example.com>", "", "short_code 110"},
                          {"110", "", "short_code 110"},
                          {"<sip:alice@example.com>", "", "not_a_number not_numeric"},
                          {"sip:example.com", "", "not_a_number not_numeric"},
                          {"sip:@example.com", "", "absent empty"},
                          {"", "", "absent empty"},
                          {"   ", "", "absent empty"},
                          {"tel:", "", "absent empty"},
                          {"<>", "", "absent empty"},
                          {"+86 (0)755 1234 5678", "", "invalid bad_national_number"},  // write +86 755 ...
                          {"12345678", "", "invalid too_short"},
                          {"+86 138 0013 8000 ext 5", "", "not_a_number not_numeric"},
                      });
}

TEST(NumberWritten, NorthAmerica) {
  run_written(kNanp, {
                         {"+1 (212) 555-1234", "", "e164 +12125551234"},
                         {"1-800-555-0199", "", "e164 +18005550199"},
                         {"212 555 1234", "", "e164 +12125551234"},
                         {"tel:5551234;phone-context=+1-212", "", "e164 +12125551234"},
                         {"tel:+1-212-555-1234;ext=100", "", "e164 +12125551234"},
                         {"011 44 7911 123456", "", "e164 +447911123456"},
                         {"911", "", "short_code 911"},
                         {"sip:911@psap.example", "", "short_code 911"},
                     });
}

}  // namespace
}  // namespace sipwall::number::testing
