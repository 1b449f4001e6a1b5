// Times as ops read and type them: ISO 8601 UTC with milliseconds in the
// trace log, and "--since 10m" / "--since 2026-11-28T09:00" in sipwallctl.
// All values are nanoseconds since the Unix epoch (CLOCK_REALTIME), the unit
// the data plane stamps trace records with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipwall::control {

// "2026-11-28T09:55:55.742Z" (always UTC, always milliseconds).
std::string iso8601_ms(std::int64_t unix_ns);
// "2026-11-28T09:55:55Z" (seconds).
std::string iso8601_s(std::int64_t unix_ns);

// ISO 8601 date or date-time: "2026-11-28", "2026-11-28T09:55",
// "2026-11-28T09:55:55", "2026-11-28 09:55:55.742", with an optional zone
// "Z", "+08:00", "+0800" or "-05". No zone means UTC (the trace log is UTC).
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// "90s", "10m", "2h", "1d", "1w", "1h30m": a duration in nanoseconds.
std::optional<std::int64_t> parse_duration(std::string_view text);

// --since / --until: a duration is that long before `now_ns`, anything else
// must be ISO 8601. On failure *why says what was expected.
std::optional<std::int64_t> parse_time_arg(std::string_view text, std::int64_t now_ns, std::string* why);

std::int64_t now_ns();

}  // namespace sipwall::control
