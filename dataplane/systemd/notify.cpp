#include "dataplane/systemd/notify.h"

#include <cstdint>
#include <string>

#ifdef SIPWALL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace sipwall::systemd {

#ifdef SIPWALL_HAVE_SYSTEMD
void notify(std::string_view state) {
  sd_notify(0, std::string(state).c_str());
}

std::chrono::microseconds Watchdog::interval_from_systemd() {
  std::uint64_t usec = 0;
  return std::chrono::microseconds(sd_watchdog_enabled(0, &usec) > 0 ? usec : 0);
}
#else
void notify(std::string_view) {}

std::chrono::microseconds Watchdog::interval_from_systemd() {
  return std::chrono::microseconds(0);
}
#endif

Watchdog::Watchdog(std::chrono::microseconds interval) noexcept
    : enabled_(interval.count() > 0), every_(interval / 2) {}

bool Watchdog::poll(Clock::time_point now) {
  if (!enabled() || now < next_) return false;
  notify("WATCHDOG=1");
  next_ = now + every_;
  return true;
}

}  // namespace sipwall::systemd
