// Shared by the number tests: one readable string per result so table rows
// compare with a single EXPECT_EQ, plus the invariants every result must keep.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

#include "rules/number/fast_path.h"
#include "rules/number/normalize.h"

namespace sipwall::number::testing {

// "e164 +8613800138000", "short_code 110", "invalid too_long", ...
inline std::string describe(const Number& n) {
  std::string s(to_string(n.kind));
  s += ' ';
  if (n.kind == NumberKind::e164 || n.kind == NumberKind::short_code) {
    s += n.text();
  } else {
    s += to_string(n.reason);
  }
  return s;
}

// What must hold for any result, whatever the input.
inline void expect_consistent(const Number& n, const DialPlan& plan) {
  switch (n.kind) {
    case NumberKind::e164: {
      EXPECT_EQ(n.reason, Reason::none);
      ASSERT_GE(n.digits.len, 1);
      ASSERT_LE(n.digits.len, kMaxDigits);
      EXPECT_TRUE(n.digits.well_formed());
      EXPECT_NE(n.digits.d[0], '0');
      EXPECT_EQ(n.text(), "+" + std::string(n.digits.view()));
      EXPECT_EQ(n.key, pack(n.digits.view()));
      EXPECT_EQ(key_length(n.key), n.digits.len);
      DigitString back;
      EXPECT_TRUE(unpack(n.key, &back));
      EXPECT_EQ(back.view(), n.digits.view());
      break;
    }
    case NumberKind::short_code: {
      EXPECT_EQ(n.reason, Reason::none);
      EXPECT_EQ(n.text(), n.digits.view());
      EXPECT_EQ(n.key, pack(n.digits.view()));
      bool mapped = false;
      for (unsigned i = 0; i < plan.short_code_count; ++i) mapped |= plan.short_codes[i] == n.digits;
      EXPECT_TRUE(mapped) << n.text();
      break;
    }
    case NumberKind::not_a_number:
    case NumberKind::invalid:
    case NumberKind::absent:
      EXPECT_NE(n.reason, Reason::none);
      EXPECT_EQ(n.key, kNoNumber);
      EXPECT_EQ(n.digits.len, 0);
      EXPECT_TRUE(n.text().empty());
      break;
  }
}

// normalize() (fast paths first) must return, byte for byte, what the full
// path alone returns: every table row below is also a differential test of
// number/fast_path.h.
inline void expect_same_as_full(const Number& n, std::string_view input, std::string_view context,
                                const DialPlan& plan) {
  const Number full = detail::normalize_full(input, context, plan);
  EXPECT_EQ(describe(n), describe(full)) << "fast path differs from the full path";
  EXPECT_EQ(std::memcmp(&n, &full, sizeof n), 0) << "fast path differs from the full path";
}

struct Case {
  std::string_view input;
  std::string_view context;
  std::string_view expect;  // describe() of the result
};

inline void run_cases(const DialPlan& plan, std::initializer_list<Case> cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "input \"" << c.input << "\" context \"" << c.context << "\"");
    const Number n = normalize(c.input, c.context, plan);
    EXPECT_EQ(describe(n), c.expect);
    expect_consistent(n, plan);
    expect_same_as_full(n, c.input, c.context, plan);
  }
}

inline void run_written(const DialPlan& plan, std::initializer_list<Case> cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "written \"" << c.input << "\"");
    const Number n = normalize_written(c.input, plan);
    EXPECT_EQ(describe(n), c.expect);
    expect_consistent(n, plan);
  }
}

}  // namespace sipwall::number::testing
