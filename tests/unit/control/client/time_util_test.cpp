#include "control/client/time_util.h"

#include <gtest/gtest.h>

namespace sipwall::control {
namespace {

constexpr std::int64_t kS = 1'000'000'000;
// 2026-11-28T09:55:55Z
constexpr std::int64_t kT = 1795859755LL * kS;

TEST(TimeUtil, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(iso8601_ms(kT + 742'296'755), "2026-11-28T09:55:55.742Z");
  EXPECT_EQ(iso8601_ms(kT), "2026-11-28T09:55:55.000Z");
  EXPECT_EQ(iso8601_s(kT + 999'999'999), "2026-11-28T09:55:55Z");
  EXPECT_EQ(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
}

TEST(TimeUtil, ParsesIso8601Forms) {
  EXPECT_EQ(parse_iso8601("2026-11-28T09:55:55Z"), kT);
  EXPECT_EQ(parse_iso8601("2026-11-28T09:55:55"), kT);  // no zone: UTC
  EXPECT_EQ(parse_iso8601("2026-11-28 09:55:55.742Z"), kT + 742'000'000);
  EXPECT_EQ(parse_iso8601("2026-11-28T09:55"), kT - 55 * kS);
  EXPECT_EQ(parse_iso8601("2026-11-28"), kT - (9 * 3600 + 55 * 60 + 55) * kS);
  EXPECT_EQ(parse_iso8601("2026-11-28T17:55:55+08:00"), kT);
  EXPECT_EQ(parse_iso8601("2026-11-28T17:55:55+0800"), kT);
  EXPECT_EQ(parse_iso8601("2026-11-28T04:55:55-05"), kT);
  // Round trip with what the trace log writes.
  EXPECT_EQ(parse_iso8601(iso8601_ms(kT + 123'000'000)), kT + 123'000'000);
  EXPECT_EQ(parse_iso8601("2024-02-29"), 1709164800LL * kS);  // leap day
}

TEST(TimeUtil, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2025-02-29", "2026-11-28T25:00", "2026-11-28T09:60",
                          "2026-11-28X", "2026-11-28T09:55:55.Z", "2026-11-28T09:55:55Zjunk", "yesterday"})
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
}

TEST(TimeUtil, ParsesDurations) {
  EXPECT_EQ(parse_duration("90s"), 90 * kS);
  EXPECT_EQ(parse_duration("10m"), 600 * kS);
  EXPECT_EQ(parse_duration("2h"), 7200 * kS);
  EXPECT_EQ(parse_duration("1d"), 86400 * kS);
  EXPECT_EQ(parse_duration("1w"), 7 * 86400 * kS);
  EXPECT_EQ(parse_duration("1h30m"), 5400 * kS);
  for (const char* bad : {"", "10", "m", "10x", "1h30", "-5m", "1.5h"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(TimeUtil, TimeArgumentIsRelativeOrAbsolute) {
  std::string why;
  EXPECT_EQ(parse_time_arg("10m", kT, &why), kT - 600 * kS);
  EXPECT_EQ(parse_time_arg("2026-11-28T09:55:55Z", 0, &why), kT);
  EXPECT_FALSE(parse_time_arg("last tuesday", kT, &why).has_value());
  EXPECT_NE(why.find("neither a duration"), std::string::npos) << why;
}

}  // namespace
}  // namespace sipwall::control
