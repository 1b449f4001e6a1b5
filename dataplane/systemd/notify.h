// systemd's notify protocol (Type=notify, WatchdogSec= in
// deploy/systemd/*.service), the one wrapper both daemons use: READY=1,
// STATUS=..., STOPPING=1, and the watchdog keep-alive. Without libsystemd
// at build time, or when not started by systemd (no NOTIFY_SOCKET), every
// call does nothing.
#pragma once

#include <chrono>
#include <string_view>

namespace sipwall::systemd {

void notify(std::string_view state);

// WatchdogSec=: proof that a daemon's main loop still turns. The loop calls
// poll() every turn and wakes by due(); a ping (WATCHDOG=1) goes out on the
// first poll and then every half interval, so one late turn is not a kill.
class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // The interval systemd asked for (WATCHDOG_USEC), zero if none.
  static std::chrono::microseconds interval_from_systemd();

  explicit Watchdog(std::chrono::microseconds interval = interval_from_systemd()) noexcept;

  bool enabled() const noexcept { return enabled_; }
  // When the next ping is due; Clock::time_point::max() when disabled.
  Clock::time_point due() const noexcept { return enabled() ? next_ : Clock::time_point::max(); }
  // Sends a ping if one is due at `now`; true if it did.
  bool poll(Clock::time_point now = Clock::now());

 private:
  bool enabled_;
  std::chrono::microseconds every_;  // half the interval
  Clock::time_point next_{};         // the epoch: the first poll pings
};

}  // namespace sipwall::systemd
