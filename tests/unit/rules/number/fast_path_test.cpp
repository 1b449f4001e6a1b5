// The fast path of normalize() (number/fast_path.h) against the full path
// (detail::normalize_full): byte-for-byte the same Number on every input it
// takes, for the two presets and for randomly generated valid plans; and it
// does take the forms it exists for. (Every table test of this directory
// also compares the two, through run_cases() in number_test_util.h.)
#include "rules/number/fast_path.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/rules/number/number_test_util.h"

namespace sipwall::number::testing {
namespace {

// The fast path alone, both forms as normalize() tries them: true if it took
// the input (then *out is its Number).
bool fast_only(std::string_view text, std::string_view context, const DialPlan& plan, Number* out) {
  detail::fast::Result r;
  if (!detail::normalize_fast_global(text, plan, r) && !detail::normalize_fast_dialled(text, context, plan, r))
    return false;
  *out = detail::fast::to_number(r);
  return true;
}

// Compares normalize() and the fast path (when it takes the input) with the
// full path. Returns whether the fast path took it.
bool check_same(std::string_view text, std::string_view context, const DialPlan& plan) {
  const Number full = detail::normalize_full(text, context, plan);
  const Number n = normalize(text, context, plan);
  EXPECT_EQ(std::memcmp(&n, &full, sizeof n), 0) << "normalize() \"" << text << "\" context \"" << context
                                                 << "\": " << describe(n) << " vs full path " << describe(full);
  Number f;
  const bool took = fast_only(text, context, plan, &f);
  if (took) {
    EXPECT_EQ(std::memcmp(&f, &full, sizeof f), 0) << "fast path \"" << text << "\" context \"" << context
                                                   << "\": " << describe(f) << " vs full path " << describe(full);
  }
  expect_consistent(n, plan);
  return took;
}

std::string digits(std::mt19937_64& rng, unsigned n) {
  std::string s;
  for (unsigned i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
  return s;
}

TEST(FastPath, TakesTheCommonForms) {
  const DialPlan china = DialPlan::china();
  const DialPlan nanp = DialPlan::north_america();
  struct Row {
    const DialPlan& plan;
    std::string_view text, context;
    bool fast;
  };
  const Row rows[] = {
      // Form A: '+' and 7..15 digits, whatever the context.
      {china, "+8613800138000", "", true},
      {china, "+8613800138000", "+86-10", true},
      {china, "+447911123456", "", true},
      {china, "+6831234", "", true},          // 7 digits
      {china, "+123456789012345", "", true},  // 15 digits
      {china, "+0123456789", "", true},       // bad_country_code, decided fast
      {china, "+8612345678", "", true},       // bad_national_length
      {nanp, "+12125551234", "", true},
      {nanp, "+10125551234", "", true},  // bad_national_number
      // Form B: 7..16 plain digits, no context.
      {china, "13800138000", "", true},
      {china, "013800138000", "", true},
      {china, "8613800138000", "", true},
      {china, "008613800138000", "", true},
      {china, "0086075512345678", "", true},  // 16 digits
      {china, "01012345678", "", true},
      {china, "4008123123", "", true},
      {china, "12345678", "", true},     // too_short, decided fast
      {china, "23800138000", "", true},  // unrecognised
      {nanp, "2125551234", "", true},
      {nanp, "12125551234", "", true},
      {nanp, "011447911123456", "", true},
      // The full path's business.
      {china, "+123456", "", false},            // 6 digits
      {china, "+1234567890123456", "", false},  // 16 digits after '+'
      {china, "110", "", false},                // short codes have <= 6 digits
      {china, "123456", "", false},
      {china, "12345678", "+86-10", false},  // a context on a local number
      {china, "13800138000", "example.com", false},
      {china, "00861380013800012", "", false},  // 17 digits
      {china, "138-0013-8000", "", false},
      {china, "%2B8613800138000", "", false},
      {china, "+86 13800138000", "", false},
      {china, "13800138000;x=1", "", false},
      {china, "anonymous", "", false},
      {china, "", "", false},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(::testing::Message() << "\"" << r.text << "\" context \"" << r.context << "\"");
    EXPECT_EQ(check_same(r.text, r.context, r.plan), r.fast);
  }
}

// Plans the fast path must not try: no country code, or a longer one than
// any real plan has. (Not valid() plans; normalize() must still be safe.)
TEST(FastPath, OddPlansTakeTheFullPath) {
  DialPlan no_cc = DialPlan::china();
  no_cc.country_code = {};
  DialPlan long_cc = DialPlan::china();
  long_cc.country_code.assign("8612");
  Number f;
  for (const DialPlan* p : {&no_cc, &long_cc}) {
    EXPECT_FALSE(fast_only("+8613800138000", "", *p, &f));
    EXPECT_FALSE(fast_only("13800138000", "", *p, &f));
    const Number n = normalize("13800138000", "", *p);
    const Number full = detail::normalize_full("13800138000", "", *p);
    EXPECT_EQ(std::memcmp(&n, &full, sizeof n), 0);
  }
}

// Every length around the fast path's bounds, with the prefixes each plan
// cares about, with and without '+' and a context.
TEST(FastPath, SameAsFullPathOnDigitStrings) {
  const DialPlan plans[] = {DialPlan::china(), DialPlan::north_america()};
  const char* const prefixes[] = {"",    "0",    "00",    "000", "0086", "86",  "860", "8613", "1", "11",
                                  "011", "0110", "01144", "13",  "19",   "400", "800", "2",    "9"};
  const char* const contexts[] = {"", "", "", "+86", "+86-10", "+1-212", "+44", "example.com"};
  std::mt19937_64 rng(11);
  std::size_t taken = 0, total = 0;
  for (const DialPlan& plan : plans) {
    for (const char* prefix : prefixes) {
      for (unsigned len = 0; len <= 18; ++len) {
        for (int k = 0; k < 40; ++k) {
          const std::string body = prefix + digits(rng, len);
          const char* context = contexts[rng() % (sizeof contexts / sizeof contexts[0])];
          taken += check_same(body, context, plan);
          taken += check_same("+" + body, context, plan);
          total += 2;
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
  // Most of these are the fast path's forms; if it stopped taking them the
  // comparison above would prove nothing.
  EXPECT_GT(taken, total / 3);
}

// A random plan that passes valid(): every field the fast path reads takes
// values the presets never have (3-digit codes, long prefixes, empty and long
// leads, odd first-digit sets, national lengths from 1 to 15).
DialPlan random_plan(std::mt19937_64& rng) {
  for (;;) {
    DialPlan p;
    auto nonzero_digits = [&](unsigned n) {
      std::string s = digits(rng, n);
      if (!s.empty() && s[0] == '0') s[0] = static_cast<char>('1' + rng() % 9);
      return s;
    };
    p.country_code.assign(nonzero_digits(1 + rng() % 3));
    p.international_prefix.assign(digits(rng, 1 + rng() % 6));
    p.national_prefix.assign(digits(rng, rng() % 7));
    const unsigned cc = p.country_code.len;
    const unsigned lo = std::max<unsigned>(1, 7 > cc ? 7 - cc : 1) + rng() % 4;
    const unsigned hi = lo + rng() % 4;
    if (cc + hi > kMaxDigits) continue;
    p.min_national_length = static_cast<std::uint8_t>(lo);
    p.max_national_length = static_cast<std::uint8_t>(hi);
    p.national_first_digits = static_cast<std::uint16_t>(rng() % 0x3FF + 1);
    const unsigned patterns = rng() % 5;
    for (unsigned i = 0; i < patterns; ++i) {
      const unsigned length = lo + rng() % (hi - lo + 1);
      std::string lead = digits(rng, rng() % (length + 1));
      if (!lead.empty()) {
        // An allowed first digit, so that valid() accepts it more often.
        for (unsigned d = 0; d < 10; ++d) {
          if (p.national_first_digits & (1u << d)) {
            lead[0] = static_cast<char>('0' + d);
            break;
          }
        }
      }
      p.add_local_pattern(lead, length);
    }
    const unsigned codes = rng() % 4;
    for (unsigned i = 0; i < codes; ++i) p.add_short_code(digits(rng, 1 + rng() % 6));
    p.country_code_without_prefix = rng() % 2 == 0;
    if (p.valid(nullptr)) return p;
  }
}

TEST(FastPath, SameAsFullPathOnRandomPlans) {
  std::mt19937_64 rng(23);
  std::size_t taken = 0, total = 0;
  for (int i = 0; i < 400; ++i) {
    const DialPlan plan = random_plan(rng);
    // Inputs that start with what the plan looks for, so every branch of
    // dialled() and international() is reached.
    std::vector<std::string> starts = {"",
                                       plan.country_code.d.data(),
                                       plan.international_prefix.d.data(),
                                       plan.national_prefix.d.data(),
                                       std::string(plan.international_prefix.d.data()) + plan.country_code.d.data(),
                                       std::string(plan.national_prefix.d.data()) + "0"};
    for (unsigned k = 0; k < plan.local_pattern_count; ++k) {
      starts.push_back(plan.local_patterns[k].lead.d.data());
    }
    for (int j = 0; j < 150; ++j) {
      const std::string& start = starts[rng() % starts.size()];
      const std::string body = start + digits(rng, static_cast<unsigned>(rng() % 17));
      taken += check_same(body, "", plan);
      taken += check_same("+" + body, "", plan);
      total += 2;
      if (::testing::Test::HasFailure()) {
        ADD_FAILURE() << "plan: cc " << plan.country_code.view() << " ip " << plan.international_prefix.view() << " np "
                      << plan.national_prefix.view() << " lengths " << int{plan.min_national_length} << ".."
                      << int{plan.max_national_length};
        return;
      }
    }
  }
  EXPECT_GT(taken, total / 3);
}

}  // namespace
}  // namespace sipwall::number::testing
