// /metrics under idle and slow clients (before: 2 idle TCP connections made
// every scrape time out), and the HTTP it answers.
#include "control/daemon/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace sipwall::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class Tcp {
 public:
  explicit Tcp(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Tcp() { ::close(fd_); }
  Tcp(const Tcp&) = delete;
  Tcp& operator=(const Tcp&) = delete;
  bool connected() const { return connected_; }
  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything until the server closes (or the timeout).
  std::string read_all(std::chrono::milliseconds timeout = 3000ms) {
    std::string out;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char b[65536];
      ssize_t n = ::read(fd_, b, sizeof b);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(b, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(MetricsServerLimits limits = {}) {
    port = free_port();
    std::string err;
    ASSERT_TRUE(server.start("127.0.0.1", port, err, limits)) << err;
    server.publish(kText);
  }
  static constexpr const char* kText = "# TYPE sipwall_dataplane_up gauge\nsipwall_dataplane_up 1\n";
  std::string get(const std::string& request, std::chrono::milliseconds* took = nullptr) {
    auto t0 = Clock::now();
    Tcp c(port);
    EXPECT_TRUE(c.connected());
    c.send(request);
    std::string r = c.read_all();
    if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    EXPECT_TRUE(c.closed()) << "Connection: close, so the server closes";
    return r;
  }
  int port = 0;
  MetricsServer server;
};

TEST_F(MetricsServerTest, Scrape) {
  start();
  std::string r = get("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Length: " + std::to_string(std::string(kText).size()) + "\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), kText);
  server.publish("new\n");
  r = get("GET /metrics?x=1 HTTP/1.0\n\n");  // bare LF and a query string are fine
  EXPECT_NE(r.find("\r\n\r\nnew\n"), std::string::npos) << r;
  r = get("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n") << "HEAD: no body";
}

TEST_F(MetricsServerTest, ErrorsAreHttpStatuses) {
  start();
  EXPECT_EQ(get("GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  std::string r = get("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(r.rfind("HTTP/1.1 405 ", 0), 0u) << r;
  EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(get("\xff\xfe garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(get("GET /metrics HTTP/2.0\r\n\r\n").rfind("HTTP/1.1 505 ", 0), 0u);
  EXPECT_EQ(get("GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_GE(server.counters().bad_requests, 5u);
}

TEST_F(MetricsServerTest, IdleAndSlowConnectionsDoNotStarveScrapes) {
  MetricsServerLimits l;
  l.max_connections = 8;
  start(l);
  std::vector<std::unique_ptr<Tcp>> idle, slow;
  for (int i = 0; i < 30; ++i) idle.push_back(std::make_unique<Tcp>(port));
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<Tcp>(port));
    slow.back()->send("GET /metr");  // and never more
  }
  // A client that asks and never reads its response.
  Tcp hog(port);
  server.publish(std::string(8 << 20, '#'));
  hog.send("GET /metrics HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(50ms);
  server.publish("sipwall_dataplane_up 1\n");
  for (int i = 0; i < 5; ++i) {
    std::chrono::milliseconds took{};
    std::string r = get("GET /metrics HTTP/1.1\r\n\r\n", &took);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_LT(took, 1000ms);
  }
  EXPECT_GE(server.counters().evicted, 30u);
}

TEST_F(MetricsServerTest, ARequestHeadMustArriveInTime) {
  MetricsServerLimits l;
  l.request_timeout = 300ms;
  start(l);
  Tcp slowloris(port);
  auto t0 = Clock::now();
  // A byte every 100 ms keeps nothing open past the request timeout.
  std::string req = "GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
  for (char ch : req) {
    if (!slowloris.send(std::string(1, ch))) break;
    std::this_thread::sleep_for(100ms);
    if (Clock::now() - t0 > 2s) break;
  }
  std::string rest = slowloris.read_all(1000ms);
  EXPECT_TRUE(slowloris.closed());
  EXPECT_EQ(rest, "");
  EXPECT_LT(Clock::now() - t0, 2500ms);
  EXPECT_GE(server.counters().timeouts, 1u);
}

TEST(MetricsServer, BusyPortIsAStartError) {
  MetricsServer a, b;
  int port = free_port();
  std::string err;
  ASSERT_TRUE(a.start("127.0.0.1", port, err)) << err;
  EXPECT_FALSE(b.start("127.0.0.1", port, err));
  EXPECT_NE(err.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
}

}  // namespace
}  // namespace sipwall::control
