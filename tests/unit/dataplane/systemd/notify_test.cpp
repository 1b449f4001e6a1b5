// The watchdog keep-alive both daemons send (dataplane/systemd/notify.h):
// the first poll pings, then one ping per half interval, none when systemd
// asked for none. And the wrapper's messages reach NOTIFY_SOCKET when the
// build has libsystemd.
#include "dataplane/systemd/notify.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

namespace sipwall::systemd {
namespace {

using namespace std::chrono_literals;
using Clock = Watchdog::Clock;

TEST(Watchdog, PingsAtOnceThenEveryHalfInterval) {
  Watchdog w(1s);
  ASSERT_TRUE(w.enabled());
  const Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(w.poll(t0));  // the first turn of the loop
  EXPECT_EQ(w.due(), t0 + 500ms);
  EXPECT_FALSE(w.poll(t0 + 499ms));
  EXPECT_TRUE(w.poll(t0 + 500ms));
  EXPECT_EQ(w.due(), t0 + 1000ms);
  EXPECT_TRUE(w.poll(t0 + 1700ms));  // a late turn pings at once, then half an interval from then
  EXPECT_EQ(w.due(), t0 + 2200ms);
}

TEST(Watchdog, NothingWhenSystemdAskedForNone) {
  Watchdog w(0us);
  EXPECT_FALSE(w.enabled());
  EXPECT_EQ(w.due(), Clock::time_point::max());  // never shortens the loop's wait
  EXPECT_FALSE(w.poll());
}

TEST(Watchdog, IntervalFromTheEnvironment) {
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(Watchdog::interval_from_systemd(), 0us);
}

#ifdef SIPWALL_TEST_HAVE_SYSTEMD
// With WATCHDOG_USEC and NOTIFY_SOCKET as systemd sets them (Type=notify,
// WatchdogSec=), the interval is read and the messages arrive.
TEST(Notify, ReachesNotifySocket) {
  const std::string path = ::testing::TempDir() + "sipwall-notify-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof a.sun_path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(Watchdog::interval_from_systemd(), 2s);
  notify("READY=1");
  Watchdog w;
  EXPECT_TRUE(w.poll());
  char buf[64];
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "READY=1");
  n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "WATCHDOG=1");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  ::close(fd);
  ::unlink(path.c_str());
}
#endif

}  // namespace
}  // namespace sipwall::systemd
