#include "control/client/time_util.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sipwall::control {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

std::string format(std::int64_t unix_ns, bool with_ms) {
  std::int64_t secs = unix_ns / kSecond;
  std::int64_t rem = unix_ns % kSecond;
  if (rem < 0) {  // before 1970: floor, not truncate
    rem += kSecond;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (with_ms)
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(rem / 1'000'000));
  else
    std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

// Reads exactly `n` digits at `s[pos]`.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

}  // namespace

std::string iso8601_ms(std::int64_t unix_ns) {
  return format(unix_ns, true);
}
std::string iso8601_s(std::int64_t unix_ns) {
  return format(unix_ns, false);
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  std::size_t p = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  std::int64_t frac_ns = 0;
  if (!digits(s, p, 4, y) || p >= s.size() || s[p++] != '-' || !digits(s, p, 2, mo) || p >= s.size() || s[p++] != '-' ||
      !digits(s, p, 2, d))
    return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0)) return std::nullopt;
  if (p < s.size() && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
    ++p;
    if (!digits(s, p, 2, h) || p >= s.size() || s[p++] != ':' || !digits(s, p, 2, mi)) return std::nullopt;
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!digits(s, p, 2, sec)) return std::nullopt;
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        std::size_t start = p;
        std::int64_t scale = 100'000'000;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          frac_ns += (s[p] - '0') * scale;
          scale /= 10;
          ++p;
        }
        if (p == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (p < s.size()) {
    char c = s[p];
    if ((c == 'Z' || c == 'z') && p + 1 == s.size()) {
      ++p;
    } else if (c == '+' || c == '-') {
      ++p;
      int oh = 0, om = 0;
      if (!digits(s, p, 2, oh)) return std::nullopt;
      if (p < s.size() && s[p] == ':') ++p;
      if (p < s.size() && !digits(s, p, 2, om)) return std::nullopt;
      if (oh > 23 || om > 59) return std::nullopt;
      offset_s = (oh * 3600 + om * 60) * (c == '-' ? -1 : 1);
    }
  }
  if (p != s.size()) return std::nullopt;
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kSecond + frac_ns;
}

std::optional<std::int64_t> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t p = 0;
  while (p < s.size()) {
    std::int64_t n = 0;
    std::size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      n = n * 10 + (s[p] - '0');
      if (n > 100'000'000) return std::nullopt;  // > 3 years in seconds: a typo
      ++p;
    }
    if (p == start || p == s.size()) return std::nullopt;
    std::int64_t unit;
    switch (s[p++]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return std::nullopt;
    }
    total += n * unit * kSecond;
  }
  return total;
}

std::optional<std::int64_t> parse_time_arg(std::string_view text, std::int64_t now, std::string* why) {
  if (auto d = parse_duration(text)) return now - *d;
  if (auto t = parse_iso8601(text)) return t;
  if (why)
    *why = "'" + std::string(text) +
           "' is neither a duration (30s, 10m, 2h, 1d, 1h30m) nor an ISO 8601 time (2026-11-28T09:55:00Z)";
  return std::nullopt;
}

}  // namespace sipwall::control
