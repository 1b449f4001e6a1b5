#include "dataplane/app/dpdk_log.h"

#include <rte_log.h>

#include <cstdio>
#include <string_view>

#include "dataplane/log/log.h"

namespace sipwall::dataplane {
namespace {

// rte_vlog prints one message with vfprintf and then fflush()es the stream,
// so with a buffer this large each message arrives here in one write, and
// rte_log_cur_msg_loglevel() (per thread) says how urgent it is:
// RTE_LOG_EMERG = 1 ... RTE_LOG_DEBUG = 8, syslog's 0 ... 7 plus one.
ssize_t write_dpdk(void*, const char* buf, std::size_t n) {
  const int level = rte_log_cur_msg_loglevel();
  const auto p = level >= 1 && level <= 8 ? static_cast<dplog::Priority>(level - 1) : dplog::Priority::info;
  dplog::log(p, std::string_view(buf, n));
  return static_cast<ssize_t>(n);
}

}  // namespace

bool route_dpdk_log() {
  cookie_io_functions_t io{};
  io.write = write_dpdk;
  FILE* f = fopencookie(nullptr, "w", io);
  if (f == nullptr) return false;
  // Fully buffered: only rte_vlog's fflush hands a message over.
  static char buffer[8192];
  std::setvbuf(f, buffer, _IOFBF, sizeof buffer);
  return rte_openlog_stream(f) == 0;
}

}  // namespace sipwall::dataplane
