#include "dataplane/log/log.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "rules/text/safe_text.h"

namespace sipwall::dplog {

std::string_view priority_name(Priority p) noexcept {
  static constexpr std::string_view kNames[] = {"emerg",   "alert",  "crit", "error",
                                                "warning", "notice", "info", "debug"};
  const int i = static_cast<int>(p);
  return i >= 0 && i < 8 ? kNames[i] : "info";
}

Logger::Logger(Options o, Sink sink) : opt_(o), sink_(std::move(sink)) {}

void Logger::set_threshold(Priority p) {
  std::lock_guard lock(mu_);
  opt_.threshold = p;
}

void Logger::emit(Priority p, std::string_view msg) {
  std::string prefix;
  if (opt_.journal) {
    prefix = "<" + std::to_string(static_cast<int>(p)) + ">";
  } else {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
    prefix = std::string(buf) + " sipwall-dataplane " + std::string(priority_name(p)) + ": ";
  }
  // One prefixed line per line of the message; trailing newlines (DPDK's) dropped.
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.remove_suffix(1);
  std::size_t start = 0;
  do {
    std::size_t end = msg.find('\n', start);
    std::string_view line = msg.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    sink_(prefix + text::printable(line));
    start = end == std::string_view::npos ? msg.size() + 1 : end + 1;
  } while (start <= msg.size());
}

void Logger::summarise(Recent& r, Clock::time_point now) {
  if (r.suppressed == 0) return;
  // Whole seconds since the first of them, at least 1.
  const auto s = std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(now - r.since).count());
  emit(r.p, r.text + " (repeated " + std::to_string(r.suppressed) + " more time" + (r.suppressed == 1 ? "" : "s") +
                " in " + std::to_string(s) + " s)");
  r.suppressed = 0;
}

void Logger::tick_locked(Clock::time_point now) {
  for (std::size_t i = 0; i < recent_.size();) {
    if (now - recent_[i].since >= opt_.repeat_window) {
      summarise(recent_[i], now);
      recent_.erase(recent_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

void Logger::write(Priority p, std::string_view msg, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (static_cast<int>(p) > static_cast<int>(opt_.threshold)) return;
  tick_locked(now);
  for (Recent& r : recent_) {
    if (r.p == p && r.text == msg) {
      r.suppressed++;
      return;
    }
  }
  if (recent_.size() >= opt_.tracked && !recent_.empty()) {  // the oldest makes room
    summarise(recent_.front(), now);
    recent_.erase(recent_.begin());
  }
  if (opt_.tracked != 0) recent_.push_back(Recent{std::string(msg), p, now, 0});
  emit(p, msg);
}

void Logger::tick(Clock::time_point now) {
  std::lock_guard lock(mu_);
  tick_locked(now);
}

void Logger::flush(Clock::time_point now) {
  std::lock_guard lock(mu_);
  for (Recent& r : recent_) summarise(r, now);
  recent_.clear();
}

Logger& logger() {
  static Logger l(Logger::Options{.journal = std::getenv("JOURNAL_STREAM") != nullptr}, [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
  });
  return l;
}

}  // namespace sipwall::dplog
