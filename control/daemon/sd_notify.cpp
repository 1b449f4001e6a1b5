#include "control/daemon/sd_notify.h"

#ifdef SIPWALL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace sipwall::control {

#ifdef SIPWALL_HAVE_SYSTEMD
void notify(const std::string& state) {
  sd_notify(0, state.c_str());
}
std::uint64_t watchdog_usec() {
  std::uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
#else
void notify(const std::string&) {}
std::uint64_t watchdog_usec() {
  return 0;
}
#endif

}  // namespace sipwall::control
