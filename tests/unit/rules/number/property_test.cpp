// Random number-like inputs through both plans: every result keeps the
// invariants, and an E.164 result normalises to itself again (idempotence).
// The libFuzzer target checks the same on arbitrary bytes; this runs in ctest.
#include <random>
#include <string>
#include <vector>

#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

std::string random_text(std::mt19937& rng, const std::vector<std::string>& tokens, unsigned max) {
  std::string s;
  const unsigned n = rng() % (max + 1);
  for (unsigned i = 0; i < n; ++i) s += tokens[rng() % tokens.size()];
  return s;
}

// Mostly well-formed: a prefix, 1-15 digits, the odd separator.
std::string random_number(std::mt19937& rng) {
  static const char* const kPrefixes[] = {"",   "",    "+",  "0",   "00",     "011", "1",
                                          "86", "+86", "+1", "%2B", "(+86) ", "13",  "400"};
  std::string s = kPrefixes[rng() % (sizeof kPrefixes / sizeof kPrefixes[0])];
  const unsigned digits = 1 + rng() % 15;
  for (unsigned i = 0; i < digits; ++i) {
    s += static_cast<char>('0' + rng() % 10);
    if (rng() % 8 == 0) s += "- .()"[rng() % 5];
  }
  return s;
}

TEST(NumberProperty, RandomInputsKeepInvariants) {
  const std::vector<std::string> number_tokens = {"0",   "1",   "2",   "3",   "4",   "5",    "6",
                                                  "7",   "8",   "9",   "00",  "86",  "011",  "13",
                                                  "400", "110", "911", "+",   "-",   ".",    "(",
                                                  ")",   " ",   "%2B", "%20", "%2d", "%3",   "%",
                                                  "%41", "a",   ";",   "*",   "#",   "\xff", std::string(1, '\0')};
  const std::vector<std::string> context_tokens = {"+",       "86", "1",   "44",  "10", "-", "212", "0",
                                                   "example", ".",  "com", "%2B", " ",  "x", "%"};
  const DialPlan plans[] = {DialPlan::china(), DialPlan::north_america()};
  std::mt19937 rng(7);
  std::size_t e164 = 0, short_codes = 0, invalid = 0, names = 0;
  for (int i = 0; i < 100000; ++i) {
    const DialPlan& plan = plans[i % 2];
    const std::string text = (i % 4 < 2) ? random_number(rng) : random_text(rng, number_tokens, 12);
    const std::string context = (rng() % 3 == 0) ? random_text(rng, context_tokens, 5) : "";
    const Number n = normalize(text, context, plan);
    SCOPED_TRACE(::testing::Message() << "input \"" << text << "\" context \"" << context << "\"");
    expect_consistent(n, plan);
    expect_same_as_full(n, text, context, plan);
    switch (n.kind) {
      case NumberKind::e164: {
        ++e164;
        EXPECT_EQ(describe(normalize(n.text(), "", plan)), describe(n));
        EXPECT_EQ(describe(normalize(n.text(), context, plan)), describe(n));
        EXPECT_EQ(describe(normalize_written("tel:" + std::string(n.text()), plan)), describe(n));
        break;
      }
      case NumberKind::short_code:
        ++short_codes;
        EXPECT_EQ(describe(normalize(n.text(), "", plan)), describe(n));
        break;
      case NumberKind::invalid:
        ++invalid;
        break;
      case NumberKind::not_a_number:
        ++names;
        break;
      case NumberKind::absent:
        break;
    }
    expect_consistent(normalize_written(text, plan), plan);
    if (::testing::Test::HasFailure()) break;  // one readable failure, not thousands
  }
  // The generator must reach every kind, or this test proves little.
  EXPECT_GT(e164, 1000u);
  EXPECT_GT(short_codes, 10u);
  EXPECT_GT(invalid, 1000u);
  EXPECT_GT(names, 1000u);
}

}  // namespace
}  // namespace sipwall::number::testing
