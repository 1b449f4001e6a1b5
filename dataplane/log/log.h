// The data plane's log (main lcore and DPDK's own threads; never the packet
// path). One line per message on stderr:
//   * under systemd (JOURNAL_STREAM set) each line starts with the sd-daemon
//     priority prefix "<3>" ... "<7>", so journald records the priority and
//     adds the time, as for sipwall-control (control/daemon/logging.h);
//   * elsewhere "2026-12-07T08:00:00.000Z sipwall-dataplane warning: ...".
// Outside bytes in a message (paths, versions from an artifact) are shown
// with text::printable; a message with several lines becomes several lines,
// each with its prefix.
//
// Repeats are collapsed: a message identical to one written less than
// `repeat_window` ago is not written but counted, and when the window ends
// (checked at every write and at tick(), which the main loop calls) one line
// says how often it came: "<message> (repeated 19 more times in 30 s)" (the
// seconds since the first of them; fewer when flush() ends it early, at exit).
// So a condition that recurs every millisecond costs a line per window.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sipwall::dplog {

// syslog(3) priorities, as journald reads them.
enum class Priority : int { emerg = 0, alert = 1, crit = 2, err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

std::string_view priority_name(Priority p) noexcept;

using Clock = std::chrono::steady_clock;

// Formats, collapses and writes. One per process in use (logger()); tests
// make their own with a clock and a sink of their choice.
class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;  // one line, no newline
  struct Options {
    bool journal = false;                            // "<N>" prefixes instead of time and name
    std::chrono::milliseconds repeat_window{30000};  // see above
    std::size_t tracked = 64;                        // distinct recent messages remembered
    Priority threshold = Priority::debug;            // lines above (less urgent than) this are not written
  };
  Logger(Options o, Sink sink);

  void write(Priority p, std::string_view msg, Clock::time_point now = Clock::now());
  // Summaries of repeats whose window has ended.
  void tick(Clock::time_point now = Clock::now());
  // Every pending summary now (at exit).
  void flush(Clock::time_point now = Clock::now());
  void set_threshold(Priority p);

 private:
  struct Recent {
    std::string text;
    Priority p;
    Clock::time_point since;
    std::uint64_t suppressed = 0;
  };
  void emit(Priority p, std::string_view msg);
  void summarise(Recent& r, Clock::time_point now);
  void tick_locked(Clock::time_point now);

  Options opt_;
  Sink sink_;
  std::mutex mu_;  // DPDK logs from its interrupt thread too
  std::vector<Recent> recent_;
};

// The process's logger: stderr, journal prefixes if JOURNAL_STREAM is set.
Logger& logger();

inline void log(Priority p, std::string_view msg) {
  logger().write(p, msg);
}
inline void err(std::string_view msg) {
  log(Priority::err, msg);
}
inline void warning(std::string_view msg) {
  log(Priority::warning, msg);
}
inline void notice(std::string_view msg) {
  log(Priority::notice, msg);
}
inline void info(std::string_view msg) {
  log(Priority::info, msg);
}

}  // namespace sipwall::dplog
